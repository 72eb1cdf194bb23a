/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Applying a translation to the packet: by hand in XDP, with skb helpers in TC. */
#ifndef PR_REWRITE_H
#define PR_REWRITE_H

#include <linux/pkt_cls.h>
#include "nat.h"
#include "csum.h"

/* XDP: rewrite address and port and update the IPv4 header checksum and the
 * L4 checksum (a UDP checksum of zero means none and stays zero); a later
 * fragment gets its address only. Assumes the L4 checksum is complete, which
 * the caller established with pr_csum_maybe_partial() (fragments always are). */
static __always_inline void pr_xdp_rewrite(const struct pr_pkt *p, const struct pr_xlate *x,
					   void *data_end)
{
	__u16 *l4c = (__u16 *)p->l4_csum;

	if (p->family == PR_AF_INET) {
		struct iphdr *ip = p->l3;

		if ((void *)(ip + 1) > data_end)
			return;
		if (x->dir == PR_DIR_ORIG)
			ip->daddr = x->new_addr.v4;
		else
			ip->saddr = x->new_addr.v4;
		pr_csum_replace4(&ip->check, x->old_addr.v4, x->new_addr.v4);
	} else {
		struct ipv6hdr *ip6 = p->l3;

		if ((void *)(ip6 + 1) > data_end)
			return;
		if (x->dir == PR_DIR_ORIG)
			__builtin_memcpy(&ip6->daddr, &x->new_addr, 16);
		else
			__builtin_memcpy(&ip6->saddr, &x->new_addr, 16);
	}
	if (p->frag == PR_FRAG_LATER)
		return; /* no L4 header here; the first fragment's checksum covered it all */
	p->ports[x->dir == PR_DIR_ORIG ? 1 : 0] = x->new_port;
	if (p->proto == IPPROTO_UDP && *l4c == 0)
		return;
	pr_csum_replace_addr(l4c, &x->old_addr, &x->new_addr, p->alen);
	pr_csum_replace2(l4c, x->old_port, x->new_port);
	if (p->proto == IPPROTO_UDP && *l4c == 0)
		*l4c = 0xffff;
}

/* TC: the same rewrite through helpers that know skb->ip_summed, so
 * CHECKSUM_PARTIAL packets from local sockets stay correct. Returns 0 or a
 * negative errno; packet pointers are invalid afterwards. */
static __always_inline int pr_tc_rewrite(struct __sk_buff *skb, const struct pr_pkt *p,
					 const struct pr_xlate *x)
{
	__u32 addr_off = x->dir == PR_DIR_ORIG ? p->daddr_off : p->saddr_off;
	__u32 port_off = p->l4_off + (x->dir == PR_DIR_ORIG ? 2 : 0);
	__u32 ipc_off = sizeof(struct ethhdr) + offsetof(struct iphdr, check);
	__u64 l4f = p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	int err = 0;

	if (p->frag != PR_FRAG_LATER) {
		for (int i = 0; i < 4 && !err; i++) {
			if (i * 4 >= p->alen)
				break;
			err = bpf_l4_csum_replace(skb, p->csum_off, x->old_addr.v6[i], x->new_addr.v6[i],
						  l4f | BPF_F_PSEUDO_HDR | sizeof(__be32));
		}
		if (!err)
			err = bpf_l4_csum_replace(skb, p->csum_off, x->old_port, x->new_port,
						  l4f | sizeof(x->new_port));
		if (!err)
			err = bpf_skb_store_bytes(skb, port_off, &x->new_port, sizeof(x->new_port), 0);
	}
	if (err)
		return err;
	if (p->family == PR_AF_INET) {
		err = bpf_l3_csum_replace(skb, ipc_off, x->old_addr.v4, x->new_addr.v4,
					  sizeof(x->new_addr.v4));
		if (!err)
			err = bpf_skb_store_bytes(skb, addr_off, &x->new_addr.v4, sizeof(x->new_addr.v4), 0);
	} else {
		err = bpf_skb_store_bytes(skb, addr_off, &x->new_addr, sizeof(x->new_addr), 0);
	}
	return err;
}

#endif
