/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* XDP forwarding: route with bpf_fib_lookup and redirect, or leave it to the stack. */
#ifndef PR_FIB_H
#define PR_FIB_H

#include "maps.h"
#include "csum.h"
#include "parse.h"
#include "stats.h"

#define PR_AF_INET_KERNEL 2 /* AF_INET, which no uapi header gives BPF code */

/* Send a translated packet straight out when the route and the neighbour are
 * known and the egress device is in pr_tx; otherwise XDP_PASS, so the stack
 * routes it, delivers it locally, fragments it or answers with ICMP. */
static __always_inline int pr_xdp_forward(struct xdp_md *ctx, void *data, const struct pr_pkt *p)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = p->ip;
	struct bpf_fib_lookup fib = {};
	__u16 *ttl_word = (__u16 *)&ip->ttl;
	__u16 old;

	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return XDP_PASS;
	if (ip->ttl <= 1)
		return XDP_PASS; /* the stack sends time-exceeded */

	fib.family = PR_AF_INET_KERNEL;
	fib.tos = ip->tos;
	fib.l4_protocol = p->proto;
	fib.sport = p->ports[0];
	fib.dport = p->ports[1];
	fib.tot_len = bpf_ntohs(ip->tot_len);
	fib.ipv4_src = ip->saddr;
	fib.ipv4_dst = ip->daddr;
	fib.ifindex = ctx->ingress_ifindex;
	if (bpf_fib_lookup(ctx, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_PASS;
	if (!bpf_map_lookup_elem(&pr_tx, &fib.ifindex))
		return XDP_PASS;

	old = *ttl_word;
	ip->ttl--;
	pr_csum_replace2(&ip->check, old, *ttl_word);
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	pr_count(PR_R_REDIRECT);
	return bpf_redirect_map(&pr_tx, fib.ifindex, XDP_PASS);
}

#endif
