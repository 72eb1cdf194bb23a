/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* ICMP errors about translated flows: rewrite the quoted packet and the outer header so PMTU discovery and unreachables work through portredir. */
#ifndef PR_ICMP_H
#define PR_ICMP_H

#include <linux/icmp.h>
#include "ct.h"
#include "csum.h"
#include "nat.h"

/* An IPv4 ICMP error quoting a TCP or UDP packet, all pointers inside the buffer. */
struct pr_icmp {
	struct iphdr *outer;
	struct icmphdr *icmp;
	struct iphdr *inner;
	__be16 *iports;     /* quoted ports: [0] source, [1] destination */
	__u16 *il4_csum;    /* quoted L4 checksum, or NULL when not quoted or UDP without one */
	__u8 iproto;
};

/* Fill e from the ICMP message behind ip. Returns -1 for an error we may
 * translate, else the enum pr_reason to pass it for. Only direct packet
 * access is used, so XDP and TC (after a pull) share it. */
static __always_inline int pr_icmp_parse(const struct pr_pkt *p, void *data, void *data_end,
					 struct pr_icmp *e)
{
	struct icmphdr *ic = data + p->l4_off;
	struct iphdr *in;
	__u32 iihl;
	void *il4;

	if ((void *)(ic + 1) > data_end)
		return PR_R_PASS_MALFORMED;
	if (ic->type != ICMP_DEST_UNREACH && ic->type != ICMP_TIME_EXCEEDED &&
	    ic->type != ICMP_PARAMETERPROB)
		return PR_R_PASS_ICMP; /* echo and friends are not port forwarding */
	in = (void *)(ic + 1);
	if ((void *)(in + 1) > data_end)
		return PR_R_PASS_MALFORMED;
	if (in->version != 4 || in->ihl < 5)
		return PR_R_PASS_MALFORMED;
	if (in->protocol != IPPROTO_TCP && in->protocol != IPPROTO_UDP)
		return PR_R_PASS_ICMP;
	if (in->frag_off & bpf_htons(PR_IP_OFFSET))
		return PR_R_PASS_ICMP; /* a later fragment quotes no ports */
	iihl = in->ihl * 4;
	il4 = (void *)in + iihl;
	/* RFC 792: at least 8 bytes of the original datagram, so the ports */
	if (il4 + 8 > data_end)
		return PR_R_PASS_MALFORMED;
	e->outer = p->ip;
	e->icmp = ic;
	e->inner = in;
	e->iproto = in->protocol;
	e->iports = il4;
	e->il4_csum = NULL;
	if (in->protocol == IPPROTO_TCP) {
		if (il4 + offsetof(struct tcphdr, check) + 2 <= data_end)
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
static __always_inline struct pr_ct_val *pr_icmp_lookup(const struct pr_icmp *e)
{
	struct pr_ct_key k;
	struct pr_ct_val *v;

	__builtin_memset(&k, 0, sizeof(k));
	k.saddr.v4 = e->inner->daddr;
	k.daddr.v4 = e->inner->saddr;
	k.sport = e->iports[1];
	k.dport = e->iports[0];
	k.proto = e->iproto;
	k.family = PR_AF_INET;
	v = bpf_map_lookup_elem(&pr_ct, &k);
	if (!v || pr_ct_expired(v, bpf_ktime_get_ns()))
		return NULL;
	return v;
}

/* Rewrite the quoted packet as the receiver of the error knows it, fixing
 * the quoted IP and L4 checksums, the ICMP checksum over all of them, and
 * the outer header when the error came from (or goes to) the translated
 * endpoint itself. ICMP checksums are never CHECKSUM_PARTIAL, so this is
 * safe from XDP. */
static __always_inline void pr_icmp_rewrite(struct pr_icmp *e, const struct pr_ct_val *v)
{
	__u16 *icsum = &e->icmp->checksum;
	__be32 *iaddr, *oaddr, old_a, new_a = v->nat_addr.v4;
	__be16 *iport, old_p, new_p = v->nat_port;
	__u16 old_c;

	if (v->dir == PR_DIR_REPLY) {
		/* quoted client->target: the client must see its own client->listen */
		iaddr = &e->inner->daddr;
		iport = &e->iports[1];
		oaddr = &e->outer->saddr;
	} else {
		/* quoted listen->client, from the client: the target must see target->client */
		iaddr = &e->inner->saddr;
		iport = &e->iports[0];
		oaddr = &e->outer->daddr;
	}
	old_a = *iaddr;
	old_p = *iport;

	old_c = e->inner->check;
	pr_csum_replace4(&e->inner->check, old_a, new_a);
	pr_csum_replace2(icsum, old_c, e->inner->check);
	pr_csum_replace4(icsum, old_a, new_a);
	*iaddr = new_a;

	pr_csum_replace2(icsum, old_p, new_p);
	*iport = new_p;

	if (e->il4_csum) {
		old_c = *e->il4_csum;
		pr_csum_replace4(e->il4_csum, old_a, new_a);
		pr_csum_replace2(e->il4_csum, old_p, new_p);
		if (e->iproto == IPPROTO_UDP && *e->il4_csum == 0)
			*e->il4_csum = 0xffff;
		pr_csum_replace2(icsum, old_c, *e->il4_csum);
	}

	if (*oaddr == old_a) {
		pr_csum_replace4(&e->outer->check, old_a, new_a);
		*oaddr = new_a;
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
	v = pr_icmp_lookup(&e);
	if (!v || (hook == PR_HOOK_EGRESS && v->dir != PR_DIR_REPLY))
		return PR_R_PASS_ICMP;
	pr_icmp_rewrite(&e, v);
	return PR_R_XLATE_ICMP;
}

#endif
