/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* XDP forwarding: route with bpf_fib_lookup and redirect, or leave it to the stack. */
#ifndef PR_FIB_H
#define PR_FIB_H

#include "maps.h"
#include "csum.h"
#include "parse.h"
#include "stats.h"

#define PR_AF_INET_KERNEL 2   /* AF_INET, which no uapi header gives BPF code */
#define PR_AF_INET6_KERNEL 10 /* AF_INET6 */

/* Send a translated packet straight out when the route and the neighbour are
 * known and the egress device is in pr_tx; otherwise XDP_PASS, so the stack
 * routes it, delivers it locally, fragments it or answers with ICMP. */
static __always_inline int pr_xdp_forward(struct xdp_md *ctx, const struct pr_pkt *p)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup fib = {};
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct ipv6hdr *ip6 = data + sizeof(*eth);

	if ((void *)(ip + 1) > data_end) /* the shorter header; IPv6 checks its own below */
		return XDP_PASS;

	fib.l4_protocol = p->proto;
	fib.sport = p->ports[0];
	fib.dport = p->ports[1];
	fib.ifindex = ctx->ingress_ifindex;
	if (p->family == PR_AF_INET) {
		if (ip->ttl <= 1)
			return XDP_PASS; /* the stack sends time-exceeded */
		fib.family = PR_AF_INET_KERNEL;
		fib.tos = ip->tos;
		fib.tot_len = bpf_ntohs(ip->tot_len);
		fib.ipv4_src = ip->saddr;
		fib.ipv4_dst = ip->daddr;
	} else {
		if ((void *)(ip6 + 1) > data_end || ip6->hop_limit <= 1)
			return XDP_PASS;
		fib.family = PR_AF_INET6_KERNEL;
		fib.flowinfo = *(__be32 *)ip6 & bpf_htonl(0x0fffffff);
		fib.tot_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		__builtin_memcpy(fib.ipv6_src, &ip6->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, &ip6->daddr, 16);
	}
	if (bpf_fib_lookup(ctx, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_PASS;
	if (!bpf_map_lookup_elem(&pr_tx, &fib.ifindex))
		return XDP_PASS;

	if (p->family == PR_AF_INET) {
		__u16 *ttl_word = (__u16 *)&ip->ttl;
		__u16 old = *ttl_word;

		ip->ttl--;
		pr_csum_replace2(&ip->check, old, *ttl_word);
	} else {
		if ((void *)(ip6 + 1) > data_end) /* re-proven for the verifier after the helper */
			return XDP_PASS;
		ip6->hop_limit--;
	}
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	pr_count(PR_R_REDIRECT);
	return bpf_redirect_map(&pr_tx, fib.ifindex, XDP_PASS);
}

#endif
