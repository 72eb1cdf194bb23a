// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* apply: turn the live rule table into a given rule set with one read of the live rules and one commit, then the attached interfaces into the file's. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include "libportredir.h"
#include "internal.h"

struct apply_priv {
	struct pr_rule_meta *live;
	const struct pr_rule_meta **put, **put_old, **del;
	__u32 *if_index; /* per interface change: the ifindex it concerns */
};

/* Interface lines among themselves: one line an interface, one capacity. */
static int check_ifaces(struct pr_ruleset *rs, unsigned int *bad_line, char *err, size_t len)
{
	rs->max_rules = 0;
	rs->max_rules_line = 0;
	for (size_t i = 0; i < rs->nifaces; i++) {
		const struct pr_iface_spec *s = &rs->ifaces[i];

		for (size_t j = 0; j < i; j++) {
			if (strcmp(rs->ifaces[j].name, s->name))
				continue;
			*bad_line = s->line;
			snprintf(err, len, "interface '%s' is already on line %u", s->name, rs->ifaces[j].line);
			return -EINVAL;
		}
		if (!s->max_rules)
			continue;
		if (rs->max_rules && s->max_rules != rs->max_rules) {
			*bad_line = s->line;
			snprintf(err, len, "--max-rules '%u' differs from --max-rules %u on line %u (the maps have one size)",
				 s->max_rules, rs->max_rules, rs->max_rules_line);
			return -EINVAL;
		}
		if (!rs->max_rules) {
			rs->max_rules = s->max_rules;
			rs->max_rules_line = s->line;
		}
	}
	return 0;
}

static int cmp_name(const void *x, const void *y)
{
	const struct pr_rule_meta *const *a = x, *const *b = y;
	int d = strncmp((*a)->name, (*b)->name, PR_NAME_LEN);

	return d ? d : (*a > *b) - (*a < *b); /* ties in file order */
}

int pr_ruleset_check(struct pr_ruleset *rs, unsigned int *bad_line, char *err, size_t len)
{
	const struct pr_rule_meta **named = malloc((rs->n + 1) * sizeof(*named)), **all = NULL;
	struct pr_span *v = NULL, *top = NULL;
	size_t nn = 0, nv = 0;
	int ret = 0;

	*bad_line = 0;
	ret = check_ifaces(rs, bad_line, err, len);
	if (ret)
		goto out;
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
/* Rule capacity of the open maps, or of the maps the apply of rs creates. */
static __u32 cap_rules(const struct pr_ctx *c, const struct pr_ruleset *rs)
{
	return c->fd_rmeta >= 0 ? c->max_rules : rs->max_rules ? rs->max_rules : PR_DEFAULT_MAX_RULES;
}

static int over_capacity(struct pr_ctx *c, const struct pr_ruleset *rs, struct pr_apply_result *r)
{
	__u32 max_rules = cap_rules(c, rs);
	/* as maps.c sizes them: 2 lookup entries and 1 source a rule, at least the defaults */
	__u32 entries_max = c->fd_rmeta >= 0 ? c->rule_entries_max :
			    2 * max_rules > PR_RULE_ENTRIES ? 2 * max_rules : PR_RULE_ENTRIES;
	__u32 allow_max = c->fd_rmeta >= 0 ? c->allow_entries_max :
			  max_rules > PR_ALLOW_ENTRIES ? max_rules : PR_ALLOW_ENTRIES;
	size_t entries = 0, sources = 0;

	for (size_t i = 0; i < rs->n; i++) {
		entries += pr_rule_span(&rs->rules[i]);
		sources += rs->rules[i].allow_count;
		r->bad_line = rs->src[i].line;
		if (i + 1 > max_rules)
			return pr_errf(c, -ENOSPC, "rule table is full: the maps hold %u rules (attach --max-rules sets the capacity when the maps are created)",
				       max_rules);
		if (entries > entries_max)
			return pr_errf(c, -ENOSPC, "rule lookup table is full: the rules up to here need %zu entries, pr_rules holds %u (one a listen port and protocol)",
				       entries, entries_max);
		if (sources > allow_max)
			return pr_errf(c, -ENOSPC, "allowlist table is full: the rules up to here have %zu sources, pr_allow holds %u",
				       sources, allow_max);
	}
	r->bad_line = 0;
	return 0;
}

/* Whether the programs of an attachment are all there. */
static bool iface_live(const struct pr_iface_status *s)
{
	return s->present && s->live_tc_in_id && s->live_tc_eg_id && (s->rec.mode == PR_MODE_TC || s->live_xdp_id);
}

/* Interface changes, after validating every interface line against the
 * system and the maps. Nothing is changed here. */
static int plan_ifaces(struct pr_ctx *c, struct pr_ruleset *rs, struct pr_apply_result *r, struct apply_priv *pv)
{
	struct pr_iface_status *live = NULL;
	size_t nlive = 0;
	__u8 *matched = NULL;
	int err = 0;

	if (!rs->nifaces)
		return 0;
	r->ifaces = true;
	if (rs->max_rules && c->fd_rmeta >= 0 && rs->max_rules != c->max_rules) {
		r->bad_line = rs->max_rules_line;
		return pr_errf(c, -EINVAL,
			       "--max-rules '%u' does not match the maps in %s, which hold %u rules (a pinned map cannot be resized: detach every interface, remove %s and apply again)",
			       rs->max_rules, c->pin_dir, c->max_rules, c->pin_dir);
	}
	if (c->fd_ifaces >= 0) {
		err = pr_iface_list(c, &live, &nlive);
		if (err)
			return err;
	}
	matched = calloc(nlive + 1, 1);
	r->if_changes = calloc(rs->nifaces + nlive + 1, sizeof(*r->if_changes));
	pv->if_index = calloc(rs->nifaces + nlive + 1, sizeof(*pv->if_index));
	if (!matched || !r->if_changes || !pv->if_index) {
		err = pr_errf(c, -ENOMEM, "out of memory planning %zu interfaces", rs->nifaces);
		goto out;
	}
	for (size_t i = 0; i < rs->nifaces; i++) {
		const struct pr_iface_spec *s = &rs->ifaces[i];
		struct pr_iface_change *ch = &r->if_changes[r->nif_changes];
		const struct pr_iface_status *have = NULL;
		__u32 idx = if_nametoindex(s->name);

		if (!idx) {
			r->bad_line = s->line;
			err = pr_errf(c, -EINVAL, "unknown interface '%s'", s->name);
			goto out;
		}
		for (size_t j = 0; j < nlive && !have; j++) {
			if (live[j].ifindex == idx) {
				have = &live[j];
				matched[j] = 1;
			}
		}
		if (have && iface_live(have) && strncmp(have->rec.name, s->name, sizeof(have->rec.name)) == 0 &&
		    pr_iface_satisfies(&have->rec, s->req, s->flags, pr_auto_mode(s->name))) {
			if (!(have->rec.flags & PR_IF_AUTO) == (s->req != PR_REQ_AUTO)) {
				r->if_unchanged++;
				continue;
			}
			ch->record_only = true; /* what auto picks, asked for by name, or the reverse */
		}
		ch->kind = have ? PR_IFACE_CHANGE : PR_IFACE_ATTACH;
		ch->line = s->line;
		ch->want = *s;
		if (have)
			ch->old = have->rec;
		pv->if_index[r->nif_changes++] = idx;
		if (have)
			r->if_changed++;
		else
			r->if_attached++;
	}
	for (size_t j = 0; j < nlive; j++) {
		struct pr_iface_change *ch = &r->if_changes[r->nif_changes];

		if (matched[j])
			continue;
		ch->kind = PR_IFACE_DETACH;
		ch->old = live[j].rec;
		ch->gone = !live[j].present;
		pv->if_index[r->nif_changes++] = live[j].ifindex;
		r->if_detached++;
	}
out:
	free(live);
	free(matched);
	return err;
}

/* Attaches and changes in file order, then detaches: a failed attach
 * leaves an interface too many rather than one too few. Stops at the first
 * failure, which names the interface and its line. */
static int commit_ifaces(struct pr_ctx *c, struct pr_apply_result *r, struct apply_priv *pv)
{
	for (size_t i = 0; i < r->nif_changes; i++) {
		struct pr_iface_change *ch = &r->if_changes[i];
		int err;

		if (ch->kind == PR_IFACE_DETACH) {
			err = pr_detach_index(c, pv->if_index[i]);
		} else {
			err = pr_attach(c, ch->want.name, ch->want.req, ch->want.flags | PR_ATTACH_CHANGE, &ch->res);
			if (err) {
				char why[PR_ERR_LEN];

				snprintf(why, sizeof(why), "%s", c->err);
				r->bad_line = ch->line;
				return pr_errf(c, err, "the rules are applied, but interface %s: %.400s", ch->want.name, why);
			}
		}
		if (err)
			return err;
		ch->done = true;
	}
	return 0;
}

int pr_apply(struct pr_ctx *c, struct pr_ruleset *rs, const struct pr_apply_opts *o, struct pr_apply_result *r)
{
	const struct pr_rule_meta **byk = NULL;
	struct apply_priv *pv;
	struct pr_ids ids = {};
	size_t nlive = 0, nput = 0, ndel = 0, live_entries = 0, live_sources = 0, add_entries = 0, new_sources = 0;
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
	err = plan_ifaces(c, rs, r, pv);
	if (err)
		return err;
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
		live_entries += pr_rule_span(&pv->live[i]);
		live_sources += pv->live[i].allow_count;
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
			for (int j = 0; j < m->allow_count; j++) {
				bool had = false;

				for (int k = 0; k < old->allow_count; k++)
					had |= memcmp(&old->allow[k], &m->allow[j], sizeof(m->allow[j])) == 0;
				new_sources += !had;
			}
			r->replaced++;
		} else {
			add_entries += pr_rule_span(m);
			new_sources += m->allow_count;
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
	r->deleted_first = nlive + r->added > cap_rules(c, rs) ||
			   (c->fd_rmeta >= 0 && (live_entries + add_entries > c->rule_entries_max ||
						 live_sources + new_sources > c->allow_entries_max));
	err = pr_ids_init(&ids, cap_rules(c, rs));
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
			err = pr_errf(c, -ENOSPC, "rule table is full (%u rules)", ids.max);
			goto out;
		}
	}
	if (o->dry_run)
		goto out;
	if (nput || ndel) {
		struct pr_commit p = {
			.put = pv->put, .put_old = pv->put_old, .nput = nput,
			.del = pv->del, .ndel = ndel,
			.del_first = r->deleted_first, .keep_flows = o->keep_flows,
		};

		err = pr_commit(c, &p);
		r->flows_flushed = p.flows_flushed;
		if (err)
			goto out;
	}
	r->rules_done = true;
	err = commit_ifaces(c, r, pv);
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
		free(pv->if_index);
		free(pv);
	}
	free(r->changes);
	free(r->if_changes);
	r->changes = NULL;
	r->if_changes = NULL;
	r->priv = NULL;
}
