/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Connection tracking: two LRU entries a flow, TCP state from flags, per-state timeouts. */
#ifndef PR_CT_H
#define PR_CT_H

#include "kernel.h"
#include "maps.h"
#include "parse.h"
#include "portredir.h"

#define PR_NSEC 1000000000ULL
/* Refresh last_seen (and the peer entry) at most this often, to keep the
 * established path free of map writes on most packets. */
#define PR_CT_REFRESH_NS PR_NSEC

/* Conntrack time: CLOCK_MONOTONIC at jiffy resolution, which is all
 * second-granular timeouts need. The coarse clock costs a fraction of
 * bpf_ktime_get_ns(), which reads the TSC (tests/bench/NOTES.md). */
static __always_inline __u64 pr_now(void)
{
	return bpf_ktime_get_coarse_ns();
}

/* now - then as signed: a stamp a little ahead of a coarse now (written by
 * userspace with the fine clock) counts as fresh, not as 584 years old. */
static __always_inline __s64 pr_age(__u64 now, __u64 then)
{
	return (__s64)(now - then);
}

/* Room for the conntrack values a new or evicted entry is built in: two
 * pr_ct_val on the stack, on top of the ICMP path's, exceed BPF's 512
 * bytes. Per CPU, unpinned, and used only within one program run. */
struct pr_ct_scratch {
	struct pr_ct_val v;
	struct pr_ct_val pv;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pr_ct_scratch);
} pr_ct_scratch SEC(".maps");

static __always_inline struct pr_ct_scratch *pr_ct_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&pr_ct_scratch, &zero);
}

/* Timeouts in seconds by enum pr_ct_state; the loader may set them before load. */
const volatile __u32 pr_timeout[PR_CT_STATE_MAX] = PR_CT_TIMEOUTS_INIT;

static __always_inline void pr_ct_key_from_pkt(struct pr_ct_key *k, const struct pr_pkt *p)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = p->saddr;
	k->daddr = p->daddr;
	k->sport = p->ports[0];
	k->dport = p->ports[1];
	k->proto = p->proto;
	k->family = p->family;
}

static __always_inline int pr_ct_expired(const struct pr_ct_val *v, __u64 now)
{
	__u32 st = v->state;

	if (st >= PR_CT_STATE_MAX)
		return 1;
	return pr_age(now, v->last_seen) > (__s64)pr_timeout[st] * (__s64)PR_NSEC;
}

/* The key and value of the other direction's entry of the same flow. */
static __always_inline void pr_ct_peer(const struct pr_ct_key *k, const struct pr_ct_val *v,
				       struct pr_ct_key *pk, struct pr_ct_val *pv)
{
	__builtin_memset(pk, 0, sizeof(*pk));
	__builtin_memset(pv, 0, sizeof(*pv));
	pk->proto = k->proto;
	pk->family = k->family;
	if (v->dir == PR_DIR_ORIG) {
		/* client->listen becomes target->client, restoring listen as source */
		pk->saddr = v->nat_addr;
		pk->sport = v->nat_port;
		pk->daddr = k->saddr;
		pk->dport = k->sport;
		pv->nat_addr = k->daddr;
		pv->nat_port = k->dport;
		pv->dir = PR_DIR_REPLY;
	} else {
		pk->saddr = k->daddr;
		pk->sport = k->dport;
		pk->daddr = v->nat_addr;
		pk->dport = v->nat_port;
		pv->nat_addr = k->saddr;
		pv->nat_port = k->sport;
		pv->dir = PR_DIR_ORIG;
	}
	pv->state = v->state;
	pv->rule_id = v->rule_id;
	pv->fin_orig = v->fin_orig;
	pv->fin_reply = v->fin_reply;
	pv->last_seen = v->last_seen;
}

/* State a packet moves its flow to. */
static __always_inline __u8 pr_ct_next_state(struct pr_ct_val *v, __u8 tcp_flags, __u8 proto)
{
	__u8 st = v->state;

	if (proto == IPPROTO_UDP)
		return (v->dir == PR_DIR_REPLY && st == PR_CT_UDP) ? PR_CT_UDP_REPLIED : st;
	if (tcp_flags & PR_TCP_RST)
		return PR_CT_CLOSING;
	if (tcp_flags & PR_TCP_FIN) {
		if (v->dir == PR_DIR_ORIG)
			v->fin_orig = 1;
		else
			v->fin_reply = 1;
		return (v->fin_orig && v->fin_reply) ? PR_CT_CLOSING : PR_CT_HALF_CLOSED;
	}
	if (st == PR_CT_SYN_SENT && v->dir == PR_DIR_REPLY)
		return PR_CT_ESTABLISHED;
	return st;
}

/* Account one packet to an existing, unexpired entry: advance state and
 * refresh timestamps, mirroring both into the peer entry (recreating it if
 * the LRU evicted it) whenever something changed. */
static __always_inline void pr_ct_track(const struct pr_ct_key *k, struct pr_ct_val *v,
					const struct pr_pkt *p, __u64 now)
{
	__u8 fo = v->fin_orig, fr = v->fin_reply, old = v->state;
	struct pr_ct_scratch *s;
	struct pr_ct_val *peer;
	struct pr_ct_key pk;
	__u8 st;

	st = pr_ct_next_state(v, p->tcp_flags, p->proto);
	if (st == old && fo == v->fin_orig && fr == v->fin_reply &&
	    pr_age(now, v->last_seen) < (__s64)PR_CT_REFRESH_NS)
		return;
	v->state = st;
	v->last_seen = now;

	s = pr_ct_scratch_get();
	if (!s)
		return;
	pr_ct_peer(k, v, &pk, &s->pv);
	peer = bpf_map_lookup_elem(&pr_ct, &pk);
	if (peer) {
		peer->state = st;
		peer->fin_orig = v->fin_orig;
		peer->fin_reply = v->fin_reply;
		peer->last_seen = now;
	} else {
		bpf_map_update_elem(&pr_ct, &pk, &s->pv, BPF_ANY);
	}
}

/* Create both entries of a new flow. k is the forward tuple; the forward
 * direction is rewritten to (taddr, tport). Returns 0 or a negative errno. */
static __always_inline int pr_ct_create(const struct pr_ct_key *k, const struct pr_pkt *p,
					const union pr_addr *taddr, __be16 tport, __u32 rule_id,
					__u64 now)
{
	struct pr_ct_scratch *s = pr_ct_scratch_get();
	struct pr_ct_val *v;
	struct pr_ct_key pk;
	int err;

	if (!s)
		return -1;
	v = &s->v;
	__builtin_memset(v, 0, sizeof(*v));
	v->nat_addr = *taddr;
	v->nat_port = tport;
	v->dir = PR_DIR_ORIG;
	v->rule_id = rule_id;
	v->last_seen = now;
	if (p->proto == IPPROTO_UDP)
		v->state = PR_CT_UDP;
	else if ((p->tcp_flags & (PR_TCP_SYN | PR_TCP_ACK)) == PR_TCP_SYN)
		v->state = PR_CT_SYN_SENT;
	else /* mid-stream pickup, e.g. after a conntrack flush */
		v->state = PR_CT_ESTABLISHED;
	v->state = pr_ct_next_state(v, p->tcp_flags, p->proto);

	/* reply entry first, so a fast reply never misses it */
	pr_ct_peer(k, v, &pk, &s->pv);
	err = bpf_map_update_elem(&pr_ct, &pk, &s->pv, BPF_ANY);
	if (err)
		return err;
	return bpf_map_update_elem(&pr_ct, k, v, BPF_ANY);
}

#endif
