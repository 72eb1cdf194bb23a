/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The portredir library: pinned maps, rules, conntrack and attachment. Prints nothing; errors go to ctx->err. */
#ifndef LIBPORTREDIR_H
#define LIBPORTREDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "portredir.h"

#define PR_DEFAULT_PIN_DIR "/sys/fs/bpf/portredir"
#define PR_ERR_LEN 512

struct pr_ctx {
	char pin_dir[256];
	char err[PR_ERR_LEN]; /* last failure, one line, naming what failed */
	int verbose;
	int lock_fd;
	int fd_rules, fd_rmeta, fd_rstats, fd_gstats, fd_ct, fd_tx, fd_ifaces, fd_info, fd_allow, fd_frag;
	int fd_rnat, fd_ifaddr;
	/* Capacities of the open map set, fixed when the maps were created. */
	__u32 max_rules;         /* rule ids are 1..max_rules (pr_rstats has one more slot) */
	__u32 rule_entries_max;  /* pr_rules: lookup entries, one per listen port and protocol */
	__u32 allow_entries_max; /* pr_allow: source prefixes of all rules together */
	/* What pr_open with PR_OPEN_MIGRATE did to a pin dir of an older schema
	 * (loader/migrate.c); from 0 when it found the current one. */
	struct pr_migrated {
		__u32 from;          /* the schema migrated from (0: no migration) */
		bool resumed;        /* it finished one an earlier command began */
		size_t rules, flows; /* carried over */
		size_t window_flows; /* of those, opened or moved between the copy and the switch */
		size_t ifaces;       /* interfaces moved to this build's programs */
		__u64 window_us;     /* from the first copy to the last program switched */
	} migrated;
	bool staged; /* loader only: the fds are a migration's staged set, reused by fd alone */
};

#define PR_OPEN_CREATE (1u << 0) /* create and pin the maps when absent */
/* Migrate a pin dir of an older schema in place of refusing it (attach,
 * apply and add); without it such a pin dir, or an unfinished migration,
 * is refused in one line naming the command that migrates. */
#define PR_OPEN_MIGRATE (1u << 1)

/* Open the map set under pin_dir (NULL: $PORTREDIR_PIN_DIR, else the default).
 * Mounts bpffs at /sys/fs/bpf when needed. Without PR_OPEN_CREATE an absent
 * pin dir gives -ENOENT. Maps created here get room for max_rules rules (0:
 * PR_DEFAULT_MAX_RULES); a nonzero max_rules that differs from the capacity
 * of existing maps gives -EEXIST, since a pinned map cannot be resized in
 * place. Returns 0 or -errno. */
int pr_open(struct pr_ctx *c, const char *pin_dir, unsigned int flags, __u32 max_rules);
void pr_close(struct pr_ctx *c);
/* Point every map of obj that the map set has at the context's map; call
 * between opening and loading an object that uses the pinned maps. */
struct bpf_object;
int pr_obj_reuse_maps(struct pr_ctx *c, struct bpf_object *obj);
/* Exclusive lock for changes, held until pr_close(). */
int pr_lock(struct pr_ctx *c);
/* Route libbpf/libxdp logging to stderr when verbose, else silence it. */
void pr_set_verbose(int verbose);

/* Rules */
struct pr_rule_spec {
	struct pr_rule_key key;   /* first listen port (0: DMZ, every port); proto 0: tcp and udp */
	__u16 port_last;          /* host order; the first port again for a single port */
	union pr_addr target;
	__be16 target_port;       /* first target port; 0 keeps each packet's port (DMZ) */
	__u16 target_port_last;   /* host order; 0 maps every listen port onto target_port */
	char name[PR_NAME_LEN];
	__u16 allow_count;        /* 0: every source */
	struct pr_cidr allow[PR_ALLOW_MAX];
	bool deny_drop;           /* sources outside allow are dropped, else passed */
	/* Source NAT (--snat ADDR, --masquerade): mode PR_SNAT_NONE for DNAT
	 * only. The port range is always set: --snat-ports, else the default
	 * (pr_snat_default_ports), since hairpin flows and tuple clashes use it too. */
	struct pr_rule_nat nat;
	bool snat_ports_set;      /* --snat-ports was given */
	bool hairpin_off;         /* --hairpin off */
};

/* Add a rule. On -EEXIST, *conflict holds the rule in the way (one that
 * overlaps the listen ports, or has the name). With replace, an existing
 * rule with exactly the same listen gets the new target and allowlist and
 * keeps its id and counters; live flows keep the old target. */
int pr_rule_add(struct pr_ctx *c, const struct pr_rule_spec *s, bool replace,
		struct pr_rule_meta *out, struct pr_rule_meta *conflict);
/* Delete by listen (s, name NULL: its key and port_last must be the rule's
 * own listen, not a port inside a range; family 0 means whichever family has
 * it) or by name. Unless keep_flows, the rule's conntrack entries go too, so
 * its live flows stop being translated. On -EINVAL, *deleted holds the rule
 * the given port belongs to; -ENOTUNIQ when family 0 matches both families. */
int pr_rule_del(struct pr_ctx *c, const struct pr_rule_spec *s, const char *name,
		bool keep_flows, struct pr_rule_meta *deleted, size_t *flows_flushed);
/* The rule syntax, shared by add, del and apply. Each returns 0, or -EINVAL
 * with err set to one line naming the bad token. */
#define PR_PARSE_ERR_LEN 256
/* add's arguments: PROTO LISTEN TARGET [--name NAME] [--replace]
 * [--allow CIDR]... [--deny-action pass|drop] [--snat ADDR | --masquerade]
 * [--snat-ports LO-HI] [--hairpin auto|off], argv[0] being PROTO. replace
 * may be NULL (--replace is then accepted and ignored). Without
 * --snat-ports the range is this host's default (pr_snat_default_ports). */
int pr_spec_parse(int argc, char *const *argv, struct pr_rule_spec *s, bool *replace, char *err, size_t len);
/* del's PROTO LISTEN; a bare ":PORT" leaves the family 0 (either). */
int pr_spec_parse_listen(const char *proto, const char *listen, struct pr_rule_spec *s, char *err, size_t len);
/* A rule name: 1-31 letters, digits, '-', '_' or '.'. */
int pr_name_check(const char *name, char *err, size_t len);
/* The default --snat-ports for a host whose ip_local_port_range is
 * local_lo-local_hi: the ports above it, else those from 1024 below it, so
 * no local socket's ephemeral port is ever allocated. -ENOSPC when neither
 * has a port. */
int pr_snat_default_ports(__u16 local_lo, __u16 local_hi, __u16 *lo, __u16 *hi);
/* net.ipv4.ip_local_port_range of the caller's network namespace (Linux's
 * default, 32768-60999, when it cannot be read). */
void pr_local_port_range(__u16 *lo, __u16 *hi);

/* Rules as words (rule_text.c), in the syntax the parser above reads. */
#define PR_ADDR_TEXT_LEN 48 /* "[ADDR6]" and its NUL */
#define PR_EP_TEXT_LEN 64   /* "[ADDR6]:LO-HI" and its NUL */
/* "tcp", "udp" or "any" (proto 0). */
const char *pr_proto_name(__u8 proto);
/* "ADDR" or "[ADDR6]"; an unspecified IPv4 address is "" when any_blank. */
void pr_fmt_addr(char *buf, size_t len, __u8 family, const union pr_addr *a, bool any_blank);
/* A rule's listen as add takes it: ":PORT", "ADDR:LO-HI", "[::]:*", ... */
void pr_fmt_listen(char *buf, size_t len, const struct pr_rule_meta *m);
/* A rule's target: "ADDR:PORT", "ADDR:LO-HI", or "ADDR:*" when each packet keeps its port. */
void pr_fmt_target(char *buf, size_t len, const struct pr_rule_meta *m);
/* "ADDR/LEN", the network part only. */
void pr_fmt_cidr(char *buf, size_t len, const struct pr_cidr *c);
/* A rule's source NAT: "ADDR" (--snat), "masquerade", or "" for none. */
void pr_fmt_snat(char *buf, size_t len, const struct pr_rule_meta *m);
/* A rule's source port range, "LO-HI" (or "N"). */
void pr_fmt_snat_ports(char *buf, size_t len, const struct pr_rule_meta *m);
/* Whether a rule's range is worth showing: it was given, or the rule has a source NAT. */
bool pr_rule_shows_snat_ports(const struct pr_rule_meta *m);
/* The rule as one line of add's arguments (no newline), which
 * pr_ruleset_read reads back as the same rule: PROTO LISTEN TARGET
 * [--name NAME] [--allow CIDR]... [--deny-action pass] [--snat ADDR |
 * --masquerade] [--snat-ports LO-HI, when it was given] [--hairpin off]. 0, or -ENOSPC when
 * len is too small; PR_LINE_LEN always suffices. */
#define PR_LINE_LEN 1024
int pr_rule_line(const struct pr_rule_meta *m, char *buf, size_t len);

/* Attachment requests, for pr_iface_parse and pr_attach. */
enum pr_mode_req { PR_REQ_AUTO, PR_REQ_NATIVE, PR_REQ_GENERIC, PR_REQ_TC };
#define PR_IFNAME_LEN 16 /* IFNAMSIZ */

struct pr_attach_result {
	enum pr_mode mode;
	bool already;      /* it was attached in that mode already: nothing changed */
	bool upgraded;     /* it was, by another build's programs, which this build's replaced */
	bool fell_back;    /* native XDP failed and generic was used */
	char why[160];     /* why auto chose this mode, or why native failed */
	bool local_failed; /* the interface is attached, the socket hooks for local clients are not */
	char local_err[PR_ERR_LEN]; /* why, when local_failed */
};

/* One interface as attach's arguments or a config file's interface line
 * give it: IFACE [--mode auto|native|generic|tc] [--via-stack] [--max-rules N]. */
struct pr_iface_spec {
	char name[PR_IFNAME_LEN];
	enum pr_mode_req req;
	__u32 flags;        /* PR_ATTACH_* */
	__u32 max_rules;    /* 0: not given */
	unsigned int line;  /* in a config file; 0 otherwise */
};
/* Parse attach's arguments (or an interface line's words after "interface")
 * into s; the interface need not exist. 0, or -EINVAL with err naming the
 * bad token. */
int pr_iface_parse(int argc, char *const *argv, struct pr_iface_spec *s, char *err, size_t len);

/* A config or rule file for apply: one rule a line in add's syntax, and
 * interface lines ("interface " and attach's arguments). */
struct pr_rule_src {
	unsigned int line;
	char listen[64]; /* "PROTO LISTEN" as written, for messages */
};
struct pr_ruleset {
	struct pr_rule_meta *rules; /* as they would be stored, id 0 */
	struct pr_rule_src *src;
	size_t n;
	struct pr_iface_spec *ifaces; /* interface lines, in file order */
	size_t nifaces;               /* 0 and no local_line: the file leaves interfaces alone */
	__u32 max_rules;              /* --max-rules of the interface lines; 0 if none gave it */
	unsigned int max_rules_line;  /* the first line that gave it */
	unsigned int local_line;      /* the `local` line (attach --local), 0 if none */
	bool checked; /* pr_ruleset_check passed */
};
/* Read f: blank lines and '#' comments are skipped, words may be quoted as
 * in a shell. On bad input returns -EINVAL with *bad_line and err set. */
int pr_ruleset_read(FILE *f, struct pr_ruleset *rs, unsigned int *bad_line, char *err, size_t len);
/* Checks that need no map: no two rules share a name or a listen port, no
 * interface has two lines, and interface lines that give --max-rules agree.
 * On -EINVAL, *bad_line is the later of the two lines. */
int pr_ruleset_check(struct pr_ruleset *rs, unsigned int *bad_line, char *err, size_t len);
void pr_ruleset_free(struct pr_ruleset *rs);

/* ---- Consistency of the rule tables (issue 12 part 1) ----
 * The records (pr_rmeta) say which rules exist; the datapath reads the
 * lookup entries (pr_rules), the sources (pr_allow) and the source NAT
 * (pr_rnat) derived from them. An interrupted change can leave those
 * disagreeing with the records; apply and pr_repair make them agree again
 * (docs/design.md, "Interrupted changes"). */
struct pr_drift {
	size_t rules;           /* rules whose entries, sources or source NAT are not what they say */
	size_t entries_missing; /* lookup entries a rule should have and the map lacks */
	size_t entries_wrong;   /* lookup entries of a rule pointing elsewhere (another target or id) */
	size_t entries_stray;   /* lookup entries no rule has */
	size_t sources_missing; /* allowed sources a rule should have and pr_allow lacks */
	size_t sources_stray;   /* pr_allow entries no rule has */
	size_t nat_wrong;       /* rules whose pr_rnat slot is not their source NAT */
};
/* Whether d counts any disagreement. */
bool pr_drift_any(const struct pr_drift *d);
struct pr_tables_check {
	bool checked;           /* the tables were compared (not while a change holds the lock) */
	bool busy;              /* a change was in progress: nothing was compared */
	bool unfinished;        /* the journal says the last change did not finish (killed or failed) */
	struct pr_drift drift;
};
/* Compare the datapath maps with the records; changes nothing. */
int pr_tables_check(struct pr_ctx *c, struct pr_tables_check *out);
struct pr_repair_result {
	struct pr_drift drift;  /* what was found, and fixed */
	size_t flows_flushed;   /* flows of half-made rules (ids no record has), unless keep_flows */
};
/* Make the datapath maps what the records say, under the lock: the rules
 * that disagree are written again (their counters stay), entries and
 * sources of no rule go. */
int pr_repair(struct pr_ctx *c, bool keep_flows, struct pr_repair_result *r);
/* ---- end of consistency ---- */

/* Make the live rule set equal rs. Rules identical to a live one are left
 * alone; a rule with a live rule's exact listen but another target, name or
 * options replaces it as add --replace does (same id and counters, live
 * flows keep the old target); live rules not in rs are deleted as del does.
 * New and replaced entries are written before entries are deleted, so a
 * port that changes rules always has one (see docs/design.md). Everything is
 * validated first: on -EINVAL (a bad rule, *bad_line set) or -ENOSPC (over
 * capacity, c->err states it) nothing has changed. When the change journal
 * says the last change did not finish, the datapath maps are compared with
 * the file too and made exactly it (PR_CHANGE_REPAIR, r->drift). With
 * dry_run, only reports. c may be unopened (fds -1) for a dry run against
 * no maps. */
struct pr_apply_opts {
	bool dry_run;
	bool keep_flows; /* deleted rules' flows drain instead of being flushed */
};
/* With interface lines in rs, pr_apply also makes the attached set of the
 * caller's network namespace exactly those interfaces, after the rules are
 * in (see docs/design.md, "Config files"): interfaces attached as asked are
 * left alone, ones attached otherwise are changed in place with no moment
 * without a program (pr_attach with PR_ATTACH_CHANGE), new ones are
 * attached, and the others are detached, in that order. Validated before
 * any change: each interface exists, and --max-rules matches the maps. */
enum pr_iface_change_kind { PR_IFACE_ATTACH, PR_IFACE_CHANGE, PR_IFACE_DETACH };
struct pr_iface_change {
	enum pr_iface_change_kind kind;
	unsigned int line;           /* in the file; 0 for a detach */
	struct pr_iface_spec want;   /* attach, change: as the file asks */
	struct pr_iface old;         /* change, detach: the record as it was */
	bool gone;                   /* detach: the interface no longer exists, only its record goes */
	bool record_only;            /* change: the programs stay, only the recorded request changes */
	bool done;                   /* carried out (false on a dry run, or after a failure) */
	struct pr_attach_result res; /* attach, change: what pr_attach reported */
};
/* PR_CHANGE_REPAIR: a rule the file keeps as it is, whose datapath state an
 * interrupted change had left otherwise: written again, counters kept. */
enum pr_change_kind { PR_CHANGE_ADD, PR_CHANGE_REPLACE, PR_CHANGE_DELETE, PR_CHANGE_REPAIR };
struct pr_change {
	enum pr_change_kind kind;
	unsigned int line;               /* in the file; 0 for a delete */
	const struct pr_rule_meta *rule; /* as it will be (as it was, for a delete) */
	const struct pr_rule_meta *old;  /* a replace: as it was */
};
struct pr_apply_result {
	size_t added, replaced, deleted, unchanged, flows_flushed;
	size_t repaired;           /* rules written again (PR_CHANGE_REPAIR); not counted as unchanged */
	bool reconciled;           /* the datapath maps were compared: the journal said the last change had not finished */
	struct pr_drift drift;     /* what the datapath maps held apart from the live rules, repaired */
	bool deleted_first;        /* the maps could not hold old and new rules at once */
	unsigned int bad_line;     /* on failure, the line it concerns (0: none) */
	struct pr_change *changes; /* file order, then deletes by id, then repairs; valid until pr_apply_free() */
	size_t nchanges;
	/* interfaces, when the file has interface lines */
	bool ifaces;
	size_t if_attached, if_changed, if_detached, if_unchanged;
	struct pr_iface_change *if_changes; /* changes and attaches in file order, then detaches */
	size_t nif_changes;
	bool rules_done;           /* on failure: the rule changes were made (an interface change failed) */
	/* local clients with no interface (a `local` line is attach --local):
	 * what apply does to that, when the file has interface or local lines */
	enum pr_local_change { PR_LOCAL_KEEP, PR_LOCAL_SERVE, PR_LOCAL_UNSERVE } local_change;
	unsigned int local_line;   /* the file's local line, 0 if none */
	bool local_done;           /* local_change carried out */
	bool local_removed;        /* PR_LOCAL_UNSERVE: the hooks went (no interface stays) */
	void *priv;
};
int pr_apply(struct pr_ctx *c, struct pr_ruleset *rs, const struct pr_apply_opts *o, struct pr_apply_result *r);
void pr_apply_free(struct pr_apply_result *r);

/* Ports a rule covers, times its protocols: the number of pr_rules entries. */
size_t pr_rule_span(const struct pr_rule_meta *m);
/* All rules sorted by id; caller frees *out. */
int pr_rule_list(struct pr_ctx *c, struct pr_rule_meta **out, size_t *n);
int pr_rule_stats(struct pr_ctx *c, __u32 id, struct pr_rule_stats *sum);
int pr_global_stats(struct pr_ctx *c, __u64 out[PR_R_MAX]);
const char *pr_reason_name(unsigned int reason);

/* Conntrack */
struct pr_ct_entry {
	struct pr_ct_key key;
	struct pr_ct_val val;
	__u64 age_ns;
	bool expired;
};
/* Every entry, both directions; caller frees *out. */
int pr_ct_list(struct pr_ctx *c, struct pr_ct_entry **out, size_t *n);
/* Delete entries of rule_id, or all when rule_id is 0. */
int pr_ct_flush(struct pr_ctx *c, __u32 rule_id, size_t *flushed);
/* How full the conntrack table is, from one walk in fixed-size chunks, and
 * the live entries the LRU evicted (see docs/design.md, "Conntrack"). */
struct pr_ct_fill {
	size_t entries; /* in the table, expired ones included (the LRU reclaims those) */
	size_t live;    /* of them unexpired: the ones new flows would evict once it is full */
	size_t flows;   /* live forward entries: one a flow */
	size_t max;     /* the table's size */
	__u64 evicted;  /* live entries found evicted by the LRU since the maps were made */
};
int pr_ct_fill(struct pr_ctx *c, struct pr_ct_fill *f);
/* status warns when live entries reach this share of the table (percent;
 * docs/design.md says why 90): pr_ct_near_full(). */
#define PR_CT_WARN_PCT 90
bool pr_ct_near_full(const struct pr_ct_fill *f);
const char *pr_ct_state_name(unsigned int state);
/* Timeout in seconds of a state, as the datapath applies it. */
unsigned int pr_ct_timeout(unsigned int state);

/* Attachment (struct pr_attach_result is above, with pr_iface_spec) */

/* pr_attach() flags */
#define PR_ATTACH_VIA_STACK (1u << 0) /* never send translated packets straight to the egress device */
/* An interface attached otherwise than asked is changed in place instead of
 * refused with -EBUSY: TC stays attached throughout (its filters are
 * replaced atomically) and carries every packet while XDP is swapped, so no
 * packet meets an interface without portredir. If XDP cannot be attached
 * then, the interface is left (and recorded) in tc mode and the error says so. */
#define PR_ATTACH_CHANGE (1u << 1)
/* Native XDP on a veth whose NAPI is threaded, which is refused otherwise
 * (its ring drops a burst's frames past 256 until the NAPI thread runs). */
#define PR_ATTACH_THREADED_OK (1u << 2)

/* Attach ifname as asked. Without PR_ATTACH_CHANGE an attachment in another
 * mode or forwarding gives -EBUSY, and one in any mode satisfies
 * PR_REQ_AUTO. The request is recorded (PR_IF_AUTO for auto). */
int pr_attach(struct pr_ctx *c, const char *ifname, enum pr_mode_req req, __u32 flags,
	      struct pr_attach_result *res);
int pr_detach(struct pr_ctx *c, const char *ifname);
/* Detach every interface recorded for the caller's network namespace, and
 * drop the records of interfaces that are gone; the maps (rules, conntrack,
 * counters) stay. *out (caller frees) lists what was detached, as it was;
 * present is false for a dropped record. On failure *out holds what was
 * done before it. */
struct pr_iface_status;
int pr_detach_all(struct pr_ctx *c, struct pr_iface_status **out, size_t *n);
/* ---- Local clients (issue 11 part 1) ----
 * The socket hooks (connect, sendmsg, recvmsg, getpeername; IPv4 and IPv6)
 * of the caller's network namespace, on the cgroup2 root, acting only on
 * that namespace's sockets. Their links are pinned in the pin dir under
 * local-<netns cookie>/, so removing the pin dir removes them. They come
 * with the first pr_attach of the namespace and go with the detach of its
 * last interface, or stay without interfaces after pr_local_attach with
 * explicit_local, until pr_local_detach or pr_detach_all. */
#define PR_LOCAL_HOOKS 8
struct pr_local_status {
	__u64 netns_cookie;
	bool attached;        /* every hook is attached */
	bool recorded;        /* pr_local_ns has a record for this namespace */
	bool explicit_local;  /* attach --local asked for them: they stay without interfaces */
	char cgroup[112];     /* the cgroup2 directory they are attached to */
	size_t nhooks;        /* attached hooks in hooks[] */
	struct pr_local_hook {
		const char *hook; /* "connect4", ... */
		__u32 link_id, prog_id;
	} hooks[PR_LOCAL_HOOKS];
	size_t addrs;         /* local addresses known for ":PORT" rules */
	bool other_build;     /* the hooks run another build's programs: attach again to replace them */
};
int pr_local_status(struct pr_ctx *c, struct pr_local_status *st);
/* Attach the hooks when they are not all there, or replace another build's
 * programs in their links, and refresh the addresses
 * they take for local; explicit_local keeps them without interfaces.
 * *already: nothing was missing (and explicit_local asked nothing new). */
int pr_local_attach(struct pr_ctx *c, bool explicit_local, bool *already);
/* detach --local: the hooks no longer stay for their own sake. *removed when
 * they went (no interface is attached here); else *ifaces interfaces keep
 * them. -ENOENT when there were none. */
int pr_local_detach(struct pr_ctx *c, bool *removed, size_t *ifaces);
/* ---- end of local clients ---- */

/* Whether ifname's NAPI is threaded, read in the caller's network namespace
 * (a child process mounts that namespace's sysfs): 1, 0, or -errno when it
 * cannot be told. */
int pr_napi_threaded(const char *ifname);
/* The mode auto picks for ifname now: tc on veth, native elsewhere. */
enum pr_mode pr_auto_mode(const char *ifname);

struct pr_iface_status {
	struct pr_iface rec;
	__u32 ifindex;
	bool present;      /* the interface still exists */
	__u32 live_xdp_id; /* what the kernel reports now; 0 if none */
	__u32 live_tc_in_id;
	__u32 live_tc_eg_id;
	bool other_build;  /* its programs are another portredir build's: attach again to replace them */
	bool napi_threaded; /* a veth in native mode whose NAPI is threaded now: it drops bursts */
};
/* Attachments recorded for the caller's network namespace; caller frees *out. */
int pr_iface_list(struct pr_ctx *c, struct pr_iface_status **out, size_t *n);
/* Whether an attachment's interface is there with all its programs (XDP too, but in tc mode). */
bool pr_iface_live(const struct pr_iface_status *s);

/* XDP into veths (loader/vxmit.c, docs/design.md "XDP into a veth"). */
struct pr_vxmit_state {
	bool live;     /* the kernel is asked and a refusal caught: XDP may redirect into veths */
	char why[160]; /* when not live: why XDP leaves every veth to the stack */
};
struct pr_vxmit_veth {
	__u32 ifindex;
	char name[16];
	bool ok;     /* XDP redirects into it now: its far end had an XDP program or GRO when asked */
	bool failed; /* the kernel refused a frame since the last attach or apply: the stack until the next */
	int kernel;  /* what the kernel says now: 1 it takes XDP frames, 0 not, -1 unknown */
};
/* The veths of the caller's network namespace armed in pr_vxmit; caller frees *out. */
int pr_vxmit_list(struct pr_ctx *c, struct pr_vxmit_state *st, struct pr_vxmit_veth **out, size_t *n);

struct pr_fill {
	size_t rules, rules_max, rule_entries, rule_entries_max, allow_entries_max;
	size_t flows, ct_entries, ct_max;
	struct pr_ct_fill ct;    /* flows, ct_entries and ct_max are ct's, kept for their readers */
	size_t rstats_bytes; /* what pr_rstats preallocates: (rules_max + 1) x counters x possible CPUs */
	size_t rnat_bytes;   /* what pr_rnat preallocates: (rules_max + 1) x struct pr_rule_nat */
	int ncpus;
};
int pr_map_fill(struct pr_ctx *c, struct pr_fill *f);

const char *pr_mode_name(enum pr_mode m);

/* The config file format (what `save` prints): each returns one line
 * without a newline that pr_ruleset_read reads back as the same thing,
 * words quoted where they need it. 0, or -ENOSPC (buffer too small), or
 * -EINVAL when a word cannot be quoted (err says which). An interface line
 * gives --mode only when the request was not auto, and --max-rules when
 * max_rules is not 0. */
int pr_iface_line(const struct pr_iface *rec, __u32 max_rules, char *buf, size_t len, char *err, size_t elen);
/* For tests: allow XDP_REDIRECT to ifindex (normally only non-veth native
 * attachments are added). */
int pr_tx_allow(struct pr_ctx *c, __u32 ifindex, bool allow);

/* ---- check (issue 12): does a mapping work for a client? ----
 * pr_check builds the packet a client would send to PROTO LISTEN, runs it
 * through a private instance of the programs (the rule, allowlist and
 * address maps read where they are pinned, conntrack and counters fresh:
 * no live map changes; docs/design.md, "check"), and looks at every host
 * setting on its way. The caller's network namespace is the one checked. */
struct pr_check_req {
	__u8 proto;              /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;             /* PR_AF_*; 0 until the listen or --from gives it */
	bool listen_any;         /* ":PORT": the ingress interface's own address */
	union pr_addr listen;
	__u16 port;              /* host order */
	bool from_set;           /* --from given */
	union pr_addr from;
	__u16 from_port;         /* host order; 0: not given */
};
/* PROTO LISTEN [--from ADDR[:PORT]] into r: 0, or -EINVAL with err naming the bad token. */
int pr_check_parse(const char *proto, const char *listen, const char *from, struct pr_check_req *r, char *err,
		   size_t len);

enum pr_check_status { PR_CHECK_OK, PR_CHECK_NOTE, PR_CHECK_WARN, PR_CHECK_FAIL };
#define PR_CHECK_POINTS 24
struct pr_check_point {
	char what[16];           /* "forwarding", "rp_filter", "attached", ... (docs/man/portredir.8) */
	enum pr_check_status status;
	char text[320];          /* what was found */
	char fix[320];           /* FAIL and WARN: what to do; else empty */
};
struct pr_check_ep {
	union pr_addr addr;
	__u16 port;              /* host order */
};
struct pr_check_result {
	__u8 family, proto;
	struct pr_check_ep src, dst;   /* the packet the client sends */
	bool src_assumed;              /* no --from: a host on the ingress interface's network */
	char ifname[PR_IFNAME_LEN];    /* where it comes in; empty when none was found */
	__u32 ifindex;
	bool attached;
	enum pr_mode mode;
	bool via_stack;
	bool local_client;             /* --from is this host's own address: socket hooks, no test run */
	/* The test run */
	bool ran;
	char prog[16];                 /* "xdp", "tc ingress", "xdp, tc ingress" */
	char verdict[16];              /* "redirect", "pass", "drop", "tx" */
	bool translated;
	struct pr_check_ep out_src, out_dst;
	char out_ifname[PR_IFNAME_LEN]; /* redirect: the egress device, from the route */
	char reasons[8][32];           /* the datapath's counters the packet moved (pr_reason_name) */
	size_t nreasons;
	/* The rule the packet meets (pr_rules, as the datapath looks it up) */
	bool rule_found;
	struct pr_rule_meta rule;      /* id in rule.rule.id */
	/* Towards the target (the translated destination, else the listen) */
	bool route_found;
	char route_dev[PR_IFNAME_LEN];
	__u32 route_ifindex;
	bool route_local;              /* the target is this host's own address */
	bool route_has_gw;
	union pr_addr route_gw, route_src;
	bool route_has_src;
	char neigh_state[16];          /* "reachable", "stale", ..., "none" (not resolved yet) */
	__u8 neigh_mac[6];
	bool neigh_has_mac;
	struct pr_check_point points[PR_CHECK_POINTS];
	size_t npoints;
	bool works;                    /* no point failed */
};
/* c must be open (the pinned maps). Returns 0 when the check ran (r->works
 * tells the answer), or -errno when it could not (c->err says why). */
int pr_check(struct pr_ctx *c, const struct pr_check_req *q, struct pr_check_result *r);
const char *pr_check_status_name(enum pr_check_status s);
/* ---- end of check ---- */
/* ---- Monitor (issue 12 part 3) ----
 * The datapath's events (struct pr_mon_event: a flow opened, denied by an
 * allowlist, refused, or found evicted) while one monitor holds the pin
 * dir's lease; filtered and rate-limited in the kernel (docs/design.md,
 * "Monitor"). A second monitor on the pin dir gets -EBUSY. */
#define PR_MON_RATE_DEFAULT 1000 /* events a second, per CPU */
#define PR_MON_BURST_DEFAULT 100
struct pr_mon_opts {
	__u32 rule_id;       /* 0: every rule */
	__u32 events;        /* PR_MON_MASK() of the types; 0: all */
	struct pr_cidr addr; /* family 0: any address; else events with an address in it */
	__u32 rate, burst;   /* 0: the defaults */
};
/* Emitted, dropped by the rate limit, and lost to a full ring, summed over
 * CPUs since the maps were made (present false: maps from before the
 * monitor); running when a monitor holds the lease, pid its process. */
struct pr_mon_counts {
	__u64 emitted, dropped, lost;
	bool present, running;
	__u32 pid;
};
int pr_monitor_counts(struct pr_ctx *c, struct pr_mon_counts *out);
/* "ADDR/LEN" or "ADDR" (a host) into c, the network part only, as --allow
 * takes it; what names the option in the message. 0 or -EINVAL (err set). */
int pr_cidr_parse(const char *what, const char *tok, struct pr_cidr *c, char *err, size_t len);
/* Called for each event, with its time as CLOCK_REALTIME ns; a nonzero
 * return ends the poll, which returns it (the events after it stay on the
 * ring). */
typedef int (*pr_mon_fn)(const struct pr_mon_event *e, __u64 realtime_ns, void *arg);
struct pr_monitor;
/* Take the lease with o's filters: the datapath emits from now on. */
int pr_monitor_start(struct pr_ctx *c, const struct pr_mon_opts *o, pr_mon_fn fn, void *arg,
		     struct pr_monitor **out);
/* Wait up to timeout_ms (-1: until the next renewal) for events, calling fn
 * for each, and renew the lease when due (every second; it lasts
 * PR_MON_LEASE_NS). Returns the events handled, -EINTR on a signal, or
 * -errno. */
int pr_monitor_poll(struct pr_monitor *m, int timeout_ms);
/* The counts since this monitor started. */
int pr_monitor_session(struct pr_monitor *m, struct pr_mon_counts *out);
/* End the lease at once and free m. */
void pr_monitor_stop(struct pr_monitor *m);
/* ---- end of monitor ---- */

#endif
