// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* apply: turn the live rule table into a given rule set with one read of the live rules and one commit, then the attached interfaces into the file's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "libportredir.h"
#include "internal.h"

struct apply_priv {
	struct pr_rule_meta *live;
	const struct pr_rule_meta **put, **put_old, **del;
	__u32 *if_index; /* per interface change: the ifindex it concerns */
};

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

/* Capacity of the open maps, or of the maps the apply of rs creates (an
 * interface line's --max-rules, else the default). */
static void caps_for_apply(const struct pr_ctx *c, const struct pr_ruleset *rs, struct pr_caps *k)
{
	if (c->fd_rmeta < 0 && rs->max_rules)
		pr_caps_for(rs->max_rules, k);
	else
		pr_caps_of(c, k);
}

/* Whether rs fits the maps at all: -ENOSPC naming the first line at which
 * the rules, their lookup entries or their sources pass the capacity. */
static int over_capacity(struct pr_ctx *c, const struct pr_ruleset *rs, struct pr_apply_result *r)
{
	struct pr_usage use = {};
	struct pr_caps caps;

	caps_for_apply(c, rs, &caps);
	for (size_t i = 0; i < rs->n; i++) {
		pr_usage_add(&use, &rs->rules[i]);
		r->bad_line = rs->src[i].line;
		if (pr_caps_check(&caps, &use, c->err, sizeof(c->err)))
			return -ENOSPC;
	}
	r->bad_line = 0;
	return 0;
}

/* One apply's plan of the rules, beside what pr_apply_result and
 * apply_priv hold. */
struct rule_plan {
	size_t nlive, nput, ndel;
	const struct pr_rule_meta **byk; /* live rules by listen key */
	__u8 *kept;                      /* per live rule: whether rs keeps its id */
	const struct pr_rule_meta **old_of; /* per rule of rs: the live rule with its listen, or NULL */
	__u8 *is_put;                    /* per rule of rs: added or replaced */
	struct pr_usage peak;            /* live and new rules together */
	struct pr_usage live_use;        /* the live rules alone */
	struct pr_dp dp;                 /* the datapath maps as read (maps open only) */
	struct pr_recon recon;
	bool full;                       /* reconcile: the last change may not have finished */
};

static int plan_alloc(struct pr_ctx *c, const struct pr_ruleset *rs, struct pr_apply_result *r,
		      struct apply_priv *pv, struct rule_plan *pl)
{
	size_t nlive = pl->nlive;

	pl->byk = malloc((nlive + 1) * sizeof(*pl->byk));
	pl->kept = calloc(nlive + 1, 1);
	pl->old_of = calloc(rs->n + 1, sizeof(*pl->old_of));
	pl->is_put = calloc(rs->n + 1, 1);
	pv->put = malloc((rs->n + 1) * sizeof(*pv->put));
	pv->put_old = malloc((rs->n + 1) * sizeof(*pv->put_old));
	pv->del = malloc((nlive + 1) * sizeof(*pv->del));
	r->changes = malloc((rs->n + nlive + 1) * sizeof(*r->changes));
	if (!pl->byk || !pl->kept || !pl->old_of || !pl->is_put || !pv->put || !pv->put_old || !pv->del || !r->changes)
		return pr_errf(c, -ENOMEM, "out of memory planning %zu rules", rs->n);
	return 0;
}

/* Each rule of rs against the live rule with its exact listen: unchanged,
 * a replace (same id) or an add, in file order. */
static void match_rules(struct pr_ruleset *rs, struct pr_apply_result *r, struct apply_priv *pv,
			struct rule_plan *pl)
{
	size_t nlive = pl->nlive;
	__u64 now;

	/* Live rules by listen key: live listens never overlap, so a key names
	 * at most one rule. */
	for (size_t i = 0; i < nlive; i++) {
		pl->byk[i] = &pv->live[i];
		pr_usage_add(&pl->peak, &pv->live[i]);
	}
	pl->live_use = pl->peak;
	qsort(pl->byk, nlive, sizeof(*pl->byk), cmp_key);

	now = pr_realtime_ns();
	for (size_t i = 0; i < rs->n; i++) {
		struct pr_rule_meta *m = &rs->rules[i];
		const struct pr_rule_meta *key = m, **hit = bsearch(&key, pl->byk, nlive, sizeof(*pl->byk), cmp_key);
		const struct pr_rule_meta *old = hit && (*hit)->port_last == m->port_last ? *hit : NULL;
		struct pr_change *ch = &r->changes[r->nchanges];

		pl->old_of[i] = old;
		if (old) {
			pl->kept[old - pv->live] = 1;
			m->rule.id = old->rule.id;
			if (pr_meta_same(old, m)) {
				m->created_ns = old->created_ns;
				r->unchanged++;
				continue;
			}
			pl->peak.sources += pr_allow_diff(m, old, NULL);
			r->replaced++;
		} else {
			pr_usage_add(&pl->peak, m);
			r->added++;
		}
		m->created_ns = now;
		pl->is_put[i] = 1;
		pv->put[pl->nput] = m;
		pv->put_old[pl->nput++] = old;
		ch->kind = old ? PR_CHANGE_REPLACE : PR_CHANGE_ADD;
		ch->line = rs->src[i].line;
		ch->rule = m;
		ch->old = old;
		r->nchanges++;
	}
}

/* Live rules rs does not keep: deleted, listed after the file's changes by id. */
static void plan_deletes(struct pr_apply_result *r, struct apply_priv *pv, struct rule_plan *pl)
{
	for (size_t i = 0; i < pl->nlive; i++) {
		struct pr_change *ch;

		if (pl->kept[i])
			continue;
		pv->del[pl->ndel++] = &pv->live[i];
		ch = &r->changes[r->nchanges++];
		memset(ch, 0, sizeof(*ch));
		ch->kind = PR_CHANGE_DELETE;
		ch->rule = &pv->live[i];
	}
	r->deleted = pl->ndel;
	qsort(r->changes + r->added + r->replaced, pl->ndel, sizeof(*r->changes), cmp_id);
}

/* Ids for the added rules, and whether the deletes go first. */
static int assign_ids(struct pr_ctx *c, const struct pr_ruleset *rs, struct pr_apply_result *r,
		      struct apply_priv *pv, const struct rule_plan *pl)
{
	struct pr_ids ids = {};
	struct pr_caps caps;
	int err;

	/* New entries go in before old ones leave, so for a moment both sets
	 * are in the maps. When they cannot both fit, the deleted rules leave
	 * first (their ids become free for the new ones). rs itself fits: that
	 * was checked above. */
	caps_for_apply(c, rs, &caps);
	r->deleted_first = pr_caps_check(&caps, &pl->peak, NULL, 0) != 0;
	err = pr_ids_init(&ids, caps.rules);
	if (err) {
		pr_errf(c, err, "out of memory planning %zu rules", rs->n);
		goto out;
	}
	for (size_t i = 0; i < pl->nlive; i++)
		if (pl->kept[i] || !r->deleted_first)
			pr_ids_mark(&ids, pv->live[i].rule.id, true);
	for (size_t i = 0; i < pl->nput; i++) {
		if (pv->put_old[i])
			continue;
		/* cannot fail: the count of ids was checked above */
		if (pr_ids_next(&ids, &((struct pr_rule_meta *)pv->put[i])->rule.id)) {
			err = pr_errf(c, -ENOSPC, "no free rule id in 1-%u", ids.max);
			goto out;
		}
	}
out:
	pr_ids_free(&ids);
	return err;
}

/* What the datapath holds beyond the live rules (entries and sources of no
 * record, left by an interrupted change) takes room until it goes. */
static void peak_add_strays(struct rule_plan *pl)
{
	if (pl->dp.nentries > pl->live_use.entries)
		pl->peak.entries += pl->dp.nentries - pl->live_use.entries;
	if (pl->dp.nsrc > pl->live_use.sources)
		pl->peak.sources += pl->dp.nsrc - pl->live_use.sources;
}

/* The file's rules (ids assigned) against the datapath maps: rules the file
 * keeps whose entries, sources or source NAT are not what they say are
 * written again, as a replace of themselves (PR_CHANGE_REPAIR, counters
 * kept); entries and sources no rule of the file has go with the deletes. */
static int plan_repairs(struct pr_ctx *c, struct pr_ruleset *rs, struct pr_apply_result *r, struct apply_priv *pv,
			struct rule_plan *pl)
{
	const struct pr_rule_meta **want = malloc((rs->n + 1) * sizeof(*want));
	const struct pr_rule_meta **old = malloc((pl->ndel + pl->nput + 1) * sizeof(*old));
	size_t nold = 0;
	__u32 max_id = 0;
	int err;

	if (!want || !old) {
		err = pr_errf(c, -ENOMEM, "out of memory planning %zu rules", rs->n);
		goto out;
	}
	for (size_t i = 0; i < rs->n; i++) {
		want[i] = &rs->rules[i];
		max_id = want[i]->rule.id > max_id ? want[i]->rule.id : max_id;
	}
	for (size_t i = 0; i < pl->ndel; i++)
		old[nold++] = pv->del[i];
	for (size_t i = 0; i < pl->nput; i++)
		if (pv->put_old[i])
			old[nold++] = pv->put_old[i];
	err = pr_dp_read_nat(c, &pl->dp, max_id);
	if (!err)
		err = pr_recon_plan(c, want, rs->n, old, nold, &pl->dp, pl->is_put, &pl->recon);
	if (err)
		goto out;
	r->drift = pl->recon.drift;
	for (size_t i = 0; i < rs->n; i++) {
		struct pr_change *ch;

		if (pl->is_put[i] || !pl->recon.bad[i])
			continue;
		pv->put[pl->nput] = &rs->rules[i];
		pv->put_old[pl->nput++] = pl->old_of[i];
		ch = &r->changes[r->nchanges++];
		memset(ch, 0, sizeof(*ch));
		ch->kind = PR_CHANGE_REPAIR;
		ch->line = rs->src[i].line;
		ch->rule = &rs->rules[i];
		ch->old = pl->old_of[i];
		r->unchanged--;
		r->repaired++;
	}
out:
	free(want);
	free(old);
	return err;
}

/* The rule changes in one commit, then the interface changes. */
static int commit_all(struct pr_ctx *c, const struct pr_apply_opts *o, struct pr_apply_result *r,
		      struct apply_priv *pv, const struct rule_plan *pl)
{
	const struct pr_recon *g = &pl->recon;
	int err;

	if (pl->nput || pl->ndel || g->ngone_keys || g->ngone_src || g->ngone_ids) {
		struct pr_commit p = {
			.put = pv->put, .put_old = pv->put_old, .nput = pl->nput,
			.del = pv->del, .ndel = pl->ndel,
			.del_first = r->deleted_first, .keep_flows = o->keep_flows,
			.gone_given = pl->full,
			.gone_keys = g->gone_keys, .ngone_keys = g->ngone_keys,
			.gone_src = g->gone_src, .ngone_src = g->ngone_src,
			.gone_ids = g->gone_ids, .ngone_ids = g->ngone_ids,
		};

		err = pr_commit(c, &p);
		r->flows_flushed = p.flows_flushed;
		if (err)
			return err;
	} else if (pl->full) {
		/* nothing to change: the maps are what the file says */
		err = pr_journal_set(c, PR_JOURNAL_CLEAN);
		if (err)
			return err;
	}
	r->rules_done = true;
	err = pr_apply_commit_ifaces(c, r, pv->if_index);
	/* an address change reaches --masquerade and hairpin through apply (the
	 * service's reload), a new container's veth the direct delivery */
	if (!err)
		err = pr_ifaddr_refresh(c);
	return err ? err : pr_peer_refresh(c);
}

int pr_apply(struct pr_ctx *c, struct pr_ruleset *rs, const struct pr_apply_opts *o, struct pr_apply_result *r)
{
	struct rule_plan pl = {};
	struct apply_priv *pv;
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
			err = pr_rules_read(c, &pv->live, &pl.nlive);
		if (err)
			return err;
	}
	err = pr_apply_plan_ifaces(c, rs, r, &pv->if_index);
	if (err)
		return err;
	err = plan_alloc(c, rs, r, pv, &pl);
	if (!err) {
		match_rules(rs, r, pv, &pl);
		plan_deletes(r, pv, &pl);
		/* the datapath maps are read only when the last change may not
		 * have finished: a clean journal means they are what the records say */
		if (c->fd_rmeta >= 0) {
			__u32 st;

			err = pr_journal_state(c, &st);
			pl.full = !err && st != PR_JOURNAL_CLEAN;
		}
		if (!err && pl.full)
			err = pr_dp_read(c, &pl.dp);
	}
	if (!err) {
		peak_add_strays(&pl);
		err = assign_ids(c, rs, r, pv, &pl);
	}
	if (!err && pl.full)
		err = plan_repairs(c, rs, r, pv, &pl);
	r->reconciled = pl.full;
	if (!err && !o->dry_run)
		err = commit_all(c, o, r, pv, &pl);
	if (!err && !o->dry_run)
		pr_local_refresh(c); /* local clients' ":PORT" rules meet today's addresses */
	free(pl.byk);
	free(pl.kept);
	free(pl.old_of);
	free(pl.is_put);
	pr_dp_free(&pl.dp);
	pr_recon_free(&pl.recon);
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
		free(pv->if_index);
		free(pv);
	}
	free(r->changes);
	free(r->if_changes);
	r->changes = NULL;
	r->if_changes = NULL;
	r->priv = NULL;
}
