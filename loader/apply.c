// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* apply: turn the live rule table into a given rule set with one read of the live rules and one commit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "libportredir.h"
#include "internal.h"

struct apply_priv {
	struct pr_rule_meta *live;
	const struct pr_rule_meta **put, **put_old, **del;
};

static int cmp_name(const void *x, const void *y)
{
	const struct pr_rule_meta *const *a = x, *const *b = y;
	int d = strncmp((*a)->name, (*b)->name, PR_NAME_LEN);

	return d ? d : (*a > *b) - (*a < *b); /* ties in file order */
}

int pr_ruleset_check(struct pr_ruleset *rs, unsigned int *bad_line, char *err, size_t len)
{
	const struct pr_rule_meta **named = malloc((rs->n + 1) * sizeof(*named)), **all;
	struct pr_span *v = NULL, *top = NULL;
	size_t nn = 0, nv = 0;
	int ret = 0;

	*bad_line = 0;
	all = malloc((rs->n + 1) * sizeof(*all));
	if (!named || !all) {
		ret = -ENOMEM;
		snprintf(err, len, "out of memory checking %zu rules", rs->n);
		goto out;
	}
	for (size_t i = 0; i < rs->n; i++) {
		all[i] = &rs->rules[i];
		if (rs->rules[i].name[0])
			named[nn++] = &rs->rules[i];
	}
	/* names: sorted, a repeat is next to its first use */
	qsort(named, nn, sizeof(*named), cmp_name);
	for (size_t i = 1; i < nn; i++) {
		if (strncmp(named[i - 1]->name, named[i]->name, PR_NAME_LEN))
			continue;
		*bad_line = rs->src[named[i] - rs->rules].line;
		snprintf(err, len, "name '%.*s' is taken by line %u", PR_NAME_LEN, named[i]->name,
			 rs->src[named[i - 1] - rs->rules].line);
		ret = -EINVAL;
		goto out;
	}
	/* listens: sorted spans; within one (family, address, protocol) a span
	 * overlaps another when it starts at or before the furthest end so far */
	ret = pr_spans_build(all, rs->n, &v, &nv);
	if (ret) {
		snprintf(err, len, "out of memory checking %zu rules", rs->n);
		goto out;
	}
	for (size_t i = 0; i < nv; i++) {
		const struct pr_rule_src *a, *b;

		if (top && (top->family != v[i].family || top->proto != v[i].proto ||
			    memcmp(&top->addr, &v[i].addr, sizeof(top->addr))))
			top = NULL;
		if (top && v[i].lo <= top->hi) {
			a = &rs->src[top->idx];
			b = &rs->src[v[i].idx];
			if (a->line > b->line) {
				const struct pr_rule_src *t = a;

				a = b;
				b = t;
			}
			*bad_line = b->line;
			if (strcmp(a->listen, b->listen) == 0)
				snprintf(err, len, "listen '%s' is already on line %u", b->listen, a->line);
			else
				snprintf(err, len, "listen '%s' overlaps '%s' on line %u", b->listen, a->listen, a->line);
			ret = -EINVAL;
			goto out;
		}
		if (!top || v[i].hi > top->hi)
			top = &v[i];
	}
	rs->checked = true;
out:
	free(named);
	free(all);
	free(v);
	return ret;
}

static int cmp_key(const void *x, const void *y)
{
	const struct pr_rule_key *a = &(*(const struct pr_rule_meta *const *)x)->key;
	const struct pr_rule_key *b = &(*(const struct pr_rule_meta *const *)y)->key;
	int d = pr_addr_cmp(&a->addr, &b->addr);

	if (d)
		return d;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return (a->family > b->family) - (a->family < b->family);
}

static int cmp_id(const void *x, const void *y)
{
	const struct pr_change *a = x, *b = y;

	return (a->rule->rule.id > b->rule->rule.id) - (a->rule->rule.id < b->rule->rule.id);
}

/* Whether rs fits the maps at all: -ENOSPC naming the first line at which
 * the rules, their lookup entries or their sources pass the capacity. */
static int over_capacity(struct pr_ctx *c, const struct pr_ruleset *rs, struct pr_apply_result *r)
{
	struct pr_usage use = {};
	struct pr_caps caps;

	pr_caps_of(c, &caps);
	for (size_t i = 0; i < rs->n; i++) {
		pr_usage_add(&use, &rs->rules[i]);
		r->bad_line = rs->src[i].line;
		if (pr_caps_check(&caps, &use, c->err, sizeof(c->err)))
			return -ENOSPC;
	}
	r->bad_line = 0;
	return 0;
}

int pr_apply(struct pr_ctx *c, struct pr_ruleset *rs, const struct pr_apply_opts *o, struct pr_apply_result *r)
{
	const struct pr_rule_meta **byk = NULL;
	struct apply_priv *pv;
	struct pr_ids ids = {};
	size_t nlive = 0, nput = 0, ndel = 0;
	struct pr_usage peak = {}; /* live and new rules together */
	struct pr_caps caps;
	__u8 *kept = NULL;
	__u64 now;
	int err;

	memset(r, 0, sizeof(*r));
	c->err[0] = 0;
	if (!rs->checked) {
		err = pr_ruleset_check(rs, &r->bad_line, c->err, sizeof(c->err));
		if (err)
			return err;
	}
	if (c->fd_rmeta < 0 && !o->dry_run)
		return pr_errf(c, -EBADF, "no maps are open");
	err = over_capacity(c, rs, r);
	if (err)
		return err;
	pv = calloc(1, sizeof(*pv));
	if (!pv)
		return pr_errf(c, -ENOMEM, "out of memory");
	r->priv = pv;
	if (c->fd_rmeta >= 0) {
		err = pr_lock(c);
		if (!err)
			err = pr_rules_read(c, &pv->live, &nlive);
		if (err)
			return err;
	}
	byk = malloc((nlive + 1) * sizeof(*byk));
	kept = calloc(nlive + 1, 1);
	pv->put = malloc((rs->n + 1) * sizeof(*pv->put));
	pv->put_old = malloc((rs->n + 1) * sizeof(*pv->put_old));
	pv->del = malloc((nlive + 1) * sizeof(*pv->del));
	r->changes = malloc((rs->n + nlive + 1) * sizeof(*r->changes));
	if (!byk || !kept || !pv->put || !pv->put_old || !pv->del || !r->changes) {
		err = pr_errf(c, -ENOMEM, "out of memory planning %zu rules", rs->n);
		goto out;
	}
	/* Live rules by listen key: live listens never overlap, so a key names
	 * at most one rule. */
	for (size_t i = 0; i < nlive; i++) {
		byk[i] = &pv->live[i];
		pr_usage_add(&peak, &pv->live[i]);
	}
	qsort(byk, nlive, sizeof(*byk), cmp_key);

	now = pr_realtime_ns();
	for (size_t i = 0; i < rs->n; i++) {
		struct pr_rule_meta *m = &rs->rules[i];
		const struct pr_rule_meta *key = m, **hit = bsearch(&key, byk, nlive, sizeof(*byk), cmp_key);
		const struct pr_rule_meta *old = hit && (*hit)->port_last == m->port_last ? *hit : NULL;
		struct pr_change *ch = &r->changes[r->nchanges];

		if (old) {
			kept[old - pv->live] = 1;
			m->rule.id = old->rule.id;
			if (pr_meta_same(old, m)) {
				m->created_ns = old->created_ns;
				r->unchanged++;
				continue;
			}
			peak.sources += pr_allow_diff(m, old, NULL);
			r->replaced++;
		} else {
			pr_usage_add(&peak, m);
			r->added++;
		}
		m->created_ns = now;
		pv->put[nput] = m;
		pv->put_old[nput++] = old;
		ch->kind = old ? PR_CHANGE_REPLACE : PR_CHANGE_ADD;
		ch->line = rs->src[i].line;
		ch->rule = m;
		ch->old = old;
		r->nchanges++;
	}
	for (size_t i = 0; i < nlive; i++) {
		struct pr_change *ch;

		if (kept[i])
			continue;
		pv->del[ndel++] = &pv->live[i];
		ch = &r->changes[r->nchanges++];
		memset(ch, 0, sizeof(*ch));
		ch->kind = PR_CHANGE_DELETE;
		ch->rule = &pv->live[i];
	}
	r->deleted = ndel;
	qsort(r->changes + r->added + r->replaced, ndel, sizeof(*r->changes), cmp_id);

	/* New entries go in before old ones leave, so for a moment both sets
	 * are in the maps. When they cannot both fit, the deleted rules leave
	 * first (their ids become free for the new ones). rs itself fits: that
	 * was checked above. */
	pr_caps_of(c, &caps);
	r->deleted_first = pr_caps_check(&caps, &peak, NULL, 0) != 0;
	err = pr_ids_init(&ids, caps.rules);
	if (err) {
		pr_errf(c, err, "out of memory planning %zu rules", rs->n);
		goto out;
	}
	for (size_t i = 0; i < nlive; i++)
		if (kept[i] || !r->deleted_first)
			pr_ids_mark(&ids, pv->live[i].rule.id, true);
	for (size_t i = 0; i < nput; i++) {
		if (pv->put_old[i])
			continue;
		/* cannot fail: the count of ids was checked above */
		if (pr_ids_next(&ids, &((struct pr_rule_meta *)pv->put[i])->rule.id)) {
			err = pr_errf(c, -ENOSPC, "no free rule id in 1-%u", ids.max);
			goto out;
		}
	}
	if (o->dry_run || (!nput && !ndel))
		goto out;
	{
		struct pr_commit p = {
			.put = pv->put, .put_old = pv->put_old, .nput = nput,
			.del = pv->del, .ndel = ndel,
			.del_first = r->deleted_first, .keep_flows = o->keep_flows,
		};

		err = pr_commit(c, &p);
		r->flows_flushed = p.flows_flushed;
	}
out:
	pr_ids_free(&ids);
	free(byk);
	free(kept);
	return err;
}

void pr_apply_free(struct pr_apply_result *r)
{
	struct apply_priv *pv = r->priv;

	if (pv) {
		free(pv->live);
		free(pv->put);
		free(pv->put_old);
		free(pv->del);
		free(pv);
	}
	free(r->changes);
	r->changes = NULL;
	r->priv = NULL;
}
