/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Opening a new flow: its source (the client's, --snat, --masquerade or hairpin), a source port that clashes with no live flow, and both conntrack entries. */
#ifndef PR_SNAT_H
#define PR_SNAT_H

#include "ctx.h"
#include "ct.h"
#include "kernel.h"
#include "maps.h"
#include "monitor.h"
#include "nat.h"
#include "parse.h"
#include "portredir.h"
#include "stats.h"

/* Ports a remap or an allocation takes when the rule's pr_rnat entry has no
 * range (a loader that predates it): the ones above Linux's default
 * ip_local_port_range, as the loader's default --snat-ports. */
#define PR_SNAT_PORT_LO_DEFAULT 61000
#define PR_SNAT_PORT_HI_DEFAULT 65535
/* Ports tried after the client's own, from a random start in the range. */
#define PR_SNAT_TRIES 32

/* The source the route lookup in f chose, as the family's pr_addr, in a. */
static __always_inline void pr_fib_src(const struct bpf_fib_lookup *f, __u8 family, union pr_addr *a)
{
	__builtin_memset(a, 0, sizeof(*a));
	if (family == PR_AF_INET)
		a->v4 = f->ipv4_src;
	else
		__builtin_memcpy(a, f->ipv6_src, 16);
}

/* The address a new flow of a rule with rule_flags takes as its source, given the
 * route of its translated packet (oif: its egress device, 0 when unknown)
 * and the device it came in on (iif). The client's own unless the rule has
 * --snat or --masquerade, or the flow is a hairpin: the route sends it back
 * out of the device it came in on, so the target would answer the client
 * directly (docs/design.md, "Full NAT"). live: the route lookup whose
 * source the kernel chose (BPF_FIB_LOOKUP_SRC: Linux 6.8 or a backport),
 * NULL where it could not: masquerade takes it, as nftables' masquerade
 * takes the address the kernel would; else, and for hairpin, the
 * interface's address loaded at attach or apply (pr_ifaddr). Either way the
 * interface must be attached (have a pr_ifaddr entry), since the replies
 * come back there. Returns -1 with *src set, or the reason to
 * drop the packet for. */
static __always_inline int pr_snat_source(const struct pr_ct_key *k, __u32 rule_flags,
					  const struct pr_rule_nat *n, __u32 iif, __u32 oif,
					  const struct bpf_fib_lookup *live, union pr_addr *src)
{
	__u32 dev = 0;
	struct pr_ifaddr *ia;

	*src = k->saddr;
	if ((rule_flags & PR_RULE_F_SNAT) && n && n->mode == PR_SNAT_ADDR) {
		if (n->family != k->family)
			return PR_R_DROP_SNAT_NO_ADDR;
		*src = n->addr;
		return -1;
	}
	if ((rule_flags & PR_RULE_F_SNAT) && n && n->mode == PR_SNAT_MASQ)
		dev = oif;
	else if (!(rule_flags & PR_RULE_F_HAIRPIN_OFF) && iif && oif == iif)
		dev = iif;
	else
		return -1;
	/* an entry only for an attached interface: a flow whose replies would
	 * come back where nothing translates them is not opened */
	ia = dev ? bpf_map_lookup_elem(&pr_ifaddr, &dev) : NULL;
	if (ia && live && dev == oif && (rule_flags & PR_RULE_F_SNAT)) {
		pr_fib_src(live, k->family, src);
		return -1;
	}
	if (k->family == PR_AF_INET && ia && ia->has_v4) {
		__builtin_memset(src, 0, sizeof(*src));
		src->v4 = ia->v4;
		return -1;
	}
	if (k->family == PR_AF_INET6 && ia && ia->has_v6) {
		*src = ia->v6;
		return -1;
	}
	return PR_R_DROP_SNAT_NO_ADDR;
}

/* The port range new sources are taken from, host order, never empty. */
static __always_inline void pr_snat_range(const struct pr_rule_nat *n, __u32 *lo, __u32 *span)
{
	__u32 l = PR_SNAT_PORT_LO_DEFAULT, h = PR_SNAT_PORT_HI_DEFAULT;

	if (n && n->port_lo && n->port_lo <= n->port_hi) {
		l = n->port_lo;
		h = n->port_hi;
	}
	*lo = l;
	*span = h - l + 1;
}

/* Try source src:port for the flow k whose forward entry is v: claim the
 * reply key it gives (pr_ct_claim()). The second rewrite is kept only when
 * it changes something. Returns 0 when the reply entry is in place. */
static __always_inline int pr_snat_try(const struct pr_ct_key *k, struct pr_ct_scratch *s,
				       struct pr_ct_key *rk, const union pr_addr *src, __u32 port,
				       __u64 now)
{
	struct pr_ct_val *v = &s->v;

	v->flags &= ~PR_CT_F_NAT2;
	__builtin_memset(&v->nat2_addr, 0, sizeof(v->nat2_addr));
	v->nat2_port = 0;
	if (bpf_htons(port) != k->sport || !pr_addr_eq(src, &k->saddr)) {
		v->flags = PR_CT_F_NAT2;
		v->nat2_addr = *src;
		v->nat2_port = bpf_htons(port);
	}
	pr_ct_peer(k, v, rk, &s->pv);
	return pr_ct_claim(k, rk, &s->pv, &s->ok, now);
}

/* What the search over the range (pr_snat_step()) works on, besides the
 * conntrack scratch (k, v and src set; rk and pv the last try's). */
struct pr_snat_search {
	__u64 now;
	__u32 lo, span, start, cport;
	int port;  /* the port found, -1 while none */
	bool tried; /* the client's own port was tried and is taken */
};

/* The search's state, off the stack: pr_snat_open() runs as a call of its
 * own, and its frame adds to the pipeline's. */
struct pr_snat_scratch {
	struct pr_snat_search q;
};

/* Where the next TCP search starts, as an offset into a range (taken modulo
 * its size), plus 1: 0 until the first. One for all CPUs, so the range is
 * swept in one order; written without atomics, as two CPUs that start from
 * the same offset only make the second try the next port. */
static __u32 pr_snat_next;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pr_snat_scratch);
} pr_snat_scratch SEC(".maps");

/* Try port i of the range from the random start, with the search's state
 * in the scratch. Returns 1 to stop (found, or no state), 0 to go on. */
static __always_inline int pr_snat_step(__u32 i)
{
	struct pr_ct_scratch *s = pr_ct_scratch_get();
	struct pr_snat_search *q;
	__u32 port, zero = 0;
	struct pr_snat_scratch *t = bpf_map_lookup_elem(&pr_snat_scratch, &zero);

	if (!s || !t || !t->q.span)
		return 1;
	q = &t->q;
	port = q->lo + (q->start + i) % q->span;
	if (port == q->cport && q->tried)
		return 0;
	if (pr_snat_try(&s->k, s, &s->rk, &s->src, port, q->now))
		return 0;
	q->port = port;
	return 1;
}

/* Give new flow s->k (forward entry s->v, source s->src) a source port
 * whose reply key no live flow holds: the client's own when the address
 * stays the client's (!moved: then nothing changes) or the port lies in the
 * rule's range, else (or when that is taken) up to PR_SNAT_TRIES ports of
 * the range in order. UDP starts from a random port; TCP from the port
 * after the last one given (pr_snat_next), so a port comes round again only
 * once the rest of the range has been used (docs/design.md, "Full NAT",
 * port reuse). A DNAT flow whose own port
 * clashes is remapped so, as Linux NAT does; the live flow is never
 * touched. Returns the port (host order) with the reply entry made, or -1
 * when every port tried is taken. */
static __always_inline int pr_snat_port(struct pr_ct_scratch *s, struct pr_snat_search *q,
					const struct pr_rule_nat *n, bool moved, __u64 now)
{
	__u32 i;

	__builtin_memset(q, 0, sizeof(*q));
	q->now = now;
	q->port = -1;
	q->cport = bpf_ntohs(s->k.sport);
	pr_snat_range(n, &q->lo, &q->span);
	if (!moved || (q->cport >= q->lo && q->cport - q->lo < q->span)) {
		if (!pr_snat_try(&s->k, s, &s->rk, &s->src, q->cport, now))
			return q->cport;
		q->tried = true;
	}
	if (s->k.proto == IPPROTO_TCP && pr_snat_next)
		q->start = (pr_snat_next - 1) % q->span;
	else
		q->start = bpf_get_prandom_u32() % q->span;
	/* a plain loop: in a global function of its own it fits the verifier's
	 * budget, and a bpf_loop callback's frame would not fit the stack */
#pragma clang loop unroll(disable)
	for (i = 0; i < PR_SNAT_TRIES && i < q->span; i++)
		if (pr_snat_step(i))
			break;
	if (q->port >= 0 && q->tried)
		pr_count(PR_R_XLATE_PORT_REMAP);
	/* past the port found, or past every port tried */
	if (s->k.proto == IPPROTO_TCP)
		pr_snat_next = q->start + i + 2;
	return q->port;
}


/* Set once a route lookup with BPF_FIB_LOOKUP_SRC was refused (a kernel
 * without it): masquerade then takes pr_ifaddr's address without asking. */
static volatile __u32 pr_fib_src_unsupported;

/* The egress device of new flow k's translated packet (to v's target), or
 * 0 when it has no route. Only masquerade and hairpin ask. want_src: also
 * ask the kernel for the source address it would choose for that route;
 * *got_src says whether f's source now holds it. */
static __always_inline void pr_snat_fib_in(struct bpf_fib_lookup *f, const struct pr_ct_key *k,
					    const struct pr_ct_val *v, __u32 iif)
{
	__builtin_memset(f, 0, sizeof(*f));
	f->l4_protocol = k->proto;
	f->sport = k->sport;
	f->dport = v->nat_port;
	f->ifindex = iif;
	if (k->family == PR_AF_INET) {
		f->family = AF_INET;
		f->ipv4_src = k->saddr.v4;
		f->ipv4_dst = v->nat_addr.v4;
	} else {
		f->family = AF_INET6;
		__builtin_memcpy(f->ipv6_src, &k->saddr, 16);
		__builtin_memcpy(f->ipv6_dst, &v->nat_addr, 16);
	}
}

static __always_inline __u32 pr_snat_oif(struct pr_ctx *ctx, struct bpf_fib_lookup *f,
					 const struct pr_ct_key *k, const struct pr_ct_val *v, __u32 iif,
					 bool want_src, bool *got_src)
{
	__u32 flags = want_src && !pr_fib_src_unsupported ? BPF_FIB_LOOKUP_SRC : 0;
	int rc;

	pr_snat_fib_in(f, k, v, iif);
	rc = bpf_fib_lookup(ctx, f, sizeof(*f), flags);
	if (rc < 0 && flags) {
		/* again, without a loop: Linux 6.1 refuses the back-edge */
		pr_fib_src_unsupported = 1;
		flags = 0;
		pr_snat_fib_in(f, k, v, iif);
		rc = bpf_fib_lookup(ctx, f, sizeof(*f), 0);
	}
	/* the kernel names the egress device (and the source) before it looks
	 * for the neighbour */
	*got_src = flags && (rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH);
	return rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH ? f->ifindex : 0;
}


/* Open the new flow of a rule with rule_flags that came in on iif: choose
 * its source (pr_snat_source(), routing it first when masquerade or hairpin
 * may apply) and port (pr_snat_port()), then insert the forward entry
 * (replace: a dead entry of the same tuple is in the way). The caller has
 * put the flow's tuple in the scratch's k and its forward entry, without a
 * second rewrite, in v (pr_ct_init()); the second rewrite is added to v if
 * the flow has one. A global function, so the verifier checks it once
 * rather than on every path of the pipeline that reaches it; it takes
 * scalars only, so the caller's stack stays as the verifier knew it.
 * Returns -1 on success, or the reason the packet is not translated for:
 * PR_R_DROP_SNAT_EXHAUSTED and PR_R_DROP_SNAT_NO_ADDR drop it,
 * PR_R_PASS_CT_FAIL passes it. */
__noinline int pr_snat_open(struct pr_ctx *ctx, __u32 rule_flags, __u32 replace, __u32 iif)
{
	struct pr_ct_scratch *s = pr_ct_scratch_get();
	struct pr_snat_scratch *t;
	struct pr_rule_nat *n;
	__u32 id = 0, oif = 0;
	bool masq, live = false;
	int rc, port;

	t = bpf_map_lookup_elem(&pr_snat_scratch, &id);
	if (!s || !t)
		return PR_R_PASS_CT_FAIL;
	id = s->v.rule_id;
	n = bpf_map_lookup_elem(&pr_rnat, &id);
	masq = (rule_flags & PR_RULE_F_SNAT) && n && n->mode == PR_SNAT_MASQ;
	if (masq || (!(rule_flags & PR_RULE_F_HAIRPIN_OFF) && iif))
		oif = pr_snat_oif(ctx, &s->fib, &s->k, &s->v, iif, masq, &live);
	rc = pr_snat_source(&s->k, rule_flags, n, iif, oif, live ? &s->fib : NULL, &s->src);
	if (rc >= 0)
		return rc;
	port = pr_snat_port(s, &t->q, n, !pr_addr_eq(&s->src, &s->k.saddr), s->v.last_seen);
	if (port < 0) {
		pr_rule_snat_exhausted(id);
		return PR_R_DROP_SNAT_EXHAUSTED;
	}
	if (pr_ct_insert_fwd(&s->k, &s->rk, &s->v, replace))
		return PR_R_PASS_CT_FAIL;
	return -1;
}

/* Open the new flow pr_decide() found for p (pr_snat_open()) and add its
 * second rewrite to x if it has one; a monitor gets an event either way (new
 * or refused), called from here rather than from pr_snat_open(), whose frame
 * and the monitor's together would not fit the stack. Returns PR_V_XLATE,
 * or PR_V_PASS or PR_V_DROP with *reason set. */
static __always_inline int pr_snat_flow(struct pr_ctx *ctx, const struct pr_pkt *p,
					struct pr_xlate *x, __u32 *reason)
{
	struct pr_ct_scratch *s = pr_ct_scratch_get();
	int rc;

	if (!s) {
		*reason = PR_R_PASS_CT_FAIL;
		return PR_V_PASS;
	}
	pr_ct_key_from_pkt(&s->k, p);
	pr_ct_init(&s->v, p->proto, p->tcp_flags, &x->new_addr, x->new_port, x->rule_id, pr_now());
	rc = pr_snat_open(ctx, x->rule_flags, x->replace, ctx_ingress_ifindex(ctx));
	pr_mon_emit(rc >= 0 ? PR_MON_WHAT(PR_MON_REFUSED, rc) : PR_MON_WHAT(PR_MON_NEW, 0), x->rule_id,
		    ctx_ingress_ifindex(ctx), &s->k, &s->v);
	if (rc >= 0) {
		*reason = rc;
		return rc == PR_R_PASS_CT_FAIL ? PR_V_PASS : PR_V_DROP;
	}
	if (s->v.flags & PR_CT_F_NAT2)
		pr_xlate_nat2(p, &s->v.nat2_addr, s->v.nat2_port, x);
	return PR_V_XLATE;
}

#endif
