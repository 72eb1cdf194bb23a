/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The portredir library: pinned maps, rules, conntrack and attachment. Prints nothing; errors go to ctx->err. */
#ifndef LIBPORTREDIR_H
#define LIBPORTREDIR_H

#include <stdbool.h>
#include <stddef.h>
#include "portredir.h"

#define PR_DEFAULT_PIN_DIR "/sys/fs/bpf/portredir"
#define PR_ERR_LEN 512

struct pr_ctx {
	char pin_dir[256];
	char err[PR_ERR_LEN]; /* last failure, one line, naming what failed */
	int verbose;
	int lock_fd;
	int fd_rules, fd_rmeta, fd_rstats, fd_gstats, fd_ct, fd_tx, fd_ifaces, fd_info, fd_allow, fd_frag;
};

#define PR_OPEN_CREATE (1u << 0) /* create and pin the maps when absent */

/* Open the map set under pin_dir (NULL: $PORTREDIR_PIN_DIR, else the default).
 * Mounts bpffs at /sys/fs/bpf when needed. Without PR_OPEN_CREATE an absent
 * pin dir gives -ENOENT. Returns 0 or -errno. */
int pr_open(struct pr_ctx *c, const char *pin_dir, unsigned int flags);
void pr_close(struct pr_ctx *c);
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
const char *pr_ct_state_name(unsigned int state);
/* Timeout in seconds of a state, as the datapath applies it. */
unsigned int pr_ct_timeout(unsigned int state);

/* Attachment */
enum pr_mode_req { PR_REQ_AUTO, PR_REQ_NATIVE, PR_REQ_GENERIC, PR_REQ_TC };

struct pr_attach_result {
	enum pr_mode mode;
	bool already;      /* it was attached in that mode already: nothing changed */
	bool fell_back;    /* native XDP failed and generic was used */
	char why[160];     /* why auto chose this mode, or why native failed */
};

/* pr_attach() flags */
#define PR_ATTACH_VIA_STACK (1u << 0) /* never send translated packets straight to the egress device */

int pr_attach(struct pr_ctx *c, const char *ifname, enum pr_mode_req req, __u32 flags,
	      struct pr_attach_result *res);
int pr_detach(struct pr_ctx *c, const char *ifname);

struct pr_iface_status {
	struct pr_iface rec;
	__u32 ifindex;
	bool present;      /* the interface still exists */
	__u32 live_xdp_id; /* what the kernel reports now; 0 if none */
	__u32 live_tc_in_id;
	__u32 live_tc_eg_id;
};
/* Attachments recorded for the caller's network namespace; caller frees *out. */
int pr_iface_list(struct pr_ctx *c, struct pr_iface_status **out, size_t *n);

struct pr_fill {
	size_t rules, rules_max, flows, ct_entries, ct_max;
};
int pr_map_fill(struct pr_ctx *c, struct pr_fill *f);

const char *pr_mode_name(enum pr_mode m);
/* For tests: allow XDP_REDIRECT to ifindex (normally only non-veth native
 * attachments are added). */
int pr_tx_allow(struct pr_ctx *c, __u32 ifindex, bool allow);

#endif
