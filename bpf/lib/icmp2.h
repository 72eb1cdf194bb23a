/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* ICMP errors about full-NAT flows (PR_CT_F_NAT2), in TC: both rewrites of the quoted packet and the outer header, and the way out of ingress every full-NAT packet takes. */
#ifndef PR_ICMP2_H
#define PR_ICMP2_H

#include "ctx.h"
#include "csum.h"
#include "ct.h"
#include "fib.h"
#include "hook.h"
#include "icmp.h"
#include "kernel.h"
#include "maps.h"
#include "parse.h"
#include "portredir.h"
#include "stats.h"

/* TC only: XDP leaves these errors to TC ingress (PR_NAT2_HOOK 0, nat.h). */
#if PR_NAT2_HOOK

/* pr_icmp2()'s last argument: the error's family and the hook, one scalar. */
#define PR_ICMP2_HOW(family, hook) ((__u32)(family) | (__u32)(hook) << 8)

/* Send the translated error of family out of ingress towards its new
 * destination, as every full-NAT packet goes (docs/design.md, "Full NAT"):
 * a route lookup of the outer header as it is now, TTL or hop limit down
 * by one, the next hop's MACs or bpf_redirect_neigh when only the neighbour
 * is unknown. Returns the verdict: a redirect, or CTX_ACT_DROP counted
 * drop_nat2_no_route when the error has no way out (no route, TTL 1, MTU):
 * the stack would deliver it to the full-NAT source, one of this host's
 * addresses, or drop it as martian. The lookup's parameters are in the
 * conntrack scratch, off the stack. */
static __always_inline int pr_icmp2_send(struct pr_ctx *ctx, __u8 family)
{
	struct pr_ct_scratch *s = pr_ct_scratch_get();
	void *data = ctx_data(ctx), *data_end = ctx_data_end(ctx);
	struct iphdr *ip = data + sizeof(struct ethhdr);
	struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);
	struct bpf_fib_lookup *f;
	int rc;

	if (!s)
		goto drop;
	f = &s->fib;
	__builtin_memset(f, 0, sizeof(*f));
	f->ifindex = ctx_ingress_ifindex(ctx);
	if (family == PR_AF_INET) {
		if ((void *)(ip + 1) > data_end || ip->ttl <= 1)
			goto drop;
		f->family = AF_INET;
		f->l4_protocol = IPPROTO_ICMP;
		f->tos = ip->tos;
		f->tot_len = bpf_ntohs(ip->tot_len);
		f->ipv4_src = ip->saddr;
		f->ipv4_dst = ip->daddr;
	} else {
		if ((void *)(ip6 + 1) > data_end || ip6->hop_limit <= 1)
			goto drop;
		f->family = AF_INET6;
		f->l4_protocol = PR_IPPROTO_ICMPV6;
		f->flowinfo = *(__be32 *)ip6 & bpf_htonl(0x0fffffff);
		f->tot_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		__builtin_memcpy(f->ipv6_src, &ip6->saddr, 16);
		__builtin_memcpy(f->ipv6_dst, &ip6->daddr, 16);
	}
	rc = bpf_fib_lookup(ctx, f, sizeof(*f), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		goto drop;
	/* the lookup wrote only f: the packet pointers still hold */
	if (!pr_fib_apply(f, data, data_end, family, rc == BPF_FIB_LKUP_RET_SUCCESS))
		goto drop;
	pr_count(PR_R_REDIRECT);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return ctx_redirect_neigh(ctx, f->ifindex);
	return ctx_redirect(ctx, f->ifindex);
drop:
	pr_count(PR_R_DROP_NAT2_NO_ROUTE);
	return CTX_ACT_DROP;
}

/* Whether the error's outer destination is a: an error goes to the sender
 * of the packet it quotes, the quote's source. */
static __always_inline bool pr_icmp2_to(void *data, void *data_end, __u8 family, const union pr_addr *a)
{
	if (family == PR_AF_INET) {
		struct iphdr *ip = data + sizeof(struct ethhdr);

		return (void *)(ip + 1) <= data_end && ip->daddr == a->v4;
	}
	struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);

	return (void *)(ip6 + 1) <= data_end && pr_addr6_eq(&ip6->daddr, a);
}

/* Both rewrites of entry v (reply: its direction) on the error at at,
 * whose flow's key is k: the first as pr_icmp_rewrite() does it, the
 * second (nat2) on the quote's other side. */
static __always_inline void pr_icmp2_rewrite(struct pr_ctx *ctx, const struct pr_icmp_at *at, __u8 family,
					     const struct pr_ct_key *k, const struct pr_ct_val *v, bool reply)
{
	/* fresh data pointers for each: no pointer held across the first */
	pr_icmp_rewrite_side(ctx_data(ctx), ctx_data_end(ctx), at, family, !reply,
			     reply ? pr_icmp_qdst(k) : pr_icmp_qsrc(k), &v->nat_addr, v->nat_port);
	pr_icmp_rewrite_side(ctx_data(ctx), ctx_data_end(ctx), at, family, reply,
			     reply ? pr_icmp_qsrc(k) : pr_icmp_qdst(k), &v->nat2_addr, v->nat2_port);
}

/* Handle an ICMP(v6) error about a full-NAT flow, which pr_icmp_handle()
 * found (PR_ICMP_NAT2): the error's IP payload is the l4_len bytes at
 * l4_off, how is PR_ICMP2_HOW(family, hook). The quoted packet gets both of
 * its entry's rewrites (pr_icmp2_rewrite()): an error from the
 * target side quoting SNAT:port->target:port (the reply entry) becomes
 * client:port->listen:port, its outer destination (the SNAT address) the
 * client and an outer source that is the target the listen address; an
 * error from the client side quoting listen->client (the forward entry)
 * becomes target->SNAT, its outer destination the target and an outer
 * source that is the client the SNAT address. The rest of the message (a
 * frag-needed's or packet-too-big's MTU) stays. Checksums as in
 * pr_icmp_rewrite_side(). An error not addressed to the quote's source is
 * about no packet that source sent: passed untouched (pass_icmp), never
 * relayed with this host's address as its source.
 *
 * Where: when the second rewrite changes an address, ingress translates
 * the error and sends it out itself (pr_icmp2_send()), both ways, and
 * egress leaves it alone (pass_icmp, uncounted there). A flow whose
 * port only was remapped goes as a DNAT flow's errors go: a reply-side one
 * is left at ingress to the egress hook, which translates it; a
 * forward-side one is translated at ingress and left to the stack.
 *
 * A global function, so the verifier checks it once, apart from the
 * pipeline, with scalar arguments only; the parsed error (struct
 * pr_icmp_at), its flow's key and the route lookup live in per-CPU scratch
 * maps, since its frame adds to the pipeline's within BPF's 512 bytes. It
 * parses the error again from the offsets and looks the flow up again,
 * which an error (rare, small) can afford. Returns the verdict; counts its
 * reason. */
__noinline int pr_icmp2(struct pr_ctx *ctx, __u32 l4_off, __u32 l4_len, __u32 how)
{
	__u8 family = how & 0xff, hook = how >> 8;
	struct pr_ct_scratch *s = pr_ct_scratch_get();
	void *data = ctx_data(ctx), *data_end = ctx_data_end(ctx);
	const union pr_addr *old2;
	struct pr_icmp_at *at = pr_icmp_at_get();
	struct pr_ct_val *v;
	bool reply, local2;
	int rc;

	if (!s || !at)
		return CTX_ACT_OK;
	rc = pr_icmp_parse_at(family, l4_off, l4_len, data, data_end, at, &s->k);
	if (rc >= 0) {
		if (pr_hook_counts_passes(hook))
			pr_count(rc);
		return CTX_ACT_OK;
	}
	v = pr_icmp_find(&s->k);
	if (!v || !(v->flags & PR_CT_F_NAT2))
		return CTX_ACT_OK; /* gone since pr_icmp_handle() looked */
	if (!pr_icmp2_to(data, data_end, family, pr_icmp_qsrc(&s->k))) {
		if (pr_hook_counts_passes(hook))
			pr_count(PR_R_PASS_ICMP);
		return CTX_ACT_OK;
	}
	reply = v->dir == PR_DIR_REPLY;
	/* the quoted address the second rewrite replaces: the full-NAT source
	 * in a quote from the target side, the client in one from its side */
	old2 = reply ? pr_icmp_qsrc(&s->k) : pr_icmp_qdst(&s->k);
	local2 = !pr_addr_eq(old2, &v->nat2_addr);
	/* egress: ingress sends these itself (and counts no passes) */
	if (pr_hook_reply_only(hook) && (!reply || local2))
		return CTX_ACT_OK;
	if (!pr_hook_reply_only(hook) && reply && !local2) {
		pr_count(PR_R_PASS_REPLY_EGRESS);
		return CTX_ACT_OK;
	}
	pr_icmp2_rewrite(ctx, at, family, &s->k, v, reply);
	pr_count(PR_R_XLATE_ICMP);
	if (!local2)
		return CTX_ACT_OK;
	return pr_icmp2_send(ctx, family);
}

#endif /* PR_NAT2_HOOK */

#endif
