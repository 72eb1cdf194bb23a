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

/* An ICMP(v6) error quoting a TCP or UDP packet, all pointers inside the buffer. */
struct pr_icmp {
	struct icmphdr *icmp; /* type, code and checksum sit alike in ICMPv6 */
	struct iphdr *inner4; /* the quoted header, one of these two */
	struct ipv6hdr *inner6;
	union pr_addr isaddr;
	union pr_addr idaddr;
	__be16 *iports;       /* quoted ports: [0] source, [1] destination */
	__u16 *il4_csum;      /* quoted L4 checksum, or NULL when not quoted or UDP without one */
	__u8 iproto;
};

static __always_inline bool pr_icmp_is_error(const struct pr_pkt *p, __u8 type)
{
	if (p->family == PR_AF_INET)
		return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
		       type == ICMP_PARAMETERPROB;
	return type == ICMPV6_DEST_UNREACH || type == ICMPV6_PKT_TOOBIG ||
	       type == ICMPV6_TIME_EXCEED || type == ICMPV6_PARAMPROB;
}

/* Fill e from the ICMP message behind p. Returns -1 for an error we may
 * translate, else the enum pr_reason to pass it for. Only direct packet
 * access is used, so XDP and TC (after a pull) share it. */
static __always_inline int pr_icmp_parse(const struct pr_pkt *p, void *data, void *data_end,
					 struct pr_icmp *e)
{
	/* the message ends where the IP length says: bytes after it (padding,
	 * a trailer) are not quoted bytes, and the ICMP checksum excludes them */
	__u32 msg_end = p->l4_off + p->l4_len, il4_off;
	struct icmphdr *ic;
	void *il4, *in;

	if (p->l4_off > sizeof(struct ethhdr) + 60 + PR_IP6_MAX_EXT_LEN + 8 * 8)
		return PR_R_PASS_MALFORMED; /* bound for the verifier */
	ic = data + p->l4_off;
	if ((void *)(ic + 1) > data_end)
		return PR_R_PASS_MALFORMED;
	if (!pr_icmp_is_error(p, ic->type))
		return PR_R_PASS_ICMP; /* echo, neighbour discovery: not port forwarding */
	in = ic + 1;
	__builtin_memset(e, 0, sizeof(*e));
	e->icmp = ic;
	if (p->family == PR_AF_INET) {
		struct iphdr *i4 = in;

		if ((void *)(i4 + 1) > data_end)
			return PR_R_PASS_MALFORMED;
		if (i4->version != 4 || i4->ihl < 5)
			return PR_R_PASS_MALFORMED;
		il4_off = p->l4_off + sizeof(*ic) + i4->ihl * 4;
		if (i4->frag_off & bpf_htons(PR_IP_OFFSET))
			return PR_R_PASS_ICMP; /* a later fragment quotes no ports */
		e->inner4 = i4;
		e->iproto = i4->protocol;
		e->isaddr.v4 = i4->saddr;
		e->idaddr.v4 = i4->daddr;
		il4 = in + i4->ihl * 4;
	} else {
		struct ipv6hdr *i6 = in;

		if ((void *)(i6 + 1) > data_end)
			return PR_R_PASS_MALFORMED;
		il4_off = p->l4_off + sizeof(*ic) + sizeof(*i6);
		e->inner6 = i6;
		e->iproto = i6->nexthdr; /* quoted extension headers: not ours to chase */
		__builtin_memcpy(&e->isaddr, &i6->saddr, 16);
		__builtin_memcpy(&e->idaddr, &i6->daddr, 16);
		il4 = i6 + 1;
	}
	if (e->iproto != IPPROTO_TCP && e->iproto != IPPROTO_UDP)
		return PR_R_PASS_ICMP;
	/* RFC 792: at least 8 bytes of the original datagram, so the ports */
	if (il4 + 8 > data_end || il4_off + 8 > msg_end)
		return PR_R_PASS_MALFORMED;
	e->iports = il4;
	if (e->iproto == IPPROTO_TCP) {
		if (il4 + offsetof(struct tcphdr, check) + 2 <= data_end &&
		    il4_off + offsetof(struct tcphdr, check) + 2 <= msg_end)
			e->il4_csum = il4 + offsetof(struct tcphdr, check);
	} else {
		__u16 *c = il4 + offsetof(struct udphdr, check);

		if (*c)
			e->il4_csum = c;
	}
	return -1;
}

/* The conntrack entry the quoted packet belongs to, seen from its answer's
 * side: a quoted client->target packet finds the reply entry, a quoted
 * listen->client packet finds the forward entry. */
static __always_inline struct pr_ct_val *pr_icmp_lookup(const struct pr_pkt *p, const struct pr_icmp *e)
{
	struct pr_ct_key k;
	struct pr_ct_val *v;

	__builtin_memset(&k, 0, sizeof(k));
	k.saddr = e->idaddr;
	k.daddr = e->isaddr;
	k.sport = e->iports[1];
	k.dport = e->iports[0];
	k.proto = e->iproto;
	k.family = p->family;
	v = bpf_map_lookup_elem(&pr_ct, &k);
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

/* Rewrite the quoted packet as the receiver of the error knows it, fixing
 * the quoted IPv4 and L4 checksums, the ICMP checksum over all of them (and,
 * for ICMPv6, over the outer addresses), and the outer header when the error
 * came from (or goes to) the translated endpoint itself. ICMP checksums are
 * never CHECKSUM_PARTIAL, so this is safe from XDP. */
static __always_inline void pr_icmp_rewrite(const struct pr_pkt *p, struct pr_icmp *e,
					    const struct pr_ct_val *v, void *data_end)
{
	__u16 *icsum = &e->icmp->checksum;
	union pr_addr old_a, new_a = v->nat_addr;
	__be16 *iport, old_p, new_p = v->nat_port;
	bool reply = v->dir == PR_DIR_REPLY;
	__u16 old_c;

	/* reply entry: quoted client->target becomes the client's own client->listen;
	 * forward entry: quoted listen->client becomes the target's own target->client */
	old_a = reply ? e->idaddr : e->isaddr;
	iport = &e->iports[reply ? 1 : 0];
	old_p = *iport;

	if (e->inner4) {
		struct iphdr *i4 = e->inner4;

		if ((void *)(i4 + 1) > data_end)
			return;
		old_c = i4->check;
		pr_csum_replace4(&i4->check, old_a.v4, new_a.v4);
		pr_csum_replace2(icsum, old_c, i4->check);
		if (reply)
			i4->daddr = new_a.v4;
		else
			i4->saddr = new_a.v4;
	} else {
		struct ipv6hdr *i6 = e->inner6;

		if (!i6 || (void *)(i6 + 1) > data_end)
			return;
		if (reply)
			__builtin_memcpy(&i6->daddr, &new_a, 16);
		else
			__builtin_memcpy(&i6->saddr, &new_a, 16);
	}
	pr_csum_replace_addr(icsum, &old_a, &new_a, p->alen);

	pr_csum_replace2(icsum, old_p, new_p);
	*iport = new_p;

	if (e->il4_csum) {
		old_c = *e->il4_csum;
		pr_csum_replace_addr(e->il4_csum, &old_a, &new_a, p->alen);
		pr_csum_replace2(e->il4_csum, old_p, new_p);
		if (e->iproto == IPPROTO_UDP && *e->il4_csum == 0)
			*e->il4_csum = 0xffff;
		pr_csum_replace2(icsum, old_c, *e->il4_csum);
	}

	if (p->family == PR_AF_INET) {
		struct iphdr *ip = p->l3;

		if ((void *)(ip + 1) > data_end)
			return;
		if ((reply ? ip->saddr : ip->daddr) != old_a.v4)
			return;
		pr_csum_replace4(&ip->check, old_a.v4, new_a.v4);
		if (reply)
			ip->saddr = new_a.v4;
		else
			ip->daddr = new_a.v4;
	} else {
		struct ipv6hdr *ip6 = p->l3;

		if ((void *)(ip6 + 1) > data_end)
			return;
		if (!pr_addr6_eq(reply ? (void *)&ip6->saddr : (void *)&ip6->daddr, &old_a))
			return;
		pr_csum_replace_addr(icsum, &old_a, &new_a, 16); /* ICMPv6 pseudo header */
		if (reply)
			__builtin_memcpy(&ip6->saddr, &new_a, 16);
		else
			__builtin_memcpy(&ip6->daddr, &new_a, 16);
	}
}

/* Handle an ICMP packet parsed by pr_parse(). Egress applies only reply-side
 * entries, like TCP and UDP. Returns the enum pr_reason to count. */
static __always_inline int pr_icmp_handle(const struct pr_pkt *p, void *data, void *data_end,
					  enum pr_hook hook)
{
	struct pr_icmp e;
	struct pr_ct_val *v;
	int rc;

	rc = pr_icmp_parse(p, data, data_end, &e);
	if (rc >= 0)
		return rc;
	v = pr_icmp_lookup(p, &e);
	if (!v || (pr_hook_reply_only(hook) && v->dir != PR_DIR_REPLY))
		return PR_R_PASS_ICMP;
	/* Not yet: errors about a full-NAT flow need both rewrites and, on
	 * their way to the client, a route out of ingress (docs/design.md) */
	if (v->flags & PR_CT_F_NAT2)
		return PR_R_PASS_ICMP;
	/* An error on its way to the client may leave with the listen address,
	 * one of this host's, as its source, which the stack drops as martian
	 * when it arrives from outside: the egress hook translates it instead,
	 * as it does replies that cannot go straight out. */
	if (hook == PR_HOOK_INGRESS && v->dir == PR_DIR_REPLY)
		return PR_R_PASS_REPLY_EGRESS;
	pr_icmp_rewrite(p, &e, v, data_end);
	return PR_R_XLATE_ICMP;
}

#endif
