/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Applying a translation to the packet, written once for both program types over the context layer. */
#ifndef PR_REWRITE_H
#define PR_REWRITE_H

#include "ctx.h"
#include "csum.h"
#include "kernel.h"
#include "nat.h"
#include "parse.h"
#include "portredir.h"

/* Address and port in place, and the IPv4 header checksum, by direct
 * packet access (both hooks): the destination of a forward packet and the
 * source of a reply, and with nat2 the other side too. Returns false if the
 * headers moved out of bounds, which the parser already excluded. */
static __always_inline bool pr_rewrite_hdrs(const struct pr_pkt *p, const struct pr_xlate *x,
					    void *data_end)
{
	bool orig = x->dir == PR_DIR_ORIG;

	if (p->family == PR_AF_INET) {
		struct iphdr *ip = p->l3;

		if ((void *)(ip + 1) > data_end)
			return false;
		if (orig)
			ip->daddr = x->new_addr.v4;
		else
			ip->saddr = x->new_addr.v4;
		pr_csum_replace4(&ip->check, x->old_addr.v4, x->new_addr.v4);
		if (pr_x2(x)) {
			if (orig)
				ip->saddr = x->new2_addr.v4;
			else
				ip->daddr = x->new2_addr.v4;
			pr_csum_replace4(&ip->check, pr_x2_old(p, x)->v4, x->new2_addr.v4);
		}
	} else {
		struct ipv6hdr *ip6 = p->l3;

		if ((void *)(ip6 + 1) > data_end)
			return false;
		__builtin_memcpy(orig ? &ip6->daddr : &ip6->saddr, &x->new_addr, 16);
		if (pr_x2(x))
			__builtin_memcpy(orig ? &ip6->saddr : &ip6->daddr, &x->new2_addr, 16);
	}
	if (p->frag != PR_FRAG_LATER) {
		__be16 *ports = p->ports;

		/* NULL only on a later fragment; the test keeps that visible to the verifier */
		if (!ports || (void *)(ports + 2) > data_end)
			return false;
		ports[orig ? 1 : 0] = x->new_port;
		if (pr_x2(x))
			ports[orig ? 0 : 1] = x->new2_port;
	}
	return true;
}

/* Apply x to the packet: the headers by direct access (pr_rewrite_hdrs()),
 * then the L4 checksum through the context layer, by hand in XDP and with
 * the skb helper in TC (ctx_l4_csum_xlate()), which alone costs a helper
 * call (see tests/bench/NOTES.md). The IPv4 header change is
 * checksum-neutral (address and header checksum move together). A later
 * fragment gets its address only: the first fragment's checksum covered
 * the datagram. Returns 0 or a negative errno; packet pointers are invalid
 * afterwards. */
static __always_inline int pr_rewrite(struct pr_ctx *ctx, const struct pr_pkt *p,
				      const struct pr_xlate *x)
{
	if (!pr_rewrite_hdrs(p, x, ctx_data_end(ctx)))
		return -1;
	if (p->frag == PR_FRAG_LATER)
		return 0;
	return ctx_l4_csum_xlate(ctx, p, x);
}

#endif
