// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The commit engine: one change of the rule table written in the order that keeps live flows working, rolled back when a write fails. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "libportredir.h"
#include "internal.h"

/* Every pr_rules entry of the n rules m[i] into fresh arrays. */
static int build_entries(const struct pr_rule_meta *const *m, size_t n, struct pr_rule_key **keys,
			 struct pr_rule **vals, size_t *cnt)
{
	size_t total = 0, k = 0;

	for (size_t i = 0; i < n; i++)
		total += pr_rule_span(m[i]);
	*keys = malloc((total + 1) * sizeof(**keys));
	*vals = malloc((total + 1) * sizeof(**vals));
	if (!*keys || !*vals) {
		free(*keys);
		free(*vals);
		*keys = NULL;
		*vals = NULL;
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		__u8 protos[2];
		int np = pr_rule_protos(m[i]->key.proto, protos);
		__u16 lo = ntohs(m[i]->key.port), hi = m[i]->port_last;

		for (int j = 0; j < np; j++) {
			for (__u32 p = lo; p <= hi; p++) {
				struct pr_rule_key *key = &(*keys)[k];

				*key = m[i]->key;
				key->proto = protos[j];
				key->port = htons(p);
				pr_rule_entry(m[i], p, &(*vals)[k]);
				k++;
			}
		}
	}
	*cnt = k;
	return 0;
}

/* pr_allow keys of m's prefixes that not_in does not have (NULL: all). */
static size_t allow_keys(const struct pr_rule_meta *m, const struct pr_rule_meta *not_in, __u32 id,
			 struct pr_allow_key *out)
{
	__u8 idx[PR_ALLOW_MAX];
	size_t n = pr_allow_diff(m, not_in, idx);

	for (size_t i = 0; i < n; i++) {
		struct pr_allow_key *k = &out[i];

		memset(k, 0, sizeof(*k));
		k->prefixlen = PR_ALLOW_FIXED_BITS + m->allow[idx[i]].len;
		k->rule_id = id;
		k->family = m->allow[idx[i]].family;
		k->addr = m->allow[idx[i]].addr;
	}
	return n;
}

static int update_or_delete(int fd, const void *keys, size_t ksz, const void *vals, size_t vsz, size_t n)
{
	size_t done;

	return vals ? pr_map_update_many(fd, keys, ksz, vals, vsz, n, BPF_ANY, &done) :
		      pr_map_delete_many(fd, keys, ksz, n, NULL);
}

/* Fresh counters for the ids of the added rules. */
static int zero_stats(struct pr_ctx *c, const __u32 *ids, size_t n)
{
	size_t vsz = sizeof(struct pr_rule_stats) * pr_ncpus(), chunk = 1024, done;
	void *zero = calloc(chunk, vsz);
	int err = 0;

	if (!zero)
		return -ENOMEM;
	for (size_t i = 0; i < n && !err; i += chunk)
		err = pr_map_update_many(c->fd_rstats, ids + i, sizeof(*ids), zero, vsz, n - i < chunk ? n - i : chunk,
					 BPF_ANY, &done);
	free(zero);
	return err;
}

/* pr_rnat of every rule p writes (back: of the rules replaced, as they
 * were, for a rollback). The datapath reads it when a rule's entry carries
 * PR_RULE_F_SNAT, so it goes in before the entries. */
static int write_nat(struct pr_ctx *c, const struct pr_commit *p, bool back)
{
	struct pr_rule_nat *nat = malloc((p->nput + 1) * sizeof(*nat));
	__u32 *ids = malloc((p->nput + 1) * sizeof(*ids));
	size_t n = 0, done;
	int err = -ENOMEM;

	if (!nat || !ids)
		goto out;
	for (size_t i = 0; i < p->nput; i++) {
		const struct pr_rule_meta *m = back ? p->put_old[i] : p->put[i];

		if (!m)
			continue;
		ids[n] = p->put[i]->rule.id;
		nat[n++] = m->nat;
	}
	err = pr_map_update_many(c->fd_rnat, ids, sizeof(*ids), nat, sizeof(*nat), n, BPF_ANY, &done);
out:
	free(nat);
	free(ids);
	return err;
}

/* Undo the writes of put_rules after a failure: entries of added rules go,
 * entries, records and sources of replaced (and overwritten deleted) rules
 * are written back as they were. Best effort; it runs on a failure path. */
static void rollback_put(struct pr_ctx *c, const struct pr_commit *p)
{
	const struct pr_rule_meta **added = calloc(p->nput + 1, sizeof(*added));
	const struct pr_rule_meta **back = calloc(p->nput + p->ndel + 1, sizeof(*back));
	struct pr_allow_key *ak = calloc(p->nput * PR_ALLOW_MAX + 1, sizeof(*ak));
	struct pr_rule_key *k = NULL;
	struct pr_rule *v = NULL;
	size_t na = 0, nb = 0, nk = 0, cnt;

	if (!added || !back || !ak)
		goto out;
	for (size_t i = 0; i < p->nput; i++) {
		if (p->put_old[i])
			back[nb++] = p->put_old[i];
		else
			added[na++] = p->put[i];
		nk += allow_keys(p->put[i], p->put_old[i], p->put[i]->rule.id, ak + nk);
	}
	for (size_t i = 0; !p->del_first && i < p->ndel; i++)
		back[nb++] = p->del[i];
	if (build_entries(added, na, &k, &v, &cnt) == 0)
		update_or_delete(c->fd_rules, k, sizeof(*k), NULL, 0, cnt);
	free(k);
	free(v);
	if (build_entries(back, nb, &k, &v, &cnt) == 0)
		update_or_delete(c->fd_rules, k, sizeof(*k), v, sizeof(*v), cnt);
	free(k);
	free(v);
	for (size_t i = 0; i < p->nput; i++) {
		__u32 id = p->put[i]->rule.id;

		if (p->put_old[i])
			bpf_map_update_elem(c->fd_rmeta, &id, p->put_old[i], BPF_ANY);
		else
			bpf_map_delete_elem(c->fd_rmeta, &id);
	}
	update_or_delete(c->fd_allow, ak, sizeof(*ak), NULL, 0, nk);
	write_nat(c, p, true);
out:
	free(added);
	free(back);
	free(ak);
}

/* One bulk update, run on a thread of its own. */
struct bg_update {
	int fd;
	const void *keys, *vals;
	size_t ksz, vsz, n;
	int err;
};

/* Below this many rules a thread costs more than it saves. */
#define BG_MIN 4096

static void *bg_update_run(void *arg)
{
	struct bg_update *u = arg;
	size_t done;

	u->err = pr_map_update_many(u->fd, u->keys, u->ksz, u->vals, u->vsz, u->n, BPF_ANY, &done);
	return NULL;
}

/* Counters, sources, source NAT and records first, lookup entries last: a
 * packet never finds a rule whose id has no counters, sources or pr_rnat yet. */
static int put_rules(struct pr_ctx *c, struct pr_commit *p)
{
	struct pr_rule_meta *metas = malloc((p->nput + 1) * sizeof(*metas));
	struct pr_allow_key *ak = malloc((p->nput * PR_ALLOW_MAX + 1) * sizeof(*ak));
	__u32 *ids = malloc((p->nput + 1) * sizeof(*ids)), *new_ids = malloc((p->nput + 1) * sizeof(*ids));
	struct pr_rule_key *k = NULL;
	struct pr_rule *v = NULL;
	size_t nnew = 0, nk = 0, cnt = 0, done;
	struct bg_update rec = {};
	bool bg_started = false;
	const char *what = "";
	__u8 *ones = NULL;
	pthread_t bg;
	int err = -ENOMEM;

	if (!metas || !ak || !ids || !new_ids)
		goto out;
	for (size_t i = 0; i < p->nput; i++) {
		ids[i] = p->put[i]->rule.id;
		metas[i] = *p->put[i];
		if (!p->put_old[i])
			new_ids[nnew++] = ids[i];
		nk += allow_keys(p->put[i], p->put_old[i], ids[i], ak + nk);
	}
	ones = malloc(nk + 1);
	if (!ones || build_entries(p->put, p->nput, &k, &v, &cnt))
		goto out;
	memset(ones, 1, nk);

	/* The records are the control plane's alone (the datapath never reads
	 * pr_rmeta), so they need no order against the rest: a large change
	 * writes them on another CPU meanwhile. */
	rec = (struct bg_update){ .fd = c->fd_rmeta, .keys = ids, .ksz = sizeof(*ids), .vals = metas,
				  .vsz = sizeof(*metas), .n = p->nput };
	if (p->nput < BG_MIN || pthread_create(&bg, NULL, bg_update_run, &rec))
		bg_update_run(&rec);
	else
		bg_started = true;
	what = "reset the counters of";
	err = zero_stats(c, new_ids, nnew);
	if (!err) {
		what = "add the allowed sources of";
		err = pr_map_update_many(c->fd_allow, ak, sizeof(*ak), ones, 1, nk, BPF_ANY, &done);
	}
	if (!err) {
		what = "set the source NAT of";
		err = write_nat(c, p, false);
	}
	if (!err) {
		what = "insert the lookup entries of";
		err = pr_map_update_many(c->fd_rules, k, sizeof(*k), v, sizeof(*v), cnt, BPF_ANY, &done);
	}
	if (bg_started)
		pthread_join(bg, NULL);
	if (!err && rec.err) {
		what = "record";
		err = rec.err;
	}
	if (err)
		rollback_put(c, p);
out:
	if (err == -ENOMEM && !*what)
		pr_errf(c, err, "out of memory preparing %zu rules", p->nput);
	else if (err == -E2BIG || err == -ENOSPC)
		pr_errf(c, err, "cannot %s %zu rules: a map is full (rules hold %u ids, %u lookup entries, %u sources)",
			what, p->nput, c->max_rules, c->rule_entries_max, c->allow_entries_max);
	else if (err)
		pr_errf(c, err, "cannot %s %zu rules: %s", what, p->nput, strerror(-err));
	free(metas);
	free(ak);
	free(ids);
	free(new_ids);
	free(ones);
	free(k);
	free(v);
	return err;
}

/* Delete p->del: lookup entries (except those now claimed by a written
 * rule), sources, records, then unless keep_flows their conntrack entries,
 * after the entries so that no packet re-creates a flushed flow. */
static int remove_deleted(struct pr_ctx *c, struct pr_commit *p, const struct pr_span *claim, size_t nclaim)
{
	struct pr_allow_key *ak = malloc((p->ndel * PR_ALLOW_MAX + 1) * sizeof(*ak));
	__u32 *ids = malloc((p->ndel + 1) * sizeof(*ids));
	__u8 *mark = NULL;
	struct pr_rule_key *k = NULL;
	struct pr_rule *v = NULL;
	size_t nk = 0, cnt = 0, keep = 0;
	__u32 max_id = 0;
	int err = -ENOMEM;

	if (!ak || !ids || build_entries(p->del, p->ndel, &k, &v, &cnt))
		goto out;
	for (size_t i = 0; i < cnt; i++)
		if (!nclaim || !pr_spans_cover(claim, nclaim, &k[i]))
			k[keep++] = k[i];
	for (size_t i = 0; i < p->ndel; i++) {
		ids[i] = p->del[i]->rule.id;
		max_id = ids[i] > max_id ? ids[i] : max_id;
		nk += allow_keys(p->del[i], NULL, ids[i], ak + nk);
	}
	err = pr_map_delete_many(c->fd_rules, k, sizeof(*k), keep, NULL);
	if (!err)
		err = pr_map_delete_many(c->fd_allow, ak, sizeof(*ak), nk, NULL);
	if (!err)
		err = pr_map_delete_many(c->fd_rmeta, ids, sizeof(*ids), p->ndel, NULL);
	if (err) {
		pr_errf(c, err, "cannot delete %zu rules: %s", p->ndel, strerror(-err));
		goto out;
	}
	if (p->keep_flows || !p->ndel)
		goto out;
	mark = calloc((size_t)max_id + 1, 1);
	if (!mark) {
		err = pr_errf(c, -ENOMEM, "out of memory flushing flows");
		goto out;
	}
	for (size_t i = 0; i < p->ndel; i++)
		mark[ids[i]] = 1;
	err = pr_ct_flush_marked(c, mark, (size_t)max_id + 1, &p->flows_flushed);
out:
	if (err == -ENOMEM && !c->err[0])
		pr_errf(c, err, "out of memory deleting %zu rules", p->ndel);
	free(ak);
	free(ids);
	free(mark);
	free(k);
	free(v);
	return err;
}

/* Sources a replace dropped, once the new entries no longer need them. */
static int drop_replaced_sources(struct pr_ctx *c, const struct pr_commit *p)
{
	struct pr_allow_key ak[PR_ALLOW_MAX];
	int err = 0;

	for (size_t i = 0; i < p->nput && !err; i++) {
		size_t n;

		if (!p->put_old[i])
			continue;
		n = allow_keys(p->put_old[i], p->put[i], p->put[i]->rule.id, ak);
		err = pr_map_delete_many(c->fd_allow, ak, sizeof(ak[0]), n, NULL);
	}
	return err ? pr_errf(c, err, "cannot remove replaced sources: %s", strerror(-err)) : 0;
}

/*
 * The write order:
 *  1. counters of new ids, new sources, source NAT (pr_rnat), records, then lookup entries of
 *     added and replaced rules (each entry switches atomically, so a port
 *     that passes from a deleted rule to an added one is never without a rule);
 *  2. sources a replace dropped;
 *  3. deleted rules: their remaining lookup entries, sources, records, then
 *     their flows.
 * With del_first, step 3 runs first instead, to make room. A failure in
 * step 1 is rolled back.
 */
int pr_commit(struct pr_ctx *c, struct pr_commit *p)
{
	const struct pr_rule_meta **added = NULL;
	struct pr_span *claim = NULL;
	size_t na = 0, nclaim = 0;
	int err;

	c->err[0] = 0;
	p->flows_flushed = 0;
	if (p->del_first && p->ndel) {
		err = remove_deleted(c, p, NULL, 0);
		if (err)
			return err;
	}
	if (p->nput) {
		err = put_rules(c, p);
		if (err)
			return err;
		err = drop_replaced_sources(c, p);
		if (err)
			return err;
	}
	if (p->del_first || !p->ndel)
		return 0;
	/* entries of deleted rules that added rules took over stay */
	added = malloc((p->nput + 1) * sizeof(*added));
	if (!added)
		return pr_errf(c, -ENOMEM, "out of memory deleting %zu rules", p->ndel);
	for (size_t i = 0; i < p->nput; i++)
		if (!p->put_old[i])
			added[na++] = p->put[i];
	err = pr_spans_build(added, na, &claim, &nclaim);
	if (!err)
		err = remove_deleted(c, p, claim, nclaim);
	else
		pr_errf(c, err, "out of memory deleting %zu rules", p->ndel);
	if (err && p->nput) {
		char why[PR_ERR_LEN];

		snprintf(why, sizeof(why), "%s", c->err);
		pr_errf(c, err, "the new rules are in, but %.400s; apply again to finish", why);
	}
	free(claim);
	free(added);
	return err;
}
