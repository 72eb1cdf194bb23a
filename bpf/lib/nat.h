/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The translation decision shared by every hook: conntrack first, then rules. */
#ifndef PR_NAT_H
#define PR_NAT_H

#include "ct.h"
#include "stats.h"

/* One address and port rewrite. dir ORIG rewrites the destination, REPLY the source. */
struct pr_xlate {
	union pr_addr old_addr;
	union pr_addr new_addr;
	__be16 old_port;
	__be16 new_port;
	__u8 dir;
	__u32 rule_id;
	int new_flow;
};

enum pr_hook { PR_HOOK_INGRESS, PR_HOOK_EGRESS };

static __always_inline struct pr_rule *pr_rule_lookup(const struct pr_pkt *p)
{
	struct pr_rule_key rk;
	struct pr_rule *r;

	__builtin_memset(&rk, 0, sizeof(rk));
	rk.addr = p->daddr;
	rk.port = p->ports[1];
	rk.proto = p->proto;
	rk.family = p->family;
	r = bpf_map_lookup_elem(&pr_rules, &rk);
	if (r)
		return r;
	__builtin_memset(&rk.addr, 0, sizeof(rk.addr));
	return bpf_map_lookup_elem(&pr_rules, &rk);
}

static __always_inline void pr_xlate_from_ct(const struct pr_pkt *p, const struct pr_ct_val *v,
					     struct pr_xlate *x)
{
	x->dir = v->dir;
	x->rule_id = v->rule_id;
	x->new_addr = v->nat_addr;
	x->new_port = v->nat_port;
	if (v->dir == PR_DIR_ORIG) {
		x->old_addr = p->daddr;
		x->old_port = p->ports[1];
	} else {
		x->old_addr = p->saddr;
		x->old_port = p->ports[0];
	}
}

/* Decide what to do with a parsed packet. Returns 1 and fills x when the
 * packet must be rewritten (conntrack already updated), or 0 with *reason set
 * when it passes untouched. Egress only ever applies reply translations. */
static __always_inline int pr_decide(const struct pr_pkt *p, enum pr_hook hook,
				     struct pr_xlate *x, __u32 *reason)
{
	__u64 now = bpf_ktime_get_ns();
	struct pr_ct_key k;
	struct pr_ct_val *v;
	struct pr_rule *r;

	pr_ct_key_from_pkt(&k, p);
	v = bpf_map_lookup_elem(&pr_ct, &k);
	if (v && !pr_ct_expired(v, now)) {
		if (hook == PR_HOOK_EGRESS && v->dir != PR_DIR_REPLY)
			goto nomatch;
		/* A fresh SYN on a closed flow is a new connection: rules decide again. */
		if (!(v->dir == PR_DIR_ORIG && v->state == PR_CT_CLOSING &&
		      (p->tcp_flags & (PR_TCP_SYN | PR_TCP_ACK)) == PR_TCP_SYN)) {
			pr_ct_track(&k, v, p, now);
			pr_xlate_from_ct(p, v, x);
			x->new_flow = 0;
			return 1;
		}
	}
	if (hook == PR_HOOK_EGRESS)
		goto nomatch;

	r = pr_rule_lookup(p);
	if (!r)
		goto nomatch;
	if (p->proto == IPPROTO_TCP && (p->tcp_flags & PR_TCP_RST)) {
		*reason = PR_R_PASS_TCP_RST;
		return 0;
	}
	if (pr_ct_create(&k, p, &r->target, r->target_port, r->id, now)) {
		*reason = PR_R_PASS_CT_FAIL;
		return 0;
	}
	x->dir = PR_DIR_ORIG;
	x->rule_id = r->id;
	x->old_addr = p->daddr;
	x->old_port = p->ports[1];
	x->new_addr = r->target;
	x->new_port = r->target_port;
	x->new_flow = 1;
	return 1;

nomatch:
	*reason = PR_R_PASS_NOMATCH;
	return 0;
}

static __always_inline void pr_account(const struct pr_xlate *x, __u32 bytes)
{
	pr_count(x->dir == PR_DIR_ORIG ? PR_R_XLATE_FWD : PR_R_XLATE_REPLY);
	pr_rule_count(x->rule_id, x->dir, bytes, x->new_flow);
}

#endif
