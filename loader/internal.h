/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Helpers shared between the loader's own files; not part of the library API. */
#ifndef PR_INTERNAL_H
#define PR_INTERNAL_H

#include "libportredir.h"

/* Layers, each using only those above it here: utilities; the rule model,
 * its syntax, capacity, ids, spans and apply files (pure, no map); maps and
 * batch access; conntrack, the commit engine and the TC and XDP hooks;
 * add/del/list, stats, status, interface records, attach, and apply. */

/* Utilities (util.c). */
/* Set c->err from fmt and return err as a negative errno. */
int pr_errf(struct pr_ctx *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Set err (one line naming the bad token) and return -EINVAL: the parsers' error. */
int pr_perr(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An option that takes one value given twice (first, then again): pr_perr naming both. */
int pr_twice(char *err, size_t len, const char *opt, const char *first, const char *again);
/* Number of possible CPUs, for per-CPU map values. */
int pr_ncpus(void);
/* The inode of this process's network namespace (0 if unreadable): the
 * namespace part of pr_ifaces and pr_vxmit keys. */
__u64 pr_netns_ino(void);
/* CLOCK_REALTIME in ns, as rules and attachments record their creation. */
__u64 pr_realtime_ns(void);
/* CLOCK_MONOTONIC in ns, the datapath's bpf_ktime_get_ns() clock. */
__u64 pr_monotonic_ns(void);

/* The rule model (rule.c): pure functions of rules. */
/* Protocols a rule covers (proto 0: tcp and udp) into out; their count. */
int pr_rule_protos(__u8 proto, __u8 out[2]);
/* The datapath entry for listen port p of m. */
void pr_rule_entry(const struct pr_rule_meta *m, __u16 p, struct pr_rule *r);
/* The stored form of a spec: id 0, created 0. */
void pr_meta_from_spec(const struct pr_rule_spec *s, struct pr_rule_meta *m);
/* Same stored rule apart from id and creation time. */
bool pr_meta_same(const struct pr_rule_meta *a, const struct pr_rule_meta *b);
/* Same listen: the one thing --replace, apply and del by listen match on. */
bool pr_same_listen(const struct pr_rule_meta *a, const struct pr_rule_meta *b);
/* Whether two rules' listens share a (family, address, protocol, port) key. */
bool pr_listens_overlap(const struct pr_rule_meta *a, const struct pr_rule_meta *b);
/* A total order of addresses (not numeric), for sorting. */
int pr_addr_cmp(const union pr_addr *a, const union pr_addr *b);
/* m's sources that not_in (NULL: no rule) does not have: their count, and
 * their indexes into m->allow in idx (NULL: count only). */
size_t pr_allow_diff(const struct pr_rule_meta *m, const struct pr_rule_meta *not_in, __u8 *idx);

/* The rule syntax (spec.c): pr_spec_parse, also telling where PROTO, LISTEN
 * and TARGET were in argv (where[0..3)), for an apply file's messages. */
int pr_spec_parse_at(int argc, char *const *argv, struct pr_rule_spec *s, bool *replace, int where[3], char *err,
		     size_t len);
/* "LO-HI" or "N" (1-65535, LO <= HI) into *lo, *hi; whole names the word in messages. */
int pr_parse_port_range(const char *tok, const char *whole, __u16 *lo, __u16 *hi, char *err, size_t len);

/* Source NAT options (snat.c), as the rule parser meets them. */
struct pr_nat_words {
	const char *snat, *ports, *hairpin; /* the values of --snat, --snat-ports, --hairpin */
	bool masq;                          /* --masquerade */
};
/* If argv[*i] is a source NAT option, take it and its value (advancing *i)
 * into w: 1; 0 when it is none of them; -EINVAL (err set) when its value is missing. */
int pr_nat_word(int argc, char *const *argv, int *i, struct pr_nat_words *w, char *err, size_t len);
/* Check w against the parsed rule s (its family) and fill s->nat,
 * s->snat_ports_set and s->hairpin_off; the range defaults to
 * pr_snat_default_ports of this host. 0, or -EINVAL naming the bad token. */
int pr_nat_apply(const struct pr_nat_words *w, struct pr_rule_spec *s, char *err, size_t len);

/* Capacity (capacity.c). What a map set holds, and what rules use of it. */
struct pr_caps {
	__u32 rules, entries, sources; /* pr_rmeta ids, pr_rules entries, pr_allow sources */
};
struct pr_usage {
	size_t rules, entries, sources;
};
/* The room maps created for max_rules get: the one sizing formula. */
void pr_caps_for(__u32 max_rules, struct pr_caps *k);
/* The room of c's open maps; with none open (a dry run), of the maps a
 * default attach would create. */
void pr_caps_of(const struct pr_ctx *c, struct pr_caps *k);
/* Count m into (out of) u. */
void pr_usage_add(struct pr_usage *u, const struct pr_rule_meta *m);
void pr_usage_sub(struct pr_usage *u, const struct pr_rule_meta *m);
/* Whether a rule table using u fits k: 0, or -ENOSPC with err (may be NULL)
 * naming the table that is full and its size. The one capacity check of
 * add, apply and dry run. */
int pr_caps_check(const struct pr_caps *k, const struct pr_usage *u, char *err, size_t len);

/* Maps (maps.c). */
int pr_ensure_bpffs(struct pr_ctx *c);
/* A map's max_entries, 0 if it cannot be read. */
__u32 pr_map_max_entries(int fd);
/* The open pinned map named name (fd, or -EBADF when not open), or -ENOENT
 * when no pinned map has that name. */
int pr_pinned_map_fd(struct pr_ctx *c, const char *name);
/* The kernel's id of the map fd, 0 if it cannot be read. */
__u32 pr_fd_id(int fd);
/* Room in the map-only object's maps for max_rules rules (pr_caps_for). */
struct maps_bpf;
void pr_size_maps(struct maps_bpf *skel, __u32 max_rules);
/* The map set's slots (the maps pr_open opens): how many, the i-th's name
 * and its fd in c. */
size_t pr_slot_count(void);
const char *pr_slot_name(size_t i);
int *pr_slot_fd(struct pr_ctx *c, size_t i);

/* Migration across schemas (migrate.c). Before pr_open opens the maps:
 * 0 when the pin dir has this schema (or nothing yet); with
 * PR_OPEN_MIGRATE, an older schema's maps converted and every interface of
 * this network namespace moved to this build (c->migrated says what), or
 * an unfinished migration resumed; else -EPROTO, c->err one line saying
 * what to run. Nothing changes on a refusal. */
int pr_migrate_gate(struct pr_ctx *c, unsigned int flags);

/* The verified-program cache (prog_cache.c): PIN/progs/KEY-NAME, where KEY
 * is "KIND-BUILDTAG-VARIANT"; entries of another build of KIND go when one
 * is put. A cache only: a miss means load, a failed put changes nothing. */
#define PR_BUILD_TAG_LEN 17
/* The build tag of an object from its skeleton's ELF bytes (16 hex digits),
 * computed into tag when it is empty (a caller's static: once a process). */
const char *pr_build_tag(const void *(*elf_bytes)(size_t *sz), char tag[PR_BUILD_TAG_LEN]);
/* fds[n] of the cached programs names[n] of key when all are there and
 * bound to the maps pinned now: 0; else -ENOENT, nothing left open. */
int pr_prog_cache_get(struct pr_ctx *c, const char *key, const char *const *names, int n, int *fds);
void pr_prog_cache_put(struct pr_ctx *c, const char *key, const char *const *names, int n, const int *fds);
void pr_prog_cache_drop(struct pr_ctx *c, const char *key, const char *const *names, int n);
/* Each map prog_fd uses, by id and name, to fn, which returns false to stop:
 * true when every map was read and fn never stopped. */
typedef bool (*pr_prog_map_fn)(struct pr_ctx *c, __u32 id, const char *name, void *arg);
bool pr_prog_maps_each(struct pr_ctx *c, int prog_fd, pr_prog_map_fn fn, void *arg);
/* A pr_prog_map_fn: the map is the one pinned under that name now, or none is (the object's own). */
bool pr_map_pinned_now(struct pr_ctx *c, __u32 id, const char *name, void *unused);
/* tc_nl.c: filters on ifindex's clsact ingress or egress that are not portredir's; count or -errno. */
int pr_tc_foreign_filters(int ifindex, bool egress);
/* tc_nl.c: send an rtnetlink request and hand each answer to fn until the
 * dump ends (or after the one answer): 0, or the kernel's -errno. */
struct nlmsghdr;
typedef void (*pr_nl_fn)(const struct nlmsghdr *nh, void *arg);
int pr_nl_talk(struct nlmsghdr *req, pr_nl_fn fn, void *arg);
/* The same on a netlink socket of another protocol (NETLINK_GENERIC). */
int pr_nl_talk_proto(int proto, struct nlmsghdr *req, pr_nl_fn fn, void *arg);

/* Bulk map access (batch.c). Each uses one BPF_MAP_*_BATCH call where the
 * kernel has the op for the map type, else one syscall an element. */
/* Every element of fd into fresh arrays the caller frees (also on n == 0). */
int pr_map_read_all(int fd, size_t ksz, size_t vsz, void **keys, void **vals, size_t *n);
/* Slots 0..n-1 of an array map into vals (n * vsz bytes); slots past the
 * array's end are left as they were. */
int pr_array_read(int fd, size_t vsz, void *vals, size_t n);
/* On failure *done elements were written. */
int pr_map_update_many(int fd, const void *keys, size_t ksz, const void *vals, size_t vsz, size_t n,
		       __u64 elem_flags, size_t *done);
/* Elements in fd, read in chunks. */
int pr_map_count(int fd, size_t ksz, size_t vsz, size_t *n);
/* Every element of fd, in chunks of fixed buffers (no copy of the whole
 * map): fn gets n keys and n values at a time. */
typedef void (*pr_walk_fn)(const void *keys, const void *vals, size_t n, void *arg);
int pr_map_walk(int fd, size_t ksz, size_t vsz, pr_walk_fn fn, void *arg);
/* Absent keys are skipped; *deleted (may be NULL) counts the rest. */
int pr_map_delete_many(int fd, const void *keys, size_t ksz, size_t n, size_t *deleted);

/* TC (attach_tc.c): our filters on clsact, handle PR_TC_HANDLE, priority PR_TC_PRIO. */
/* The id of our program on ifindex's egress (else ingress) hook, 0 when there is none. */
__u32 pr_tc_live_id(__u32 ifindex, bool egress);
/* Load the TC programs and attach ingress and egress, creating clsact when
 * absent (PR_IF_OWN_CLSACT in rec->flags) and noting the ids in rec. */
int pr_tc_attach(struct pr_ctx *c, __u32 ifindex, const char *ifname, struct pr_iface *rec, bool via_stack);
/* This build's TC programs for via_stack verified and cached, so that an
 * attach after it only attaches (a migration does it before its copy). */
int pr_tc_prepare(struct pr_ctx *c, bool via_stack);
/* Whether ifindex's TC programs are this build's (for via_stack), as the
 * cache knows them; false when this build never attached in the pin dir. */
bool pr_tc_current(struct pr_ctx *c, __u32 ifindex, bool via_stack);
/* Remove our filters, then the clsact qdisc if we created it and nobody else
 * has filters on it; whether a filter was there. */
bool pr_tc_detach(__u32 ifindex, bool own_clsact);

/* XDP (attach_xdp.c), through libxdp, which may chain ours behind a dispatcher. */
/* The id of our XDP program on ifindex, 0 when there is none. */
__u32 pr_xdp_live_id(__u32 ifindex);
/* Detach our XDP program from ifindex: 0, or -ENOENT when there is none. */
int pr_xdp_detach(__u32 ifindex);
/* Load the XDP program and attach it in mode (PR_MODE_NATIVE, else generic:
 * XDP_MODE_SKB); its id into *id. */
int pr_xdp_attach(struct pr_ctx *c, __u32 ifindex, enum pr_mode mode, bool via_stack, __u32 *id);

/* Interface records (iface.c). */
/* The pr_ifaces key of ifindex in this network namespace. */
void pr_iface_key_of(struct pr_iface_key *k, __u32 ifindex);
/* Whether an attachment recorded as rec is what (req, flags) asks for, auto
 * meaning auto_mode, or the generic mode auto fell back to. */
bool pr_iface_satisfies(const struct pr_iface *rec, enum pr_mode_req req, __u32 flags, enum pr_mode auto_mode);

/* Local clients (attach_sock.c, local_addrs.c). */
/* A pinned object of the pin dir by name: its fd, or -errno. */
int pr_open_pinned(struct pr_ctx *c, const char *name);
/* SO_NETNS_COOKIE of the caller's network namespace. */
int pr_netns_cookie(struct pr_ctx *c, __u64 *cookie);
/* The first cgroup2 mount point in /proc/self/mounts into buf. */
int pr_cgroup2_root(struct pr_ctx *c, char *buf, size_t len);
/* Remove this namespace's socket hooks, record and addresses (detach --all). */
int pr_local_remove(struct pr_ctx *c);
/* After an interface detach: remove the hooks when no interface is left
 * here and attach --local did not ask for them. */
int pr_local_release(struct pr_ctx *c);
/* When this namespace has hooks, its addresses again (after add and apply). */
void pr_local_refresh(struct pr_ctx *c);
/* pr_local_addr for cookie: exactly the namespace's addresses now, none,
 * or how many there are. */
int pr_local_addrs_sync(struct pr_ctx *c, __u64 cookie);
int pr_local_addrs_clear(struct pr_ctx *c, __u64 cookie);
size_t pr_local_addrs_count(struct pr_ctx *c, __u64 cookie);

/* Interface addresses (ifaddr.c), for --masquerade and hairpin. */
struct ifaddrs;
/* ifname's first global IPv4 and first global IPv6 address in all (from
 * getifaddrs) into out; has_v4/has_v6 0 when it has none. */
void pr_ifaddr_of(const struct ifaddrs *all, const char *ifname, struct pr_ifaddr *out);
/* pr_ifaddr for every interface attached in this network namespace as it
 * is now; a gone one's entry goes. */
int pr_ifaddr_refresh(struct pr_ctx *c);
/* peer.c: pr_peer made the veths of this network namespace whose peer is in
 * another one, with the peer's MAC (docs/design.md, "Containers behind veth"). */
int pr_peer_refresh(struct pr_ctx *c);
/* vxmit.c: pr_vxmit armed for veths[0..n), this namespace's veths, with what
 * the kernel says of their far ends now, and the tracepoint programs that
 * turn a veth off at its first refused frame loaded and pinned
 * (docs/design.md, "XDP into a veth"). Where the kernel cannot say (no
 * netdev family) or the programs cannot be loaded, this namespace's slots
 * are cleared: XDP leaves veths to the stack. */
int pr_vxmit_refresh(struct pr_ctx *c, const __u32 *veths, size_t n);
/* After a detach: this namespace's slots cleared when it has no attachment
 * left, the tracepoint programs unpinned when the pin dir has none at all. */
void pr_vxmit_release(struct pr_ctx *c);

/* Attachment (attach.c). */
/* Detach by ifindex, whatever the interface is called now or if it is gone:
 * our programs, its redirect entry and its record. */
int pr_detach_index(struct pr_ctx *c, __u32 ifindex);

/* apply's interface half (apply_iface.c). Plan: validate every interface
 * line of rs against the system and the maps and fill r->if_changes, with
 * *if_index (fresh, freed by the caller) the ifindex of each change; nothing
 * changes. Commit: make the changes, attaches first. */
int pr_apply_plan_ifaces(struct pr_ctx *c, struct pr_ruleset *rs, struct pr_apply_result *r, __u32 **if_index);
int pr_apply_commit_ifaces(struct pr_ctx *c, struct pr_apply_result *r, const __u32 *if_index);

/* Rules (rules.c). */
/* Every live rule, read once (pr_rmeta), in no particular order. */
int pr_rules_read(struct pr_ctx *c, struct pr_rule_meta **out, size_t *n);
/* The same under the pin dir's lock, which a change takes before it reads. */
int pr_rules_lock_read(struct pr_ctx *c, struct pr_rule_meta **out, size_t *n);

/* Spans (spans.c). */
/* A rule's listen for one protocol as a port interval; sorted arrays of
 * them answer "which rule has this key" without expanding ranges. */
struct pr_span {
	union pr_addr addr;
	__u32 idx; /* index of the rule in the array the spans were built from */
	__u16 lo, hi;
	__u8 family, proto;
	__u8 pad[2];
};
/* Spans of m[0..n) sorted by family, address, protocol and first port. */
int pr_spans_build(const struct pr_rule_meta *const *m, size_t n, struct pr_span **out, size_t *cnt);
/* Whether a span of the (non-overlapping) sorted v covers key k. */
bool pr_spans_cover(const struct pr_span *v, size_t n, const struct pr_rule_key *k);
/* The idx of the span of v that covers k, or -1. */
long pr_spans_find(const struct pr_span *v, size_t n, const struct pr_rule_key *k);

/* Rule ids (ids.c). Free rule ids, from one read of the live rules: ids come lowest first
 * from a cursor over a byte map, so each costs O(1) amortized. */
struct pr_ids {
	__u8 *used;
	__u32 max, cursor;
};
int pr_ids_init(struct pr_ids *ids, __u32 max_rules);
void pr_ids_mark(struct pr_ids *ids, __u32 id, bool used);
int pr_ids_next(struct pr_ids *ids, __u32 *id); /* -ENOSPC when none is free */
void pr_ids_free(struct pr_ids *ids);

/* The commit engine (commit.c). One change of the rule table, written in
 * an order that keeps live connections working (see pr_commit). */
struct pr_commit {
	const struct pr_rule_meta **put;     /* rules to write, ids assigned */
	const struct pr_rule_meta **put_old; /* for each: the rule it replaces, or NULL */
	size_t nput;
	const struct pr_rule_meta **del;     /* live rules to delete */
	size_t ndel;
	bool del_first;  /* delete before writing: the maps cannot hold both sets */
	bool keep_flows; /* leave deleted rules' conntrack entries to drain */
	/* With gone_given (apply, repair: from pr_recon_plan), what goes: lookup
	 * entries and sources no rule of the result has, and ids whose flows go
	 * with del's. Without it (add, del) they are derived from put and del. */
	bool gone_given;
	const struct pr_rule_key *gone_keys;
	size_t ngone_keys;
	const struct pr_allow_key *gone_src;
	size_t ngone_src;
	const __u32 *gone_ids;
	size_t ngone_ids;
	size_t flows_flushed;
};
int pr_commit(struct pr_ctx *c, struct pr_commit *p);

/* The change journal (reconcile.c, struct pr_journal): its state (0: the
 * maps have none yet), and marking a commit begun or finished. */
int pr_journal_state(struct pr_ctx *c, __u32 *state);
int pr_journal_set(struct pr_ctx *c, enum pr_journal_state state);

/* Reconciliation (reconcile.c): the datapath maps as read, against a rule set. */
struct pr_dp {
	struct pr_rule_key *keys; /* pr_rules */
	struct pr_rule *vals;
	size_t nentries;
	struct pr_allow_key *src; /* pr_allow */
	size_t nsrc;
	struct pr_rule_nat *nat;  /* pr_rnat by id, nnat slots */
	size_t nnat;
};
/* pr_rules and pr_allow; then the pr_rnat slots of ids up to max_id. */
int pr_dp_read(struct pr_ctx *c, struct pr_dp *d);
int pr_dp_read_nat(struct pr_ctx *c, struct pr_dp *d, __u32 max_id);
void pr_dp_free(struct pr_dp *d);
/* want (ids set) against d. bad[i]: want[i]'s entries, sources or pr_rnat
 * slot are not what it says. gone_*: entries and sources no rule of want
 * has, and ids that entries carry which neither want nor old has. old: live
 * rules the change removes or replaces; what they explain is not counted
 * as stray in drift. fresh (may be NULL): per rule of want, whether the
 * change writes it anyway; its state is not counted as drift. */
struct pr_recon {
	__u8 *bad;
	struct pr_rule_key *gone_keys;
	size_t ngone_keys;
	struct pr_allow_key *gone_src;
	size_t ngone_src;
	__u32 *gone_ids;
	size_t ngone_ids;
	struct pr_drift drift;
};
int pr_recon_plan(struct pr_ctx *c, const struct pr_rule_meta *const *want, size_t nwant,
		  const struct pr_rule_meta *const *old, size_t nold, const struct pr_dp *d, const __u8 *fresh,
		  struct pr_recon *r);
void pr_recon_free(struct pr_recon *r);

/* Conntrack (conntrack.c): delete the entries of every rule id i with
 * mark[i] set (i < nmark), reading the table once. */
int pr_ct_flush_marked(struct pr_ctx *c, const __u8 *mark, size_t nmark, size_t *flushed);

#endif
