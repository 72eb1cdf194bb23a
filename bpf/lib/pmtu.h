/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Path MTU of full-NAT flows, in TC: a packet too big for its egress becomes, in place, the ICMP frag-needed or ICMPv6 packet-too-big the stack would have sent its sender, and goes back out of the interface it came in by. */
#ifndef PR_PMTU_H
#define PR_PMTU_H

#include "ctx.h"
#include "csum.h"
#include "ct.h"
#include "kernel.h"
#include "parse.h"
#include "portredir.h"
#include "stats.h"

/* TC only: XDP leaves every full-NAT packet to TC ingress (PR_NAT2_HOOK 0, nat.h). */
#if PR_NAT2_HOOK

#define PR_IP_DF 0x4000
/* The quote: IPv4 as much as keeps the error within 576 bytes (RFC 1812
 * 4.3.2.3, as Linux's icmp_send()), IPv6 within 1280 (RFC 4443 2.4). */
#define PR_PMTU_Q4 (576 - 20 - 8)
#define PR_PMTU_Q6 (1280 - 40 - 8)
/* The rate limit, a token bucket per CPU: a burst of 50, then 1000 errors
 * a second (the defaults of net.ipv4.icmp_msgs_burst and icmp_msgs_per_sec,
 * which Linux does not apply to PMTU errors; we do, since each error costs
 * a linearised, reshaped skb). */
#define PR_PMTU_BURST 50
#define PR_PMTU_TOKEN_NS 1000000ULL
#define PR_PMTU_CHUNK 512 /* the most bpf_csum_diff sums in one call */

/* pr_pmtu()'s last argument: the packet's family, L4 protocol and PR_FRAG_*. */
#define PR_PMTU_HOW(family, proto, frag) ((__u32)(family) | (__u32)(proto) << 8 | (__u32)(frag) << 16)

/* Per CPU: the token bucket, and the error being built, off the stack
 * (pr_pmtu()'s frame adds to the pipeline's within BPF's 512 bytes). */
struct pr_pmtu_scratch {
	__u64 at;      /* the bucket's clock: tokens are added up to here */
	__u32 tokens;
	__u32 pad;
	union pr_addr sa, da;           /* the packet's source and destination */
	__u8 eth[ETH_HLEN + 2];         /* the error's Ethernet header */
	__u8 ip[40];                    /* its IP header */
	__u8 msg[3 * PR_PMTU_CHUNK];    /* its ICMP header and the quote, then zeros */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pr_pmtu_scratch);
} pr_pmtu_scratch SEC(".maps");

/* Take a token: one per PR_PMTU_TOKEN_NS, at most PR_PMTU_BURST saved.
 * The map starts zeroed, so the first call fills the bucket. */
static __always_inline bool pr_pmtu_allow(struct pr_pmtu_scratch *t)
{
	__u64 now = bpf_ktime_get_ns(), add = (now - t->at) / PR_PMTU_TOKEN_NS;

	if (add >= PR_PMTU_BURST || t->tokens + add >= PR_PMTU_BURST) {
		t->tokens = PR_PMTU_BURST;
		t->at = now;
	} else {
		t->tokens += add;
		t->at += add * PR_PMTU_TOKEN_NS;
	}
	if (!t->tokens)
		return false;
	t->tokens--;
	return true;
}

/* The one's-complement sum of msg[0, n), folded, where msg is zero from
 * n on; -1 if bpf_csum_diff refused. Whole chunks of a constant size:
 * Linux 6.1's verifier, which cannot rule out a branch by a constant on
 * the left of the test, lost a variable length's bound in the loop. */
static __always_inline int pr_pmtu_sum(struct pr_pmtu_scratch *t, __u64 n)
{
	__s64 sum = 0;

	for (int i = 0; i < 3; i++) {
		if (i * PR_PMTU_CHUNK >= n)
			break;
		sum = bpf_csum_diff(NULL, 0, (void *)(t->msg + i * PR_PMTU_CHUNK), PR_PMTU_CHUNK, sum);
		if (sum < 0)
			return -1;
	}
	return pr_csum_fold32(sum);
}

/* The value of a checksum field that completing it leaves as it is:
 * F = ~(S + F) in one's complement, where s is the folded sum of the
 * checksummed range without the field (read as in memory). So F is ~S
 * halved: ~S rotated right by one bit, in network order. */
static __always_inline __u16 pr_pmtu_fixed_point(__u16 s)
{
	__u16 n = ~bpf_ntohs(s);

	return bpf_htons((__u16)((n >> 1) | (n << 15)));
}

/* The IP header of the error to the packet's sender, in t->ip, and the
 * packet's addresses in t->sa and t->da: IPv4 from the address the sender
 * sent to, TTL 64, no DF, id 0, TOS as Linux's icmp_send() sets it;
 * checksums are left for later. Returns the packet's IP length, or 0 to
 * drop it: an IPv4 packet without DF, which a router fragments and TC
 * cannot. */
static __always_inline __u32 pr_pmtu_ip(struct pr_pmtu_scratch *t, void *data, void *data_end,
					__u8 family)
{
	struct iphdr *ip = data + ETH_HLEN, *e = (void *)t->ip;
	struct ipv6hdr *ip6 = data + ETH_HLEN, *e6 = (void *)t->ip;
	__u32 len;

	__builtin_memset(&t->sa, 0, sizeof(t->sa));
	__builtin_memset(&t->da, 0, sizeof(t->da));
	__builtin_memset(t->ip, 0, sizeof(t->ip));
	if (family == PR_AF_INET) {
		if ((void *)(ip + 1) > data_end || !(ip->frag_off & bpf_htons(PR_IP_DF)))
			return 0;
		len = bpf_ntohs(ip->tot_len);
		t->sa.v4 = ip->saddr;
		t->da.v4 = ip->daddr;
		t->ip[0] = 0x45;
		e->tos = (ip->tos & 0x1e) | 0xc0; /* RT_TOS | IPTOS_PREC_INTERNETCONTROL */
		e->tot_len = bpf_htons(20 + 8 + (len < PR_PMTU_Q4 ? len : PR_PMTU_Q4));
		e->ttl = 64;
		e->protocol = IPPROTO_ICMP;
		e->saddr = ip->daddr;
		e->daddr = ip->saddr;
		return len;
	}
	if ((void *)(ip6 + 1) > data_end)
		return 0;
	len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	__builtin_memcpy(&t->sa, &ip6->saddr, 16);
	__builtin_memcpy(&t->da, &ip6->daddr, 16);
	t->ip[0] = 0x60;
	e6->payload_len = bpf_htons(8 + (len < PR_PMTU_Q6 ? len : PR_PMTU_Q6));
	e6->nexthdr = PR_IPPROTO_ICMPV6;
	e6->hop_limit = 64;
	__builtin_memcpy(&e6->saddr, &ip6->daddr, 16);
	__builtin_memcpy(&e6->daddr, &ip6->saddr, 16);
	return len;
}

/* Answer a full-NAT packet too big for its egress, which pr_fib_lookup()
 * found (PR_ROUTE_TOO_BIG, the egress MTU in the conntrack scratch's
 * fib.mtu_result), as the stack's forward path would: with ICMP
 * "fragmentation needed" (type 3 code 4, the next-hop MTU) or ICMPv6
 * "packet too big" (type 2, the MTU) to its sender, from the address the
 * sender sent to (the listen address, or for a reply the full-NAT source),
 * quoting the packet as it arrived, untranslated, as much as fits (IPv4:
 * 576 bytes in all, IPv6: 1280). The packet still is as it arrived;
 * l4_off is its L4 header's offset, how PR_PMTU_HOW().
 *
 * Built in place: the packet is cut to the quote (bpf_skb_change_tail(),
 * which also linearises it and drops its GSO state), room for the new IP
 * and ICMP headers is made behind the Ethernet header
 * (bpf_skb_adjust_room(), BPF_ADJ_ROOM_MAC), the Ethernet addresses are
 * swapped, and the error goes back out of the interface the packet came in
 * by (bpf_redirect). The quote is copied into the scratch to be summed:
 * bpf_csum_diff cannot take a packet range whose length the verifier does
 * not know.
 *
 * A quote whose L4 checksum may be a CHECKSUM_PARTIAL seed (a local
 * socket's packet, or a GRO burst: the seed check of XDP, csum.h) keeps
 * skb's csum_start on the quoted L4 header, so the device or the stack
 * would complete that checksum over the quote and break the ICMP
 * checksum. Its field gets the one value completion leaves unchanged
 * (pr_pmtu_fixed_point()); the quote then differs from the packet in that
 * field only, which the receiver does not read (the stack's own errors
 * quote the seed).
 *
 * Not answered, the packet dropped and counted drop_nat2_no_route: an IPv4
 * packet without DF (a router fragments it, which TC cannot), an error over
 * the rate limit (pr_pmtu_allow()), a helper failing. Answered:
 * drop_too_big_icmp_sent. A global function, so the verifier checks it
 * once, apart from the pipeline, with scalar arguments only. Returns the
 * verdict. */
__noinline int pr_pmtu(struct __sk_buff *ctx, __u32 l4_off, __u32 how)
{
	__u8 family = how & 0xff, proto = (how >> 8) & 0xff, frag = (how >> 16) & 0xff;
	struct pr_ct_scratch *s = pr_ct_scratch_get();
	void *data = ctx_data(ctx), *data_end = ctx_data_end(ctx);
	__u32 zero = 0, hl, l3 = l4_off - ETH_HLEN, fo = 0;
	__u64 len, q, qmax, n; /* 64-bit: a test of a 32-bit copy leaves the verifier no bound */
	struct pr_pmtu_scratch *t = bpf_map_lookup_elem(&pr_pmtu_scratch, &zero);
	__u16 mtu, sum, c;
	int total;

	if (!s || !t || data + ETH_HLEN > data_end)
		goto drop;
	mtu = s->fib.mtu_result;
	__builtin_memcpy(t->eth, data + ETH_ALEN, ETH_ALEN);
	__builtin_memcpy(t->eth + ETH_ALEN, data, ETH_ALEN);
	__builtin_memcpy(t->eth + 2 * ETH_ALEN, data + 2 * ETH_ALEN, 2);
	len = pr_pmtu_ip(t, data, data_end, family);
	if (!len || !pr_pmtu_allow(t))
		goto drop;
	hl = family == PR_AF_INET ? 20 : 40;
	qmax = family == PR_AF_INET ? PR_PMTU_Q4 : PR_PMTU_Q6;
	/* q gets len through an ALU op, not a move: a move links the two for
	 * the verifier, and Linux 6.1 then explored the clamp's branches with
	 * bounds that contradict each other (umin above umax), which lost q's
	 * bound. The same op hides q's origin from clang, which would test len
	 * instead of q. */
	q = len;
	asm volatile("%[q] += 0" : [q] "+r"(q));
	if (q > qmax)
		q = qmax;
	/* bounds the verifier can see: the quote fits msg and is not empty */
	if (q < 28 || q > PR_PMTU_Q6)
		goto drop;

	/* zero beyond the quote: the sums take whole chunks (volatile, or
	 * clang makes the loop a memset call, which BPF does not have) */
#pragma unroll
	for (int i = 0; i < (int)sizeof(t->msg) / 8; i++)
		((volatile __u64 *)t->msg)[i] = 0;
	if (bpf_skb_change_tail(ctx, ETH_HLEN + q, 0) ||
	    bpf_skb_adjust_room(ctx, hl + 8, BPF_ADJ_ROOM_MAC, 0) ||
	    bpf_skb_load_bytes(ctx, ETH_HLEN + hl + 8, t->msg + 8, q))
		goto drop;
	n = 8 + q;
	if (family == PR_AF_INET) {
		t->msg[0] = ICMP_DEST_UNREACH;
		t->msg[1] = ICMP_FRAG_NEEDED;
		*(__be16 *)(t->msg + 6) = bpf_htons(mtu);
	} else {
		t->msg[0] = ICMPV6_PKT_TOOBIG;
		*(__be32 *)(t->msg + 4) = bpf_htonl(mtu);
	}

	/* the quoted L4 checksum field, when the quote holds it */
	if (frag == PR_FRAG_NONE && (proto == IPPROTO_TCP || proto == IPPROTO_UDP)) {
		/* the mask bounds fo for the verifier (the parser bounds l3 already,
		 * so a test of l3 that clang knows to hold would be dropped) */
		fo = 8 + (l3 & 0x1ff) + (proto == IPPROTO_TCP ? 16 : 6);
		if (fo + 2 > 8 + q ||
		    !pr_csum_maybe_partial(*(__u16 *)(t->msg + fo), pr_pseudo(&t->sa, &t->da, proto, len - l3)))
			fo = 0;
	}
	if (fo) {
		__s64 pre; /* as bpf_csum_diff answers: Linux before 6.13 leaves it a 32-bit sum, not folded */

		*(__u16 *)(t->msg + fo) = 0;
		total = pr_pmtu_sum(t, n);
		pre = bpf_csum_diff(NULL, 0, (void *)t->msg, 8 + (l3 & 0x1ff), 0);
		if (total < 0 || pre < 0)
			goto drop;
		/* the quoted L4 range's sum: the whole less the headers before it */
		sum = pr_csum_add16(total, ~pr_csum_fold32(pre));
		c = pr_pmtu_fixed_point(sum);
		*(__u16 *)(t->msg + fo) = c;
		total = pr_csum_add16(total, c);
	} else {
		total = pr_pmtu_sum(t, n);
		if (total < 0)
			goto drop;
	}
	if (family == PR_AF_INET) {
		__s64 h = bpf_csum_diff(NULL, 0, (void *)t->ip, 20, 0);

		if (h < 0)
			goto drop;
		*(__u16 *)(t->ip + 10) = ~pr_csum_fold32(h);
	} else {
		/* ICMPv6 covers the pseudo header: the error's own addresses */
		total = pr_csum_add16(total, pr_pseudo(&t->da, &t->sa, PR_IPPROTO_ICMPV6, 8 + q));
	}
	*(__u16 *)(t->msg + 2) = ~(__u16)total;

	if (bpf_skb_store_bytes(ctx, 0, t->eth, ETH_HLEN, BPF_F_RECOMPUTE_CSUM) ||
	    bpf_skb_store_bytes(ctx, ETH_HLEN, t->ip, hl, BPF_F_RECOMPUTE_CSUM) ||
	    bpf_skb_store_bytes(ctx, ETH_HLEN + hl, t->msg, 8, BPF_F_RECOMPUTE_CSUM) ||
	    (fo && bpf_skb_store_bytes(ctx, ETH_HLEN + hl + fo, t->msg + fo, 2, BPF_F_RECOMPUTE_CSUM)))
		goto drop;
	pr_count(PR_R_DROP_TOO_BIG_ICMP);
	return bpf_redirect(ctx->ingress_ifindex, 0);
drop:
	pr_count(PR_R_DROP_NAT2_NO_ROUTE);
	return CTX_ACT_DROP;
}

#endif /* PR_NAT2_HOOK */

#endif
