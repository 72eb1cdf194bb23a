// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Rule table edits, kept consistent across pr_rules (datapath), pr_rmeta (names) and pr_rstats. */
#include <errno.h>
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
	[PR_R_REDIRECT] = "xdp_redirect",
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

static __u64 now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int find_by_name(struct pr_ctx *c, const char *name, __u32 *id, struct pr_rule_meta *m)
{
	__u32 key, next, *prev = NULL;

	while (bpf_map_get_next_key(c->fd_rmeta, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(c->fd_rmeta, &key, m) == 0 &&
		    strncmp(m->name, name, PR_NAME_LEN) == 0) {
			*id = key;
			return 0;
		}
	}
	return -ENOENT;
}

/* Lowest id in 1..PR_MAX_RULES-1 without a meta entry. */
static int alloc_id(struct pr_ctx *c, __u32 *id)
{
	static unsigned char used[PR_MAX_RULES];
	__u32 key, next, *prev = NULL, i;

	memset(used, 0, sizeof(used));
	while (bpf_map_get_next_key(c->fd_rmeta, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (key < PR_MAX_RULES)
			used[key] = 1;
	}
	for (i = 1; i < PR_MAX_RULES; i++) {
		if (!used[i]) {
			*id = i;
			return 0;
		}
	}
	return -ENOSPC;
}

static int zero_stats(struct pr_ctx *c, __u32 id)
{
	size_t sz = sizeof(struct pr_rule_stats) * pr_ncpus();
	void *zero = calloc(1, sz);
	int err;

	if (!zero)
		return -ENOMEM;
	err = bpf_map_update_elem(c->fd_rstats, &id, zero, BPF_ANY) ? -errno : 0;
	free(zero);
	return err;
}

int pr_rule_add(struct pr_ctx *c, const struct pr_rule_spec *s, bool replace,
		struct pr_rule_meta *out, struct pr_rule_meta *conflict)
{
	struct pr_rule cur, r = {};
	struct pr_rule_meta m = {};
	__u32 id, other;
	bool exists;
	int err;

	err = pr_lock(c);
	if (err)
		return err;
	exists = bpf_map_lookup_elem(c->fd_rules, &s->key, &cur) == 0;
	if (exists) {
		if (bpf_map_lookup_elem(c->fd_rmeta, &cur.id, conflict))
			memset(conflict, 0, sizeof(*conflict));
		if (!replace)
			return pr_errf(c, -EEXIST, "listen port already has a rule");
	}
	if (s->name[0] && find_by_name(c, s->name, &other, conflict) == 0 &&
	    (!exists || other != cur.id))
		return pr_errf(c, -EEXIST, "name '%s' is taken", s->name);

	if (exists) {
		id = cur.id;
		if (bpf_map_lookup_elem(c->fd_rmeta, &id, &m))
			memset(&m, 0, sizeof(m));
	} else {
		err = alloc_id(c, &id);
		if (err)
			return pr_errf(c, err, "rule table is full (%d rules)", PR_MAX_RULES - 1);
	}
	r.target = s->target;
	r.target_port = s->target_port;
	r.id = id;
	if (s->name[0] || !exists)
		memcpy(m.name, s->name, sizeof(m.name));
	m.key = s->key;
	m.rule = r;
	m.created_ns = now_realtime_ns();

	/* Names and counters first, the datapath entry last: a packet never
	 * sees a rule whose id has no counters. */
	if (!exists) {
		err = zero_stats(c, id);
		if (err)
			return pr_errf(c, err, "cannot reset counters of rule %u: %s", id, strerror(-err));
	}
	if (bpf_map_update_elem(c->fd_rmeta, &id, &m, BPF_ANY))
		return pr_errf(c, -errno, "cannot write rule %u: %s", id, strerror(errno));
	if (bpf_map_update_elem(c->fd_rules, &s->key, &r, exists ? BPF_EXIST : BPF_NOEXIST)) {
		err = -errno;
		if (!exists)
			bpf_map_delete_elem(c->fd_rmeta, &id);
		return pr_errf(c, err, "cannot insert rule: %s", strerror(-err));
	}
	if (out)
		*out = m;
	return 0;
}

int pr_rule_del(struct pr_ctx *c, const struct pr_rule_key *k, const char *name,
		bool keep_flows, struct pr_rule_meta *deleted, size_t *flows_flushed)
{
	struct pr_rule_meta m;
	struct pr_rule r;
	__u32 id;
	int err;

	err = pr_lock(c);
	if (err)
		return err;
	if (name) {
		if (find_by_name(c, name, &id, &m))
			return pr_errf(c, -ENOENT, "no rule named '%s'", name);
		k = &m.key;
	} else {
		if (bpf_map_lookup_elem(c->fd_rules, k, &r))
			return pr_errf(c, -ENOENT, "no such rule");
		id = r.id;
		if (bpf_map_lookup_elem(c->fd_rmeta, &id, &m)) {
			memset(&m, 0, sizeof(m));
			m.key = *k;
			m.rule = r;
		}
	}
	if (bpf_map_delete_elem(c->fd_rules, k) && errno != ENOENT)
		return pr_errf(c, -errno, "cannot delete rule %u: %s", id, strerror(errno));
	bpf_map_delete_elem(c->fd_rmeta, &id);
	if (deleted)
		*deleted = m;
	if (flows_flushed)
		*flows_flushed = 0;
	if (!keep_flows)
		return pr_ct_flush(c, id, flows_flushed);
	return 0;
}

static int cmp_meta(const void *a, const void *b)
{
	const struct pr_rule_meta *x = a, *y = b;

	return (x->rule.id > y->rule.id) - (x->rule.id < y->rule.id);
}

int pr_rule_list(struct pr_ctx *c, struct pr_rule_meta **out, size_t *n)
{
	__u32 key, next, *prev = NULL;
	struct pr_rule_meta *v = NULL, *nv;
	size_t cap = 0;

	*n = 0;
	while (bpf_map_get_next_key(c->fd_rmeta, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return pr_errf(c, -ENOMEM, "out of memory listing rules");
			}
			v = nv;
		}
		if (bpf_map_lookup_elem(c->fd_rmeta, &key, &v[*n]) == 0)
			(*n)++;
	}
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_meta);
	*out = v;
	return 0;
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
