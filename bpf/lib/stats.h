/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-CPU counters: global reasons and per-rule traffic. */
#ifndef PR_STATS_H
#define PR_STATS_H

#include "kernel.h"
#include "maps.h"
#include "portredir.h"

static __always_inline void pr_count(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&pr_gstats, &reason);

	if (v)
		*v += 1;
}

static __always_inline void pr_rule_count(__u32 rule_id, __u8 dir, __u32 bytes, int new_flow)
{
	struct pr_rule_stats *s = bpf_map_lookup_elem(&pr_rstats, &rule_id);

	if (!s)
		return;
	if (dir == PR_DIR_ORIG) {
		s->pkts_orig++;
		s->bytes_orig += bytes;
	} else {
		s->pkts_reply++;
		s->bytes_reply += bytes;
	}
	s->flows += new_flow;
}

/* A flow the socket hooks translated: a connect, or a socket's first send to a target. */
static __always_inline void pr_rule_new_flow(__u32 rule_id)
{
	struct pr_rule_stats *s = bpf_map_lookup_elem(&pr_rstats, &rule_id);

	if (s)
		s->flows++;
}

static __always_inline void pr_rule_deny(__u32 rule_id)
{
	struct pr_rule_stats *s = bpf_map_lookup_elem(&pr_rstats, &rule_id);

	if (s)
		s->denied++;
}

/* A new flow counted where another hook translates its first packet. */
static __always_inline void pr_rule_flow(__u32 rule_id)
{
	struct pr_rule_stats *st = bpf_map_lookup_elem(&pr_rstats, &rule_id);

	if (st)
		st->flows++;
}

static __always_inline void pr_rule_snat_exhausted(__u32 rule_id)
{
	struct pr_rule_stats *st = bpf_map_lookup_elem(&pr_rstats, &rule_id);

	if (st)
		st->snat_exhausted++;
}

#endif
