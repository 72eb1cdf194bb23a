/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Header parsing shared by XDP and TC: Ethernet, IPv4 (with options), TCP and UDP. */
#ifndef PR_PARSE_H
#define PR_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "portredir.h"

#define PR_IP_MF 0x2000
#define PR_IP_OFFSET 0x1fff

/* What the rest of the datapath needs to know about one packet. Offsets are
 * from the start of the Ethernet header, so TC can use them after helpers
 * have invalidated the pointers. */
struct pr_pkt {
	struct iphdr *ip;
	__be16 *ports;     /* ports[0] source, ports[1] destination */
	__sum16 *l4_csum;
	__u32 l4_off;
	__u32 csum_off;
	__u16 l4_len;      /* L4 header plus payload, from the IP total length */
	__u8 proto;
	__u8 tcp_flags;
	__u8 frag;         /* PR_FRAG_* */
};

#define PR_FRAG_NONE 0
#define PR_FRAG_FIRST 1 /* MF set, offset 0: carries the L4 header */
#define PR_FRAG_LATER 2 /* offset > 0: no L4 header */

/* pr_parse() results besides an enum pr_reason */
#define PR_PARSE_L4 -1   /* TCP or UDP: p is filled */
#define PR_PARSE_ICMP -2 /* ICMP: p->ip and p->l4_off are filled */
#define PR_PARSE_FRAG -3 /* a later fragment of TCP or UDP: p->ip and p->proto are filled */

#define PR_TCP_FIN 0x01
#define PR_TCP_SYN 0x02
#define PR_TCP_RST 0x04
#define PR_TCP_ACK 0x10

/* Parse the headers in [data, data_end) of a packet pkt_len bytes long (TC's
 * linear area can end before the packet does). Returns PR_PARSE_L4 when p
 * describes an IPv4 TCP or UDP packet, not a fragment, whose headers are all
 * readable and agree with each other and with pkt_len; PR_PARSE_ICMP for an
 * unfragmented ICMP packet; otherwise the enum pr_reason it is passed for. */
static __always_inline int pr_parse(void *data, void *data_end, __u32 pkt_len, struct pr_pkt *p)
{
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u32 ihl, tot_len;
	void *l4;

	if ((void *)(eth + 1) > data_end)
		return PR_R_PASS_MALFORMED;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return PR_R_PASS_NOT_IPV4;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return PR_R_PASS_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return PR_R_PASS_MALFORMED;
	ihl = ip->ihl * 4;
	tot_len = bpf_ntohs(ip->tot_len);
	if (tot_len < ihl || sizeof(*eth) + tot_len > pkt_len)
		return PR_R_PASS_MALFORMED;
	l4 = (void *)ip + ihl;
	p->ip = ip;
	p->proto = ip->protocol;
	p->l4_off = sizeof(*eth) + ihl;
	p->l4_len = tot_len - ihl;
	p->frag = PR_FRAG_NONE;
	if (ip->frag_off & bpf_htons(PR_IP_MF | PR_IP_OFFSET)) {
		if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
			return PR_R_PASS_FRAGMENT;
		if (ip->frag_off & bpf_htons(PR_IP_OFFSET)) {
			p->frag = PR_FRAG_LATER;
			return PR_PARSE_FRAG;
		}
		p->frag = PR_FRAG_FIRST;
	}
	if (ip->protocol == IPPROTO_ICMP)
		return PR_PARSE_ICMP;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return PR_R_PASS_NOT_L4;
	p->tcp_flags = 0;
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end)
			return PR_R_PASS_MALFORMED;
		if (th->doff < 5 || th->doff * 4 > p->l4_len)
			return PR_R_PASS_MALFORMED;
		/* the header must sit wholly in a first fragment */
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
