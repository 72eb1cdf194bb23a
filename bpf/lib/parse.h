/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Header parsing shared by XDP and TC: Ethernet, IPv4 (with options) or IPv6 (with extension headers), then TCP, UDP or ICMP. */
#ifndef PR_PARSE_H
#define PR_PARSE_H

#include "kernel.h"
#include "portredir.h"

#define PR_IP_MF 0x2000
#define PR_IP_OFFSET 0x1fff
#define PR_IP6_MAX_EXT 6     /* extension headers we walk before giving up */
#define PR_IP6_MAX_EXT_LEN 256 /* bytes of them; beyond that the packet is passed */

/* What the rest of the datapath needs to know about one packet. Offsets are
 * from the start of the Ethernet header, so TC can use them after helpers
 * have invalidated the pointers. Addresses are copied, zero-padded for IPv4,
 * so keys are built the same way for both families. */
struct pr_pkt {
	void *l3;
	struct iphdr *ip;     /* IPv4 only, else NULL */
	__be16 *ports;        /* ports[0] source, ports[1] destination */
	__sum16 *l4_csum;
	union pr_addr saddr;
	union pr_addr daddr;
	__u32 l4_off;
	__u32 csum_off;
	__u32 saddr_off;
	__u32 daddr_off;
	__be32 frag_id;       /* IPv4 id or IPv6 fragment identification */
	__u16 l4_len;         /* L4 header plus payload (a BIG TCP burst: less than it is) */
	__u8 family;          /* PR_AF_INET or PR_AF_INET6 */
	__u8 alen;            /* address length: 4 or 16 */
	__u8 proto;
	__u8 tcp_flags;
	__u8 frag;            /* PR_FRAG_* */
};

#define PR_FRAG_NONE 0
#define PR_FRAG_FIRST 1 /* more fragments follow, offset 0: carries the L4 header */
#define PR_FRAG_LATER 2 /* offset > 0: no L4 header */

/* pr_parse() results besides an enum pr_reason */
#define PR_PARSE_L4 -1   /* TCP or UDP: p is filled */
#define PR_PARSE_ICMP -2 /* ICMP or ICMPv6: the L3 fields and l4_off are filled */
#define PR_PARSE_FRAG -3 /* a later fragment of TCP or UDP: the L3 fields and proto are filled */

#define PR_TCP_FIN 0x01
#define PR_TCP_SYN 0x02
#define PR_TCP_RST 0x04
#define PR_TCP_ACK 0x10

#define PR_NEXTHDR_HOP 0
#define PR_NEXTHDR_ROUTING 43
#define PR_NEXTHDR_FRAGMENT 44
#define PR_NEXTHDR_DEST 60
#define PR_IPPROTO_ICMPV6 58

/* BIG TCP (gso_max_size, and for IPv4 gso_ipv4_max_size, over 64 KiB): a
 * GSO burst too long for the IP length field carries 0 there, and its
 * length is the skb's (the kernel's iph_totlen()). For such a field len of
 * a GSO skb (gso: its segment size, 0 if none) with room bytes after the
 * field's start, the length to take: room, at most 0xffff, which is all
 * the parse of TCP needs (the rewrite has the helper do a GSO skb's L4
 * checksum, ctx/skb.h); else 0. ORed into len. Without a branch: with one,
 * the length's range split the verifier's states and took TC egress past a
 * million instructions on 6.1. */
static __always_inline __u32 pr_big_len(__u32 len, __u32 gso, __u32 room)
{
	__u32 big = ((len - 1) >> 31) & ((0 - gso) >> 31); /* len 0 and gso: 1 */
	__u32 over = (0xffff - room) >> 31;                 /* room over 0xffff: 1 */

	return (0 - big) & (room | (0 - over)) & 0xffff;
}

/* Whether the packet's IP length field is 0, as a BIG TCP burst's is. */
static __always_inline bool pr_parse_len_zero(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct ipv6hdr *ip6 = data + sizeof(*eth);

	if ((void *)(eth + 1) > data_end)
		return false;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return (void *)(ip + 1) <= data_end && !ip->tot_len;
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return (void *)(ip6 + 1) <= data_end && !ip6->payload_len;
	return false;
}

/* IPv4 header: fills the L3 part of p. Returns -1 to go on to L4, or a reason. */
static __always_inline int pr_parse_ip4(void *data, void *data_end, __u32 pkt_len, __u32 gso,
					struct pr_pkt *p)
{
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__u32 ihl, tot_len;

	if ((void *)(ip + 1) > data_end)
		return PR_R_PASS_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return PR_R_PASS_MALFORMED;
	ihl = ip->ihl * 4;
	tot_len = bpf_ntohs(ip->tot_len);
	tot_len |= pr_big_len(tot_len, gso, pkt_len - sizeof(struct ethhdr));
	if (tot_len < ihl || sizeof(struct ethhdr) + tot_len > pkt_len)
		return PR_R_PASS_MALFORMED;
	p->l3 = ip;
	p->ip = ip;
	p->family = PR_AF_INET;
	p->alen = 4;
	p->saddr.v4 = ip->saddr;
	p->daddr.v4 = ip->daddr;
	p->saddr_off = sizeof(struct ethhdr) + offsetof(struct iphdr, saddr);
	p->daddr_off = sizeof(struct ethhdr) + offsetof(struct iphdr, daddr);
	p->proto = ip->protocol;
	p->l4_off = sizeof(struct ethhdr) + ihl;
	p->l4_len = tot_len - ihl;
	p->frag_id = ip->id;
	if (ip->frag_off & bpf_htons(PR_IP_OFFSET))
		p->frag = PR_FRAG_LATER;
	else if (ip->frag_off & bpf_htons(PR_IP_MF))
		p->frag = PR_FRAG_FIRST;
	return -1;
}

/* IPv6 header and extension headers (hop-by-hop, destination options,
 * routing with no segments left, fragment), walked in a bounded loop.
 * Returns -1 to go on to L4, or a reason. */
static __always_inline int pr_parse_ip6(void *data, void *data_end, __u32 pkt_len, __u32 gso,
					struct pr_pkt *p)
{
	struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);
	__u32 off, end, plen;
	__u8 nh;

	if ((void *)(ip6 + 1) > data_end)
		return PR_R_PASS_MALFORMED;
	if (ip6->version != 6)
		return PR_R_PASS_MALFORMED;
	plen = bpf_ntohs(ip6->payload_len);
	/* BIG TCP; before 6.11 behind a hop-by-hop jumbo option, walked below */
	plen |= pr_big_len(plen, gso, pkt_len - sizeof(struct ethhdr) - sizeof(*ip6));
	end = sizeof(struct ethhdr) + sizeof(*ip6) + plen;
	if (end > pkt_len)
		return PR_R_PASS_MALFORMED;
	p->l3 = ip6;
	p->ip = NULL;
	p->family = PR_AF_INET6;
	p->alen = 16;
	__builtin_memcpy(&p->saddr, &ip6->saddr, 16);
	__builtin_memcpy(&p->daddr, &ip6->daddr, 16);
	p->saddr_off = sizeof(struct ethhdr) + offsetof(struct ipv6hdr, saddr);
	p->daddr_off = sizeof(struct ethhdr) + offsetof(struct ipv6hdr, daddr);
	p->frag_id = 0;

	nh = ip6->nexthdr;
	off = sizeof(struct ethhdr) + sizeof(*ip6);
	for (int i = 0; i < PR_IP6_MAX_EXT; i++) {
		__u8 *h;

		if (nh != PR_NEXTHDR_HOP && nh != PR_NEXTHDR_DEST && nh != PR_NEXTHDR_ROUTING &&
		    nh != PR_NEXTHDR_FRAGMENT)
			break;
		/* keeps the offset provably small for the verifier */
		if (off > sizeof(struct ethhdr) + sizeof(*ip6) + PR_IP6_MAX_EXT_LEN)
			return PR_R_PASS_MALFORMED;
		h = data + off;
		if ((void *)(h + 8) > data_end)
			return PR_R_PASS_MALFORMED;
		if (nh == PR_NEXTHDR_FRAGMENT) {
			__u16 fo = bpf_ntohs(*(__be16 *)(h + 2));

			p->frag_id = *(__be32 *)(h + 4);
			if (fo & 0xfff8)
				p->frag = PR_FRAG_LATER;
			else if (fo & 1)
				p->frag = PR_FRAG_FIRST;
			nh = h[0];
			off += 8;
			continue;
		}
		/* the destination field is not the final one while segments remain,
		 * and the L4 checksum covers the final one: leave such packets alone */
		if (nh == PR_NEXTHDR_ROUTING && h[3] != 0)
			return PR_R_PASS_MALFORMED;
		nh = h[0];
		off += (h[1] + 1) * 8;
	}
	if (nh == PR_NEXTHDR_HOP || nh == PR_NEXTHDR_DEST || nh == PR_NEXTHDR_ROUTING ||
	    nh == PR_NEXTHDR_FRAGMENT || off > end)
		return PR_R_PASS_MALFORMED;
	p->proto = nh == PR_IPPROTO_ICMPV6 ? IPPROTO_ICMP : nh;
	p->l4_off = off;
	p->l4_len = end - off;
	return -1;
}

/* Parse the headers in [data, data_end) of a packet pkt_len bytes long (TC's
 * linear area can end before the packet does); gso: a GSO skb's segment
 * size (0: none), since a BIG TCP burst's IP length field is 0 (pr_big_len()).
 * Returns PR_PARSE_L4 when p describes a TCP or UDP packet (or first
 * fragment) whose headers are all readable and agree with each other and
 * with pkt_len; PR_PARSE_ICMP for an
 * unfragmented ICMP or ICMPv6 packet (p->proto is IPPROTO_ICMP for both);
 * PR_PARSE_FRAG for a later fragment; otherwise the enum pr_reason it is
 * passed for. */
static __always_inline int pr_parse(void *data, void *data_end, __u32 pkt_len, __u32 gso, struct pr_pkt *p)
{
	struct ethhdr *eth = data;
	void *l4;
	int rc;

	if ((void *)(eth + 1) > data_end)
		return PR_R_PASS_MALFORMED;
	p->frag = PR_FRAG_NONE;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		rc = pr_parse_ip4(data, data_end, pkt_len, gso, p);
	else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		rc = pr_parse_ip6(data, data_end, pkt_len, gso, p);
	else
		return PR_R_PASS_NOT_IP;
	if (rc >= 0)
		return rc;

	if (p->frag != PR_FRAG_NONE) {
		if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
			return PR_R_PASS_FRAGMENT;
		if (p->frag == PR_FRAG_LATER)
			return PR_PARSE_FRAG;
	}
	if (p->proto == IPPROTO_ICMP)
		return PR_PARSE_ICMP;
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return PR_R_PASS_NOT_L4;

	if (p->l4_off > sizeof(struct ethhdr) + 60 + PR_IP6_MAX_EXT_LEN + 8 * 8)
		return PR_R_PASS_MALFORMED; /* bound for the verifier */
	l4 = data + p->l4_off;
	p->tcp_flags = 0;
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		/* the header must sit wholly in a first fragment */
		if ((void *)(th + 1) > data_end)
			return PR_R_PASS_MALFORMED;
		if (th->doff < 5 || th->doff * 4 > p->l4_len)
			return PR_R_PASS_MALFORMED;
		p->l4_csum = &th->check;
		p->csum_off = p->l4_off + offsetof(struct tcphdr, check);
		p->tcp_flags = ((__u8 *)th)[13];
	} else {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end)
			return PR_R_PASS_MALFORMED;
		/* a first fragment holds only part of the datagram the length covers */
		if (bpf_ntohs(uh->len) < sizeof(*uh) ||
		    (p->frag == PR_FRAG_NONE && bpf_ntohs(uh->len) > p->l4_len) ||
		    (p->frag == PR_FRAG_FIRST && bpf_ntohs(uh->len) <= p->l4_len))
			return PR_R_PASS_MALFORMED;
		p->l4_csum = &uh->check;
		p->csum_off = p->l4_off + offsetof(struct udphdr, check);
	}
	p->ports = l4;
	return PR_PARSE_L4;
}

#endif
