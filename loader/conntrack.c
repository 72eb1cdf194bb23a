// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Reading and flushing the conntrack table from userspace. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "libportredir.h"
#include "internal.h"

static const unsigned int timeouts[PR_CT_STATE_MAX] = PR_CT_TIMEOUTS_INIT;

static const char *const state_names[PR_CT_STATE_MAX] = {
	[PR_CT_SYN_SENT] = "SYN_SENT",
	[PR_CT_ESTABLISHED] = "ESTABLISHED",
	[PR_CT_HALF_CLOSED] = "HALF_CLOSED",
	[PR_CT_CLOSING] = "CLOSING",
	[PR_CT_UDP] = "UDP",
	[PR_CT_UDP_REPLIED] = "UDP_REPLIED",
};

const char *pr_ct_state_name(unsigned int s)
{
	return s < PR_CT_STATE_MAX && state_names[s] ? state_names[s] : "UNKNOWN";
}

unsigned int pr_ct_timeout(unsigned int s)
{
	return s < PR_CT_STATE_MAX ? timeouts[s] : 0;
}

int pr_ct_list(struct pr_ctx *c, struct pr_ct_entry **out, size_t *n)
{
	struct pr_ct_key *keys;
	struct pr_ct_val *vals;
	struct pr_ct_entry *v;
	__u64 now = pr_monotonic_ns();
	size_t got;
	int err;

	*out = NULL;
	*n = 0;
	err = pr_map_read_all(c->fd_ct, sizeof(*keys), sizeof(*vals), (void **)&keys, (void **)&vals, &got);
	if (err)
		return pr_errf(c, err, "cannot read conntrack: %s", strerror(-err));
	v = calloc(got + 1, sizeof(*v));
	if (!v) {
		free(keys);
		free(vals);
		return pr_errf(c, -ENOMEM, "out of memory listing conntrack");
	}
	for (size_t i = 0; i < got; i++) {
		struct pr_ct_entry *e = &v[i];

		e->key = keys[i];
		e->val = vals[i];
		e->age_ns = now > e->val.last_seen ? now - e->val.last_seen : 0;
		e->expired = e->age_ns > (__u64)pr_ct_timeout(e->val.state) * 1000000000ULL;
	}
	free(keys);
	free(vals);
	*out = v;
	*n = got;
	return 0;
}

struct fill_walk {
	struct pr_ct_fill *f;
	__u64 now;
};

static void fill_chunk(const void *keys, const void *vals, size_t n, void *arg)
{
	const struct pr_ct_val *v = vals;
	struct fill_walk *w = arg;

	for (size_t i = 0; i < n; i++) {
		__s64 age = (__s64)(w->now - v[i].last_seen); /* signed, as the datapath's pr_age() */

		if (age > (__s64)pr_ct_timeout(v[i].state) * 1000000000LL || v[i].state >= PR_CT_STATE_MAX)
			continue;
		w->f->live++;
		w->f->flows += v[i].dir == PR_DIR_ORIG;
	}
	w->f->entries += n;
}

int pr_ct_fill(struct pr_ctx *c, struct pr_ct_fill *f)
{
	struct fill_walk w = { f, pr_monotonic_ns() };
	int ncpu = pr_ncpus(), err;
	__u32 slot = PR_G_CT_EVICTED;
	__u64 *pc;

	memset(f, 0, sizeof(*f));
	f->max = pr_map_max_entries(c->fd_ct);
	err = pr_map_walk(c->fd_ct, sizeof(struct pr_ct_key), sizeof(struct pr_ct_val), fill_chunk, &w);
	if (err)
		return pr_errf(c, err, "cannot read conntrack: %s", strerror(-err));
	pc = calloc(ncpu, sizeof(*pc));
	if (!pc)
		return pr_errf(c, -ENOMEM, "out of memory reading the eviction counter");
	if (bpf_map_lookup_elem(c->fd_gstats, &slot, pc) == 0)
		for (int i = 0; i < ncpu; i++)
			f->evicted += pc[i];
	free(pc);
	return 0;
}

bool pr_ct_near_full(const struct pr_ct_fill *f)
{
	return f->max && (__u64)f->live * 100 >= (__u64)PR_CT_WARN_PCT * f->max;
}

/* Delete the entries of the rule ids marked in mark (else of rule_id, or of
 * every rule when that is 0): one read, one batch delete. Entries evicted
 * meanwhile are skipped. */
static int flush_where(struct pr_ctx *c, const __u8 *mark, size_t nmark, __u32 rule_id, size_t *flushed)
{
	struct pr_ct_key *keys;
	struct pr_ct_val *vals;
	size_t got, k = 0, done = 0;
	int err;

	if (flushed)
		*flushed = 0;
	err = pr_map_read_all(c->fd_ct, sizeof(*keys), sizeof(*vals), (void **)&keys, (void **)&vals, &got);
	if (err)
		return pr_errf(c, err, "cannot read conntrack: %s", strerror(-err));
	for (size_t i = 0; i < got; i++) {
		__u32 id = vals[i].rule_id;
		bool hit = mark ? id < nmark && mark[id] : !rule_id || id == rule_id;

		if (hit)
			keys[k++] = keys[i];
	}
	err = pr_map_delete_many(c->fd_ct, keys, sizeof(*keys), k, &done);
	free(keys);
	free(vals);
	if (err)
		return pr_errf(c, err, "cannot delete conntrack entries: %s", strerror(-err));
	if (flushed)
		*flushed = done;
	return 0;
}

int pr_ct_flush(struct pr_ctx *c, __u32 rule_id, size_t *flushed)
{
	return flush_where(c, NULL, 0, rule_id, flushed);
}

int pr_ct_flush_marked(struct pr_ctx *c, const __u8 *mark, size_t nmark, size_t *flushed)
{
	return flush_where(c, mark, nmark, 0, flushed);
}
