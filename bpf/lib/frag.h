/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Fragments: the first fragment's translation is remembered for the rest of its datagram. */
#ifndef PR_FRAG_H
#define PR_FRAG_H

#include "ct.h"
#include "hook.h"
#include "kernel.h"
#include "maps.h"
#include "nat.h"
#include "parse.h"
#include "portredir.h"

static __always_inline void pr_frag_key(struct pr_frag_key *k, const struct pr_pkt *p)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = p->saddr;
	k->daddr = p->daddr;
	k->id = p->frag_id;
	k->proto = p->proto;
	k->family = p->family;
}

/* Call with the first fragment as parsed, before translation: its addresses
 * are what the later fragments carry. */
static __always_inline void pr_frag_record(const struct pr_pkt *p, const struct pr_xlate *x)
{
	struct pr_frag_val v = {};
	struct pr_frag_key k;

	pr_frag_key(&k, p);
	v.new_addr = x->new_addr;
	v.last_seen = pr_now();
	v.rule_id = x->rule_id;
	v.dir = x->dir;
	if (x->nat2) {
		v.flags = PR_CT_F_NAT2;
		v.new2_addr = x->new2_addr;
	}
	bpf_map_update_elem(&pr_frag, &k, &v, BPF_ANY);
}

/* Translation for a later fragment: returns 1 and fills x (address only,
 * ports unchanged; with nat2, both addresses) when its datagram's first fragment was translated and
 * the direction applies to this hook; 0 otherwise. */
static __always_inline int pr_frag_lookup(const struct pr_pkt *p, enum pr_hook hook,
					  struct pr_xlate *x)
{
	struct pr_frag_key k;
	struct pr_frag_val *v;

	pr_frag_key(&k, p);
	v = bpf_map_lookup_elem(&pr_frag, &k);
	if (!v || pr_age(pr_now(), v->last_seen) > (__s64)PR_FRAG_TIMEOUT_S * (__s64)PR_NSEC)
		return 0;
	if (pr_hook_reply_only(hook) && v->dir != PR_DIR_REPLY)
		return 0;
	x->dir = v->dir;
	x->rule_id = v->rule_id;
	x->new_addr = v->new_addr;
	x->old_addr = v->dir == PR_DIR_ORIG ? p->daddr : p->saddr;
	x->old_port = x->new_port = 0;
	x->new_flow = 0;
	if (v->flags & PR_CT_F_NAT2)
		pr_xlate_nat2(p, &v->new2_addr, 0, x);
	return 1;
}

#endif
