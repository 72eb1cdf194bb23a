/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* ICMP and ICMPv6 errors about translated flows: rewrite the quoted packet and the outer header so PMTU discovery and unreachables work through portredir. */
#ifndef PR_ICMP_H
#define PR_ICMP_H

#include "csum.h"
#include "ct.h"
#include "hook.h"
#include "kernel.h"
#include "maps.h"
#include "nat.h"
#include "parse.h"
#include "portredir.h"

/* An ICMP(v6) error quoting a TCP or UDP packet: where the parts a rewrite
 * touches sit, as offsets from the frame's start. Offsets rather than
 * pointers: kept in a per-CPU scratch, off the stack, and each rewrite step
 * derives its pointer afresh, so no pointer is held (or spilled) through
 * the checksum arithmetic; pr_icmp2() does two rewrites within a frame
 * that adds to the pipeline's (BPF's 512 bytes). The quoted addresses are
 * in the flow's key (pr_icmp_qsrc()). */
struct pr_icmp_at {
	__u32 icmp;     /* the ICMP header; the quoted IP header follows it */
	__u32 iports;   /* the quoted ports: source, destination */
	__u32 il4_csum; /* the quoted L4 checksum; 0: not quoted, or UDP without one */
	__u8 iproto;
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pr_icmp_at);
} pr_icmp_scratch SEC(".maps");

static __always_inline struct pr_icmp_at *pr_icmp_at_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&pr_icmp_scratch, &zero);
}

/* A bound on pr_icmp_at's offsets, for the verifier: the largest the parse
 * gives is 394 (ICMP behind the longest headers pr_parse() takes) + 8 + 60
 * (a quoted IPv4 header with options) + 16 (TCP's checksum) = 478. */
#define PR_ICMP_OFF_MAX 512

static __always_inline bool pr_icmp_is_error(__u8 family, __u8 type)
{
	if (family == PR_AF_INET)
		return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
		       type == ICMP_PARAMETERPROB;
	return type == ICMPV6_DEST_UNREACH || type == ICMPV6_PKT_TOOBIG ||
	       type == ICMPV6_TIME_EXCEED || type == ICMPV6_PARAMPROB;
}

/* The quoted packet's source and destination as parsed, in the key of its
 * flow (the quoted tuple reversed, pr_icmp_parse_at()). */
static __always_inline const union pr_addr *pr_icmp_qsrc(const struct pr_ct_key *k)
{
	return &k->daddr;
}

static __always_inline const union pr_addr *pr_icmp_qdst(const struct pr_ct_key *k)
{
	return &k->saddr;
}

/* Fill e from the ICMP message of a packet of family whose IP payload is
 * the l4_len bytes at l4_off, and k with the key of the conntrack entry the
 * quoted packet belongs to, seen from its answer's side: the quoted tuple
 * reversed. A quoted client->target packet finds the reply entry, a quoted
 * listen->client packet the forward entry. Both live in per-CPU scratch
 * maps, not on the stack (see struct pr_icmp_at; the key took 40 bytes of
 * the pipeline's frame). Returns -1 for an error we may translate, else
 * the enum pr_reason to pass it for. Only direct packet access is used, so
 * XDP and TC (after a pull) share it, and so does pr_icmp2(), which gets
 * the offsets as scalars and parses again. */
static __always_inline int pr_icmp_parse_at(__u8 family, __u32 l4_off, __u32 l4_len, void *data,
					    void *data_end, struct pr_icmp_at *e, struct pr_ct_key *k)
{
	/* the message ends where the IP length says: bytes after it (padding,
	 * a trailer) are not quoted bytes, and the ICMP checksum excludes them */
	__u32 msg_end = l4_off + l4_len, il4_off;
	struct icmphdr *ic;
	void *il4, *in;

	if (l4_off > sizeof(struct ethhdr) + 60 + PR_IP6_MAX_EXT_LEN + 8 * 8)
		return PR_R_PASS_MALFORMED; /* bound for the verifier */
	ic = data + l4_off;
	if ((void *)(ic + 1) > data_end)
		return PR_R_PASS_MALFORMED;
	if (!pr_icmp_is_error(family, ic->type))
		return PR_R_PASS_ICMP; /* echo, neighbour discovery: not port forwarding */
	in = ic + 1;
	__builtin_memset(e, 0, sizeof(*e));
	__builtin_memset(k, 0, sizeof(*k));
	k->family = family;
	e->icmp = l4_off;
	if (family == PR_AF_INET) {
		struct iphdr *i4 = in;

		if ((void *)(i4 + 1) > data_end)
			return PR_R_PASS_MALFORMED;
		if (i4->version != 4 || i4->ihl < 5)
			return PR_R_PASS_MALFORMED;
		il4_off = l4_off + sizeof(*ic) + i4->ihl * 4;
		if (i4->frag_off & bpf_htons(PR_IP_OFFSET))
			return PR_R_PASS_ICMP; /* a later fragment quotes no ports */
		e->iproto = i4->protocol;
		k->daddr.v4 = i4->saddr;
		k->saddr.v4 = i4->daddr;
		il4 = in + i4->ihl * 4;
	} else {
		struct ipv6hdr *i6 = in;

		if ((void *)(i6 + 1) > data_end)
			return PR_R_PASS_MALFORMED;
		il4_off = l4_off + sizeof(*ic) + sizeof(*i6);
		e->iproto = i6->nexthdr; /* quoted extension headers: not ours to chase */
		__builtin_memcpy(&k->daddr, &i6->saddr, 16);
		__builtin_memcpy(&k->saddr, &i6->daddr, 16);
		il4 = i6 + 1;
	}
	if (e->iproto != IPPROTO_TCP && e->iproto != IPPROTO_UDP)
		return PR_R_PASS_ICMP;
	/* RFC 792: at least 8 bytes of the original datagram, so the ports */
	if (il4 + 8 > data_end || il4_off + 8 > msg_end)
		return PR_R_PASS_MALFORMED;
	e->iports = il4_off;
	k->sport = ((__be16 *)il4)[1];
	k->dport = ((__be16 *)il4)[0];
	k->proto = e->iproto;
	if (e->iproto == IPPROTO_TCP) {
		if (il4 + offsetof(struct tcphdr, check) + 2 <= data_end &&
		    il4_off + offsetof(struct tcphdr, check) + 2 <= msg_end)
			e->il4_csum = il4_off + offsetof(struct tcphdr, check);
	} else {
		__u16 *c = il4 + offsetof(struct udphdr, check);

		if (*c)
			e->il4_csum = il4_off + offsetof(struct udphdr, check);
	}
	return -1;
}

/* The live conntrack entry at k, or NULL. */
static __always_inline struct pr_ct_val *pr_icmp_find(const struct pr_ct_key *k)
{
	struct pr_ct_val *v = bpf_map_lookup_elem(&pr_ct, k);

	if (!v || pr_ct_expired(v, pr_now()))
		return NULL;
	return v;
}

/* The 16 bytes at pkt (bounded by the caller) equal a. */
static __always_inline bool pr_addr6_eq(const void *pkt, const union pr_addr *a)
{
	const __be32 *w = pkt;

	return w[0] == a->v6[0] && w[1] == a->v6[1] && w[2] == a->v6[2] && w[3] == a->v6[3];
}

/* Rewrite one side of the quoted packet of the error at at, of family, in
 * the frame [data, data_end): its source (src) or destination address
 * *old_a (as parsed) becomes *new_a and that side's port new_p, with the
 * quoted IPv4 and L4 checksums and the ICMP checksum over all of them;
 * then the outer address facing that side (the outer destination for the
 * quoted source, the outer source for the quoted destination) when it is
 * *old_a itself: the translated endpoint sent or gets the error. An error
 * another host generated keeps that host's address. ICMPv6's checksum also
 * covers the outer addresses. ICMP checksums are never CHECKSUM_PARTIAL,
 * so this is safe from XDP. */
static __always_inline void pr_icmp_rewrite_side(void *data, void *data_end, const struct pr_icmp_at *at,
						 __u8 family, bool src, const union pr_addr *old_a,
						 const union pr_addr *new_a, __be16 new_p)
{
	__u16 da = pr_csum_delta_addr(old_a, new_a, family == PR_AF_INET ? 4 : 16), old_c;
	struct icmphdr *ic;
	__be16 *iport;
	__u16 *l4c;
	__u32 off;

	off = at->icmp;
	if (off > PR_ICMP_OFF_MAX)
		return;
	ic = data + off;
	if (family == PR_AF_INET) {
		struct iphdr *i4 = (void *)(ic + 1);

		if ((void *)(i4 + 1) > data_end)
			return;
		old_c = i4->check;
		pr_csum_apply(&i4->check, da);
		pr_csum_replace2(&ic->checksum, old_c, i4->check);
		if (src)
			i4->saddr = new_a->v4;
		else
			i4->daddr = new_a->v4;
	} else {
		struct ipv6hdr *i6 = (void *)(ic + 1);

		if ((void *)(i6 + 1) > data_end)
			return;
		__builtin_memcpy(src ? (void *)&i6->saddr : (void *)&i6->daddr, new_a, 16);
	}
	pr_csum_apply(&ic->checksum, da);

	off = at->iports + (src ? 0 : 2);
	if (off > PR_ICMP_OFF_MAX)
		return;
	iport = data + off;
	if ((void *)(iport + 1) > data_end)
		return;
	pr_csum_replace2(&ic->checksum, *iport, new_p);
	old_c = pr_csum_delta16(*iport, new_p);
	*iport = new_p;

	off = at->il4_csum;
	/* two tests: clang folds "off && off <= MAX" into one on a copy of off,
	 * which leaves off itself unbounded for the verifier */
	if (off > PR_ICMP_OFF_MAX)
		return;
	if (off) {
		l4c = data + off;
		if ((void *)(l4c + 1) > data_end)
			return;
		da = pr_csum_add16(da, old_c); /* address and port */
		old_c = *l4c;
		pr_csum_apply(l4c, da);
		if (at->iproto == IPPROTO_UDP && *l4c == 0)
			*l4c = 0xffff;
		pr_csum_replace2(&ic->checksum, old_c, *l4c);
	}

	if (family == PR_AF_INET) {
		struct iphdr *ip = data + sizeof(struct ethhdr);

		if ((void *)(ip + 1) > data_end)
			return;
		if ((src ? ip->daddr : ip->saddr) != old_a->v4)
			return;
		pr_csum_apply(&ip->check, pr_csum_delta_addr(old_a, new_a, 4));
		if (src)
			ip->daddr = new_a->v4;
		else
			ip->saddr = new_a->v4;
	} else {
		struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);

		if ((void *)(ip6 + 1) > data_end)
			return;
		if (!pr_addr6_eq(src ? (void *)&ip6->daddr : (void *)&ip6->saddr, old_a))
			return;
		/* ICMPv6 pseudo header */
		pr_csum_apply(&ic->checksum, pr_csum_delta_addr(old_a, new_a, 16));
		__builtin_memcpy(src ? (void *)&ip6->daddr : (void *)&ip6->saddr, new_a, 16);
	}
}

/* Rewrite the quoted packet as the receiver of the error knows it, and the
 * outer header where it names the translated endpoint (pr_icmp_rewrite_side()),
 * for entry v's one rewrite: a reply entry's quoted client->target packet
 * becomes the client's own client->listen one (its destination), a forward
 * entry's quoted listen->client packet the target's own target->client one
 * (its source). */
static __always_inline void pr_icmp_rewrite(const struct pr_pkt *p, void *data, void *data_end,
					    const struct pr_icmp_at *e, const struct pr_ct_key *k,
					    const struct pr_ct_val *v)
{
	bool reply = v->dir == PR_DIR_REPLY;

	pr_icmp_rewrite_side(data, data_end, e, p->family, !reply, reply ? pr_icmp_qdst(k) : pr_icmp_qsrc(k),
			     &v->nat_addr, v->nat_port);
}

/* pr_icmp_handle()'s answer for an error about a full-NAT flow: the
 * pipeline hands it to pr_icmp2() in TC and leaves it unmarked to TC in XDP. */
#define PR_ICMP_NAT2 -4

/* Handle an ICMP packet parsed by pr_parse(). Egress applies only reply-side
 * entries, like TCP and UDP. Returns the enum pr_reason to count, or
 * PR_ICMP_NAT2 for an error about a full-NAT flow (PR_CT_F_NAT2). */
static __always_inline int pr_icmp_handle(const struct pr_pkt *p, void *data, void *data_end,
					  enum pr_hook hook)
{
	struct pr_ct_scratch *s = pr_ct_scratch_get();
	struct pr_icmp_at *e = pr_icmp_at_get();
	struct pr_ct_val *v;
	int rc;

	if (!s || !e)
		return PR_R_PASS_ICMP;
	rc = pr_icmp_parse_at(p->family, p->l4_off, p->l4_len, data, data_end, e, &s->k);
	if (rc >= 0)
		return rc;
	v = pr_icmp_find(&s->k);
	if (!v || (pr_hook_reply_only(hook) && v->dir != PR_DIR_REPLY))
		return PR_R_PASS_ICMP;
	/* both rewrites and a way out of ingress: a global function of its
	 * own (pr_icmp2()), which the verifier checks apart from this path */
	if (v->flags & PR_CT_F_NAT2)
		return PR_ICMP_NAT2;
	/* An error on its way to the client may leave with the listen address,
	 * one of this host's, as its source, which the stack drops as martian
	 * when it arrives from outside: the egress hook translates it instead,
	 * as it does replies that cannot go straight out. */
	if (hook == PR_HOOK_INGRESS && v->dir == PR_DIR_REPLY)
		return PR_R_PASS_REPLY_EGRESS;
	pr_icmp_rewrite(p, data, data_end, e, &s->k, v);
	return PR_R_XLATE_ICMP;
}

#endif
