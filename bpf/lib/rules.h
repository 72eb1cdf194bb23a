/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Rule and allowlist lookups by key, shared by the packet path (nat.h) and the socket hooks (sock.h). */
#ifndef PR_RULES_H
#define PR_RULES_H

#include "kernel.h"
#include "maps.h"
#include "portredir.h"

/* The pr_rules entry of (addr, port, proto, family), addr NULL meaning "any
 * address"; NULL when there is none. port 0 is the DMZ key. */
static __always_inline struct pr_rule *pr_rule_get(const union pr_addr *addr, __be16 port, __u8 proto,
						   __u8 family)
{
	struct pr_rule_key rk;

	__builtin_memset(&rk, 0, sizeof(rk));
	if (addr)
		rk.addr = *addr;
	rk.port = port;
	rk.proto = proto;
	rk.family = family;
	return bpf_map_lookup_elem(&pr_rules, &rk);
}

/* Whether r's allowlist (if it has one) admits source src of family. */
static __always_inline bool pr_allow_has(const struct pr_rule *r, __u8 family, const union pr_addr *src)
{
	struct pr_allow_key ak;

	if (!(r->flags & PR_RULE_F_ALLOW))
		return true;
	__builtin_memset(&ak, 0, sizeof(ak));
	ak.prefixlen = PR_ALLOW_FIXED_BITS + 128;
	ak.rule_id = r->id;
	ak.family = family;
	ak.addr = *src;
	return bpf_map_lookup_elem(&pr_allow, &ak) != NULL;
}

#endif
