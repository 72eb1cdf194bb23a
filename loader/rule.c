// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The rule model: a rule's stored form, comparisons, overlap, its datapath entries and its sources; pure functions. */
#include <netinet/in.h>
#include <string.h>
#include "libportredir.h"
#include "internal.h"

int pr_rule_protos(__u8 proto, __u8 out[2])
{
	if (proto) {
		out[0] = proto;
		return 1;
	}
	out[0] = IPPROTO_TCP;
	out[1] = IPPROTO_UDP;
	return 2;
}

const char *pr_proto_name(__u8 proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : proto == 0 ? "any" : "?";
}

size_t pr_rule_span(const struct pr_rule_meta *m)
{
	__u8 protos[2];

	return (size_t)pr_rule_protos(m->key.proto, protos) * (m->port_last - ntohs(m->key.port) + 1);
}

void pr_rule_entry(const struct pr_rule_meta *m, __u16 p, struct pr_rule *r)
{
	*r = m->rule;
	if (m->target_port_last)
		r->target_port = htons(ntohs(m->rule.target_port) + (p - ntohs(m->key.port)));
}

void pr_meta_from_spec(const struct pr_rule_spec *s, struct pr_rule_meta *m)
{
	memset(m, 0, sizeof(*m));
	memcpy(m->name, s->name, sizeof(m->name));
	m->key = s->key;
	m->port_last = s->port_last;
	m->target_port_last = s->target_port_last;
	m->rule.target = s->target;
	m->rule.target_port = s->target_port;
	m->rule.flags = (s->allow_count ? PR_RULE_F_ALLOW : 0) | (s->deny_drop ? PR_RULE_F_DENY_DROP : 0) |
			(s->target_port ? 0 : PR_RULE_F_KEEP_PORT) |
			(s->nat.mode != PR_SNAT_NONE ? PR_RULE_F_SNAT : 0) | (s->hairpin_off ? PR_RULE_F_HAIRPIN_OFF : 0);
	m->nat = s->nat;
	m->cflags = s->snat_ports_set ? PR_META_F_SNAT_PORTS : 0;
	m->allow_count = s->allow_count > PR_ALLOW_MAX ? PR_ALLOW_MAX : s->allow_count;
	memcpy(m->allow, s->allow, m->allow_count * sizeof(m->allow[0]));
}

bool pr_meta_same(const struct pr_rule_meta *a, const struct pr_rule_meta *b)
{
	return strncmp(a->name, b->name, PR_NAME_LEN) == 0 && memcmp(&a->key, &b->key, sizeof(a->key)) == 0 &&
	       a->port_last == b->port_last && a->target_port_last == b->target_port_last &&
	       memcmp(&a->rule.target, &b->rule.target, sizeof(a->rule.target)) == 0 &&
	       a->rule.target_port == b->rule.target_port && a->rule.flags == b->rule.flags &&
	       a->allow_count == b->allow_count &&
	       memcmp(a->allow, b->allow, a->allow_count * sizeof(a->allow[0])) == 0 &&
	       memcmp(&a->nat, &b->nat, sizeof(a->nat)) == 0 && a->cflags == b->cflags;
}

bool pr_same_listen(const struct pr_rule_meta *a, const struct pr_rule_meta *b)
{
	return memcmp(&a->key, &b->key, sizeof(a->key)) == 0 && a->port_last == b->port_last;
}

bool pr_listens_overlap(const struct pr_rule_meta *a, const struct pr_rule_meta *b)
{
	if (a->key.family != b->key.family || memcmp(&a->key.addr, &b->key.addr, sizeof(a->key.addr)))
		return false;
	if (a->key.proto && b->key.proto && a->key.proto != b->key.proto)
		return false;
	/* a DMZ is port 0 to 0, so it meets only another DMZ */
	return ntohs(a->key.port) <= b->port_last && ntohs(b->key.port) <= a->port_last;
}

int pr_addr_cmp(const union pr_addr *a, const union pr_addr *b)
{
	for (int i = 0; i < 4; i++)
		if (a->v6[i] != b->v6[i])
			return a->v6[i] < b->v6[i] ? -1 : 1;
	return 0;
}

static bool has_source(const struct pr_rule_meta *m, const struct pr_cidr *c)
{
	for (int i = 0; m && i < m->allow_count; i++)
		if (memcmp(&m->allow[i], c, sizeof(*c)) == 0)
			return true;
	return false;
}

size_t pr_allow_diff(const struct pr_rule_meta *m, const struct pr_rule_meta *not_in, __u8 *idx)
{
	size_t k = 0;

	for (int i = 0; i < m->allow_count; i++) {
		if (has_source(not_in, &m->allow[i]))
			continue;
		if (idx)
			idx[k] = i;
		k++;
	}
	return k;
}
