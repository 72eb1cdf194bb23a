/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Map layouts of earlier schemas, frozen as they were pinned, for the converters of loader/migrate.c only. */
#ifndef PR_SCHEMA_OLD_H
#define PR_SCHEMA_OLD_H

#include "portredir.h"

/* ---- Schema 4 (e034065): before conntrack's second rewrite, rules' source
 * NAT and interface addresses (6b79542). Only the maps whose values changed
 * are here; pr_rules, pr_allow, pr_gstats, pr_ifaces, pr_tx and pr_info kept
 * their layout and meaning, and pr_rnat and pr_ifaddr did not exist. ---- */

struct pr4_rule_meta {
	char name[PR_NAME_LEN];
	struct pr_rule_key key;
	struct pr_rule rule;
	__u64 created_ns;
	__u16 port_last;
	__u16 target_port_last;
	__u16 allow_count;
	__u16 pad;
	struct pr_cidr allow[PR_ALLOW_MAX];
};
_Static_assert(sizeof(struct pr4_rule_meta) == 416, "schema 4 pr_rule_meta layout");

struct pr4_rule_stats {
	__u64 pkts_orig;
	__u64 bytes_orig;
	__u64 pkts_reply;
	__u64 bytes_reply;
	__u64 flows;
	__u64 denied;
};
_Static_assert(sizeof(struct pr4_rule_stats) == 48, "schema 4 pr_rule_stats layout");

struct pr4_ct_val {
	union pr_addr nat_addr;
	__u64 last_seen;
	__be16 nat_port;
	__u8 dir;
	__u8 state;
	__u32 rule_id;
	__u8 fin_orig;
	__u8 fin_reply;
	__u16 nh_len;
	__u32 nh_ifindex;
	__u32 nh_iif;
	__u8 nh_dmac[6];
	__u8 nh_smac[6];
	__u64 nh_until;
};
_Static_assert(sizeof(struct pr4_ct_val) == 64, "schema 4 pr_ct_val layout");

struct pr4_frag_val {
	union pr_addr new_addr;
	__u64 last_seen;
	__u32 rule_id;
	__u8 dir;
	__u8 pad[3];
};
_Static_assert(sizeof(struct pr4_frag_val) == 32, "schema 4 pr_frag_val layout");

#endif
