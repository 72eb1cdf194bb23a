/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Monitor events: a flow opened, denied, refused or found evicted, put on pr_mon_ring only while a monitor holds the lease, filtered and rate-limited here. */
#ifndef PR_MONITOR_H
#define PR_MONITOR_H

#include "kernel.h"
#include "maps.h"
#include "portredir.h"

/* Whether a lies in the monitor's --addr network (ctl's addr/mask, masked
 * by the monitor already). */
static __always_inline bool pr_mon_in(const struct pr_mon_ctl *c, const union pr_addr *a)
{
	return (a->v6[0] & c->mask.v6[0]) == c->addr.v6[0] && (a->v6[1] & c->mask.v6[1]) == c->addr.v6[1] &&
	       (a->v6[2] & c->mask.v6[2]) == c->addr.v6[2] && (a->v6[3] & c->mask.v6[3]) == c->addr.v6[3];
}

/* Whether an event about k (and v) passes the monitor's address filter.
 * Either direction's key and entry hold the same four addresses (client,
 * listen, target, and with a second rewrite the source), so no need to
 * tell them apart here. */
static __always_inline bool pr_mon_addr_ok(const struct pr_mon_ctl *c, __u32 type, const struct pr_ct_key *k,
					   const struct pr_ct_val *v)
{
	if (!c->family)
		return true;
	if (k->family != c->family)
		return false;
	if (pr_mon_in(c, &k->saddr) || pr_mon_in(c, &k->daddr))
		return true;
	if (!v)
		return false;
	if (pr_mon_in(c, &v->nat_addr))
		return true;
	/* a refused flow's nat2 is only the last source it tried */
	return type != PR_MON_REFUSED && (v->flags & PR_CT_F_NAT2) && pr_mon_in(c, &v->nat2_addr);
}

/* The rate limit, GCRA on this CPU's theoretical arrival time: true when an
 * event may go now (and the next one is due an interval later). */
static __always_inline bool pr_mon_conform(const struct pr_mon_ctl *c, struct pr_mon_cpu *b, __u64 now)
{
	__u64 t = (__s64)(b->tat - now) > 0 ? b->tat : now;

	if (t - now > c->tolerance_ns)
		return false;
	b->tat = t + c->interval_ns;
	return true;
}

/* e's endpoints from the flow's key k and entry v (either direction; v may
 * be NULL: a denied flow has no entry). A forward entry is client -> listen,
 * translated to target (and with nat2 from source); a reply entry is
 * target -> source (the client without nat2), translated from listen. */
static __always_inline void pr_mon_fill(struct pr_mon_event *e, __u32 type, const struct pr_ct_key *k,
					const struct pr_ct_val *v)
{
	bool nat2 = v && (v->flags & PR_CT_F_NAT2);

	if (!v || v->dir == PR_DIR_ORIG) {
		e->client = k->saddr;
		e->client_port = k->sport;
		e->listen = k->daddr;
		e->listen_port = k->dport;
		if (v) {
			e->target = v->nat_addr;
			e->target_port = v->nat_port;
			e->source = nat2 ? v->nat2_addr : k->saddr;
			e->source_port = nat2 ? v->nat2_port : k->sport;
		}
	} else {
		e->target = k->saddr;
		e->target_port = k->sport;
		e->source = k->daddr;
		e->source_port = k->dport;
		e->listen = v->nat_addr;
		e->listen_port = v->nat_port;
		e->client = nat2 ? v->nat2_addr : k->daddr;
		e->client_port = nat2 ? v->nat2_port : k->dport;
	}
	if (v) {
		e->flags = PR_MON_F_TARGET | (nat2 ? PR_MON_F_NAT2 : 0);
		/* a refused flow has no source: its last try failed */
		if (type != PR_MON_REFUSED)
			e->flags |= PR_MON_F_SOURCE;
		e->state = v->state;
	}
}

/* What an event is: its type (enum pr_mon_type) and reason (enum pr_reason,
 * or 0) in one argument, as BPF calls take five; PR_MON_WHAT_LOCAL added
 * for the socket hooks' events (PR_MON_F_LOCAL). */
#define PR_MON_WHAT(type, reason) ((__u32)(type) | ((__u32)(reason) << 8))
#define PR_MON_WHAT_LOCAL (1u << 16)

/* Put an event about the flow k (entry v, NULL for a denied flow) of
 * rule_id on pr_mon_ring, seen on ifindex (0: not known); what is
 * PR_MON_WHAT(type, reason). Nothing happens unless a
 * monitor holds the lease: then one array lookup and a clock read. Then the
 * monitor's filters, the rate limit (dropped counted) and the ring (lost
 * counted when full). A global function, so the verifier checks it once
 * and each caller pays only the call; k and v are read only. Returns 0. */
__noinline int pr_mon_emit(__u32 what, __u32 rule_id, __u32 ifindex, const struct pr_ct_key *k,
			   const struct pr_ct_val *v)
{
	__u32 type = what & 0xff;
	struct pr_mon_event *e;
	struct pr_mon_ctl *c;
	struct pr_mon_cpu *b;
	__u32 zero = 0;
	__u64 now;

	c = bpf_map_lookup_elem(&pr_mon_ctl, &zero);
	if (!c || !c->lease_until || !k)
		return 0;
	now = bpf_ktime_get_coarse_ns();
	if ((__s64)(c->lease_until - now) <= 0)
		return 0;
	if (type >= PR_MON_TYPE_MAX || !(c->events & (1u << type)) || (c->rule_id && c->rule_id != rule_id) ||
	    !pr_mon_addr_ok(c, type, k, v))
		return 0;
	b = bpf_map_lookup_elem(&pr_mon_cpu, &zero);
	if (!b)
		return 0;
	if (!pr_mon_conform(c, b, now)) {
		b->dropped++;
		return 0;
	}
	e = bpf_ringbuf_reserve(&pr_mon_ring, sizeof(*e), 0);
	if (!e) {
		b->lost++;
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = now;
	e->type = type;
	e->reason = (what >> 8) & 0xff;
	e->rule_id = rule_id;
	e->ifindex = ifindex;
	e->proto = k->proto;
	e->family = k->family;
	pr_mon_fill(e, type, k, v);
	if (what & PR_MON_WHAT_LOCAL)
		e->flags = (e->flags & ~PR_MON_F_SOURCE) | PR_MON_F_LOCAL;
	bpf_ringbuf_submit(e, 0);
	b->emitted++;
	return 0;
}

#endif
