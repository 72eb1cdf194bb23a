// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* What `status` summarizes: how full the maps are, from the rule, rule-entry and conntrack maps. */
#include <string.h>
#include "libportredir.h"
#include "internal.h"

int pr_map_fill(struct pr_ctx *c, struct pr_fill *f)
{
	int err;

	memset(f, 0, sizeof(*f));
	err = pr_map_count(c->fd_rmeta, sizeof(__u32), sizeof(struct pr_rule_meta), &f->rules);
	if (!err)
		err = pr_map_count(c->fd_rules, sizeof(struct pr_rule_key), sizeof(struct pr_rule), &f->rule_entries);
	if (err)
		return pr_errf(c, err, "cannot count the rules: %s", strerror(-err));
	f->rules_max = c->max_rules;
	f->rule_entries_max = c->rule_entries_max;
	f->allow_entries_max = c->allow_entries_max;
	f->ncpus = pr_ncpus();
	f->rstats_bytes = ((size_t)c->max_rules + 1) * sizeof(struct pr_rule_stats) * f->ncpus;
	f->rnat_bytes = ((size_t)c->max_rules + 1) * sizeof(struct pr_rule_nat);
	err = pr_ct_fill(c, &f->ct);
	if (err)
		return err;
	f->ct_max = f->ct.max;
	f->ct_entries = f->ct.entries;
	f->flows = f->ct.flows;
	return 0;
}
