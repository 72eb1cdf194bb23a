/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Local clients: translation at the socket (cgroup connect, sendmsg, recvmsg and getpeername hooks), once per connect instead of per packet. */
#ifndef PR_SOCK_H
#define PR_SOCK_H

#include "addr.h"
#include "kernel.h"
#include "maps.h"
#include "monitor.h"
#include "portredir.h"
#include "rules.h"
#include "stats.h"

/* The network namespace these hooks serve, its SO_NETNS_COOKIE, set by the
 * loader before load. The hooks sit on the cgroup2 root and so see every
 * socket of the machine: those of any other namespace are left alone. */
const volatile __u64 pr_sock_netns = 0;

/* sock_addr verdicts: 1 lets the call go on, 0 fails it with EPERM. */
#define PR_SOCK_GO 1
#define PR_SOCK_REFUSE 0

/* The peer address a call names (connect, sendto) or returns (recvfrom, getpeername). */
struct pr_sock_ep {
	union pr_addr addr;
	__be16 port;
	__u8 proto;
	__u8 family;
};

/* e from ctx, for a TCP or UDP socket of the namespace we serve; false
 * otherwise. An IPv4-mapped address (::ffff:a.b.c.d, a dual-stack AF_INET6
 * socket reaching IPv4) reads as the IPv4 address it maps: the kernel sends
 * such a connect through its IPv6 hook only, and the rules are IPv4 ones. */
static __always_inline bool pr_sock_ep_read(struct bpf_sock_addr *ctx, __u8 family, struct pr_sock_ep *e)
{
	__u32 proto = ctx->protocol;

	if (bpf_get_netns_cookie(ctx) != pr_sock_netns || (proto != IPPROTO_TCP && proto != IPPROTO_UDP))
		return false;
	__builtin_memset(e, 0, sizeof(*e));
	e->proto = proto;
	e->family = family;
	e->port = (__be16)ctx->user_port; /* network order in the low 16 bits */
	if (family == PR_AF_INET) {
		e->addr.v4 = ctx->user_ip4;
		return true;
	}
	/* one 4-byte load a word: the only ctx access the kernel allows here */
	e->addr.v6[0] = ctx->user_ip6[0];
	e->addr.v6[1] = ctx->user_ip6[1];
	e->addr.v6[2] = ctx->user_ip6[2];
	e->addr.v6[3] = ctx->user_ip6[3];
	if (!e->addr.v6[0] && !e->addr.v6[1] && e->addr.v6[2] == bpf_htonl(0xffff)) {
		e->family = PR_AF_INET;
		e->addr.v4 = e->addr.v6[3];
		e->addr.v6[1] = e->addr.v6[2] = e->addr.v6[3] = 0;
	}
	return true;
}

/* Write a (of family af) and port to ctx, whose hook is of family: an IPv4
 * address in an IPv6 hook goes back IPv4-mapped, as it came. */
static __always_inline void pr_sock_ep_write(struct bpf_sock_addr *ctx, __u8 family, __u8 af, const union pr_addr *a,
					     __be16 port)
{
	if (family == PR_AF_INET) {
		ctx->user_ip4 = a->v4;
	} else if (af == PR_AF_INET) {
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0xffff);
		ctx->user_ip6[3] = a->v4;
	} else {
		ctx->user_ip6[0] = a->v6[0];
		ctx->user_ip6[1] = a->v6[1];
		ctx->user_ip6[2] = a->v6[2];
		ctx->user_ip6[3] = a->v6[3];
	}
	ctx->user_port = port;
}

/* Whether e's address is one of this namespace's: loopback, or listed by the loader. */
static __always_inline bool pr_sock_addr_local(const struct pr_sock_ep *e)
{
	struct pr_local_key lk;

	if (pr_addr_loopback(e->family, &e->addr))
		return true;
	__builtin_memset(&lk, 0, sizeof(lk));
	lk.netns_cookie = pr_sock_netns;
	lk.addr = e->addr;
	lk.family = e->family;
	return bpf_map_lookup_elem(&pr_local_addr, &lk) != NULL;
}

/* The rule a connect or send to e takes: the exact listen address, else a
 * ":PORT" rule when the address is local. Never a DMZ rule: port 0 is no
 * destination, and the DMZ is for packets from outside. */
static __always_inline struct pr_rule *pr_sock_rule(const struct pr_sock_ep *e)
{
	struct pr_rule *r;

	if (!e->port)
		return NULL;
	r = pr_rule_get(&e->addr, e->port, e->proto, e->family);
	if (r || !pr_sock_addr_local(e))
		return r;
	return pr_rule_get(NULL, e->port, e->proto, e->family);
}

/* A local client has no source yet at connect time: it is the host, and an
 * allowlist admits it when it admits the family's loopback address. */
static __always_inline bool pr_sock_allowed(const struct pr_rule *r, __u8 family)
{
	union pr_addr lo;

	__builtin_memset(&lo, 0, sizeof(lo));
	if (family == PR_AF_INET)
		lo.v4 = bpf_htonl(0x7f000001);
	else
		lo.v6[3] = bpf_htonl(1);
	return pr_allow_has(r, family, &lo);
}

static __always_inline void pr_sock_rev_key_of(struct pr_sock_rev_key *k, struct bpf_sock_addr *ctx,
					       const struct pr_sock_ep *peer)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->cookie = bpf_get_socket_cookie(ctx);
	k->addr = peer->addr;
	k->port = peer->port;
	k->proto = peer->proto;
	k->family = peer->family;
}

/* A monitor's event about a local client's connect or send to e (rule r),
 * translated to t (NULL: denied): its client has no address yet. */
static __always_inline void pr_sock_mon(__u32 what, const struct pr_rule *r, const struct pr_sock_ep *e,
					const struct pr_sock_ep *t)
{
	struct pr_ct_key k;
	struct pr_ct_val v;

	__builtin_memset(&k, 0, sizeof(k));
	k.daddr = e->addr;
	k.dport = e->port;
	k.proto = e->proto;
	k.family = e->family;
	if (t) {
		__builtin_memset(&v, 0, sizeof(v));
		v.dir = PR_DIR_ORIG;
		v.nat_addr = t->addr;
		v.nat_port = t->port;
		v.rule_id = r->id;
	}
	pr_mon_emit(what | PR_MON_WHAT_LOCAL, r->id, 0, &k, t ? &v : NULL);
}

/* connect and sendmsg: rewrite the destination to the rule's target and
 * remember what the socket asked for, keyed by the socket and the target.
 * connect counts a flow; an unconnected send counts one for a socket's first
 * datagram to a target. A denied client is refused (EPERM) with
 * --deny-action drop, else left to reach the address it named. */
static __always_inline int pr_sock_fwd(struct bpf_sock_addr *ctx, __u8 family, bool connect)
{
	struct pr_sock_rev_key k;
	struct pr_sock_rev_val v;
	struct pr_sock_ep e, t;
	struct pr_rule *r;
	bool fresh;

	if (!pr_sock_ep_read(ctx, family, &e))
		return PR_SOCK_GO;
	r = pr_sock_rule(&e);
	if (!r)
		return PR_SOCK_GO;
	if (!pr_sock_allowed(r, e.family)) {
		__u32 reason = (r->flags & PR_RULE_F_DENY_DROP) ? PR_R_DROP_DENIED : PR_R_PASS_DENIED;

		pr_rule_deny(r->id);
		pr_count(reason);
		pr_sock_mon(PR_MON_WHAT(PR_MON_DENIED, reason), r, &e, NULL);
		return reason == PR_R_DROP_DENIED ? PR_SOCK_REFUSE : PR_SOCK_GO;
	}
	t = e;
	t.addr = r->target;
	/* a target without a port ("tcp :8080 ADDR") keeps the one asked for */
	t.port = (r->flags & PR_RULE_F_KEEP_PORT) ? e.port : r->target_port;
	pr_sock_rev_key_of(&k, ctx, &t);
	__builtin_memset(&v, 0, sizeof(v));
	v.addr = e.addr;
	v.port = e.port;
	v.rule_id = r->id;
	fresh = connect || !bpf_map_lookup_elem(&pr_sock_rev, &k);
	/* a full LRU evicts: the update fails only without memory, and then
	 * the socket still gets its target, shown as the target */
	bpf_map_update_elem(&pr_sock_rev, &k, &v, BPF_ANY);
	pr_sock_ep_write(ctx, family, t.family, &t.addr, t.port);
	pr_count(PR_R_XLATE_SOCK);
	if (fresh) {
		pr_rule_new_flow(r->id);
		pr_sock_mon(PR_MON_WHAT(PR_MON_NEW, 0), r, &e, &t);
	}
	return PR_SOCK_GO;
}

/* recvmsg and getpeername: a peer this socket was translated to reads as
 * the address the socket asked for, so a UDP reply comes from where the
 * request went. Always 1: these hooks cannot fail the call. */
static __always_inline int pr_sock_back(struct bpf_sock_addr *ctx, __u8 family)
{
	struct pr_sock_rev_key k;
	struct pr_sock_rev_val *v;
	struct pr_sock_ep e;

	if (!pr_sock_ep_read(ctx, family, &e))
		return PR_SOCK_GO;
	pr_sock_rev_key_of(&k, ctx, &e);
	v = bpf_map_lookup_elem(&pr_sock_rev, &k);
	if (v)
		pr_sock_ep_write(ctx, family, e.family, &v->addr, v->port);
	return PR_SOCK_GO;
}

#endif
