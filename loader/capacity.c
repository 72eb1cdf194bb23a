// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Capacity: how large the maps are made for N rules, what a rule table uses of them, and the one check that it fits. */
#include <errno.h>
#include <stdio.h>
#include "libportredir.h"
#include "internal.h"

/* One id each (pr_rmeta, and pr_rstats with the unused id 0), two lookup
 * entries each (a rule for tcp and udp) and one source each; never less
 * than the defaults the map definitions carry. */
void pr_caps_for(__u32 max_rules, struct pr_caps *k)
{
	__u64 entries = 2ULL * max_rules;

	k->rules = max_rules;
	k->entries = entries > PR_RULE_ENTRIES ? entries : PR_RULE_ENTRIES;
	k->sources = max_rules > PR_ALLOW_ENTRIES ? max_rules : PR_ALLOW_ENTRIES;
}

void pr_caps_of(const struct pr_ctx *c, struct pr_caps *k)
{
	if (c->fd_rmeta < 0) {
		pr_caps_for(PR_DEFAULT_MAX_RULES, k);
		return;
	}
	k->rules = c->max_rules;
	k->entries = c->rule_entries_max;
	k->sources = c->allow_entries_max;
}

void pr_usage_add(struct pr_usage *u, const struct pr_rule_meta *m)
{
	u->rules++;
	u->entries += pr_rule_span(m);
	u->sources += m->allow_count;
}

void pr_usage_sub(struct pr_usage *u, const struct pr_rule_meta *m)
{
	u->rules--;
	u->entries -= pr_rule_span(m);
	u->sources -= m->allow_count;
}

int pr_caps_check(const struct pr_caps *k, const struct pr_usage *u, char *err, size_t len)
{
	if (u->rules > k->rules) {
		if (err)
			snprintf(err, len, "rule table is full: the maps hold %u rules (attach --max-rules sets the capacity when the maps are created)",
				 k->rules);
		return -ENOSPC;
	}
	if (u->entries > k->entries) {
		if (err)
			snprintf(err, len, "rule lookup table is full: the rules need %zu entries, pr_rules holds %u (one a listen port and protocol)",
				 u->entries, k->entries);
		return -ENOSPC;
	}
	if (u->sources > k->sources) {
		if (err)
			snprintf(err, len, "allowlist table is full: the rules have %zu sources, pr_allow holds %u",
				 u->sources, k->sources);
		return -ENOSPC;
	}
	return 0;
}
