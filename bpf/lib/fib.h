/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* XDP forwarding: route with bpf_fib_lookup and redirect, or leave it to the stack. */
#ifndef PR_FIB_H
#define PR_FIB_H

#include "maps.h"
#include "csum.h"
#include "parse.h"
#include "stats.h"

/* Set by the loader per attachment (attach --via-stack): translated packets
 * then always take the stack's forward path, with its firewall and routing
 * policy, instead of going straight to the egress device. */
const volatile bool pr_via_stack = false;

#define PR_AF_INET_KERNEL 2   /* AF_INET, which no uapi header gives BPF code */
#define PR_AF_INET6_KERNEL 10 /* AF_INET6 */

/* Route a packet as it will be once translated, with bpf_fib_lookup: 0
 * with fib filled when the route and the neighbour are known and the
 * packet may be forwarded as is; -1 when the stack must handle it (local
 * delivery, no neighbour yet, TTL expiring, MTU exceeded, forwarding
 * disabled, attach --via-stack). Runs before the rewrite, so a reply that
 * cannot go straight out can still be left untranslated (see pr_tc()). */
static __always_inline int pr_fib_lookup(void *ctx, struct bpf_fib_lookup *fib, void *data,
					 void *data_end, __u32 ifindex, const struct pr_pkt *p,
					 const struct pr_xlate *x)
{
	const union pr_addr *src = x->dir == PR_DIR_ORIG ? &p->saddr : &x->new_addr;
	const union pr_addr *dst = x->dir == PR_DIR_ORIG ? &x->new_addr : &p->daddr;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);
	__be16 *ports = p->ports;

	if (pr_via_stack || p->frag != PR_FRAG_NONE || !ports || (void *)(ports + 2) > data_end)
		return -1; /* a datagram's fragments stay on one path, in order */
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->l4_protocol = p->proto;
	fib->sport = x->dir == PR_DIR_ORIG ? ports[0] : x->new_port;
	fib->dport = x->dir == PR_DIR_ORIG ? x->new_port : ports[1];
	fib->ifindex = ifindex;
	if (p->family == PR_AF_INET) {
		if ((void *)(ip + 1) > data_end || ip->ttl <= 1)
			return -1; /* the stack sends time-exceeded */
		fib->family = PR_AF_INET_KERNEL;
		fib->tos = ip->tos;
		fib->tot_len = bpf_ntohs(ip->tot_len);
		fib->ipv4_src = src->v4;
		fib->ipv4_dst = dst->v4;
	} else {
		if ((void *)(ip6 + 1) > data_end || ip6->hop_limit <= 1)
			return -1;
		fib->family = PR_AF_INET6_KERNEL;
		fib->flowinfo = *(__be32 *)ip6 & bpf_htonl(0x0fffffff);
		fib->tot_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		__builtin_memcpy(fib->ipv6_src, src, 16);
		__builtin_memcpy(fib->ipv6_dst, dst, 16);
	}
	/* An L3 egress device (tun, WireGuard, ipip) is fine too: bpf_redirect
	 * strips the Ethernet header for it, and XDP only uses pr_tx devices. */
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0) == BPF_FIB_LKUP_RET_SUCCESS ? 0 : -1;
}

/* What the stack's forward path would do to the headers: TTL or hop limit
 * down by one (IPv4 checksum updated) and the next hop's MACs. */
static __always_inline bool pr_fib_apply(const struct bpf_fib_lookup *fib, void *data, void *data_end,
					 __u8 family)
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
	__builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
	return true;
}

#endif
