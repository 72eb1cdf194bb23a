// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The rule as the CLI shows it: addresses, endpoints and port ranges written out, and the rule's one field table. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include "describe.h"

const char *proto_name(__u8 p)
{
	return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : p == 0 ? "any" : "?";
}

static void fmt_addr(char *buf, size_t len, __u8 family, const union pr_addr *a, bool any_blank)
{
	bool any = (a->v6[0] | a->v6[1] | a->v6[2] | a->v6[3]) == 0;
	char ip[INET6_ADDRSTRLEN] = "";

	if (family == PR_AF_INET6) {
		inet_ntop(AF_INET6, a->b, ip, sizeof(ip));
		snprintf(buf, len, "[%s]", ip);
		return;
	}
	if (!any || !any_blank)
		inet_ntop(AF_INET, &a->v4, ip, sizeof(ip));
	snprintf(buf, len, "%s", ip);
}

void fmt_ep(char *buf, size_t len, __u8 family, const union pr_addr *a, __be16 port, bool any_blank)
{
	char ip[INET6_ADDRSTRLEN + 2];

	fmt_addr(ip, sizeof(ip), family, a, any_blank);
	snprintf(buf, len, "%s:%u", ip, ntohs(port));
}

/* "ADDR:*" for port 0, "ADDR:LO" when hi is 0 or lo, else "ADDR:LO-HI". */
static void fmt_ports(struct out_val *v, const char *ip, __u16 lo, __u16 hi)
{
	if (!lo)
		out_str(v, "%s:*", ip);
	else if (!hi || hi == lo)
		out_str(v, "%s:%u", ip, lo);
	else
		out_str(v, "%s:%u-%u", ip, lo, hi);
}

static void allow_list(struct out_val *v, const struct pr_rule_meta *m)
{
	char ip[INET6_ADDRSTRLEN], cidr[INET6_ADDRSTRLEN + 5];

	for (int i = 0; i < m->allow_count; i++) {
		const struct pr_cidr *c = &m->allow[i];

		inet_ntop(c->family == PR_AF_INET ? AF_INET : AF_INET6, c->addr.b, ip, sizeof(ip));
		snprintf(cidr, sizeof(cidr), "%s/%u", ip, c->len);
		out_list_add(v, cidr);
	}
}

static void rule_get(const void *obj, size_t which, struct out_val *v)
{
	const struct pr_rule_meta *m = obj;
	char ip[INET6_ADDRSTRLEN + 2];

	switch (which) {
	case RULE_ID: out_uint(v, m->rule.id); break;
	case RULE_NAME: out_str(v, "%s", m->name); break;
	case RULE_PROTO: out_str(v, "%s", proto_name(m->key.proto)); break;
	case RULE_LISTEN:
		fmt_addr(ip, sizeof(ip), m->key.family, &m->key.addr, true);
		fmt_ports(v, ip, ntohs(m->key.port), m->port_last);
		break;
	case RULE_TARGET:
		fmt_addr(ip, sizeof(ip), m->key.family, &m->rule.target, false);
		fmt_ports(v, ip, ntohs(m->rule.target_port), m->target_port_last);
		break;
	case RULE_ALLOW:
		v->absent = !m->allow_count;
		allow_list(v, m);
		break;
	case RULE_DENY:
		v->absent = !m->allow_count;
		out_str(v, "%s", m->rule.flags & PR_RULE_F_DENY_DROP ? "drop" : "pass");
		break;
	case RULE_TEXT: rule_text(m, v->s, sizeof(v->s)); break;
	}
}

static const struct out_field rule_fields[] = {
	[RULE_ID] = { "id", rule_get, .arg = RULE_ID },
	[RULE_NAME] = { "name", rule_get, .arg = RULE_NAME },
	[RULE_PROTO] = { "proto", rule_get, .arg = RULE_PROTO },
	[RULE_LISTEN] = { "listen", rule_get, .arg = RULE_LISTEN },
	[RULE_TARGET] = { "target", rule_get, .arg = RULE_TARGET },
	[RULE_ALLOW] = { "allow", rule_get, .arg = RULE_ALLOW },     /* only with an allowlist */
	[RULE_DENY] = { "deny_action", rule_get, .arg = RULE_DENY }, /* likewise */
	[RULE_TEXT] = { "text", rule_get, .arg = RULE_TEXT, .flags = OUT_F_TEXT },
};
const struct out_desc rule_desc = OUT_DESC(rule_fields);

const struct out_col rule_sentence[] = {
	{ RULE_PROTO, .fmt = "%s " },
	{ RULE_LISTEN, .fmt = "%s -> " },
	{ RULE_TARGET, .fmt = NULL },
	{ RULE_NAME, .fmt = " name %s", .flags = OUT_C_SKIP_EMPTY },
	{ RULE_ALLOW, .fmt = " allow %s" },
	{ RULE_DENY, .fmt = " deny %s" },
	OUT_COLS_END,
};

void rule_text(const struct pr_rule_meta *m, char *buf, size_t len)
{
	out_text(buf, len, &rule_desc, m, rule_sentence);
}
