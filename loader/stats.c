// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Counters: per-rule and global sums over CPUs, and the names of the global reasons. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "libportredir.h"
#include "internal.h"

#define REASON_NAME(id, name) [id] = name,
static const char *const reason_names[PR_R_MAX] = { PR_REASONS(REASON_NAME) };
#undef REASON_NAME

const char *pr_reason_name(unsigned int r)
{
	return r < PR_R_MAX && reason_names[r] ? reason_names[r] : "unknown";
}

int pr_rule_stats(struct pr_ctx *c, __u32 id, struct pr_rule_stats *sum)
{
	int ncpu = pr_ncpus(), i;
	struct pr_rule_stats *v = calloc(ncpu, sizeof(*v));

	memset(sum, 0, sizeof(*sum));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(c->fd_rstats, &id, v)) {
		free(v);
		return pr_errf(c, -errno, "cannot read counters of rule %u: %s", id, strerror(errno));
	}
	for (i = 0; i < ncpu; i++) {
		sum->pkts_orig += v[i].pkts_orig;
		sum->bytes_orig += v[i].bytes_orig;
		sum->pkts_reply += v[i].pkts_reply;
		sum->bytes_reply += v[i].bytes_reply;
		sum->flows += v[i].flows;
		sum->denied += v[i].denied;
		sum->snat_exhausted += v[i].snat_exhausted;
	}
	free(v);
	return 0;
}

int pr_global_stats(struct pr_ctx *c, __u64 out[PR_R_MAX])
{
	int ncpu = pr_ncpus(), i;
	__u64 *v = calloc(ncpu, sizeof(*v));
	__u32 r;

	if (!v)
		return -ENOMEM;
	for (r = 0; r < PR_R_MAX; r++) {
		out[r] = 0;
		if (bpf_map_lookup_elem(c->fd_gstats, &r, v))
			continue;
		for (i = 0; i < ncpu; i++)
			out[r] += v[i];
	}
	free(v);
	return 0;
}
