// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Reading and flushing the conntrack table from userspace. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

static __u64 now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int pr_ct_list(struct pr_ctx *c, struct pr_ct_entry **out, size_t *n)
{
	struct pr_ct_key key, next, *prev = NULL;
	struct pr_ct_entry *v = NULL, *nv;
	__u64 now = now_mono_ns();
	size_t cap = 0;

	*n = 0;
	while (bpf_map_get_next_key(c->fd_ct, prev, &next) == 0) {
		struct pr_ct_entry *e;

		key = next;
		prev = &key;
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return pr_errf(c, -ENOMEM, "out of memory listing conntrack");
			}
			v = nv;
		}
		e = &v[*n];
		if (bpf_map_lookup_elem(c->fd_ct, &key, &e->val))
			continue; /* deleted or evicted meanwhile */
		e->key = key;
		e->age_ns = now > e->val.last_seen ? now - e->val.last_seen : 0;
		e->expired = e->age_ns > (__u64)pr_ct_timeout(e->val.state) * 1000000000ULL;
		(*n)++;
	}
	*out = v;
	return 0;
}

int pr_ct_flush(struct pr_ctx *c, __u32 rule_id, size_t *flushed)
{
	struct pr_ct_entry *v;
	size_t n, i, done = 0;
	int err;

	err = pr_ct_list(c, &v, &n);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		if (rule_id && v[i].val.rule_id != rule_id)
			continue;
		if (bpf_map_delete_elem(c->fd_ct, &v[i].key) == 0)
			done++;
	}
	free(v);
	if (flushed)
		*flushed = done;
	return 0;
}
