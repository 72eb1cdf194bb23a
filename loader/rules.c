// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Rule table edits, kept consistent across pr_rules (datapath), pr_rmeta (names) and pr_rstats. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "libportredir.h"
#include "internal.h"

static const char *const reason_names[PR_R_MAX] = {
	[PR_R_XLATE_FWD] = "xlate_forward",
	[PR_R_XLATE_REPLY] = "xlate_reply",
	[PR_R_REDIRECT] = "redirect",
	[PR_R_PASS_REPLY_EGRESS] = "pass_reply_to_egress",
	[PR_R_PASS_NOMATCH] = "pass_nomatch",
	[PR_R_PASS_NOT_IP] = "pass_not_ip",
	[PR_R_PASS_NOT_L4] = "pass_not_tcp_udp",
	[PR_R_PASS_FRAGMENT] = "pass_fragment",
	[PR_R_PASS_MALFORMED] = "pass_malformed",
	[PR_R_PASS_CSUM_PUNT] = "pass_partial_csum_to_tc",
	[PR_R_PASS_NO_META] = "pass_no_xdp_meta",
	[PR_R_PASS_TCP_RST] = "pass_tcp_rst_no_flow",
	[PR_R_PASS_CT_FAIL] = "pass_ct_insert_failed",
	[PR_R_DROP_REWRITE] = "drop_rewrite_failed",
	[PR_R_XLATE_ICMP] = "xlate_icmp_error",
	[PR_R_PASS_ICMP] = "pass_icmp",
	[PR_R_XLATE_FRAG] = "xlate_fragment",
	[PR_R_PASS_DENIED] = "pass_denied_source",
	[PR_R_DROP_DENIED] = "drop_denied_source",
	[PR_R_PASS_LOCAL_SOCKET] = "pass_dmz_local_socket",
};

const char *pr_reason_name(unsigned int r)
{
	return r < PR_R_MAX && reason_names[r] ? reason_names[r] : "unknown";
}

int pr_ncpus(void)
{
	static int n;

	if (!n)
		n = libbpf_num_possible_cpus();
	return n;
}

__u64 pr_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Protocols a rule covers. */
static int rule_protos(__u8 proto, __u8 out[2])
{
	if (proto) {
		out[0] = proto;
		return 1;
	}
	out[0] = IPPROTO_TCP;
	out[1] = IPPROTO_UDP;
	return 2;
}

size_t pr_rule_span(const struct pr_rule_meta *m)
{
	__u8 protos[2];

	return (size_t)rule_protos(m->key.proto, protos) * (m->port_last - ntohs(m->key.port) + 1);
}

/* The datapath entry for listen port p of a rule. */
static void port_entry(const struct pr_rule_meta *m, __u16 p, struct pr_rule *r)
{
	*r = m->rule;
	if (m->target_port_last)
		r->target_port = htons(ntohs(m->rule.target_port) + (p - ntohs(m->key.port)));
}

static void allow_key(struct pr_allow_key *k, __u32 id, const struct pr_cidr *c)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = PR_ALLOW_FIXED_BITS + c->len;
	k->rule_id = id;
	k->family = c->family;
	k->addr = c->addr;
}

void pr_meta_from_spec(const struct pr_rule_spec *s, struct pr_rule_meta *m)
{
	memset(m, 0, sizeof(*m));
	memcpy(m->name, s->name, sizeof(m->name));
	m->key = s->key;
	m->port_last = s->port_last;
	m->target_port_last = s->target_port_last;
	m->rule.target = s->target;
	m->rule.target_port = s->target_port;
	m->rule.flags = (s->allow_count ? PR_RULE_F_ALLOW : 0) | (s->deny_drop ? PR_RULE_F_DENY_DROP : 0) |
			(s->target_port ? 0 : PR_RULE_F_KEEP_PORT);
	m->allow_count = s->allow_count > PR_ALLOW_MAX ? PR_ALLOW_MAX : s->allow_count;
	memcpy(m->allow, s->allow, m->allow_count * sizeof(m->allow[0]));
}

bool pr_meta_same(const struct pr_rule_meta *a, const struct pr_rule_meta *b)
{
	return strncmp(a->name, b->name, PR_NAME_LEN) == 0 && memcmp(&a->key, &b->key, sizeof(a->key)) == 0 &&
	       a->port_last == b->port_last && a->target_port_last == b->target_port_last &&
	       memcmp(&a->rule.target, &b->rule.target, sizeof(a->rule.target)) == 0 &&
	       a->rule.target_port == b->rule.target_port && a->rule.flags == b->rule.flags &&
	       a->allow_count == b->allow_count &&
	       memcmp(a->allow, b->allow, a->allow_count * sizeof(a->allow[0])) == 0;
}

/* Same listen: the one thing --replace, apply and del by listen match on. */
static bool same_listen(const struct pr_rule_meta *a, const struct pr_rule_meta *b)
{
	return memcmp(&a->key, &b->key, sizeof(a->key)) == 0 && a->port_last == b->port_last;
}

bool pr_listens_overlap(const struct pr_rule_meta *a, const struct pr_rule_meta *b)
{
	if (a->key.family != b->key.family || memcmp(&a->key.addr, &b->key.addr, sizeof(a->key.addr)))
		return false;
	if (a->key.proto && b->key.proto && a->key.proto != b->key.proto)
		return false;
	/* a DMZ is port 0 to 0, so it meets only another DMZ */
	return ntohs(a->key.port) <= b->port_last && ntohs(b->key.port) <= a->port_last;
}

int pr_rules_read(struct pr_ctx *c, struct pr_rule_meta **out, size_t *n)
{
	void *keys, *vals;
	int err;

	err = pr_map_read_all(c->fd_rmeta, sizeof(__u32), sizeof(struct pr_rule_meta), &keys, &vals, n);
	if (err)
		return pr_errf(c, err, "cannot read the rules (pr_rmeta): %s", strerror(-err));
	for (size_t i = 0; i < *n; i++)
		((struct pr_rule_meta *)vals)[i].rule.id = ((__u32 *)keys)[i];
	free(keys);
	*out = vals;
	return 0;
}

/* ---- rule ids ---- */

int pr_ids_init(struct pr_ids *ids, __u32 max_rules)
{
	ids->used = calloc((size_t)max_rules + 1, 1);
	if (!ids->used)
		return -ENOMEM;
	ids->used[0] = 1; /* never a rule's */
	ids->max = max_rules;
	ids->cursor = 1;
	return 0;
}

void pr_ids_mark(struct pr_ids *ids, __u32 id, bool used)
{
	if (id > ids->max)
		return;
	ids->used[id] = used;
	if (!used && id && id < ids->cursor)
		ids->cursor = id;
}

int pr_ids_next(struct pr_ids *ids, __u32 *id)
{
	while (ids->cursor <= ids->max && ids->used[ids->cursor])
		ids->cursor++;
	if (ids->cursor > ids->max)
		return -ENOSPC;
	*id = ids->cursor;
	ids->used[ids->cursor++] = 1;
	return 0;
}

void pr_ids_free(struct pr_ids *ids)
{
	free(ids->used);
	ids->used = NULL;
}

/* ---- spans: (family, address, protocol, ports) intervals, sorted ---- */

int pr_addr_cmp(const union pr_addr *a, const union pr_addr *b)
{
	for (int i = 0; i < 4; i++)
		if (a->v6[i] != b->v6[i])
			return a->v6[i] < b->v6[i] ? -1 : 1;
	return 0;
}

/* Any total order will do; words beat memcmp calls in a 100,000-rule sort. */
static int span_cmp(const void *x, const void *y)
{
	const struct pr_span *a = x, *b = y;
	int d;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	d = pr_addr_cmp(&a->addr, &b->addr);
	if (d)
		return d;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return (a->lo > b->lo) - (a->lo < b->lo);
}

int pr_spans_build(const struct pr_rule_meta *const *m, size_t n, struct pr_span **out, size_t *cnt)
{
	struct pr_span *v = malloc((2 * n + 1) * sizeof(*v));
	size_t k = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		__u8 protos[2];
		int np = rule_protos(m[i]->key.proto, protos);

		for (int j = 0; j < np; j++) {
			memset(&v[k], 0, sizeof(v[k]));
			v[k].addr = m[i]->key.addr;
			v[k].family = m[i]->key.family;
			v[k].proto = protos[j];
			v[k].lo = ntohs(m[i]->key.port);
			v[k].hi = m[i]->port_last;
			v[k].idx = i;
			k++;
		}
	}
	qsort(v, k, sizeof(*v), span_cmp);
	*out = v;
	*cnt = k;
	return 0;
}

bool pr_spans_cover(const struct pr_span *v, size_t n, const struct pr_rule_key *k)
{
	struct pr_span probe = { .addr = k->addr, .family = k->family, .proto = k->proto, .lo = ntohs(k->port) };
	size_t lo = 0, hi = n;

	/* the last span not after probe; spans of a valid set never overlap */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (span_cmp(&v[mid], &probe) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return false;
	v += lo - 1;
	return v->family == probe.family && v->proto == probe.proto &&
	       memcmp(&v->addr, &probe.addr, sizeof(v->addr)) == 0 && probe.lo <= v->hi;
}

/* ---- writing a change ---- */

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
		int np = rule_protos(m[i]->key.proto, protos);
		__u16 lo = ntohs(m[i]->key.port), hi = m[i]->port_last;

		for (int j = 0; j < np; j++) {
			for (__u32 p = lo; p <= hi; p++) {
				struct pr_rule_key *key = &(*keys)[k];

				*key = m[i]->key;
				key->proto = protos[j];
				key->port = htons(p);
				port_entry(m[i], p, &(*vals)[k]);
				k++;
			}
		}
	}
	*cnt = k;
	return 0;
}

static bool has_cidr(const struct pr_rule_meta *m, const struct pr_cidr *c)
{
	for (int i = 0; m && i < m->allow_count; i++)
		if (memcmp(&m->allow[i], c, sizeof(*c)) == 0)
			return true;
	return false;
}

/* pr_allow keys of m's prefixes that not_in does not have (NULL: all). */
static size_t allow_keys(const struct pr_rule_meta *m, const struct pr_rule_meta *not_in, __u32 id,
			 struct pr_allow_key *out)
{
	size_t k = 0;

	for (int i = 0; i < m->allow_count; i++)
		if (!has_cidr(not_in, &m->allow[i]))
			allow_key(&out[k++], id, &m->allow[i]);
	return k;
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

/* Counters, sources and records first, lookup entries last: a packet never
 * finds a rule whose id has no counters or sources yet. */
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
 *  1. counters of new ids, new sources, records, then lookup entries of
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

/* ---- single-rule commands ---- */

int pr_rule_add(struct pr_ctx *c, const struct pr_rule_spec *s, bool replace,
		struct pr_rule_meta *out, struct pr_rule_meta *conflict)
{
	const struct pr_rule_meta *put[1], *put_old[1];
	struct pr_commit p = { .put = put, .put_old = put_old, .nput = 1 };
	struct pr_rule_meta m, *live = NULL, *old = NULL, *in_way = NULL;
	size_t n = 0, entries = 0, sources = 0;
	struct pr_ids ids = {};
	__u32 id;
	int err;

	if (s->allow_count > PR_ALLOW_MAX)
		return pr_errf(c, -E2BIG, "at most %d allowed sources per rule", PR_ALLOW_MAX);
	err = pr_lock(c);
	if (err)
		return err;
	err = pr_rules_read(c, &live, &n);
	if (err)
		return err;
	pr_meta_from_spec(s, &m);
	for (size_t i = 0; i < n; i++) {
		if (same_listen(&live[i], &m))
			old = &live[i];
		entries += pr_rule_span(&live[i]);
		sources += live[i].allow_count;
	}
	if (old && !replace) {
		*conflict = *old;
		err = pr_errf(c, -EEXIST, "listen port already has a rule");
		goto out;
	}
	/* of several rules in the way, name the oldest (lowest id) */
	for (size_t i = 0; i < n; i++)
		if (&live[i] != old && pr_listens_overlap(&live[i], &m) && (!in_way || live[i].rule.id < in_way->rule.id))
			in_way = &live[i];
	if (in_way) {
		*conflict = *in_way;
		err = pr_errf(c, -EEXIST, "listen ports overlap a rule");
		goto out;
	}
	for (size_t i = 0; i < n && s->name[0]; i++) {
		if (&live[i] != old && strncmp(live[i].name, s->name, PR_NAME_LEN) == 0) {
			*conflict = live[i];
			err = pr_errf(c, -EEXIST, "name '%s' is taken", s->name);
			goto out;
		}
	}
	if (old) {
		id = old->rule.id;
		if (!s->name[0])
			memcpy(m.name, old->name, sizeof(m.name));
		sources -= old->allow_count;
	} else {
		err = pr_ids_init(&ids, c->max_rules);
		if (err)
			goto out;
		for (size_t i = 0; i < n; i++)
			pr_ids_mark(&ids, live[i].rule.id, true);
		if (pr_ids_next(&ids, &id)) {
			err = pr_errf(c, -ENOSPC, "rule table is full (%u rules; attach --max-rules sets the capacity when the maps are created)",
				      c->max_rules);
			goto out;
		}
		if (entries + pr_rule_span(&m) > c->rule_entries_max) {
			err = pr_errf(c, -ENOSPC, "rule lookup table is full: %zu entries in use, this rule needs %zu, pr_rules holds %u (one a listen port and protocol)",
				      entries, pr_rule_span(&m), c->rule_entries_max);
			goto out;
		}
	}
	if (sources + m.allow_count > c->allow_entries_max) {
		err = pr_errf(c, -ENOSPC, "allowlist table is full: %zu sources in use, this rule has %u, pr_allow holds %u",
			      sources, m.allow_count, c->allow_entries_max);
		goto out;
	}
	m.rule.id = id;
	m.created_ns = pr_realtime_ns();
	put[0] = &m;
	put_old[0] = old;
	err = pr_commit(c, &p);
	if (!err && out)
		*out = m;
out:
	pr_ids_free(&ids);
	free(live);
	return err;
}

int pr_rule_del(struct pr_ctx *c, const struct pr_rule_spec *s, const char *name,
		bool keep_flows, struct pr_rule_meta *deleted, size_t *flows_flushed)
{
	const struct pr_rule_meta *del[1];
	struct pr_commit p = { .del = del, .ndel = 1, .keep_flows = keep_flows };
	struct pr_rule_meta *live = NULL, *found = NULL;
	size_t n = 0;
	int err;

	if (flows_flushed)
		*flows_flushed = 0;
	err = pr_lock(c);
	if (err)
		return err;
	err = pr_rules_read(c, &live, &n);
	if (err)
		return err;
	if (name) {
		for (size_t i = 0; i < n && !found; i++)
			if (strncmp(live[i].name, name, PR_NAME_LEN) == 0)
				found = &live[i];
		if (!found) {
			err = pr_errf(c, -ENOENT, "no rule named '%s'", name);
			goto out;
		}
	} else {
		/* the rule that owns the first listen port, in the given family or either */
		struct pr_rule_meta probe = {};
		__u8 protos[2];

		rule_protos(s->key.proto, protos);
		probe.key = s->key;
		probe.key.proto = protos[0];
		probe.port_last = ntohs(s->key.port);
		for (int f = 0; f < 2; f++) {
			probe.key.family = s->key.family ? s->key.family : f ? PR_AF_INET6 : PR_AF_INET;
			for (size_t i = 0; i < n; i++) {
				if (!pr_listens_overlap(&live[i], &probe))
					continue;
				if (found && found->key.family != live[i].key.family) {
					err = pr_errf(c, -ENOTUNIQ, "IPv4 and IPv6 rules both listen there");
					goto out;
				}
				found = &live[i];
				break;
			}
			if (s->key.family)
				break;
		}
		if (!found) {
			err = pr_errf(c, -ENOENT, "no such rule");
			goto out;
		}
		probe.key = s->key;
		probe.key.family = found->key.family;
		probe.port_last = s->port_last;
		if (!same_listen(found, &probe)) {
			if (deleted)
				*deleted = *found;
			err = pr_errf(c, -EINVAL, "that listen is part of another rule");
			goto out;
		}
	}
	del[0] = found;
	err = pr_commit(c, &p);
	if (!err && deleted)
		*deleted = *found;
	if (flows_flushed)
		*flows_flushed = p.flows_flushed;
out:
	free(live);
	return err;
}

static int cmp_meta(const void *a, const void *b)
{
	const struct pr_rule_meta *x = a, *y = b;

	return (x->rule.id > y->rule.id) - (x->rule.id < y->rule.id);
}

int pr_rule_list(struct pr_ctx *c, struct pr_rule_meta **out, size_t *n)
{
	int err = pr_rules_read(c, out, n);

	if (!err && *n)
		qsort(*out, *n, sizeof(**out), cmp_meta);
	return err;
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
