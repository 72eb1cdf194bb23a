// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The rule as the CLI shows it: its one field table and its sentence, over the loader's rule words (pr_fmt_listen and friends). */
#include <arpa/inet.h>
#include <stdio.h>
#include "describe.h"

void fmt_ep(char *buf, size_t len, __u8 family, const union pr_addr *a, __be16 port, bool any_blank)
{
	char ip[PR_ADDR_TEXT_LEN];

	pr_fmt_addr(ip, sizeof(ip), family, a, any_blank);
	snprintf(buf, len, "%s:%u", ip, ntohs(port));
}

static void allow_list(struct out_val *v, const struct pr_rule_meta *m)
{
	char cidr[PR_ADDR_TEXT_LEN + 4];

	for (int i = 0; i < m->allow_count; i++) {
		pr_fmt_cidr(cidr, sizeof(cidr), &m->allow[i]);
		out_list_add(v, cidr);
	}
}

static void rule_get(const void *obj, size_t which, struct out_val *v)
{
	const struct pr_rule_meta *m = obj;

	switch (which) {
	case RULE_ID: out_uint(v, m->rule.id); break;
	case RULE_NAME: out_str(v, "%s", m->name); break;
	case RULE_PROTO: out_str(v, "%s", pr_proto_name(m->key.proto)); break;
	case RULE_LISTEN: pr_fmt_listen(v->s, sizeof(v->s), m); break;
	case RULE_TARGET: pr_fmt_target(v->s, sizeof(v->s), m); break;
	case RULE_ALLOW:
		v->absent = !m->allow_count;
		allow_list(v, m);
		break;
	case RULE_DENY:
		v->absent = !m->allow_count;
		out_str(v, "%s", m->rule.flags & PR_RULE_F_DENY_DROP ? "drop" : "pass");
		break;
	case RULE_SNAT:
		v->absent = m->nat.mode == PR_SNAT_NONE;
		pr_fmt_snat(v->s, sizeof(v->s), m);
		break;
	case RULE_SNAT_PORTS:
		v->absent = !pr_rule_shows_snat_ports(m);
		pr_fmt_snat_ports(v->s, sizeof(v->s), m);
		break;
	case RULE_HAIRPIN:
		v->absent = !(m->rule.flags & PR_RULE_F_HAIRPIN_OFF);
		out_str(v, "off");
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
	[RULE_SNAT] = { "snat", rule_get, .arg = RULE_SNAT },	      /* ADDR or "masquerade", with one */
	[RULE_SNAT_PORTS] = { "snat_ports", rule_get, .arg = RULE_SNAT_PORTS }, /* given, or with snat */
	[RULE_HAIRPIN] = { "hairpin", rule_get, .arg = RULE_HAIRPIN }, /* "off" only */
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
	{ RULE_SNAT, .fmt = " snat %s" },
	{ RULE_SNAT_PORTS, .fmt = " ports %s" },
	{ RULE_HAIRPIN, .fmt = " hairpin %s" },
	OUT_COLS_END,
};

void rule_text(const struct pr_rule_meta *m, char *buf, size_t len)
{
	out_text(buf, len, &rule_desc, m, rule_sentence);
}
