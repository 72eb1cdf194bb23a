/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Forwarding: route a translated packet with bpf_fib_lookup (and a per-flow route cache) and do what the stack's forward path would do to its headers, or leave it to the stack. */
#ifndef PR_FIB_H
#define PR_FIB_H

#include "ctx.h"
#include "csum.h"
#include "ct.h"
#include "kernel.h"
#include "nat.h"
#include "parse.h"
#include "portredir.h"

/* Set by the loader per attachment (attach --via-stack): translated packets
 * then always take the stack's forward path, with its firewall and routing
 * policy, instead of going straight to the egress device. */
const volatile bool pr_via_stack = false;

#define PR_ROUTE_TOO_BIG 2 /* pr_fib_lookup(): a full-NAT packet over the egress MTU */
#define PR_NH_REFRESH_NS 1000000000ULL /* a cached route is looked up again after a second */

/* Route a packet as it will be once translated: 0 with fib's ifindex and
 * MACs filled when the route and the neighbour are known and the packet may
 * be forwarded as is; 1 with fib's ifindex filled when only the neighbour
 * is unknown yet; PR_ROUTE_TOO_BIG with fib->mtu_result filled for a
 * full-NAT packet (pr_x2local()) too big for its egress (pr_pmtu() answers
 * it); -1 when the stack must handle it (local delivery, TTL expiring, MTU
 * exceeded, forwarding disabled, attach --via-stack, which a full-NAT
 * packet ignores). Runs before the rewrite, so a reply that cannot go straight
 * out can still be left untranslated (see pr_pipeline_out()).
 *
 * bpf_fib_lookup costs several times the rest of the fast path, so an
 * established flow keeps its answer in its conntrack entry for a second:
 * the same egress device and MACs, for packets from the same ingress device
 * no longer than one the lookup passed. cacheable is false for a GSO skb,
 * whose length says nothing about its segments (ctx_route_cacheable()).
 * A route or neighbour change reaches a flow within a second. */
static __always_inline int pr_fib_lookup(struct pr_ctx *ctx, struct bpf_fib_lookup *fib, void *data,
					 void *data_end, __u32 ifindex, const struct pr_pkt *p,
					 const struct pr_xlate *x, bool cacheable)
{
	bool orig = x->dir == PR_DIR_ORIG;
	const union pr_addr *src = orig ? (pr_x2(x) ? &x->new2_addr : &p->saddr) : &x->new_addr;
	const union pr_addr *dst = orig ? &x->new_addr : (pr_x2(x) ? &x->new2_addr : &p->daddr);
	struct iphdr *ip = data + sizeof(struct ethhdr);
	struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);
	struct pr_ct_val *v = cacheable ? x->ct : NULL;
	__be16 *ports = p->ports, sport = 0, dport = 0;
	__u16 len;
	int rc;

	/* a datagram's fragments stay on one path, in order */
	if (!pr_x2local(x) && (pr_via_stack || p->frag != PR_FRAG_NONE))
		return -1;
	if (p->frag != PR_FRAG_LATER) {
		if (!ports || (void *)(ports + 2) > data_end)
			return -1;
		sport = orig ? (pr_x2(x) ? x->new2_port : ports[0]) : x->new_port;
		dport = orig ? x->new_port : (pr_x2(x) ? x->new2_port : ports[1]);
	}
	if (p->family == PR_AF_INET) {
		if ((void *)(ip + 1) > data_end || ip->ttl <= 1)
			return -1; /* the stack sends time-exceeded */
		len = bpf_ntohs(ip->tot_len);
	} else {
		if ((void *)(ip6 + 1) > data_end || ip6->hop_limit <= 1)
			return -1;
		len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	}
	if (v && v->nh_ifindex && v->nh_iif == ifindex && len <= v->nh_len &&
	    pr_age(x->now, v->nh_until) < 0) {
		fib->ifindex = v->nh_ifindex;
		__builtin_memcpy(fib->dmac, v->nh_dmac, ETH_ALEN);
		__builtin_memcpy(fib->smac, v->nh_smac, ETH_ALEN);
		return 0;
	}

	__builtin_memset(fib, 0, sizeof(*fib));
	fib->l4_protocol = p->proto;
	fib->sport = sport;
	fib->dport = dport;
	fib->ifindex = ifindex;
	/* A GSO skb's IP length is its whole burst, which the MTU check would
	 * refuse, so a burst is checked with the length of its segments
	 * (ctx_gso_seg_len(), a global function: inline, it cost TC ingress
	 * more than the verifier's million instructions). Segments that fit
	 * go out as they do for the stack's forward path; too big, a DNAT
	 * burst takes the stack's path, which answers frag-needed, and a
	 * full-NAT one gets pr_pmtu()'s answer. A segment length it cannot
	 * tell (0) leaves the burst's own, which the check refuses. */
	fib->tot_len = len;
	if (!cacheable) {
		__u32 seg = ctx_gso_seg_len(ctx, p);

		if (seg)
			fib->tot_len = seg;
	}
	if (p->family == PR_AF_INET) {
		fib->family = AF_INET; /* the kernel's, not enum pr_family */
		fib->tos = ip->tos;
		fib->ipv4_src = src->v4;
		fib->ipv4_dst = dst->v4;
	} else {
		fib->family = AF_INET6;
		fib->flowinfo = *(__be32 *)ip6 & bpf_htonl(0x0fffffff);
		__builtin_memcpy(fib->ipv6_src, src, 16);
		__builtin_memcpy(fib->ipv6_dst, dst, 16);
	}
	/* An L3 egress device (tun, WireGuard, ipip) is fine too: bpf_redirect
	 * strips the Ethernet header for it, and XDP only uses pr_tx devices. */
	rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		if (v)
			v->nh_ifindex = 0;
		if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED && pr_x2local(x))
			return PR_ROUTE_TOO_BIG;
		/* the kernel names the egress device before it looks for the neighbour */
		return rc == BPF_FIB_LKUP_RET_NO_NEIGH ? 1 : -1;
	}
	if (v) {
		/* a longer packet than proven, on a fresh cache: the bound grows;
		 * a refresh starts it over, so a lowered MTU is noticed */
		bool grow = v->nh_ifindex == fib->ifindex && v->nh_iif == ifindex &&
			    pr_age(x->now, v->nh_until) < 0;

		v->nh_ifindex = fib->ifindex;
		v->nh_iif = ifindex;
		__builtin_memcpy(v->nh_dmac, fib->dmac, ETH_ALEN);
		__builtin_memcpy(v->nh_smac, fib->smac, ETH_ALEN);
		v->nh_len = grow && v->nh_len > len ? v->nh_len : len;
		v->nh_until = x->now + PR_NH_REFRESH_NS;
	}
	return 0;
}

/* What the stack's forward path would do to the headers: TTL or hop limit
 * down by one (IPv4 checksum updated) and, with macs, the next hop's MACs. */
static __always_inline bool pr_fib_apply(const struct bpf_fib_lookup *fib, void *data, void *data_end,
					 __u8 family, bool macs)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct ipv6hdr *ip6 = data + sizeof(*eth);

	if (family == PR_AF_INET) {
		if ((void *)(ip + 1) > data_end)
			return false;
		__u16 *ttl_word = (__u16 *)&ip->ttl;
		__u16 old = *ttl_word;

		ip->ttl--;
		pr_csum_replace2(&ip->check, old, *ttl_word);
	} else {
		if ((void *)(ip6 + 1) > data_end)
			return false;
		ip6->hop_limit--;
	}
	if (!macs)
		return true; /* bpf_redirect_neigh writes them */
	__builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
	return true;
}

#endif
