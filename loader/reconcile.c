// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Reconciliation: what the datapath maps (pr_rules, pr_allow, pr_rnat) hold against what a rule set says they should, so that a change repairs whatever an interrupted one left. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <fcntl.h>
#include <bpf/bpf.h>
#include "libportredir.h"
#include "internal.h"

int pr_journal_state(struct pr_ctx *c, __u32 *state)
{
	struct pr_journal j = {};
	__u32 slot = PR_JOURNAL_SLOT;

	if (bpf_map_lookup_elem(c->fd_rnat, &slot, &j))
		return pr_errf(c, -errno, "cannot read the change journal (pr_rnat): %s", strerror(errno));
	*state = j.magic == PR_JOURNAL_MAGIC ? j.state : 0;
	return 0;
}

int pr_journal_set(struct pr_ctx *c, enum pr_journal_state state)
{
	struct pr_journal j = {};
	__u32 slot = PR_JOURNAL_SLOT;

	if (bpf_map_lookup_elem(c->fd_rnat, &slot, &j) || j.magic != PR_JOURNAL_MAGIC)
		memset(&j, 0, sizeof(j));
	j.magic = PR_JOURNAL_MAGIC;
	j.generation += state == PR_JOURNAL_BUSY;
	j.state = state;
	if (bpf_map_update_elem(c->fd_rnat, &slot, &j, BPF_ANY))
		return pr_errf(c, -errno, "cannot write the change journal (pr_rnat): %s", strerror(errno));
	return 0;
}

int pr_dp_read(struct pr_ctx *c, struct pr_dp *d)
{
	void *keys = NULL, *vals = NULL;
	int err;

	memset(d, 0, sizeof(*d));
	err = pr_map_read_all(c->fd_rules, sizeof(*d->keys), sizeof(*d->vals), &keys, &vals, &d->nentries);
	if (err)
		return pr_errf(c, err, "cannot read the lookup entries (pr_rules): %s", strerror(-err));
	d->keys = keys;
	d->vals = vals;
	err = pr_map_read_all(c->fd_allow, sizeof(*d->src), 1, &keys, &vals, &d->nsrc);
	if (err) {
		pr_dp_free(d);
		return pr_errf(c, err, "cannot read the allowed sources (pr_allow): %s", strerror(-err));
	}
	d->src = keys;
	free(vals);
	return 0;
}

/* Only the slots up to the highest id are read: maps for 131,072 rules
 * that hold 5 would otherwise pay for every slot. */
int pr_dp_read_nat(struct pr_ctx *c, struct pr_dp *d, __u32 max_id)
{
	size_t n = (size_t)(max_id < c->max_rules ? max_id : c->max_rules) + 1;
	int err;

	free(d->nat);
	d->nnat = 0;
	d->nat = calloc(n, sizeof(*d->nat));
	if (!d->nat)
		return pr_errf(c, -ENOMEM, "out of memory reading pr_rnat");
	err = pr_array_read(c->fd_rnat, sizeof(*d->nat), d->nat, n);
	if (err)
		return pr_errf(c, err, "cannot read the source NAT of the rules (pr_rnat): %s", strerror(-err));
	d->nnat = n;
	return 0;
}

/* The highest id of m[0..n). */
static __u32 max_id_of(const struct pr_rule_meta *const *m, size_t n)
{
	__u32 max = 0;

	for (size_t i = 0; i < n; i++)
		max = m[i]->rule.id > max ? m[i]->rule.id : max;
	return max;
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

/* An open-addressing index of the lookup entries as read, by key: a
 * 100,000-rule table is checked with one probe an entry, no sort. */
struct entry_index {
	__u32 *slot; /* entry index + 1; 0 is empty */
	size_t mask;
};

static size_t key_hash(const struct pr_rule_key *k)
{
	__u32 w[5];
	__u64 h = 0x9e3779b97f4a7c15ULL;

	memcpy(w, k, sizeof(w));
	for (int i = 0; i < 5; i++)
		h = (h ^ w[i]) * 0xff51afd7ed558ccdULL;
	return (size_t)(h ^ (h >> 29));
}

static int index_build(struct entry_index *x, const struct pr_dp *d)
{
	size_t cap = 16;

	while (cap < 2 * d->nentries)
		cap *= 2;
	x->slot = calloc(cap, sizeof(*x->slot));
	if (!x->slot)
		return -ENOMEM;
	x->mask = cap - 1;
	for (size_t i = 0; i < d->nentries; i++) {
		size_t h = key_hash(&d->keys[i]) & x->mask;

		while (x->slot[h])
			h = (h + 1) & x->mask;
		x->slot[h] = i + 1;
	}
	return 0;
}

/* The index of the entry with key k, or -1. */
static long index_find(const struct entry_index *x, const struct pr_dp *d, const struct pr_rule_key *k)
{
	for (size_t h = key_hash(k) & x->mask; x->slot[h]; h = (h + 1) & x->mask)
		if (memcmp(&d->keys[x->slot[h] - 1], k, sizeof(*k)) == 0)
			return (long)x->slot[h] - 1;
	return -1;
}

/* Whether entry e is what pr_rule_entry(m, p) gives. */
static bool entry_is(const struct pr_rule_meta *m, __u16 p, const struct pr_rule *e)
{
	__be16 tp = m->target_port_last ? htons(ntohs(m->rule.target_port) + (p - ntohs(m->key.port))) :
					  m->rule.target_port;

	return e->id == m->rule.id && e->target_port == tp && e->flags == m->rule.flags &&
	       memcmp(&e->target, &m->rule.target, sizeof(e->target)) == 0;
}

/* want[j]'s lookup entries against the index: each found one is marked
 * in seen; a missing or different one makes the rule bad. */
static void check_entries(const struct pr_rule_meta *m, size_t j, const struct entry_index *x,
			  const struct pr_dp *d, const __u8 *fresh, __u8 *seen, struct pr_recon *r)
{
	bool count = !fresh || !fresh[j];
	struct pr_rule_key k = m->key;
	__u8 protos[2];
	int np = pr_rule_protos(m->key.proto, protos);

	for (int pi = 0; pi < np; pi++) {
		k.proto = protos[pi];
		for (__u32 p = ntohs(m->key.port); p <= m->port_last; p++) {
			long e;

			k.port = htons(p);
			e = index_find(x, d, &k);
			if (e < 0) {
				r->bad[j] = 1;
				r->drift.entries_missing += count;
				continue;
			}
			seen[e] = 1;
			if (!entry_is(m, p, &d->vals[e])) {
				r->bad[j] = 1;
				r->drift.entries_wrong += count;
			}
		}
	}
}

int pr_recon_plan(struct pr_ctx *c, const struct pr_rule_meta *const *want, size_t nwant,
		  const struct pr_rule_meta *const *old, size_t nold, const struct pr_dp *d, const __u8 *fresh,
		  struct pr_recon *r)
{
	size_t nid = (size_t)c->max_rules + 1, nos = 0;
	struct entry_index x = {};
	struct pr_span *os = NULL;
	__u32 *widx = NULL, *oidx = NULL, *shits = NULL;
	__u8 *gone_id = NULL, *seen = NULL;
	int err = -ENOMEM;

	memset(r, 0, sizeof(*r));
	r->bad = calloc(nwant + 1, 1);
	r->gone_keys = malloc((d->nentries + 1) * sizeof(*r->gone_keys));
	r->gone_src = malloc((d->nsrc + 1) * sizeof(*r->gone_src));
	r->gone_ids = malloc((d->nentries + 1) * sizeof(*r->gone_ids));
	shits = calloc(nwant + 1, sizeof(*shits));
	gone_id = calloc(nid, 1);
	seen = calloc(d->nentries + 1, 1);
	widx = index_ids(want, nwant, nid);
	oidx = index_ids(old, nold, nid);
	if (!r->bad || !r->gone_keys || !r->gone_src || !r->gone_ids || !shits || !gone_id || !seen || !widx ||
	    !oidx || index_build(&x, d))
		goto out;

	/* Every rule's entries: present and as it says, present and pointing
	 * elsewhere, or missing. */
	for (size_t j = 0; j < nwant; j++)
		check_entries(want[j], j, &x, d, fresh, seen, r);
	/* Entries no rule has (of a rule the change removes, or stray), and ids
	 * that entries carry which no rule has: a half-made rule's, whose flows
	 * go too. */
	for (size_t i = 0; i < d->nentries; i++) {
		__u32 id = d->vals[i].id;

		if (!seen[i]) {
			r->gone_keys[r->ngone_keys++] = d->keys[i];
			if (nold && !os && pr_spans_build(old, nold, &os, &nos))
				goto out;
			if (!nold || pr_spans_find(os, nos, &d->keys[i]) < 0)
				r->drift.entries_stray++;
		}
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
		bool count = !fresh || !fresh[j];
		size_t ns = m->allow_count ? distinct_sources(m) : 0;

		if (shits[j] < ns) {
			r->bad[j] = 1;
			r->drift.sources_missing += count ? ns - shits[j] : 0;
		}
		if (m->rule.id >= d->nnat || !nat_same(&d->nat[m->rule.id], &m->nat)) {
			r->bad[j] = 1;
			r->drift.nat_wrong += count;
		}
		r->drift.rules += count && r->bad[j];
	}
	err = 0;
out:
	free(x.slot);
	free(os);
	free(widx);
	free(oidx);
	free(shits);
	free(gone_id);
	free(seen);
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
	want = err ? NULL : ptrs_of(live, n);
	if (!err && !want)
		err = pr_errf(c, -ENOMEM, "out of memory");
	if (!err)
		err = pr_dp_read_nat(c, &d, max_id_of(want, n));
	if (!err)
		err = pr_recon_plan(c, want, n, NULL, 0, &d, NULL, &r);
	if (!err) {
		__u32 st;

		err = pr_journal_state(c, &st);
		out->unfinished = st == PR_JOURNAL_BUSY;
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
	err = pr_dp_read_nat(c, &d, max_id_of(want, n));
	if (!err)
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
	} else {
		err = pr_journal_set(c, PR_JOURNAL_CLEAN);
	}
out:
	pr_recon_free(&r);
	pr_dp_free(&d);
	free(want);
	free(put);
	free(live);
	return err;
}
