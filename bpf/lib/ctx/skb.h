/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The context layer for TC (struct __sk_buff): a pulled linear head, XDP's done mark read at ingress, checksums through the skb helpers, redirects to any device. */
#ifndef PR_CTX_SKB_H
#define PR_CTX_SKB_H

#ifdef pr_ctx
#error "one context layer per object"
#endif
#define pr_ctx __sk_buff

#include "../csum.h"
#include "../ctx.h"
#include "../kernel.h"
#include "../nat.h"
#include "../parse.h"
#include "portredir.h"

#define CTX_ACT_OK TC_ACT_OK
#define CTX_ACT_DROP TC_ACT_SHOT
/* TC is the last of our hooks: what it passes, it has judged (and counted). */
#define CTX_TC_FOLLOWS 0

/* Enough linear data for Ethernet, an IP header with options or extension
 * headers and a TCP header, or an ICMP error quoting the same. */
#define PR_TC_PULL 256

/* Paged data included: the linear part can end before the packet does. */
static __always_inline __u32 ctx_full_len(const struct __sk_buff *ctx)
{
	return ctx->len;
}

/* Pull the headers into the linear part when they are not all there yet.
 * A failed pull leaves the packet as it was, for the parser to bound. */
static __always_inline int ctx_open(struct __sk_buff *ctx)
{
	__u32 want = PR_TC_PULL;

	if (want > ctx->len)
		want = ctx->len;
	if (ctx_data(ctx) + want > ctx_data_end(ctx))
		bpf_skb_pull_data(ctx, want);
	return 0;
}

/* True when XDP already translated this packet or judged it ours to leave
 * alone (ctx/xdp.h). Meaningful at ingress only (pr_hook_after_xdp()). */
static __always_inline bool ctx_done(const struct __sk_buff *ctx)
{
	__u32 *mark = ctx_meta_mark(ctx);

	return mark && *mark == PR_META_DONE;
}

/* No hook of ours comes after TC. */
static __always_inline void ctx_mark_done(struct __sk_buff *ctx)
{
}

/* The helpers know skb->ip_summed: any checksum can be updated here. */
static __always_inline bool ctx_csum_unsure(const struct pr_pkt *p)
{
	return false;
}

/* The L4 checksum of a translated packet, through the helper, which knows
 * skb->ip_summed: a CHECKSUM_PARTIAL packet from a local socket gets its
 * pseudo-header sum updated and its port change left to the device, a
 * CHECKSUM_COMPLETE one gets skb->csum fixed for the pseudo header;
 * BPF_F_MARK_MANGLED_0 keeps a UDP checksum of zero (none). Two calls
 * whatever the family and whether nat2 applies, each given the change
 * folded here (pr_csum_delta*(), the helper's size 0): every address change (BPF_F_PSEUDO_HDR), then
 * every port change, which must not touch skb->csum (the port and the
 * checksum field change by opposite amounts in the data). A call costs
 * about 35 ns here; IPv6 took 5 and full NAT 4 (IPv6 10) one a word.
 * Returns 0 or a negative errno; packet pointers are invalid afterwards. */
static __always_inline int ctx_l4_csum_xlate(struct __sk_buff *ctx, const struct pr_pkt *p,
					     const struct pr_xlate *x)
{
	__u64 l4f = p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	__u16 addrs = pr_csum_delta_addr(&x->old_addr, &x->new_addr, p->alen);
	__u16 ports = pr_csum_delta16(x->old_port, x->new_port);
	int err;

	if (pr_x2(x)) {
		addrs = pr_csum_add16(addrs, pr_csum_delta_addr(pr_x2_old(p, x), &x->new2_addr, p->alen));
		ports = pr_csum_add16(ports, pr_csum_delta16(x->old2_port, x->new2_port));
	}
	err = bpf_l4_csum_replace(ctx, p->csum_off, 0, addrs, l4f | BPF_F_PSEUDO_HDR);
	if (!err)
		err = bpf_l4_csum_replace(ctx, p->csum_off, 0, ports, l4f);
	return err;
}

/* A GSO skb's length says nothing about the segments it becomes, so its
 * route is looked up afresh rather than checked against a cached MTU. */
static __always_inline bool ctx_route_cacheable(const struct __sk_buff *ctx)
{
	return !ctx->gso_size;
}

/* The IP length of each segment a GSO skb (gso_size set) becomes: its
 * network headers (l4_off from the Ethernet header), its L4 header (TCP's
 * with options, read from the packet; UDP's 8) and gso_size. 0 when the
 * TCP header cannot be read, which leaves the burst's own length to the
 * MTU check (pr_fib_lookup()). A global function, so the verifier checks
 * its branches once, not on every pipeline path that routes a burst (read
 * inline, they took TC ingress past the million instructions). */
__noinline __u32 pr_gso_seg_len(struct __sk_buff *ctx, __u32 l4_off, __u32 proto)
{
	__u8 doff = 0;
	__u32 l4_hl = 8;

	if (l4_off < ETH_HLEN || l4_off > 1024)
		return 0;
	if (proto == IPPROTO_TCP) {
		if (bpf_skb_load_bytes(ctx, l4_off + 12, &doff, 1))
			return 0;
		l4_hl = (doff >> 4) * 4;
	}
	return l4_off - ETH_HLEN + l4_hl + ctx->gso_size;
}

static __always_inline __u32 ctx_gso_seg_len(struct __sk_buff *ctx, const struct pr_pkt *p)
{
	return pr_gso_seg_len(ctx, p->l4_off, p->proto);
}

/* bpf_redirect() takes any device; an skb keeps its GSO and offload state. */
static __always_inline bool ctx_can_redirect(__u32 ifindex)
{
	return true;
}

/* A packet for the peer of a veth in another namespace (pr_peer, a
 * container's: dmac, the route's next hop, is the peer's own MAC) goes
 * straight into that peer's receive path: no transmit on the host side, no
 * backlog queue (bpf_redirect_peer, 5.10; TC ingress only, which is where
 * this is called: egress never redirects). Not a GSO burst: straight into
 * the peer, bursts raced the target's reader for its socket lock, which
 * cost several streams' bulk (docs/design.md); the host-side transmit
 * queues them in the backlog, as the stack's forward path does. */
static __always_inline int ctx_redirect(struct __sk_buff *ctx, __u32 ifindex, const __u8 *dmac)
{
	const struct pr_peer *peer = bpf_map_lookup_elem(&pr_peer, &ifindex);

	const __u16 *a = (const void *)dmac, *b = peer ? (const void *)peer->mac : NULL;

	/* three 2-byte loads: the route's dmac is only 2-byte aligned */
	if (b && peer->set && !ctx->gso_size && a[0] == b[0] && a[1] == b[1] && a[2] == b[2]) {
		pr_count(PR_R_REDIRECT_PEER);
		return bpf_redirect_peer(ifindex, 0);
	}
	return bpf_redirect(ifindex, 0);
}

/* A full-NAT packet whose route is known but not its neighbour yet: the
 * kernel resolves it and fills in the MACs (bpf_redirect_neigh, 5.10). */
static __always_inline int ctx_redirect_neigh(struct __sk_buff *ctx, __u32 ifindex)
{
	return bpf_redirect_neigh(ifindex, NULL, 0, 0);
}

#endif
