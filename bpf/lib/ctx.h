/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The context layer: what the pipeline asks of the program type it runs in; the part both types share is here, the rest in ctx/xdp.h and ctx/skb.h. */
#ifndef PR_CTX_H
#define PR_CTX_H

/* A hook object includes exactly one of ctx/xdp.h and ctx/skb.h, which
 * defines pr_ctx and includes this file; the pipeline and its helpers then
 * write `struct pr_ctx *ctx` and use:
 *
 *   CTX_ACT_OK, CTX_ACT_DROP    the verdicts: let the packet go on, drop it
 *   CTX_TC_FOLLOWS              1 when TC ingress still sees a packet this
 *                               program passes without the done mark
 *   ctx_data(), ctx_data_end()  direct packet access, as fresh pointers
 *   ctx_full_len()              the packet's length, beyond the linear part
 *   ctx_ingress_ifindex()       the device the packet came in on
 *   ctx_open()                  make the headers readable (and, in XDP, the
 *                               done mark writable): 0, or -1 to pass the
 *                               packet untouched (counted PASS_NO_META)
 *   ctx_done(), ctx_mark_done() the mark XDP leaves for TC ingress
 *   ctx_csum_unsure()           the L4 checksum may be a CHECKSUM_PARTIAL
 *                               seed this program cannot tell from a sum
 *   ctx_l4_csum_xlate()         the L4 checksum after a translation
 *   ctx_gso_size()              a GSO burst's segment size (TC), 0 if none
 *   ctx_route_cacheable()       the packet's length is its wire length
 *   ctx_gso_seg_len()           a GSO burst's segment length (TC)
 *   ctx_can_redirect(), ctx_redirect() straight to an egress device
 */
#ifndef pr_ctx
#error "include ctx/xdp.h or ctx/skb.h, not ctx.h"
#endif

#include "kernel.h"
#include "portredir.h"

/* struct xdp_md and struct __sk_buff name these fields alike. In TC every
 * helper that may change the packet invalidates the pointers: take fresh ones. */
static __always_inline void *ctx_data(const struct pr_ctx *ctx)
{
	return (void *)(long)ctx->data;
}

static __always_inline void *ctx_data_end(const struct pr_ctx *ctx)
{
	return (void *)(long)ctx->data_end;
}

static __always_inline __u32 ctx_ingress_ifindex(const struct pr_ctx *ctx)
{
	return ctx->ingress_ifindex;
}

/* The done mark: 4 bytes of metadata in front of the packet, which XDP
 * reserves and writes and TC ingress reads (PR_META_DONE). Returns a
 * pointer to it, or NULL when there is no metadata. */
static __always_inline __u32 *ctx_meta_mark(const struct pr_ctx *ctx)
{
	__u32 *mark = (void *)(long)ctx->data_meta;

	if ((void *)(mark + 1) > ctx_data(ctx))
		return NULL;
	return mark;
}

#endif
