/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Applying a translation to the packet: by hand in XDP, with skb helpers in TC. */
#ifndef PR_REWRITE_H
#define PR_REWRITE_H

#include "nat.h"
#include "csum.h"

/* Address and port in place, and the IPv4 header checksum, by direct
 * packet access (both hooks). Returns false if the headers moved out of
 * bounds, which the parser already excluded. */
static __always_inline bool pr_rewrite_hdrs(const struct pr_pkt *p, const struct pr_xlate *x,
					    void *data_end)
{
	if (p->family == PR_AF_INET) {
		struct iphdr *ip = p->l3;

		if ((void *)(ip + 1) > data_end)
			return false;
		if (x->dir == PR_DIR_ORIG)
			ip->daddr = x->new_addr.v4;
		else
			ip->saddr = x->new_addr.v4;
		pr_csum_replace4(&ip->check, x->old_addr.v4, x->new_addr.v4);
	} else {
		struct ipv6hdr *ip6 = p->l3;

		if ((void *)(ip6 + 1) > data_end)
			return false;
		if (x->dir == PR_DIR_ORIG)
			__builtin_memcpy(&ip6->daddr, &x->new_addr, 16);
		else
			__builtin_memcpy(&ip6->saddr, &x->new_addr, 16);
	}
	if (p->frag != PR_FRAG_LATER) {
		__be16 *ports = p->ports;

		/* NULL only on a later fragment; the test keeps that visible to the verifier */
		if (!ports || (void *)(ports + 2) > data_end)
			return false;
		ports[x->dir == PR_DIR_ORIG ? 1 : 0] = x->new_port;
	}
	return true;
}

/* XDP: headers as above, then the L4 checksum by hand (a UDP checksum of
 * zero means none and stays zero); a later fragment gets its address only.
 * Assumes the L4 checksum is complete, which the caller established with
 * pr_csum_maybe_partial() (fragments always are). */
static __always_inline void pr_xdp_rewrite(const struct pr_pkt *p, const struct pr_xlate *x,
					   void *data_end)
{
	__u16 *l4c = (__u16 *)p->l4_csum;

	if (!pr_rewrite_hdrs(p, x, data_end) || p->frag == PR_FRAG_LATER)
		return; /* no L4 header here; the first fragment's checksum covered it all */
	if (p->proto == IPPROTO_UDP && *l4c == 0)
		return;
	pr_csum_replace_addr(l4c, &x->old_addr, &x->new_addr, p->alen);
	pr_csum_replace2(l4c, x->old_port, x->new_port);
	if (p->proto == IPPROTO_UDP && *l4c == 0)
		*l4c = 0xffff;
}

/* TC: headers by direct access, the L4 checksum through the helper, which
 * knows skb->ip_summed: a CHECKSUM_PARTIAL packet from a local socket gets
 * its pseudo-header sum updated and its port change left to the device, a
 * CHECKSUM_COMPLETE one gets skb->csum fixed. Every helper call is costly
 * (see tests/bench/NOTES.md), so only these go through one. The IPv4 header
 * change is checksum-neutral (address and header checksum move together).
 * Returns 0 or a negative errno; packet pointers are invalid afterwards. */
static __always_inline int pr_tc_rewrite(struct __sk_buff *skb, const struct pr_pkt *p,
					 const struct pr_xlate *x)
{
	__u64 l4f = p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	__u32 csum_off = p->csum_off;
	__u8 alen = p->alen;
	int err = 0;

	if (!pr_rewrite_hdrs(p, x, (void *)(long)skb->data_end))
		return -1;
	if (p->frag == PR_FRAG_LATER)
		return 0;
	for (int i = 0; i < 4 && !err; i++) {
		if (i * 4 >= alen)
			break;
		err = bpf_l4_csum_replace(skb, csum_off, x->old_addr.v6[i], x->new_addr.v6[i],
					  l4f | BPF_F_PSEUDO_HDR | sizeof(__be32));
	}
	if (!err)
		err = bpf_l4_csum_replace(skb, csum_off, x->old_port, x->new_port, l4f | sizeof(x->new_port));
	return err;
}

#endif
