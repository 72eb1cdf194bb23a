// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Reconciliation: what the datapath maps (pr_rules, pr_allow, pr_rnat) hold against what a rule set says they should, so that a change repairs whatever an interrupted one left. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <fcntl.h>
#include "libportredir.h"
#include "internal.h"

int pr_dp_read(struct pr_ctx *c, struct pr_dp *d)
{
	void *keys = NULL, *vals = NULL;
	size_t n = 0;
	int err;

	memset(d, 0, sizeof(*d));
	err = pr_map_read_all(c->fd_rules, sizeof(*d->keys), sizeof(*d->vals), &keys, &vals, &d->nentries);
	if (err)
		return pr_errf(c, err, "cannot read the lookup entries (pr_rules): %s", strerror(-err));
	d->keys = keys;
	d->vals = vals;
	err = pr_map_read_all(c->fd_allow, sizeof(*d->src), 1, &keys, &vals, &d->nsrc);
	if (err) {
		pr_errf(c, err, "cannot read the allowed sources (pr_allow): %s", strerror(-err));
		goto fail;
	}
	d->src = keys;
	free(vals);
	err = pr_map_read_all(c->fd_rnat, sizeof(__u32), sizeof(struct pr_rule_nat), &keys, &vals, &n);
	if (err) {
		pr_errf(c, err, "cannot read the source NAT of the rules (pr_rnat): %s", strerror(-err));
		goto fail;
	}
	/* an array map: by index, whatever order the read came in */
	d->nnat = (size_t)c->max_rules + 1;
	d->nat = calloc(d->nnat, sizeof(*d->nat));
	if (!d->nat) {
		err = pr_errf(c, -ENOMEM, "out of memory reading pr_rnat");
		free(keys);
		free(vals);
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		__u32 id = ((__u32 *)keys)[i];

		if (id < d->nnat)
			d->nat[id] = ((struct pr_rule_nat *)vals)[i];
	}
	free(keys);
	free(vals);
	return 0;
fail:
	pr_dp_free(d);
	return err;
}

void pr_dp_free(struct pr_dp *d)
{
	free(d->keys);
	free(d->vals);
	free(d->src);
	free(d->nat);
	memset(d, 0, sizeof(*d));
}

/* Whether m allows the source that pr_allow key k stands for. */
static bool has_src(const struct pr_rule_meta *m, const struct pr_allow_key *k)
{
	for (int i = 0; i < m->allow_count; i++) {
		const struct pr_cidr *a = &m->allow[i];

		if (a->family == k->family && PR_ALLOW_FIXED_BITS + (__u32)a->len == k->prefixlen &&
		    memcmp(&a->addr, &k->addr, sizeof(a->addr)) == 0)
			return true;
	}
	return false;
}

/* m's sources as pr_allow keys: a CIDR given twice is one key. */
static size_t distinct_sources(const struct pr_rule_meta *m)
{
	size_t n = 0;

	for (int i = 0; i < m->allow_count; i++) {
		int j;

		for (j = 0; j < i; j++)
			if (memcmp(&m->allow[j], &m->allow[i], sizeof(m->allow[i])) == 0)
				break;
		n += j == i;
	}
	return n;
}

static bool nat_same(const struct pr_rule_nat *a, const struct pr_rule_nat *b)
{
	return memcmp(&a->addr, &b->addr, sizeof(a->addr)) == 0 && a->port_lo == b->port_lo &&
	       a->port_hi == b->port_hi && a->mode == b->mode && a->family == b->family;
}

/* Index by rule id: idx[id] is i + 1 for m[i], 0 for no rule. */
static __u32 *index_ids(const struct pr_rule_meta *const *m, size_t n, size_t nid)
{
	__u32 *idx = calloc(nid + 1, sizeof(*idx));

	for (size_t i = 0; idx && i < n; i++)
		if (m[i]->rule.id < nid)
			idx[m[i]->rule.id] = i + 1;
	return idx;
}

int pr_recon_plan(struct pr_ctx *c, const struct pr_rule_meta *const *want, size_t nwant,
		  const struct pr_rule_meta *const *old, size_t nold, const struct pr_dp *d, const __u8 *fresh,
		  struct pr_recon *r)
{
	size_t nid = (size_t)c->max_rules + 1, nws = 0, nos = 0;
	struct pr_span *ws = NULL, *os = NULL;
	__u32 *widx = NULL, *oidx = NULL, *hits = NULL, *shits = NULL;
	__u8 *gone_id = NULL;
	int err = -ENOMEM;

	memset(r, 0, sizeof(*r));
	r->bad = calloc(nwant + 1, 1);
	r->gone_keys = malloc((d->nentries + 1) * sizeof(*r->gone_keys));
	r->gone_src = malloc((d->nsrc + 1) * sizeof(*r->gone_src));
	r->gone_ids = malloc((d->nentries + 1) * sizeof(*r->gone_ids));
	hits = calloc(nwant + 1, sizeof(*hits));
	shits = calloc(nwant + 1, sizeof(*shits));
	gone_id = calloc(nid, 1);
	widx = index_ids(want, nwant, nid);
	oidx = index_ids(old, nold, nid);
	if (!r->bad || !r->gone_keys || !r->gone_src || !r->gone_ids || !hits || !shits || !gone_id || !widx ||
	    !oidx || pr_spans_build(want, nwant, &ws, &nws) || (nold && pr_spans_build(old, nold, &os, &nos)))
		goto out;

	/* Every lookup entry: a rule's, as that rule says; a rule's, pointing
	 * elsewhere; or no rule's. */
	for (size_t i = 0; i < d->nentries; i++) {
		const struct pr_rule_key *k = &d->keys[i];
		long j = pr_spans_find(ws, nws, k);
		__u32 id = d->vals[i].id;

		if (j >= 0) {
			struct pr_rule e;

			hits[j]++;
			pr_rule_entry(want[j], ntohs(k->port), &e);
			if (memcmp(&e, &d->vals[i], sizeof(e))) {
				r->bad[j] = 1;
				r->drift.entries_wrong += !fresh || !fresh[j];
			}
		} else {
			r->gone_keys[r->ngone_keys++] = *k;
			if (!nos || pr_spans_find(os, nos, k) < 0)
				r->drift.entries_stray++;
		}
		/* an id no rule has: a half-made rule's, whose flows go too */
		if (id < nid && !widx[id] && !oidx[id] && !gone_id[id]) {
			gone_id[id] = 1;
			r->gone_ids[r->ngone_ids++] = id;
		}
	}
	for (size_t i = 0; i < d->nsrc; i++) {
		const struct pr_allow_key *k = &d->src[i];
		__u32 w = k->rule_id < nid ? widx[k->rule_id] : 0, o = k->rule_id < nid ? oidx[k->rule_id] : 0;

		if (w && has_src(want[w - 1], k)) {
			shits[w - 1]++;
			continue;
		}
		r->gone_src[r->ngone_src++] = *k;
		if (!o || !has_src(old[o - 1], k))
			r->drift.sources_stray++;
	}
	for (size_t j = 0; j < nwant; j++) {
		const struct pr_rule_meta *m = want[j];
		size_t span = pr_rule_span(m), ns = distinct_sources(m);

		/* a rule the change writes anyway: its state is not drift */
		if (fresh && fresh[j])
			continue;
		if (hits[j] < span) {
			r->bad[j] = 1;
			r->drift.entries_missing += span - hits[j];
		}
		if (shits[j] < ns) {
			r->bad[j] = 1;
			r->drift.sources_missing += ns - shits[j];
		}
		if (m->rule.id >= d->nnat || !nat_same(&d->nat[m->rule.id], &m->nat)) {
			r->bad[j] = 1;
			r->drift.nat_wrong++;
		}
		r->drift.rules += r->bad[j];
	}
	err = 0;
out:
	free(ws);
	free(os);
	free(widx);
	free(oidx);
	free(hits);
	free(shits);
	free(gone_id);
	if (err) {
		pr_recon_free(r);
		pr_errf(c, err, "out of memory comparing %zu rules with the datapath maps", nwant);
	}
	return err;
}

void pr_recon_free(struct pr_recon *r)
{
	free(r->bad);
	free(r->gone_keys);
	free(r->gone_src);
	free(r->gone_ids);
	memset(r, 0, sizeof(*r));
}

bool pr_drift_any(const struct pr_drift *d)
{
	return d->rules || d->entries_stray || d->sources_stray;
}

/* The live rules as pointers, for the plan. */
static const struct pr_rule_meta **ptrs_of(struct pr_rule_meta *live, size_t n)
{
	const struct pr_rule_meta **p = malloc((n + 1) * sizeof(*p));

	for (size_t i = 0; p && i < n; i++)
		p[i] = &live[i];
	return p;
}

int pr_tables_check(struct pr_ctx *c, struct pr_tables_check *out)
{
	const struct pr_rule_meta **want = NULL;
	struct pr_rule_meta *live = NULL;
	struct pr_recon r = {};
	struct pr_dp d = {};
	size_t n = 0;
	int fd, err;

	memset(out, 0, sizeof(*out));
	/* a change holds the lock from its read to its last write: while it
	 * does, the tables disagree on purpose, so say that instead */
	fd = open(c->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return pr_errf(c, -errno, "cannot open %s: %s", c->pin_dir, strerror(errno));
	if (c->lock_fd < 0 && flock(fd, LOCK_SH | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? 0 : pr_errf(c, -errno, "cannot lock %s: %s", c->pin_dir, strerror(errno));
		out->busy = err == 0;
		close(fd);
		return err;
	}
	err = pr_rules_read(c, &live, &n);
	if (!err)
		err = pr_dp_read(c, &d);
	if (!err) {
		want = ptrs_of(live, n);
		err = want ? pr_recon_plan(c, want, n, NULL, 0, &d, NULL, &r) : pr_errf(c, -ENOMEM, "out of memory");
	}
	if (!err) {
		out->drift = r.drift;
		out->checked = true;
	}
	pr_recon_free(&r);
	pr_dp_free(&d);
	free(want);
	free(live);
	close(fd);
	return err;
}

int pr_repair(struct pr_ctx *c, bool keep_flows, struct pr_repair_result *res)
{
	const struct pr_rule_meta **want = NULL, **put = NULL;
	struct pr_rule_meta *live = NULL;
	struct pr_recon r = {};
	struct pr_dp d = {};
	size_t n = 0, nput = 0;
	int err;

	memset(res, 0, sizeof(*res));
	c->err[0] = 0;
	err = pr_rules_lock_read(c, &live, &n);
	if (!err)
		err = pr_dp_read(c, &d);
	if (err)
		goto out;
	want = ptrs_of(live, n);
	put = malloc((n + 1) * sizeof(*put));
	if (!want || !put) {
		err = pr_errf(c, -ENOMEM, "out of memory");
		goto out;
	}
	err = pr_recon_plan(c, want, n, NULL, 0, &d, NULL, &r);
	if (err)
		goto out;
	res->drift = r.drift;
	for (size_t i = 0; i < n; i++)
		if (r.bad[i])
			put[nput++] = want[i];
	if (nput || r.ngone_keys || r.ngone_src || r.ngone_ids) {
		/* each bad rule is written again as a replace of itself: its
		 * counters stay, its entries, sources and pr_rnat are rewritten */
		struct pr_commit p = {
			.put = put, .put_old = put, .nput = nput, .keep_flows = keep_flows,
			.gone_keys = r.gone_keys, .ngone_keys = r.ngone_keys,
			.gone_src = r.gone_src, .ngone_src = r.ngone_src,
			.gone_ids = r.gone_ids, .ngone_ids = r.ngone_ids, .gone_given = true,
		};

		err = pr_commit(c, &p);
		res->flows_flushed = p.flows_flushed;
	}
out:
	pr_recon_free(&r);
	pr_dp_free(&d);
	free(want);
	free(put);
	free(live);
	return err;
}
