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

/* pr_icmp2()'s answer besides a verdict: translated, now send it out of
 * ingress (pr_icmp2_send()). No verdict of TC's has this value. */
#define PR_ICMP2_SEND 0x100

/* Send the translated error of family out of ingress towards its new
 * destination, as every full-NAT packet goes (docs/design.md, "Full NAT"):
 * a route lookup of the outer header as it is now, TTL or hop limit down
 * by one, the next hop's MACs or bpf_redirect_neigh when only the neighbour
 * is unknown. f is room for the lookup. Returns the verdict: a redirect, or
 * CTX_ACT_DROP counted drop_nat2_no_route when the error has no way out
 * (no route, TTL 1): the stack would deliver it to the full-NAT source,
 * one of this host's addresses, or drop it as martian. */
__noinline int pr_icmp2_send(struct pr_ctx *ctx, __u32 family)
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

/* Where the parts of the error pr_icmp2() rewrites sit, as offsets from
 * the frame's start: packet pointers cannot be kept in a map, and holding
 * them in registers through the checksum arithmetic of two rewrites took a
 * frame too large to add to the pipeline's (BPF's 512 bytes, which Linux
 * 6.1 counts in steps of 32). Each access derives its pointer afresh. */
struct pr_icmp2_at {
	__u32 icmp;     /* the ICMP header; the quoted IP header follows it */
	__u32 iports;   /* the quoted ports */
	__u32 il4_csum; /* the quoted L4 checksum; 0: not quoted, or UDP without one */
	__u8 iproto;
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pr_icmp2_at);
} pr_icmp2_scratch SEC(".maps");

/* Offsets pr_icmp2_at may hold: within the pulled head (PR_TC_PULL). */
#define PR_ICMP2_OFF_MAX 512

/* pr_icmp_rewrite_side() over at instead of pointers, the same contract:
 * the quoted source (src) or destination *old_a becomes *new_a and its
 * port new_p, with the quoted IPv4 and L4 checksums and the ICMP checksum;
 * then the outer address facing that side when it is *old_a. */
static __always_inline void pr_icmp2_side(struct pr_ctx *ctx, const struct pr_icmp2_at *at, __u8 family,
					  bool src, const union pr_addr *old_a, const union pr_addr *new_a,
					  __be16 new_p)
{
	void *data = ctx_data(ctx), *data_end = ctx_data_end(ctx);
	__u16 da = pr_csum_delta_addr(old_a, new_a, family == PR_AF_INET ? 4 : 16), old_c;
	struct icmphdr *ic;
	__be16 *iport;
	__u16 *l4c;
	__u32 off;

	off = at->icmp;
	if (off > PR_ICMP2_OFF_MAX)
		return;
	ic = data + off;
	if (family == PR_AF_INET) {
		struct iphdr *i4 = (void *)(ic + 1);

		if ((void *)(i4 + 1) > data_end)
			return;
		old_c = i4->check;
		pr_csum_apply(&i4->check, da);
		pr_csum_replace2(&ic->checksum, old_c, i4->check);
		if (src)
			i4->saddr = new_a->v4;
		else
			i4->daddr = new_a->v4;
	} else {
		struct ipv6hdr *i6 = (void *)(ic + 1);

		if ((void *)(i6 + 1) > data_end)
			return;
		__builtin_memcpy(src ? (void *)&i6->saddr : (void *)&i6->daddr, new_a, 16);
	}
	pr_csum_apply(&ic->checksum, da);

	off = at->iports + (src ? 0 : 2);
	if (off > PR_ICMP2_OFF_MAX)
		return;
	iport = data + off;
	if ((void *)(iport + 1) > data_end)
		return;
	pr_csum_replace2(&ic->checksum, *iport, new_p);
	old_c = pr_csum_delta16(*iport, new_p);
	*iport = new_p;

	off = at->il4_csum;
	/* two tests: clang folds "off && off <= MAX" into one on a copy of off,
	 * which leaves off itself unbounded for the verifier */
	if (off > PR_ICMP2_OFF_MAX)
		return;
	if (off) {
		l4c = data + off;
		if ((void *)(l4c + 1) > data_end)
			return;
		da = pr_csum_add16(da, old_c); /* address and port */
		old_c = *l4c;
		pr_csum_apply(l4c, da);
		if (at->iproto == IPPROTO_UDP && *l4c == 0)
			*l4c = 0xffff;
		pr_csum_replace2(&ic->checksum, old_c, *l4c);
	}

	if (family == PR_AF_INET) {
		struct iphdr *ip = data + sizeof(struct ethhdr);

		if ((void *)(ip + 1) > data_end)
			return;
		if ((src ? ip->daddr : ip->saddr) != old_a->v4)
			return;
		pr_csum_apply(&ip->check, pr_csum_delta_addr(old_a, new_a, 4));
		if (src)
			ip->daddr = new_a->v4;
		else
			ip->saddr = new_a->v4;
	} else {
		struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);

		if ((void *)(ip6 + 1) > data_end)
			return;
		if (!pr_addr6_eq(src ? (void *)&ip6->daddr : (void *)&ip6->saddr, old_a))
			return;
		/* ICMPv6 pseudo header */
		pr_csum_apply(&ic->checksum, pr_csum_delta_addr(old_a, new_a, 16));
		__builtin_memcpy(src ? (void *)&ip6->daddr : (void *)&ip6->saddr, new_a, 16);
	}
}

/* Both rewrites of entry v (reply: its direction) on the error at at,
 * whose flow's key is k: the first as pr_icmp_rewrite() does it, the
 * second (nat2) on the quote's other side. */
static __always_inline void pr_icmp2_rewrite(struct pr_ctx *ctx, const struct pr_icmp2_at *at, __u8 family,
					     const struct pr_ct_key *k, const struct pr_ct_val *v, bool reply)
{
	pr_icmp2_side(ctx, at, family, !reply, reply ? pr_icmp_qdst(k) : pr_icmp_qsrc(k), &v->nat_addr,
		      v->nat_port);
	pr_icmp2_side(ctx, at, family, reply, reply ? pr_icmp_qsrc(k) : pr_icmp_qdst(k), &v->nat2_addr,
		      v->nat2_port);
}

/* Handle an ICMP(v6) error about a full-NAT flow, which pr_icmp_handle()
 * found (PR_ICMP_NAT2): the error's IP payload is the l4_len bytes at
 * l4_off, how is PR_ICMP2_HOW(family, hook). The quoted packet gets both of
 * its entry's rewrites (pr_icmp_rewrite_side() twice): an error from the
 * target side quoting SNAT:port->target:port (the reply entry) becomes
 * client:port->listen:port, its outer destination (the SNAT address) the
 * client and an outer source that is the target the listen address; an
 * error from the client side quoting listen->client (the forward entry)
 * becomes target->SNAT, its outer destination the target and an outer
 * source that is the client the SNAT address. The rest of the message (a
 * frag-needed's or packet-too-big's MTU) stays. Checksums as in
 * pr_icmp_rewrite_side().
 *
 * Where: when the second rewrite changes an address, ingress translates
 * the error and sends it out itself (pr_icmp2_send()), both ways, and
 * egress leaves it alone (pass_icmp, uncounted there). A flow whose
 * port only was remapped goes as a DNAT flow's errors go: a reply-side one
 * is left at ingress to the egress hook, which translates it; a
 * forward-side one is translated at ingress and left to the stack.
 *
 * A global function, so the verifier checks it once, apart from the
 * pipeline; scalar arguments, its lookup key and route lookup in the
 * conntrack scratch (its frame adds to the pipeline's). It parses the
 * error again from the offsets and looks the flow up again, which an
 * error (rare, small) can afford. Returns the verdict; counts its reason. */
static __always_inline int pr_icmp2(struct pr_ctx *ctx, __u32 l4_off, __u32 l4_len, __u8 family,
				    enum pr_hook hook)
{
	struct pr_ct_scratch *s = pr_ct_scratch_get();
	void *data = ctx_data(ctx), *data_end = ctx_data_end(ctx);
	const union pr_addr *old2;
	struct pr_icmp2_at *at;
	struct pr_ct_val *v;
	struct pr_icmp e;
	bool reply, local2;
	__u32 zero = 0;
	int rc;

	at = bpf_map_lookup_elem(&pr_icmp2_scratch, &zero);
	if (!s || !at)
		return CTX_ACT_OK;
	rc = pr_icmp_parse_at(family, l4_off, l4_len, data, data_end, &e, &s->k);
	if (rc >= 0) {
		if (pr_hook_counts_passes(hook))
			pr_count(rc);
		return CTX_ACT_OK;
	}
	at->icmp = l4_off;
	at->iports = e.iports_off;
	at->il4_csum = e.il4_csum_off;
	at->iproto = e.iproto;
	v = pr_icmp_find(&s->k);
	if (!v || !(v->flags & PR_CT_F_NAT2))
		return CTX_ACT_OK; /* gone since pr_icmp_handle() looked */
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
	/* reply a constant in each call: one call for both took a frame too
	 * large (BPF's 512 bytes) */
	if (reply)
		pr_icmp2_rewrite(ctx, at, family, &s->k, v, true);
	else
		pr_icmp2_rewrite(ctx, at, family, &s->k, v, false);
	pr_count(PR_R_XLATE_ICMP);
	return local2 ? PR_ICMP2_SEND : CTX_ACT_OK;
}

/* pr_icmp2() for each family and hook, both constants in each: one
 * function for all took a frame too large to add to the pipeline's (BPF's
 * 512 bytes, which Linux 6.1 counts in steps of 32). */
__noinline int pr_icmp2_in4(struct pr_ctx *ctx, __u32 l4_off, __u32 l4_len)
{
	return pr_icmp2(ctx, l4_off, l4_len, PR_AF_INET, PR_HOOK_INGRESS);
}

__noinline int pr_icmp2_in6(struct pr_ctx *ctx, __u32 l4_off, __u32 l4_len)
{
	return pr_icmp2(ctx, l4_off, l4_len, PR_AF_INET6, PR_HOOK_INGRESS);
}

__noinline int pr_icmp2_eg4(struct pr_ctx *ctx, __u32 l4_off, __u32 l4_len)
{
	return pr_icmp2(ctx, l4_off, l4_len, PR_AF_INET, PR_HOOK_EGRESS);
}

__noinline int pr_icmp2_eg6(struct pr_ctx *ctx, __u32 l4_off, __u32 l4_len)
{
	return pr_icmp2(ctx, l4_off, l4_len, PR_AF_INET6, PR_HOOK_EGRESS);
}

#endif /* PR_NAT2_HOOK */

#endif
