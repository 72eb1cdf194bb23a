// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Rules as words: listen, target and source text, and a rule's canonical line, which the rule parser reads back as the same rule. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "libportredir.h"
#include "internal.h"

void pr_fmt_addr(char *buf, size_t len, __u8 family, const union pr_addr *a, bool any_blank)
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

/* "ADDR:*" for port 0, "ADDR:LO" when hi is 0 or lo, else "ADDR:LO-HI". */
static void fmt_ports(char *buf, size_t len, const char *ip, __u16 lo, __u16 hi)
{
	if (!lo)
		snprintf(buf, len, "%s:*", ip);
	else if (!hi || hi == lo)
		snprintf(buf, len, "%s:%u", ip, lo);
	else
		snprintf(buf, len, "%s:%u-%u", ip, lo, hi);
}

void pr_fmt_listen(char *buf, size_t len, const struct pr_rule_meta *m)
{
	char ip[PR_ADDR_TEXT_LEN];

	pr_fmt_addr(ip, sizeof(ip), m->key.family, &m->key.addr, true);
	fmt_ports(buf, len, ip, ntohs(m->key.port), m->port_last);
}

void pr_fmt_target(char *buf, size_t len, const struct pr_rule_meta *m)
{
	char ip[PR_ADDR_TEXT_LEN];

	pr_fmt_addr(ip, sizeof(ip), m->key.family, &m->rule.target, false);
	fmt_ports(buf, len, ip, ntohs(m->rule.target_port), m->target_port_last);
}

void pr_fmt_cidr(char *buf, size_t len, const struct pr_cidr *c)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(c->family == PR_AF_INET ? AF_INET : AF_INET6, c->addr.b, ip, sizeof(ip));
	snprintf(buf, len, "%s/%u", ip, c->len);
}

void pr_fmt_snat(char *buf, size_t len, const struct pr_rule_meta *m)
{
	if (m->nat.mode == PR_SNAT_ADDR)
		pr_fmt_addr(buf, len, m->nat.family, &m->nat.addr, false);
	else
		snprintf(buf, len, "%s", m->nat.mode == PR_SNAT_MASQ ? "masquerade" : "");
	/* bare, as --snat takes it, also for IPv6 */
	if (buf[0] == '[') {
		size_t n = strlen(buf);

		memmove(buf, buf + 1, n - 2);
		buf[n - 2] = 0;
	}
}

void pr_fmt_snat_ports(char *buf, size_t len, const struct pr_rule_meta *m)
{
	if (m->nat.port_lo == m->nat.port_hi)
		snprintf(buf, len, "%u", m->nat.port_lo);
	else
		snprintf(buf, len, "%u-%u", m->nat.port_lo, m->nat.port_hi);
}

bool pr_rule_shows_snat_ports(const struct pr_rule_meta *m)
{
	return (m->cflags & PR_META_F_SNAT_PORTS) || m->nat.mode != PR_SNAT_NONE;
}

/* Append " word" (no blank first) to buf at *n; -ENOSPC when it does not fit.
 * Rule words never need quotes: names, addresses and ports have no blank. */
static int put_word(char *buf, size_t len, size_t *n, const char *w)
{
	int k = snprintf(buf + *n, len - *n, "%s%s", *n ? " " : "", w);

	if (k < 0 || (size_t)k >= len - *n)
		return -ENOSPC;
	*n += k;
	return 0;
}

/* " opt val" */
static int put_opt(char *buf, size_t len, size_t *n, const char *opt, const char *val)
{
	int ret = put_word(buf, len, n, opt);

	return ret ? ret : put_word(buf, len, n, val);
}

/* The source NAT options, each only when it is not the default. */
static int put_nat(const struct pr_rule_meta *m, char *buf, size_t len, size_t *n)
{
	char w[PR_ADDR_TEXT_LEN];
	int ret = 0;

	pr_fmt_snat(w, sizeof(w), m);
	if (m->nat.mode == PR_SNAT_ADDR)
		ret = put_opt(buf, len, n, "--snat", w);
	else if (m->nat.mode == PR_SNAT_MASQ)
		ret = put_word(buf, len, n, "--masquerade");
	pr_fmt_snat_ports(w, sizeof(w), m);
	if (!ret && (m->cflags & PR_META_F_SNAT_PORTS))
		ret = put_opt(buf, len, n, "--snat-ports", w);
	if (!ret && (m->rule.flags & PR_RULE_F_HAIRPIN_OFF))
		ret = put_opt(buf, len, n, "--hairpin", "off");
	return ret;
}

int pr_rule_line(const struct pr_rule_meta *m, char *buf, size_t len)
{
	char listen[PR_EP_TEXT_LEN], target[PR_EP_TEXT_LEN], name[PR_NAME_LEN + 1], cidr[PR_ADDR_TEXT_LEN + 4];
	size_t n = 0;
	int ret;

	if (!len)
		return -ENOSPC;
	buf[0] = 0;
	pr_fmt_listen(listen, sizeof(listen), m);
	if (!m->key.port && !m->rule.target_port) /* a DMZ keeping ports: the bare address */
		pr_fmt_addr(target, sizeof(target), m->key.family, &m->rule.target, false);
	else
		pr_fmt_target(target, sizeof(target), m);
	ret = put_word(buf, len, &n, pr_proto_name(m->key.proto));
	if (!ret)
		ret = put_word(buf, len, &n, listen);
	if (!ret)
		ret = put_word(buf, len, &n, target);
	snprintf(name, sizeof(name), "%.*s", PR_NAME_LEN, m->name);
	if (!ret && name[0])
		ret = put_opt(buf, len, &n, "--name", name);
	for (int i = 0; !ret && i < m->allow_count && i < PR_ALLOW_MAX; i++) {
		pr_fmt_cidr(cidr, sizeof(cidr), &m->allow[i]);
		ret = put_opt(buf, len, &n, "--allow", cidr);
	}
	/* drop is what an allowlist does by default */
	if (!ret && m->allow_count && !(m->rule.flags & PR_RULE_F_DENY_DROP))
		ret = put_opt(buf, len, &n, "--deny-action", "pass");
	return ret ? ret : put_nat(m, buf, len, &n);
}
