/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Where a program sits on the packet's way (ingress or egress), and every choice of the pipeline that depends on it. */
#ifndef PR_HOOK_H
#define PR_HOOK_H

#include "kernel.h"

/* XDP and TC ingress are both PR_HOOK_INGRESS; TC egress is PR_HOOK_EGRESS.
 * Every entry point passes a constant, so each choice below folds away. */
enum pr_hook { PR_HOOK_INGRESS, PR_HOOK_EGRESS };

/* Egress translates replies only. A forward packet must be translated
 * before the stack routes it, which ingress does; a reply ingress could not
 * send straight out arrives here untranslated (pr_pipeline_out()), and no
 * flow starts with a reply, so egress never consults the rules. */
static __always_inline bool pr_hook_reply_only(enum pr_hook hook)
{
	return hook == PR_HOOK_EGRESS;
}

/* Ingress routes a translated packet itself (bpf_fib_lookup, then a
 * redirect to the egress device); at egress the stack has routed it. */
static __always_inline bool pr_hook_forwards(enum pr_hook hook)
{
	return hook == PR_HOOK_INGRESS;
}

/* Only ingress counts the packets it passes untranslated, and why: every
 * packet egress sees was counted when it came in, or never entered a
 * portredir interface. Egress counts what it translates. */
static __always_inline bool pr_hook_counts_passes(enum pr_hook hook)
{
	return hook == PR_HOOK_INGRESS;
}

/* Ingress may come after XDP on the same packet, so TC ingress skips what
 * XDP marked as done (ctx_done()); at egress the mark means nothing. */
static __always_inline bool pr_hook_after_xdp(enum pr_hook hook)
{
	return hook == PR_HOOK_INGRESS;
}

#endif
