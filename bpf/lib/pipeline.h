/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The one packet pipeline of every hook: parse, ICMP errors, fragments, decide, route, rewrite, account; hook.h and the context layer (ctx.h) name all that differs. */
#ifndef PR_PIPELINE_H
#define PR_PIPELINE_H

#include "ctx.h"
#include "fib.h"
#include "frag.h"
#include "hook.h"
#include "icmp.h"
#include "icmp2.h"
#include "kernel.h"
#include "nat.h"
#include "parse.h"
#include "pmtu.h"
#include "portredir.h"
#include "rewrite.h"
#include "snat.h"
#include "stats.h"

/* A full-NAT packet too big for its egress (PR_ROUTE_TOO_BIG, TC only):
 * answered with frag-needed or packet-too-big in a global function of its
 * own (pr_pmtu()). Returns the verdict. */
static __always_inline int pr_pipeline_too_big(struct pr_ctx *ctx, const struct pr_pkt *p)
{
#if PR_NAT2_HOOK
	return pr_pmtu(ctx, p->l4_off, PR_PMTU_HOW(p->family, p->proto, p->frag));
#else
	return CTX_ACT_OK; /* never: XDP routes no full-NAT packet */
#endif
}

/* Apply the translation x to the packet p describes and send it on; bytes
 * is its length. Ingress routes it as translated before touching it: it
 * goes straight to the egress device when it can. A reply that cannot is
 * left untranslated, since the stack would drop it as martian once its
 * source is one of this host's addresses; the egress hook of the interface
 * the stack picks translates it there. A full-NAT packet (pr_x2local())
 * has one of this host's addresses on one side or the other once
 * translated, so it always leaves from ingress, --via-stack or not: TC
 * resolves a missing neighbour itself (ctx_redirect_neigh()), answers
 * one too big for its egress with an ICMP error (pr_pmtu()) and drops what
 * has no route (TTL); XDP leaves every full-NAT packet to TC.
 * Returns the verdict. */
static __always_inline int pr_pipeline_out(struct pr_ctx *ctx, enum pr_hook hook,
					   const struct pr_pkt *p, struct pr_xlate *x,
					   __u32 bytes)
{
	struct pr_ct_scratch *s = pr_ct_scratch_get();
	int send = 0; /* 1: redirect, 2: redirect resolving the neighbour */
	struct bpf_fib_lookup *fib;

	if (!s)
		return CTX_ACT_OK;
	/* in the scratch: on the stack it leaves pr_snat_open() too little */
	fib = &s->fib;
	if (!PR_NAT2_HOOK && x->nat2) {
		if (x->new_flow)
			pr_rule_flow(x->rule_id); /* TC finds it established */
		return CTX_ACT_OK; /* unmarked: TC ingress translates it */
	}
	if (pr_hook_forwards(hook)) {
		int route = pr_fib_lookup(ctx, fib, ctx_data(ctx), ctx_data_end(ctx),
					  ctx_ingress_ifindex(ctx), p, x, ctx_route_cacheable(ctx));

		if (route == PR_ROUTE_TOO_BIG)
			return pr_pipeline_too_big(ctx, p);
		if (route == 0 && ctx_can_redirect(fib->ifindex))
			send = 1;
		else if (route == 1 && pr_x2local(x))
			send = 2;
		else if (pr_x2local(x)) {
			pr_count(PR_R_DROP_NAT2_NO_ROUTE);
			return CTX_ACT_DROP;
		} else if (x->dir == PR_DIR_REPLY) {
			pr_count(PR_R_PASS_REPLY_EGRESS);
			ctx_mark_done(ctx);
			return CTX_ACT_OK;
		}
	}
	if (p->frag == PR_FRAG_FIRST)
		pr_frag_record(p, x);
	if (pr_rewrite(ctx, p, x)) {
		pr_count(PR_R_DROP_REWRITE);
		return CTX_ACT_DROP;
	}
	pr_account(x, bytes);
	ctx_mark_done(ctx);
	if (p->frag != PR_FRAG_NONE)
		pr_count(PR_R_XLATE_FRAG);
	if (!send || !pr_fib_apply(fib, ctx_data(ctx), ctx_data_end(ctx), p->family, send == 1))
		return CTX_ACT_OK;
	pr_count(PR_R_REDIRECT);
	if (send == 2)
		return ctx_redirect_neigh(ctx, fib->ifindex);
	return ctx_redirect(ctx, fib->ifindex, fib->dmac);
}

/* An ICMP error about a full-NAT flow (PR_ICMP_NAT2): TC translates it in
 * a global function of its own (pr_icmp2()); XDP leaves it unmarked to TC
 * ingress, as every full-NAT packet. Returns the verdict. */
static __always_inline int pr_pipeline_icmp2(struct pr_ctx *ctx, enum pr_hook hook,
					     const struct pr_pkt *p)
{
#if PR_NAT2_HOOK
	return pr_icmp2(ctx, p->l4_off, p->l4_len, PR_ICMP2_HOW(p->family, hook));
#else
	return CTX_ACT_OK;
#endif
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

	rc = pr_parse(data, data_end, bytes, ctx_gso_size(ctx), &p);
	if (rc == PR_PARSE_ICMP)
		rc = pr_icmp_handle(&p, data, data_end, hook);
	if (rc == PR_ICMP_NAT2)
		return pr_pipeline_icmp2(ctx, hook, &p);
	if (rc == PR_PARSE_FRAG) {
		if (pr_frag_lookup(&p, hook, &x))
			goto xlate;
		/* Unknown to XDP may be known to TC: its first fragment can
		 * still be in the same receive batch. Leave it unmarked. */
		if (CTX_TC_FOLLOWS)
			return CTX_ACT_OK;
		rc = PR_R_PASS_FRAGMENT;
	}
	/* XDP cannot see gso_size: a BIG TCP burst (generic XDP sees bursts)
	 * looks malformed, its IP length being 0. TC, which can tell, judges. */
	if (CTX_TC_FOLLOWS && rc == PR_R_PASS_MALFORMED && pr_parse_len_zero(data, data_end))
		return CTX_ACT_OK; /* unmarked */
	if (rc >= 0) {
		if (pr_hook_counts_passes(hook) || rc == PR_R_XLATE_ICMP)
			pr_count(rc);
		goto done;
	}
	if (ctx_csum_unsure(&p)) {
		pr_count(PR_R_PASS_CSUM_PUNT);
		return CTX_ACT_OK; /* unmarked: TC ingress handles it */
	}
	rc = pr_decide(ctx, &p, hook, ctx_ingress_ifindex(ctx), &x, &reason);
	if (rc == PR_V_XLATE && x.new_flow)
		rc = pr_snat_flow(ctx, &p, &x, &reason);
	if (rc != PR_V_XLATE) {
		if (pr_hook_counts_passes(hook))
			pr_count(reason);
		if (rc == PR_V_DROP)
			return CTX_ACT_DROP;
		goto done;
	}
xlate:
	return pr_pipeline_out(ctx, hook, &p, &x, bytes);
done:
	ctx_mark_done(ctx);
	return CTX_ACT_OK;
}

#endif
