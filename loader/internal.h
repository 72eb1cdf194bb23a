/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Helpers shared between the loader's own files; not part of the library API. */
#ifndef PR_INTERNAL_H
#define PR_INTERNAL_H

#include "libportredir.h"

/* Set c->err from fmt and return err as a negative errno. */
int pr_errf(struct pr_ctx *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int pr_ensure_bpffs(struct pr_ctx *c);
/* Number of possible CPUs, for per-CPU map values. */
int pr_ncpus(void);
/* Filters on ifindex's clsact ingress or egress that are not portredir's; count or -errno. */
int pr_tc_foreign_filters(int ifindex, bool egress);

/* Bulk map access (batch.c). Each uses one BPF_MAP_*_BATCH call where the
 * kernel has the op for the map type, else one syscall an element. */
/* Every element of fd into fresh arrays the caller frees (also on n == 0). */
int pr_map_read_all(int fd, size_t ksz, size_t vsz, void **keys, void **vals, size_t *n);
/* On failure *done elements were written. */
int pr_map_update_many(int fd, const void *keys, size_t ksz, const void *vals, size_t vsz, size_t n,
		       __u64 elem_flags, size_t *done);
/* Elements in fd, read in chunks. */
int pr_map_count(int fd, size_t ksz, size_t vsz, size_t *n);
/* Absent keys are skipped; *deleted (may be NULL) counts the rest. */
int pr_map_delete_many(int fd, const void *keys, size_t ksz, size_t n, size_t *deleted);

/* Attachment (attach.c). */
/* Whether an attachment recorded as rec is what (req, flags) asks for, auto
 * meaning auto_mode, or the generic mode auto fell back to. */
bool pr_iface_satisfies(const struct pr_iface *rec, enum pr_mode_req req, __u32 flags, enum pr_mode auto_mode);
/* Detach by ifindex, whatever the interface is called now or if it is gone:
 * our programs, its redirect entry and its record. */
int pr_detach_index(struct pr_ctx *c, __u32 ifindex);

/* Rules (rules.c). */
/* CLOCK_REALTIME in ns, as rules record their creation. */
__u64 pr_realtime_ns(void);
/* The stored form of a spec: id 0, created 0. */
void pr_meta_from_spec(const struct pr_rule_spec *s, struct pr_rule_meta *m);
/* Same stored rule apart from id and creation time. */
bool pr_meta_same(const struct pr_rule_meta *a, const struct pr_rule_meta *b);
/* Whether two rules' listens share a (family, address, protocol, port) key. */
bool pr_listens_overlap(const struct pr_rule_meta *a, const struct pr_rule_meta *b);
/* Every live rule, read once (pr_rmeta), in no particular order. */
int pr_rules_read(struct pr_ctx *c, struct pr_rule_meta **out, size_t *n);

/* A rule's listen for one protocol as a port interval; sorted arrays of
 * them answer "which rule has this key" without expanding ranges. */
struct pr_span {
	union pr_addr addr;
	__u32 idx; /* index of the rule in the array the spans were built from */
	__u16 lo, hi;
	__u8 family, proto;
	__u8 pad[2];
};
/* A total order of addresses (not numeric), for sorting. */
int pr_addr_cmp(const union pr_addr *a, const union pr_addr *b);
/* Spans of m[0..n) sorted by family, address, protocol and first port. */
int pr_spans_build(const struct pr_rule_meta *const *m, size_t n, struct pr_span **out, size_t *cnt);
/* Whether a span of the (non-overlapping) sorted v covers key k. */
bool pr_spans_cover(const struct pr_span *v, size_t n, const struct pr_rule_key *k);

/* Free rule ids, from one read of the live rules: ids come lowest first
 * from a cursor over a byte map, so each costs O(1) amortized. */
struct pr_ids {
	__u8 *used;
	__u32 max, cursor;
};
int pr_ids_init(struct pr_ids *ids, __u32 max_rules);
void pr_ids_mark(struct pr_ids *ids, __u32 id, bool used);
int pr_ids_next(struct pr_ids *ids, __u32 *id); /* -ENOSPC when none is free */
void pr_ids_free(struct pr_ids *ids);

/* One change of the rule table, written in an order that keeps live
 * connections working (see pr_commit in rules.c). */
struct pr_commit {
	const struct pr_rule_meta **put;     /* rules to write, ids assigned */
	const struct pr_rule_meta **put_old; /* for each: the rule it replaces, or NULL */
	size_t nput;
	const struct pr_rule_meta **del;     /* live rules to delete */
	size_t ndel;
	bool del_first;  /* delete before writing: the maps cannot hold both sets */
	bool keep_flows; /* leave deleted rules' conntrack entries to drain */
	size_t flows_flushed;
};
int pr_commit(struct pr_ctx *c, struct pr_commit *p);

/* Conntrack (conntrack.c): delete the entries of every rule id i with
 * mark[i] set (i < nmark), reading the table once. */
int pr_ct_flush_marked(struct pr_ctx *c, const __u8 *mark, size_t nmark, size_t *flushed);

#endif
