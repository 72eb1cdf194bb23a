/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The translation decision shared by every hook: conntrack first, then rules. */
#ifndef PR_NAT_H
#define PR_NAT_H

#include "addr.h"
#include "ct.h"
#include "hook.h"
#include "kernel.h"
#include "maps.h"
#include "monitor.h"
#include "parse.h"
#include "portredir.h"
#include "rules.h"
#include "stats.h"

/* A translation: one address and port rewrite, and with nat2 a second.
 * dir ORIG rewrites the destination (and with nat2 the source), REPLY the
 * source (and with nat2 the destination). */
struct pr_xlate {
	union pr_addr old_addr;
	union pr_addr new_addr;
	union pr_addr new2_addr; /* nat2 only; the old one is p's (pr_x2_old()) */
	__be16 old_port;
	__be16 new_port;
	__be16 old2_port;
	__be16 new2_port;
	__u8 dir;
	__u8 nat2;   /* the second rewrite applies (PR_CT_F_NAT2) */
	__u8 local2; /* nat2 changes an address: ingress must send the packet out itself */
	__u8 replace; /* new flow: a dead entry of the same tuple is in the way */
	__u32 rule_id;
	__u32 rule_flags; /* new flow: PR_RULE_F_* of its rule */
	int new_flow;
	struct pr_ct_val *ct; /* the flow's entry for this direction, when it existed */
	__u64 now;            /* pr_now() when ct is set */
};

/* Whether this hook applies second rewrites itself. XDP does not
 * (ctx/xdp.h sets PR_NAT2_HOOK 0): it leaves full-NAT packets unmarked to
 * TC ingress, since their second rewrite would take XDP's pipeline past
 * the verifier's budget. Code that applies one tests pr_x2()/pr_x2local(),
 * which then fold away. */
#ifndef PR_NAT2_HOOK
#define PR_NAT2_HOOK 1
#endif

static __always_inline bool pr_x2(const struct pr_xlate *x)
{
	return PR_NAT2_HOOK && x->nat2;
}

static __always_inline bool pr_x2local(const struct pr_xlate *x)
{
	return PR_NAT2_HOOK && x->local2;
}

/* The address x's second rewrite replaces: the source of a forward
 * packet, the destination of a reply. Kept out of pr_xlate, whose size
 * counts against the stack. */
static __always_inline const union pr_addr *pr_x2_old(const struct pr_pkt *p,
						       const struct pr_xlate *x)
{
	return x->dir == PR_DIR_ORIG ? &p->saddr : &p->daddr;
}

/* Fill x's second rewrite from entry v of the packet's flow (dir as v's). */
static __always_inline void pr_xlate_nat2(const struct pr_pkt *p, const union pr_addr *addr2,
					  __be16 port2, struct pr_xlate *x)
{
	x->nat2 = 1;
	if (!PR_NAT2_HOOK)
		return; /* the packet goes to TC as it is */
	x->new2_addr = *addr2;
	x->new2_port = port2;
	if (x->dir == PR_DIR_ORIG)
		x->old2_port = p->ports ? p->ports[0] : 0; /* NULL on a later fragment */
	else
		x->old2_port = p->ports ? p->ports[1] : 0;
	x->local2 = !pr_addr_eq(pr_x2_old(p, x), &x->new2_addr);
}

/* pr_decide() verdicts */
enum pr_verdict { PR_V_PASS = 0, PR_V_XLATE = 1, PR_V_DROP = 2 };

/* The rule for a packet: the exact listen address and port, any address and
 * the port, then the DMZ (port 0) for the address, then for any address.
 * Four hash lookups at most, whatever the number of rules or range sizes.
 * *dmz tells the caller the match was a DMZ rule. */
static __always_inline struct pr_rule *pr_rule_lookup(const struct pr_pkt *p, bool *dmz)
{
	struct pr_rule *r;

	*dmz = false;
	r = pr_rule_get(&p->daddr, p->ports[1], p->proto, p->family);
	if (!r)
		r = pr_rule_get(NULL, p->ports[1], p->proto, p->family);
	if (r)
		return r;
	*dmz = true;
	r = pr_rule_get(&p->daddr, 0, p->proto, p->family);
	return r ? r : pr_rule_get(NULL, 0, p->proto, p->family);
}

/* True when a socket of this host (listening or connected) owns the packet.
 * A DMZ rule yields to those, so replies to the host's own connections and
 * its own services keep working, as on a home router. */
static __always_inline bool pr_local_socket(void *ctx, const struct pr_pkt *p)
{
	struct bpf_sock_tuple t;
	struct bpf_sock *sk;
	__u32 sz;

	__builtin_memset(&t, 0, sizeof(t));
	if (p->family == PR_AF_INET) {
		t.ipv4.saddr = p->saddr.v4;
		t.ipv4.daddr = p->daddr.v4;
		t.ipv4.sport = p->ports[0];
		t.ipv4.dport = p->ports[1];
		sz = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, &p->saddr, 16);
		__builtin_memcpy(t.ipv6.daddr, &p->daddr, 16);
		t.ipv6.sport = p->ports[0];
		t.ipv6.dport = p->ports[1];
		sz = sizeof(t.ipv6);
	}
	if (p->proto == IPPROTO_TCP)
		sk = (struct bpf_sock *)bpf_skc_lookup_tcp(ctx, &t, sz, BPF_F_CURRENT_NETNS, 0);
	else
		sk = bpf_sk_lookup_udp(ctx, &t, sz, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return false;
	bpf_sk_release(sk);
	return true;
}

static __always_inline void pr_xlate_from_ct(const struct pr_pkt *p, const struct pr_ct_val *v,
					     struct pr_xlate *x)
{
	x->dir = v->dir;
	x->rule_id = v->rule_id;
	x->new_addr = v->nat_addr;
	x->new_port = v->nat_port;
	if (v->dir == PR_DIR_ORIG) {
		x->old_addr = p->daddr;
		x->old_port = p->ports[1];
	} else {
		x->old_addr = p->saddr;
		x->old_port = p->ports[0];
	}
	if (v->flags & PR_CT_F_NAT2)
		pr_xlate_nat2(p, &v->nat2_addr, v->nat2_port, x);
}

/* Decide what to do with a parsed packet. Returns PR_V_XLATE and fills x
 * when the packet must be rewritten: for a flow in conntrack (updated
 * already), or for a new flow (x->new_flow) whose entries pr_snat_open()
 * makes once its route is known. PR_V_PASS or PR_V_DROP with *reason set
 * otherwise. ctx is the program's context, XDP or skb: the socket lookup
 * helpers take either; ifindex is the device the packet came in on (for the
 * monitor's events). */
static __always_inline int pr_decide(void *ctx, const struct pr_pkt *p, enum pr_hook hook, __u32 ifindex,
				     struct pr_xlate *x, __u32 *reason)
{
	struct pr_ct_key k;
	struct pr_ct_val *v;
	struct pr_rule *r;
	__be16 tport;
	__u64 now;
	bool dmz;

	pr_ct_key_from_pkt(&k, p);
	/* the clock is read only once a packet needs it: never on a miss */
	v = bpf_map_lookup_elem(&pr_ct, &k);
	if (v && !pr_ct_expired(v, (now = pr_now()))) {
		if (pr_hook_reply_only(hook) && v->dir != PR_DIR_REPLY)
			goto nomatch;
		/* A fresh SYN on a closed flow is a new connection: rules decide again. */
		if (!(v->dir == PR_DIR_ORIG && v->state == PR_CT_CLOSING &&
		      (p->tcp_flags & (PR_TCP_SYN | PR_TCP_ACK)) == PR_TCP_SYN)) {
			pr_ct_track(&k, v, p, now);
			pr_xlate_from_ct(p, v, x);
			x->new_flow = 0;
			x->ct = v;
			x->now = now;
			return PR_V_XLATE;
		}
	}
	if (pr_hook_reply_only(hook))
		goto nomatch;

	/* A packet from outside to a loopback address is martian: a loopback
	 * listen serves the host's own sockets only (bpf/lib/sock.h). */
	if (pr_addr_loopback(p->family, &p->daddr)) {
		*reason = PR_R_PASS_LOOPBACK;
		return PR_V_PASS;
	}
	r = pr_rule_lookup(p, &dmz);
	if (!r)
		goto nomatch;
	if (p->proto == IPPROTO_TCP && (p->tcp_flags & PR_TCP_RST)) {
		*reason = PR_R_PASS_TCP_RST;
		return PR_V_PASS;
	}
	if (dmz && pr_local_socket(ctx, p)) {
		*reason = PR_R_PASS_LOCAL_SOCKET;
		return PR_V_PASS;
	}
	if (!pr_allow_has(r, p->family, &p->saddr)) {
		pr_rule_deny(r->id);
		*reason = (r->flags & PR_RULE_F_DENY_DROP) ? PR_R_DROP_DENIED : PR_R_PASS_DENIED;
		pr_mon_emit(PR_MON_WHAT(PR_MON_DENIED, *reason), r->id, ifindex, &k, NULL);
		return *reason == PR_R_DROP_DENIED ? PR_V_DROP : PR_V_PASS;
	}
	tport = (r->flags & PR_RULE_F_KEEP_PORT) ? p->ports[1] : r->target_port;
	x->dir = PR_DIR_ORIG;
	x->rule_id = r->id;
	x->rule_flags = r->flags;
	x->old_addr = p->daddr;
	x->old_port = p->ports[1];
	x->new_addr = r->target;
	x->new_port = tport;
	x->new_flow = 1;
	x->replace = v != NULL;
	return PR_V_XLATE;

nomatch:
	*reason = PR_R_PASS_NOMATCH;
	return PR_V_PASS;
}

static __always_inline void pr_account(const struct pr_xlate *x, __u32 bytes)
{
	pr_count(x->dir == PR_DIR_ORIG ? PR_R_XLATE_FWD : PR_R_XLATE_REPLY);
	pr_rule_count(x->rule_id, x->dir, bytes, x->new_flow);
}

#endif
