/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Connection tracking: two LRU entries a flow, TCP state from flags, per-state timeouts. */
#ifndef PR_CT_H
#define PR_CT_H

#include "kernel.h"
#include "maps.h"
#include "monitor.h"
#include "parse.h"
#include "portredir.h"
#include "stats.h"

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
 * bytes; so do a new flow's two keys and source, and the route lookup's
 * parameters, once pr_snat_open()'s frame is added to the pipeline's. Per
 * CPU, unpinned, and used only within one program run. */
struct pr_ct_scratch {
	struct pr_ct_val v;
	struct pr_ct_val pv;
	struct pr_ct_key k;
	struct pr_ct_key rk;
	struct pr_ct_key ok; /* the forward key of a closed flow whose port a new one takes */
	union pr_addr src;
	struct bpf_fib_lookup fib;
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

/* The key of the other direction's entry of the flow whose entry v is at
 * k. Without PR_CT_F_NAT2 a reply goes to the client as the client sent
 * it; with it, to the second rewrite (nat2: the source the flow was given). */
static __always_inline void pr_ct_peer_key(const struct pr_ct_key *k, const struct pr_ct_val *v,
					   struct pr_ct_key *pk)
{
	bool nat2 = v->flags & PR_CT_F_NAT2;

	__builtin_memset(pk, 0, sizeof(*pk));
	pk->proto = k->proto;
	pk->family = k->family;
	if (v->dir == PR_DIR_ORIG) {
		/* client->listen becomes target->(client or nat2), restoring listen as source */
		pk->saddr = v->nat_addr;
		pk->sport = v->nat_port;
		pk->daddr = nat2 ? v->nat2_addr : k->saddr;
		pk->dport = nat2 ? v->nat2_port : k->sport;
	} else {
		pk->saddr = nat2 ? v->nat2_addr : k->daddr;
		pk->sport = nat2 ? v->nat2_port : k->dport;
		pk->daddr = v->nat_addr;
		pk->dport = v->nat_port;
	}
}

/* The key (pr_ct_peer_key()) and value of the other direction's entry of
 * the same flow. */
static __always_inline void pr_ct_peer(const struct pr_ct_key *k, const struct pr_ct_val *v,
				       struct pr_ct_key *pk, struct pr_ct_val *pv)
{
	bool nat2 = v->flags & PR_CT_F_NAT2;

	pr_ct_peer_key(k, v, pk);
	__builtin_memset(pv, 0, sizeof(*pv));
	if (v->dir == PR_DIR_ORIG) {
		pv->nat_addr = k->daddr;
		pv->nat_port = k->dport;
		pv->dir = PR_DIR_REPLY;
	} else {
		pv->nat_addr = k->saddr;
		pv->nat_port = k->sport;
		pv->dir = PR_DIR_ORIG;
	}
	if (nat2) {
		pv->nat2_addr = v->dir == PR_DIR_ORIG ? k->saddr : k->daddr;
		pv->nat2_port = v->dir == PR_DIR_ORIG ? k->sport : k->dport;
	}
	pv->flags = v->flags & (PR_CT_F_NAT2 | PR_CT_F_TCP_CLOSE);
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
	if (tcp_flags & PR_TCP_RST) {
		v->flags |= PR_CT_F_CLOSED;
		return PR_CT_CLOSING;
	}
	if (tcp_flags & PR_TCP_FIN) {
		if (v->dir == PR_DIR_ORIG)
			v->fin_orig = 1;
		else
			v->fin_reply = 1;
		if (!(v->fin_orig && v->fin_reply))
			return PR_CT_HALF_CLOSED;
		if (st != PR_CT_CLOSING && v->dir == PR_DIR_REPLY)
			v->flags |= PR_CT_F_LAST_FIN_REPLY;
		return PR_CT_CLOSING;
	}
	/* the ACK of the last FIN, from the side that sent the first */
	if (st == PR_CT_CLOSING && (tcp_flags & PR_TCP_ACK) &&
	    (v->dir == PR_DIR_ORIG) == !!(v->flags & PR_CT_F_LAST_FIN_REPLY))
		v->flags |= PR_CT_F_CLOSED;
	if (st == PR_CT_SYN_SENT && v->dir == PR_DIR_REPLY)
		return PR_CT_ESTABLISHED;
	return st;
}

/* Account one packet to an existing, unexpired entry: advance state and
 * refresh timestamps, mirroring both into the peer entry (recreating it if
 * the LRU evicted it, and counting that: PR_G_CT_EVICTED, and a monitor
 * event) whenever something changed. */
static __always_inline void pr_ct_track(const struct pr_ct_key *k, struct pr_ct_val *v,
					const struct pr_pkt *p, __u64 now)
{
	__u8 fo = v->fin_orig, fr = v->fin_reply, old = v->state, fl = v->flags;
	struct pr_ct_scratch *s;
	struct pr_ct_val *peer;
	struct pr_ct_key pk;
	__u8 st;

	st = pr_ct_next_state(v, p->tcp_flags, p->proto);
	if (st == old && fo == v->fin_orig && fr == v->fin_reply && fl == v->flags &&
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
		peer->flags = (peer->flags & ~PR_CT_F_TCP_CLOSE) | (v->flags & PR_CT_F_TCP_CLOSE);
		peer->last_seen = now;
	} else {
		pr_count(PR_G_CT_EVICTED);
		bpf_map_update_elem(&pr_ct, &pk, &s->pv, BPF_ANY);
		pr_mon_emit(PR_MON_WHAT(PR_MON_EVICTED, 0), v->rule_id, 0, k, v);
	}
}

static __always_inline bool pr_addr_eq(const union pr_addr *a, const union pr_addr *b)
{
	return a->v6[0] == b->v6[0] && a->v6[1] == b->v6[1] && a->v6[2] == b->v6[2] &&
	       a->v6[3] == b->v6[3];
}

/* The forward entry of a new flow, in v, from its first packet's protocol
 * and TCP flags: (taddr, tport) is its new destination; no second rewrite
 * yet (pr_snat_open() adds it). */
static __always_inline void pr_ct_init(struct pr_ct_val *v, __u8 proto, __u8 tcp_flags,
				       const union pr_addr *taddr, __be16 tport, __u32 rule_id,
				       __u64 now)
{
	__builtin_memset(v, 0, sizeof(*v));
	v->nat_addr = *taddr;
	v->nat_port = tport;
	v->dir = PR_DIR_ORIG;
	v->rule_id = rule_id;
	v->last_seen = now;
	if (proto == IPPROTO_UDP)
		v->state = PR_CT_UDP;
	else if ((tcp_flags & (PR_TCP_SYN | PR_TCP_ACK)) == PR_TCP_SYN)
		v->state = PR_CT_SYN_SENT;
	else /* mid-stream pickup, e.g. after a conntrack flush */
		v->state = PR_CT_ESTABLISHED;
	v->state = pr_ct_next_state(v, tcp_flags, proto);
}

/* Whether e, found at reply key rk, is the reply entry of forward tuple k:
 * the same flow seen earlier (closing, or its forward entry evicted). */
static __always_inline bool pr_ct_reply_of(const struct pr_ct_key *k, const struct pr_ct_key *rk,
					   const struct pr_ct_val *e)
{
	bool nat2 = e->flags & PR_CT_F_NAT2;

	if (e->dir != PR_DIR_REPLY || e->nat_port != k->dport || !pr_addr_eq(&e->nat_addr, &k->daddr))
		return false;
	if (nat2)
		return e->nat2_port == k->sport && pr_addr_eq(&e->nat2_addr, &k->saddr);
	return rk->dport == k->sport && pr_addr_eq(&rk->daddr, &k->saddr);
}

/* Whether entry e of another flow, live but over (PR_CT_F_CLOSED: a RST,
 * or the ACK of its last FIN), may give its reply key to the new flow whose
 * reply entry is rv: a TCP SYN opens it (SYN_SENT), as Linux NAT reuses the
 * tuple of a conntrack in TIME_WAIT or CLOSE. Until its timeout the closed
 * flow is still tracked; only its tuple is given up. */
static __always_inline bool pr_ct_reusable(const struct pr_ct_val *e, const struct pr_ct_val *rv)
{
	return rv->state == PR_CT_SYN_SENT && e->state == PR_CT_CLOSING && e->dir == PR_DIR_REPLY &&
	       (e->flags & PR_CT_F_CLOSED);
}

/* Whether forward entry f is the one whose flow has its reply entry at rk. */
static __always_inline bool pr_ct_fwd_of(const struct pr_ct_val *f, const struct pr_ct_key *rk)
{
	if (f->dir != PR_DIR_ORIG || f->nat_port != rk->sport || !pr_addr_eq(&f->nat_addr, &rk->saddr))
		return false;
	return !(f->flags & PR_CT_F_NAT2) || (f->nat2_port == rk->dport && pr_addr_eq(&f->nat2_addr, &rk->daddr));
}

/* Claim reply key rk for the new flow k with value rv (BPF_NOEXIST): a key
 * that is free, whose entry has expired, that is k's own earlier reply
 * entry, or that a closed TCP flow holds (pr_ct_reusable(): its forward
 * entry is deleted with it, and PR_R_XLATE_PORT_REUSE counted) may be
 * taken; a live entry of another flow is never touched. ok is room for a
 * key. Returns 0 when rk is now k's, -1 when another flow owns it. */
static __always_inline int pr_ct_claim(const struct pr_ct_key *k, const struct pr_ct_key *rk,
				       const struct pr_ct_val *rv, struct pr_ct_key *ok, __u64 now)
{
	struct pr_ct_val *e;
	bool reuse = false;

	if (!bpf_map_update_elem(&pr_ct, rk, rv, BPF_NOEXIST))
		return 0;
	e = bpf_map_lookup_elem(&pr_ct, rk);
	if (e && !pr_ct_expired(e, now) && !pr_ct_reply_of(k, rk, e)) {
		if (!pr_ct_reusable(e, rv))
			return -1;
		pr_ct_peer_key(rk, e, ok); /* its forward entry's: e is a reply entry */
		reuse = true;
	}
	/* dead, ours or closed: replace it; a racing CPU that wins makes us look elsewhere */
	bpf_map_delete_elem(&pr_ct, rk);
	if (bpf_map_update_elem(&pr_ct, rk, rv, BPF_NOEXIST))
		return -1;
	if (reuse) {
		/* only if it is still that flow's: its client may have opened a
		 * new flow from the same port since, with a source of its own */
		e = bpf_map_lookup_elem(&pr_ct, ok);
		if (e && pr_ct_fwd_of(e, rk))
			bpf_map_delete_elem(&pr_ct, ok);
		pr_count(PR_R_XLATE_PORT_REUSE);
	}
	return 0;
}

/* Insert the forward entry v at k once its reply entry rk is in place
 * (reply first, so a fast reply never misses it). replace: the caller saw
 * a dead entry at k (expired, or a SYN on a closing flow) and decided
 * anew. On failure (another CPU created the flow meanwhile) the reply
 * entry just made is removed again. Returns 0 or a negative errno. */
static __always_inline int pr_ct_insert_fwd(const struct pr_ct_key *k, const struct pr_ct_key *rk,
					    const struct pr_ct_val *v, bool replace)
{
	int err;

	if (replace)
		bpf_map_delete_elem(&pr_ct, k);
	err = bpf_map_update_elem(&pr_ct, k, v, BPF_NOEXIST);
	if (err)
		bpf_map_delete_elem(&pr_ct, rk);
	return err;
}

#endif
