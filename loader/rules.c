// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Rule table edits, kept consistent across pr_rules (datapath), pr_rmeta (names) and pr_rstats. */
#include <errno.h>
#include <netinet/in.h>
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

/* Protocols and port bounds a rule covers. */
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

/* Same listen: the one thing --replace and del by listen may name. */
static bool same_listen(const struct pr_rule_meta *m, const struct pr_rule_spec *s)
{
	return memcmp(&m->key, &s->key, sizeof(s->key)) == 0 && m->port_last == s->port_last;
}

static void allow_key(struct pr_allow_key *k, __u32 id, const struct pr_cidr *c)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = PR_ALLOW_FIXED_BITS + c->len;
	k->rule_id = id;
	k->family = c->family;
	k->addr = c->addr;
}

/* Write (or delete) every pr_rules entry of m. On a write failure the
 * entries written so far are removed again, unless they replaced others. */
static int rule_entries(struct pr_ctx *c, const struct pr_rule_meta *m, bool write, bool replace)
{
	__u8 protos[2];
	int np = rule_protos(m->key.proto, protos);
	__u16 lo = ntohs(m->key.port), hi = m->port_last;
	struct pr_rule_key k = m->key;
	struct pr_rule r;

	for (int i = 0; i < np; i++) {
		k.proto = protos[i];
		for (__u32 p = lo; p <= hi; p++) {
			k.port = htons(p);
			if (!write) {
				bpf_map_delete_elem(c->fd_rules, &k);
				continue;
			}
			port_entry(m, p, &r);
			if (bpf_map_update_elem(c->fd_rules, &k, &r, replace ? BPF_ANY : BPF_NOEXIST)) {
				int err = -errno;

				if (!replace)
					rule_entries(c, m, false, false);
				return err;
			}
		}
	}
	return 0;
}

/* The first rule (other than self) whose entries overlap s's listen ports. */
static int find_overlap(struct pr_ctx *c, const struct pr_rule_spec *s, __u32 self, __u32 *id)
{
	__u8 protos[2];
	int np = rule_protos(s->key.proto, protos);
	struct pr_rule_key k = s->key;
	struct pr_rule r;

	for (int i = 0; i < np; i++) {
		k.proto = protos[i];
		for (__u32 p = ntohs(s->key.port); p <= s->port_last; p++) {
			k.port = htons(p);
			if (bpf_map_lookup_elem(c->fd_rules, &k, &r) == 0 && r.id != self) {
				*id = r.id;
				return 1;
			}
		}
	}
	return 0;
}

/* The rule whose listen is exactly s's, if any. */
static int find_same(struct pr_ctx *c, const struct pr_rule_spec *s, __u32 *id, struct pr_rule_meta *m)
{
	__u8 protos[2];
	struct pr_rule_key k = s->key;
	struct pr_rule r;

	rule_protos(s->key.proto, protos);
	k.proto = protos[0];
	if (bpf_map_lookup_elem(c->fd_rules, &k, &r) || bpf_map_lookup_elem(c->fd_rmeta, &r.id, m) ||
	    !same_listen(m, s))
		return 0;
	*id = r.id;
	return 1;
}

int pr_rule_add(struct pr_ctx *c, const struct pr_rule_spec *s, bool replace,
		struct pr_rule_meta *out, struct pr_rule_meta *conflict)
{
	struct pr_rule_meta m = {}, old = {};
	__u32 id = 0, other;
	bool exists;
	int err;

	if (s->allow_count > PR_ALLOW_MAX)
		return pr_errf(c, -E2BIG, "at most %d allowed sources per rule", PR_ALLOW_MAX);
	err = pr_lock(c);
	if (err)
		return err;
	exists = find_same(c, s, &id, &old);
	if (exists && !replace) {
		*conflict = old;
		return pr_errf(c, -EEXIST, "listen port already has a rule");
	}
	if (find_overlap(c, s, exists ? id : 0, &other)) {
		if (bpf_map_lookup_elem(c->fd_rmeta, &other, conflict))
			memset(conflict, 0, sizeof(*conflict));
		return pr_errf(c, -EEXIST, "listen ports overlap a rule");
	}
	if (s->name[0] && find_by_name(c, s->name, &other, conflict) == 0 && (!exists || other != id))
		return pr_errf(c, -EEXIST, "name '%s' is taken", s->name);
	if (!exists) {
		err = alloc_id(c, &id);
		if (err)
			return pr_errf(c, err, "rule table is full (%d rules)", PR_MAX_RULES - 1);
	}

	memcpy(m.name, s->name[0] || !exists ? s->name : old.name, sizeof(m.name));
	m.key = s->key;
	m.port_last = s->port_last;
	m.target_port_last = s->target_port_last;
	m.rule.target = s->target;
	m.rule.target_port = s->target_port;
	m.rule.id = id;
	m.rule.flags = (s->allow_count ? PR_RULE_F_ALLOW : 0) | (s->deny_drop ? PR_RULE_F_DENY_DROP : 0) |
		       (s->target_port ? 0 : PR_RULE_F_KEEP_PORT);
	m.allow_count = s->allow_count;
	memcpy(m.allow, s->allow, sizeof(m.allow));
	m.created_ns = now_realtime_ns();

	/* Counters, names and allowlist first, the datapath entries last: a
	 * packet never sees a rule whose id has no counters or sources. */
	if (!exists) {
		err = zero_stats(c, id);
		if (err)
			return pr_errf(c, err, "cannot reset counters of rule %u: %s", id, strerror(-err));
	}
	for (int i = 0; i < m.allow_count; i++) {
		struct pr_allow_key ak;
		__u8 one = 1;

		allow_key(&ak, id, &m.allow[i]);
		if (bpf_map_update_elem(c->fd_allow, &ak, &one, BPF_ANY)) {
			err = -errno;
			goto undo_allow;
		}
	}
	if (bpf_map_update_elem(c->fd_rmeta, &id, &m, BPF_ANY)) {
		err = -errno;
		goto undo_allow;
	}
	err = rule_entries(c, &m, true, exists);
	if (err) {
		if (exists)
			bpf_map_update_elem(c->fd_rmeta, &id, &old, BPF_ANY);
		else
			bpf_map_delete_elem(c->fd_rmeta, &id);
		goto undo_allow;
	}
	/* a replaced rule's sources that the new list drops */
	for (int i = 0; exists && i < old.allow_count; i++) {
		struct pr_allow_key ak;
		bool kept = false;

		for (int j = 0; j < m.allow_count; j++)
			kept |= memcmp(&old.allow[i], &m.allow[j], sizeof(old.allow[i])) == 0;
		allow_key(&ak, id, &old.allow[i]);
		if (!kept)
			bpf_map_delete_elem(c->fd_allow, &ak);
	}
	if (out)
		*out = m;
	return 0;

undo_allow:
	for (int i = 0; i < m.allow_count; i++) {
		struct pr_allow_key ak;
		bool in_old = false;

		for (int j = 0; exists && j < old.allow_count; j++)
			in_old |= memcmp(&old.allow[j], &m.allow[i], sizeof(m.allow[i])) == 0;
		allow_key(&ak, id, &m.allow[i]);
		if (!in_old)
			bpf_map_delete_elem(c->fd_allow, &ak);
	}
	return pr_errf(c, err, "cannot insert rule: %s", strerror(-err));
}

int pr_rule_del(struct pr_ctx *c, const struct pr_rule_spec *s, const char *name,
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
	} else {
		struct pr_rule_key k = s->key;
		__u8 protos[2];

		rule_protos(s->key.proto, protos);
		k.proto = protos[0];
		if (!k.family) {
			/* "either family": the one rule of whichever family has it */
			struct pr_rule r6;
			bool v4, v6;

			k.family = PR_AF_INET6;
			v6 = bpf_map_lookup_elem(c->fd_rules, &k, &r6) == 0;
			k.family = PR_AF_INET;
			v4 = bpf_map_lookup_elem(c->fd_rules, &k, &r) == 0;
			if (v4 && v6)
				return pr_errf(c, -ENOTUNIQ, "IPv4 and IPv6 rules both listen there");
			if (v6) {
				k.family = PR_AF_INET6;
				r = r6;
			} else if (!v4) {
				return pr_errf(c, -ENOENT, "no such rule");
			}
		} else if (bpf_map_lookup_elem(c->fd_rules, &k, &r)) {
			return pr_errf(c, -ENOENT, "no such rule");
		}
		id = r.id;
		if (bpf_map_lookup_elem(c->fd_rmeta, &id, &m))
			return pr_errf(c, -ENOENT, "rule %u has no record", id);
		if (memcmp(&m.key.addr, &k.addr, sizeof(k.addr)) || m.key.port != k.port ||
		    m.key.proto != s->key.proto || m.key.family != k.family || m.port_last != s->port_last) {
			if (deleted)
				*deleted = m;
			return pr_errf(c, -EINVAL, "that listen is part of another rule");
		}
	}
	rule_entries(c, &m, false, false);
	for (int i = 0; i < m.allow_count; i++) {
		struct pr_allow_key ak;

		allow_key(&ak, id, &m.allow[i]);
		bpf_map_delete_elem(c->fd_allow, &ak);
	}
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
