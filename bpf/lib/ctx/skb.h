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

/* pr_skb_l4_csum()'s how: the packet's L4 protocol, address length,
 * PR_FRAG_* and L4 length, packed without a branch (a branch per flag before
 * the call took TC ingress past the verifier's million instructions). */
#define PR_L4C_HOW(p) ((__u32)(p)->proto | (__u32)(p)->alen << 8 | (__u32)(p)->frag << 13 | \
		       (__u32)(p)->l4_len << 16)

/* The L4 checksum field at off, after a translation whose address changes
 * fold to addrs (the pseudo header) and port changes to ports
 * (pr_csum_delta*()); how is PR_L4C_HOW().
 * What a checksum needs depends on skb->ip_summed, which a program cannot
 * read on 6.1:
 * - CHECKSUM_PARTIAL (a local socket's, over veth): the field holds the
 *   pseudo-header sum; the addresses change it, the ports must not;
 * - CHECKSUM_COMPLETE: skb->csum covers the field, so an IPv4 address
 *   change must fix it too (the address and the IP header checksum cancel,
 *   the field does not); in IPv6 both changes cancel in skb->csum;
 * - otherwise the field is the full checksum, and both change it.
 * bpf_l4_csum_replace() knows which; before, two calls did it all (the
 * addresses, then the ports). Now (docs/design.md, "TC's L4 checksum"):
 * - IPv6 that cannot be partial (a fragment, a field that is not the
 *   pseudo-header sum of the old addresses, ctx/xdp.h's test, or else
 *   CHECKSUM_COMPLETE) is all done here. That also keeps skb->csum right
 *   where the helper would not: without BPF_F_IPV6 (6.16; older kernels
 *   refuse it) it fixes skb->csum for an IPv6 pseudo header too, which
 *   then fails the receiver's check ("hw csum failure");
 * - otherwise one call updates the pseudo header, and what it did to the
 *   field tells partial (F + addrs) from not (F - addrs): the ports are
 *   then done by hand or left alone. Only when the two cannot be told
 *   apart (addrs folds to zero) does a second call do the ports.
 * BPF_F_MARK_MANGLED_0's rule is kept by hand: a UDP field of zero is left
 * alone, and a result of zero written as 0xffff. A global function: the
 * verifier checks it once, not on every pipeline path. Returns 0 or a
 * negative errno; packet pointers are invalid afterwards. */
__noinline int pr_skb_l4_csum(struct __sk_buff *ctx, __u32 off, __u32 how, __u32 addrs, __u32 ports)
{
	bool udp = (how & 0xff) == IPPROTO_UDP;
	__u64 l4f = udp ? BPF_F_MARK_MANGLED_0 : 0;
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u16 *f, f0, f1, full, part, v;
	int err;

	if (off > 1024)
		return -1;
	f = data + off;
	if ((void *)(f + 1) > end)
		goto slow;
	f0 = *f;
	if (udp && !f0)
		return 0;
	/* a GSO burst is partial (a socket's, or GRO's) and its length may
	 * not fit the 16 bits of how (BIG TCP): the helper tells */
	if (((how >> 8) & 0x1f) == 16 && !ctx->gso_size) {
		const union pr_addr *a = data + ETH_HLEN + offsetof(struct ipv6hdr, saddr);

		if ((how >> 13) & 7) /* a fragment: the stack completed its checksum */
			goto by_hand;
		if ((void *)(a + 2) > end)
			goto slow;
		/* the packet holds the new addresses: the old ones' seed is less addrs */
		if (!pr_csum_maybe_partial(f0, pr_csum_add16(pr_pseudo(a, a + 1, how & 0xff, how >> 16), ~addrs)))
			goto by_hand;
		/* 1 in 65536 full checksums look partial: CHECKSUM_COMPLETE is
		 * told by bpf_csum_update() (adding 0), and is never partial */
		if (bpf_csum_update(ctx, 0) >= 0)
			goto by_hand;
	}
	err = bpf_l4_csum_replace(ctx, off, 0, addrs, l4f | BPF_F_PSEUDO_HDR);
	if (err)
		return err;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	f = data + off;
	if ((void *)(f + 1) > end)
		return bpf_l4_csum_replace(ctx, off, 0, ports, l4f);
	f1 = *f;
	full = ~pr_csum_add16(~f0, addrs);
	part = pr_csum_add16(f0, addrs);
	if (pr_csum_same(full, part) || (!pr_csum_same(f1, full) && !pr_csum_same(f1, part)))
		return bpf_l4_csum_replace(ctx, off, 0, ports, l4f);
	if (pr_csum_same(f1, part))
		return 0; /* CHECKSUM_PARTIAL: the device sums the ports */
	f0 = f1; /* a full checksum with the addresses done: the ports left */
	addrs = 0;
by_hand:
	v = ~pr_csum_add16(pr_csum_add16(~f0, addrs), ports);
	*f = (v || !udp) ? v : 0xffff;
	return 0;
slow:
	err = bpf_l4_csum_replace(ctx, off, 0, addrs, l4f | BPF_F_PSEUDO_HDR);
	return err ? err : bpf_l4_csum_replace(ctx, off, 0, ports, l4f);
}

/* The L4 checksum of a translated packet (pr_skb_l4_csum()): every
 * address change folded into one value, every port change into another,
 * both pairs with nat2. */
static __always_inline int ctx_l4_csum_xlate(struct __sk_buff *ctx, const struct pr_pkt *p,
					     const struct pr_xlate *x)
{
	__u16 addrs = pr_csum_delta_addr(&x->old_addr, &x->new_addr, p->alen);
	__u16 ports = pr_csum_delta16(x->old_port, x->new_port);

	if (pr_x2(x)) {
		addrs = pr_csum_add16(addrs, pr_csum_delta_addr(pr_x2_old(p, x), &x->new2_addr, p->alen));
		ports = pr_csum_add16(ports, pr_csum_delta16(x->old2_port, x->new2_port));
	}
	return pr_skb_l4_csum(ctx, p->csum_off, PR_L4C_HOW(p), addrs, ports);
}

/* A GSO skb's segment size, 0 if it is none: a burst of segments, perhaps
 * over 64 KiB (BIG TCP). */
static __always_inline __u32 ctx_gso_size(const struct __sk_buff *ctx)
{
	return ctx->gso_size;
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
