// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The commit engine: one change of the rule table written in the order that keeps live flows working, rolled back when a write fails. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
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

/* The counters of new ids, then the records, run on a thread of its own
 * for a large change; zeroed tells the writer of the lookup entries that
 * the counters are fresh (or zero_err why not). */
struct bg_update {
	struct pr_ctx *c;
	const __u32 *new_ids;
	size_t nnew;
	const void *ids, *metas;
	size_t n;
	int zero_err, err;
	bool zeroed;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

/* Below this many rules a thread costs more than it saves. */
#define BG_MIN 4096

static void *bg_update_run(void *arg)
{
	struct bg_update *u = arg;
	size_t done;
	int err = zero_stats(u->c, u->new_ids, u->nnew);

	pthread_mutex_lock(&u->mu);
	u->zero_err = err;
	u->zeroed = true;
	pthread_cond_signal(&u->cv);
	pthread_mutex_unlock(&u->mu);
	/* a record never exists before its counters are fresh */
	u->err = err ? err : pr_map_update_many(u->c->fd_rmeta, u->ids, sizeof(__u32), u->metas,
						 sizeof(struct pr_rule_meta), u->n, BPF_ANY, &done);
	return NULL;
}

/* Wait until the counters are zeroed: their error, or 0. */
static int bg_wait_zeroed(struct bg_update *u)
{
	int err;

	pthread_mutex_lock(&u->mu);
	while (!u->zeroed)
		pthread_cond_wait(&u->cv, &u->mu);
	err = u->zero_err;
	pthread_mutex_unlock(&u->mu);
	return err;
}

/* Counters first, then records, beside sources, source NAT and (once the
 * counters are zeroed) lookup entries: a packet never finds a rule whose id
 * has no fresh counters, sources or pr_rnat yet, and a record never exists
 * before its rule's counters are zeroed (so the next change can trust the
 * counters of every record). */
static int put_rules(struct pr_ctx *c, struct pr_commit *p)
{
	struct pr_rule_meta *metas = malloc((p->nput + 1) * sizeof(*metas));
	struct pr_allow_key *ak = malloc((p->nput * PR_ALLOW_MAX + 1) * sizeof(*ak));
	__u32 *ids = malloc((p->nput + 1) * sizeof(*ids)), *new_ids = malloc((p->nput + 1) * sizeof(*ids));
	struct pr_rule_key *k = NULL;
	struct pr_rule *v = NULL;
	size_t nnew = 0, nk = 0, cnt = 0, done;
	struct bg_update rec = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
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
		/* every source, not just those the old rule lacked: an interrupted
		 * change may have left some out */
		nk += allow_keys(p->put[i], NULL, ids[i], ak + nk);
	}
	ones = malloc(nk + 1);
	if (!ones || build_entries(p->put, p->nput, &k, &v, &cnt))
		goto out;
	memset(ones, 1, nk);

	/* The records are the control plane's alone (the datapath never reads
	 * pr_rmeta), so beyond coming after the counters they need no order
	 * against the rest: a large change writes both on another CPU meanwhile. */
	rec.c = c;
	rec.new_ids = new_ids;
	rec.nnew = nnew;
	rec.ids = ids;
	rec.metas = metas;
	rec.n = p->nput;
	if (p->nput < BG_MIN || pthread_create(&bg, NULL, bg_update_run, &rec))
		bg_update_run(&rec);
	else
		bg_started = true;
	what = "add the allowed sources of";
	err = pr_map_update_many(c->fd_allow, ak, sizeof(*ak), ones, 1, nk, BPF_ANY, &done);
	if (!err) {
		what = "set the source NAT of";
		err = write_nat(c, p, false);
	}
	if (!err) {
		what = "reset the counters of";
		err = bg_wait_zeroed(&rec);
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

/* What a change removes: lookup entries and sources, and ids (besides
 * del's) whose flows go. */
struct gone {
	const struct pr_rule_key *keys;
	size_t nkeys;
	const struct pr_allow_key *src;
	size_t nsrc;
	const __u32 *ids;
	size_t nids;
	struct pr_rule_key *own_keys; /* derived here (add, del): freed by gone_free */
	struct pr_allow_key *own_src;
};

/* For add and del: del's entries except those an added rule claims, del's
 * sources, and the sources a replace dropped. */
static int derive_gone(const struct pr_commit *p, struct gone *g)
{
	const struct pr_rule_meta **added = malloc((p->nput + 1) * sizeof(*added));
	struct pr_span *claim = NULL;
	size_t na = 0, nclaim = 0, cnt = 0, keep = 0, ns = 0;
	struct pr_rule *v = NULL;
	int err = -ENOMEM;

	g->own_src = malloc(((p->ndel + p->nput) * PR_ALLOW_MAX + 1) * sizeof(*g->own_src));
	if (!added || !g->own_src)
		goto out;
	for (size_t i = 0; i < p->nput; i++)
		if (!p->put_old[i])
			added[na++] = p->put[i];
	if (pr_spans_build(added, na, &claim, &nclaim) || build_entries(p->del, p->ndel, &g->own_keys, &v, &cnt))
		goto out;
	for (size_t i = 0; i < cnt; i++)
		if (!nclaim || !pr_spans_cover(claim, nclaim, &g->own_keys[i]))
			g->own_keys[keep++] = g->own_keys[i];
	for (size_t i = 0; i < p->ndel; i++)
		ns += allow_keys(p->del[i], NULL, p->del[i]->rule.id, g->own_src + ns);
	for (size_t i = 0; i < p->nput; i++)
		if (p->put_old[i])
			ns += allow_keys(p->put_old[i], p->put[i], p->put[i]->rule.id, g->own_src + ns);
	g->keys = g->own_keys;
	g->nkeys = keep;
	g->src = g->own_src;
	g->nsrc = ns;
	err = 0;
out:
	free(added);
	free(claim);
	free(v);
	return err;
}

static void gone_free(struct gone *g)
{
	free(g->own_keys);
	free(g->own_src);
}

/* Remove what goes: lookup entries, then sources (with only_kept -1 those
 * of ids no put keeps, 1 those of ids a put keeps, 0 all: kept[] by id),
 * then unless keep_flows the flows of del and of the gone ids, then del's
 * records. The records go last, so a change interrupted before them is
 * redone by the next one: flows go after the entries so that no packet
 * re-creates a flushed flow. */
static int remove_gone(struct pr_ctx *c, struct pr_commit *p, const struct gone *g, const __u8 *kept, int only)
{
	struct pr_allow_key *src = malloc((g->nsrc + 1) * sizeof(*src));
	__u32 *ids = malloc((p->ndel + 1) * sizeof(*ids));
	size_t ns = 0, nmark = (size_t)c->max_rules + 1;
	__u8 *mark = NULL;
	bool any = false;
	int err = -ENOMEM;

	if (!src || !ids)
		goto out;
	for (size_t i = 0; i < g->nsrc; i++) {
		__u32 id = g->src[i].rule_id;
		bool k = id < nmark && kept[id];

		if (!only || (only > 0) == k)
			src[ns++] = g->src[i];
	}
	for (size_t i = 0; i < p->ndel; i++)
		ids[i] = p->del[i]->rule.id;
	err = pr_map_delete_many(c->fd_rules, g->keys, sizeof(*g->keys), only > 0 ? 0 : g->nkeys, NULL);
	if (!err)
		err = pr_map_delete_many(c->fd_allow, src, sizeof(*src), ns, NULL);
	if (err || only > 0)
		goto out;
	if (!p->keep_flows && (p->ndel || g->nids)) {
		mark = calloc(nmark, 1);
		if (!mark) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < p->ndel; i++)
			if (ids[i] < nmark)
				any = (mark[ids[i]] = 1);
		for (size_t i = 0; i < g->nids; i++)
			if (g->ids[i] < nmark)
				any = (mark[g->ids[i]] = 1);
		if (any)
			err = pr_ct_flush_marked(c, mark, nmark, &p->flows_flushed);
		if (err)
			goto out;
	}
	err = pr_map_delete_many(c->fd_rmeta, ids, sizeof(*ids), p->ndel, NULL);
out:
	if (err == -ENOMEM && !c->err[0])
		pr_errf(c, err, "out of memory deleting %zu rules", p->ndel);
	else if (err && !c->err[0])
		pr_errf(c, err, "cannot delete %zu rules: %s", p->ndel, strerror(-err));
	free(src);
	free(ids);
	free(mark);
	return err;
}

/*
 * The write order:
 *  1. counters of new ids; then records (pr_rmeta), beside new sources, source NAT
 *     (pr_rnat) and then lookup entries of added and replaced rules (each entry
 *     switches atomically, so a port that passes from a deleted rule to an added one
 *     is never without a rule);
 *  2. what goes: lookup entries no rule has any more, sources (dropped by a replace,
 *     or of deleted rules), flows of deleted rules, then their records.
 * With del_first, step 2 runs first instead, to make room, but for the sources of
 * replaced rules, which go after step 1. A failure in step 1 is rolled back.
 */
static int commit(struct pr_ctx *c, struct pr_commit *p)
{
	struct gone g = {};
	__u8 *kept = NULL;
	int err;

	if (p->gone_given) {
		g.keys = p->gone_keys;
		g.nkeys = p->ngone_keys;
		g.src = p->gone_src;
		g.nsrc = p->ngone_src;
		g.ids = p->gone_ids;
		g.nids = p->ngone_ids;
	} else if (derive_gone(p, &g)) {
		err = pr_errf(c, -ENOMEM, "out of memory planning the change");
		goto out;
	}
	kept = calloc((size_t)c->max_rules + 1, 1);
	if (!kept) {
		err = pr_errf(c, -ENOMEM, "out of memory planning the change");
		goto out;
	}
	for (size_t i = 0; i < p->nput; i++)
		if (p->put_old[i] && p->put[i]->rule.id <= c->max_rules)
			kept[p->put[i]->rule.id] = 1;
	if (p->del_first) {
		err = remove_gone(c, p, &g, kept, -1);
		if (err)
			goto out;
	}
	if (p->nput) {
		err = put_rules(c, p);
		if (err)
			goto out;
	}
	err = remove_gone(c, p, &g, kept, p->del_first ? 1 : 0);
	if (err && p->nput) {
		char why[PR_ERR_LEN];

		snprintf(why, sizeof(why), "%s", c->err);
		pr_errf(c, err, "the new rules are in, but %.400s; apply again to finish", why);
	}
out:
	gone_free(&g);
	free(kept);
	return err;
}

/* SIGINT, SIGTERM, SIGHUP and SIGQUIT wait while a commit runs (its
 * threads inherit the mask): the change is finished or rolled back, then
 * the signal acts. SIGKILL cannot wait: the journal stays BUSY, and the
 * next change repairs what it left (docs/design.md, "Interrupted changes"). */
int pr_commit(struct pr_ctx *c, struct pr_commit *p)
{
	sigset_t block, saved;
	int err;

	c->err[0] = 0;
	p->flows_flushed = 0;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &block, &saved);
	/* BUSY until the last write is done: a commit killed or failed midway
	 * leaves it so, and the next change reconciles */
	err = pr_journal_set(c, PR_JOURNAL_BUSY);
	if (!err)
		err = commit(c, p);
	if (!err && pr_journal_set(c, PR_JOURNAL_CLEAN))
		c->err[0] = 0; /* the change is made; the next one merely checks it again */
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	return err;
}
