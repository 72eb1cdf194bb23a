/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The context layer for XDP (struct xdp_md): linear frames, the done mark in metadata, checksums by hand, redirects through pr_tx or into a veth with NAPI on its far end. */
#ifndef PR_CTX_XDP_H
#define PR_CTX_XDP_H

#ifdef pr_ctx
#error "one context layer per object"
#endif
#define pr_ctx xdp_md
/* Full-NAT packets are TC's (see pr_x2() in nat.h). */
#define PR_NAT2_HOOK 0

#include "../ctx.h"
#include "../csum.h"
#include "../kernel.h"
#include "../maps.h"
#include "../nat.h"
#include "../parse.h"
#include "portredir.h"

#define CTX_ACT_OK XDP_PASS
#define CTX_ACT_DROP XDP_DROP
/* TC ingress judges again what XDP leaves unmarked: XDP defers to it what
 * it cannot settle (see ctx_csum_unsure(), and later fragments). */
#define CTX_TC_FOLLOWS 1

/* A frame is linear: all of it lies between data and data_end. */
static __always_inline __u32 ctx_full_len(const struct xdp_md *ctx)
{
	return ctx_data_end(ctx) - ctx_data(ctx);
}

/* Reserve 4 bytes of metadata for the done mark, zeroed (not done). Returns
 * 0, or -1 when the driver has no room: without the mark TC cannot tell our
 * work from untouched packets, so XDP translates nothing and TC does it all. */
static __always_inline int ctx_open(struct xdp_md *ctx)
{
	__u32 *mark;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(__u32)))
		return -1;
	mark = ctx_meta_mark(ctx);
	if (!mark)
		return -1;
	*mark = 0;
	return 0;
}

/* Nothing runs before XDP. */
static __always_inline bool ctx_done(const struct xdp_md *ctx)
{
	return false;
}

/* Tell TC ingress the packet is settled: translated, or judged and left
 * alone. A packet XDP passes without it is TC's to judge. */
static __always_inline void ctx_mark_done(struct xdp_md *ctx)
{
	__u32 *mark = ctx_meta_mark(ctx);

	if (mark)
		*mark = PR_META_DONE;
}

/* XDP cannot see ip_summed: a packet whose L4 checksum may be a
 * CHECKSUM_PARTIAL seed (from a local socket, over veth) is left to TC,
 * whose helpers know. Fragments never are: the stack completes the
 * checksum before it fragments. */
static __always_inline bool ctx_csum_unsure(const struct pr_pkt *p)
{
	return p->frag == PR_FRAG_NONE &&
	       pr_csum_maybe_partial(*(__u16 *)p->l4_csum,
				     pr_pseudo(&p->saddr, &p->daddr, p->proto, p->l4_len));
}

/* The L4 checksum of a translated packet, by hand: the address in the
 * pseudo header and the port (both pairs with nat2). The checksum is complete (ctx_csum_unsure()
 * let the packet through); a UDP checksum of zero means none and stays
 * zero, and none becomes zero. Returns 0. */
static __always_inline int ctx_l4_csum_xlate(struct xdp_md *ctx, const struct pr_pkt *p,
					     const struct pr_xlate *x)
{
	__u16 *sum = (__u16 *)p->l4_csum;

	if (p->proto == IPPROTO_UDP && *sum == 0)
		return 0;
	pr_csum_replace_addr(sum, &x->old_addr, &x->new_addr, p->alen);
	pr_csum_replace2(sum, x->old_port, x->new_port);
	if (pr_x2(x)) {
		pr_csum_replace_addr(sum, pr_x2_old(p, x), &x->new2_addr, p->alen);
		pr_csum_replace2(sum, x->old2_port, x->new2_port);
	}
	if (p->proto == IPPROTO_UDP && *sum == 0)
		*sum = 0xffff;
	return 0;
}

/* A frame is never a GSO burst. */
static __always_inline __u32 ctx_gso_size(const struct xdp_md *ctx)
{
	return 0;
}

/* A frame's length is what goes on the wire. */
static __always_inline bool ctx_route_cacheable(const struct xdp_md *ctx)
{
	return true;
}

/* A frame is never a GSO burst; and XDP routes no full-NAT packet, the
 * one kind whose segments are checked (pr_fib_lookup()). */
static __always_inline __u32 ctx_gso_seg_len(struct xdp_md *ctx, const struct pr_pkt *p)
{
	return 0;
}

/* The network namespace this program serves (its inode), set by the loader
 * before load: a pr_vxmit slot is this namespace's only if it names it. */
const volatile __u64 pr_xdp_netns = 0;

/* A veth of this namespace whose far end the kernel says takes XDP frames
 * now (pr_vxmit: armed by the loader, kept current by bpf/vxmit.bpf.c). */
static __always_inline bool ctx_veth_ok(__u32 ifindex)
{
	const struct pr_vxmit *v;

	if (ifindex >= PR_PEERS)
		return false;
	v = bpf_map_lookup_elem(&pr_vxmit, &ifindex);
	return v && v->ok && !v->failed && pr_xdp_netns && v->netns_ino == pr_xdp_netns;
}

/* XDP redirects only to devices in pr_tx, which the loader fills with the
 * ones known to take XDP frames, and to veths whose far end has NAPI
 * (ctx_veth_ok()); any other route goes through the stack. */
static __always_inline bool ctx_can_redirect(__u32 ifindex)
{
	return bpf_map_lookup_elem(&pr_tx, &ifindex) != NULL || ctx_veth_ok(ifindex);
}

/* A veth armed in pr_vxmit goes by ifindex, resolved in the ingress
 * device's namespace, the one its slot names; the rest through pr_tx (bulk
 * transmit by the devmap). The slot test first: an inlined array read,
 * where a second pr_tx lookup would be a helper call on every redirect
 * (pr_tx never holds a veth: record() in loader/attach.c). */
static __always_inline int ctx_redirect(struct xdp_md *ctx, __u32 ifindex, const __u8 *dmac)
{
	if (ctx_veth_ok(ifindex)) {
		pr_count(PR_R_REDIRECT_VETH);
		return bpf_redirect(ifindex, 0);
	}
	return bpf_redirect_map(&pr_tx, ifindex, XDP_PASS);
}

/* XDP resolves no neighbours: the pipeline leaves a packet that would need
 * this to TC (CTX_TC_FOLLOWS) before touching it, so XDP never calls it. */
static __always_inline int ctx_redirect_neigh(struct xdp_md *ctx, __u32 ifindex)
{
	return XDP_PASS;
}

#endif
