/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The one packet pipeline of every hook: parse, ICMP errors, fragments, decide, route, rewrite, account; hook.h and the context layer (ctx.h) name all that differs. */
#ifndef PR_PIPELINE_H
#define PR_PIPELINE_H

#include "ctx.h"
#include "fib.h"
#include "frag.h"
#include "hook.h"
#include "icmp.h"
#include "kernel.h"
#include "nat.h"
#include "parse.h"
#include "portredir.h"
#include "rewrite.h"
#include "stats.h"

/* Apply the translation x to the packet p describes and send it on; bytes
 * is its length. Ingress routes it as translated before touching it: it
 * goes straight to the egress device when it can. A reply that cannot is
 * left untranslated, since the stack would drop it as martian once its
 * source is one of this host's addresses; the egress hook of the interface
 * the stack picks translates it there. Returns the verdict. */
static __always_inline int pr_pipeline_out(struct pr_ctx *ctx, enum pr_hook hook,
					   const struct pr_pkt *p, const struct pr_xlate *x,
					   __u32 bytes)
{
	struct bpf_fib_lookup fib;
	bool fwd = false;

	if (pr_hook_forwards(hook)) {
		fwd = pr_fib_lookup(ctx, &fib, ctx_data(ctx), ctx_data_end(ctx),
				    ctx_ingress_ifindex(ctx), p, x, ctx_route_cacheable(ctx)) == 0 &&
		      ctx_can_redirect(fib.ifindex);
		if (!fwd && x->dir == PR_DIR_REPLY) {
			pr_count(PR_R_PASS_REPLY_EGRESS);
			ctx_mark_done(ctx);
			return CTX_ACT_OK;
		}
	}
	if (pr_rewrite(ctx, p, x)) {
		pr_count(PR_R_DROP_REWRITE);
		return CTX_ACT_DROP;
	}
	pr_account(x, bytes);
	ctx_mark_done(ctx);
	if (p->frag != PR_FRAG_NONE)
		pr_count(PR_R_XLATE_FRAG);
	if (!fwd || !pr_fib_apply(&fib, ctx_data(ctx), ctx_data_end(ctx), p->family))
		return CTX_ACT_OK;
	pr_count(PR_R_REDIRECT);
	return ctx_redirect(ctx, fib.ifindex);
}

/* Run one packet through portredir at hook, a constant. Returns the
 * verdict: CTX_ACT_DROP for a denied flow whose rule says drop or a failed
 * rewrite, a redirect, or CTX_ACT_OK. */
static __always_inline int pr_pipeline(struct pr_ctx *ctx, const enum pr_hook hook)
{
	struct pr_xlate x = {};
	struct pr_pkt p = {};
	void *data, *data_end;
	__u32 reason, bytes;
	int rc;

	if (pr_hook_after_xdp(hook) && ctx_done(ctx))
		return CTX_ACT_OK;
	if (ctx_open(ctx)) {
		pr_count(PR_R_PASS_NO_META);
		return CTX_ACT_OK;
	}
	data = ctx_data(ctx);
	data_end = ctx_data_end(ctx);
	bytes = ctx_full_len(ctx);

	rc = pr_parse(data, data_end, bytes, &p);
	if (rc == PR_PARSE_ICMP)
		rc = pr_icmp_handle(&p, data, data_end, hook);
	if (rc == PR_PARSE_FRAG) {
		if (pr_frag_lookup(&p, hook, &x))
			goto xlate;
		/* Unknown to XDP may be known to TC: its first fragment can
		 * still be in the same receive batch. Leave it unmarked. */
		if (CTX_TC_FOLLOWS)
			return CTX_ACT_OK;
		rc = PR_R_PASS_FRAGMENT;
	}
	if (rc >= 0) {
		if (pr_hook_counts_passes(hook) || rc == PR_R_XLATE_ICMP)
			pr_count(rc);
		goto done;
	}
	if (ctx_csum_unsure(&p)) {
		pr_count(PR_R_PASS_CSUM_PUNT);
		return CTX_ACT_OK; /* unmarked: TC ingress handles it */
	}
	rc = pr_decide(ctx, &p, hook, &x, &reason);
	if (rc != PR_V_XLATE) {
		if (pr_hook_counts_passes(hook))
			pr_count(reason);
		if (rc == PR_V_DROP)
			return CTX_ACT_DROP;
		goto done;
	}
	if (p.frag == PR_FRAG_FIRST)
		pr_frag_record(&p, &x);
xlate:
	return pr_pipeline_out(ctx, hook, &p, &x, bytes);
done:
	ctx_mark_done(ctx);
	return CTX_ACT_OK;
}

#endif
