// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The rule syntax: one parser for `add`'s arguments, `del`'s listen and every rule line of an `apply` file, into a pr_rule_spec. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "libportredir.h"
#include "internal.h"

static int parse_proto(const char *tok, __u8 *proto, char *err, size_t len)
{
	if (strcmp(tok, "tcp") == 0)
		*proto = IPPROTO_TCP;
	else if (strcmp(tok, "udp") == 0)
		*proto = IPPROTO_UDP;
	else if (strcmp(tok, "any") == 0)
		*proto = 0;
	else
		return pr_perr(err, len, "unknown protocol '%s' (expected tcp, udp or any)", tok);
	return 0;
}

static int parse_port(const char *tok, const char *whole, __u16 *port, char *err, size_t len)
{
	unsigned long v = 0;
	const char *p;

	if (!*tok)
		return pr_perr(err, len, "missing port in '%s'", whole);
	for (p = tok; *p; p++) {
		if (*p < '0' || *p > '9' || p - tok > 6)
			return pr_perr(err, len, "bad port '%s' in '%s' (expected 1-65535)", tok, whole);
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > 65535)
		return pr_perr(err, len, "bad port '%s' in '%s' (expected 1-65535)", tok, whole);
	*port = v;
	return 0;
}

/* One side of a rule as written. */
struct ep {
	union pr_addr addr;
	__u8 family;  /* 0 for ":PORTS": it comes from the other side */
	__u16 lo, hi; /* host order */
	bool star;    /* PORTS was "*" */
	bool noport;  /* no ":PORTS" at all (a DMZ target) */
};

/* "N", "N-M" or "*". */
static int parse_ports(const char *tok, const char *whole, struct ep *e, char *err, size_t len)
{
	const char *dash = strchr(tok, '-');
	char lo[8];

	if (strcmp(tok, "*") == 0) {
		e->star = true;
		return 0;
	}
	if (!dash) {
		if (parse_port(tok, whole, &e->lo, err, len))
			return -EINVAL;
		e->hi = e->lo;
		return 0;
	}
	if ((size_t)(dash - tok) >= sizeof(lo))
		return pr_perr(err, len, "bad port '%s' in '%s' (expected 1-65535)", tok, whole);
	memcpy(lo, tok, dash - tok);
	lo[dash - tok] = 0;
	if (parse_port(lo, whole, &e->lo, err, len) || parse_port(dash + 1, whole, &e->hi, err, len))
		return -EINVAL;
	if (e->lo > e->hi)
		return pr_perr(err, len, "bad port range '%s' in '%s' (first port above last)", tok, whole);
	return 0;
}

int pr_parse_port_range(const char *tok, const char *whole, __u16 *lo, __u16 *hi, char *err, size_t len)
{
	struct ep e = {};

	if (parse_ports(tok, whole, &e, err, len))
		return -EINVAL;
	if (e.star)
		return pr_perr(err, len, "bad port '*' in '%s' (expected LO-HI)", whole);
	*lo = e.lo;
	*hi = e.hi;
	return 0;
}

/* "ADDR:PORTS", "[ADDR6]:PORTS" or ":PORTS"; a target may also be a bare
 * "ADDR" or "[ADDR6]" (checked by the caller). need_addr refuses an empty or
 * unspecified (0.0.0.0, ::) address. */
static int parse_endpoint(const char *tok, bool need_addr, const char *what, struct ep *e, char *err,
			  size_t len)
{
	const char *colon;
	char buf[64];
	size_t hl;

	memset(e, 0, sizeof(*e));
	if (tok[0] == '[') {
		const char *host = tok + 1, *close = strchr(tok, ']');

		if (!close)
			return pr_perr(err, len, "bad %s '%s' (missing ']')", what, tok);
		if (close[1] != ':' && !(close[1] == 0 && need_addr))
			return pr_perr(err, len, "missing %s port in '%s' (expected [ADDR]:PORT)", what, tok);
		hl = close - host;
		colon = close[1] ? close + 1 : NULL;
		if (hl >= sizeof(buf))
			return pr_perr(err, len, "bad %s address in '%s'", what, tok);
		memcpy(buf, host, hl);
		buf[hl] = 0;
		if (inet_pton(AF_INET6, buf, e->addr.b) != 1)
			return pr_perr(err, len, "bad %s IPv6 address '%s' in '%s'", what, buf, tok);
		e->family = PR_AF_INET6;
	} else {
		colon = strrchr(tok, ':');
		if (colon && strchr(tok, ':') != colon)
			return pr_perr(err, len, "bad %s '%s' (write IPv6 as [ADDR]:PORT)", what, tok);
		if (!colon && !need_addr)
			return pr_perr(err, len, "missing %s port in '%s' (expected [ADDR]:PORT)", what, tok);
		hl = colon ? (size_t)(colon - tok) : strlen(tok);
		if (hl >= sizeof(buf))
			return pr_perr(err, len, "bad %s address in '%s'", what, tok);
		memcpy(buf, tok, hl);
		buf[hl] = 0;
		if (hl) {
			if (inet_pton(AF_INET, buf, &e->addr.v4) != 1)
				return pr_perr(err, len, "bad %s address '%s' in '%s'", what, buf, tok);
			e->family = PR_AF_INET;
		}
	}
	if (need_addr && (!e->family || (e->addr.v6[0] | e->addr.v6[1] | e->addr.v6[2] | e->addr.v6[3]) == 0))
		return pr_perr(err, len, "%s '%s' needs an address (ADDR:PORT)", what, tok);
	if (!colon) {
		e->noport = true;
		return 0;
	}
	return parse_ports(colon + 1, tok, e, err, len);
}

/* "ADDR/LEN" or "ADDR" (a host), network part only; what names the option in messages. */
int pr_cidr_parse(const char *what, const char *tok, struct pr_cidr *c, char *err, size_t len)
{
	const char *slash = strchr(tok, '/');
	size_t hl = slash ? (size_t)(slash - tok) : strlen(tok);
	unsigned long plen;
	char buf[64], *end;
	int max;

	memset(c, 0, sizeof(*c));
	if (hl >= sizeof(buf))
		return pr_perr(err, len, "bad %s '%s'", what, tok);
	memcpy(buf, tok, hl);
	buf[hl] = 0;
	if (inet_pton(AF_INET, buf, &c->addr.v4) == 1)
		c->family = PR_AF_INET;
	else if (inet_pton(AF_INET6, buf, c->addr.b) == 1)
		c->family = PR_AF_INET6;
	else
		return pr_perr(err, len, "bad %s address '%s' in '%s'", what, buf, tok);
	max = c->family == PR_AF_INET ? 32 : 128;
	plen = max;
	if (slash) {
		errno = 0;
		plen = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || plen > (unsigned long)max)
			return pr_perr(err, len, "bad %s prefix length in '%s' (0-%d)", what, tok, max);
	}
	c->len = plen;
	/* keep the network part only, as it will be shown */
	for (int bit = plen; bit < 128; bit++)
		c->addr.b[bit / 8] &= ~(0x80 >> (bit % 8));
	return 0;
}

/* An allowlist entry. */
static int parse_cidr(const char *tok, struct pr_cidr *c, char *err, size_t len)
{
	return pr_cidr_parse("--allow", tok, c, err, len);
}

int pr_name_check(const char *tok, char *err, size_t len)
{
	if (!*tok || strlen(tok) >= PR_NAME_LEN)
		return pr_perr(err, len, "bad name '%s' (1-%d characters)", tok, PR_NAME_LEN - 1);
	for (const char *p = tok; *p; p++)
		if (!(*p == '-' || *p == '_' || *p == '.' || (*p >= '0' && *p <= '9') ||
		      (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return pr_perr(err, len, "bad name '%s' (letters, digits, '-', '_', '.')", tok);
	return 0;
}

/* PROTO LISTEN [TARGET] into s: every check that needs no map. Without a
 * target (del), a bare ":PORT" leaves the family 0. */
static int spec_from_words(const char *proto, const char *listen, const char *target, struct pr_rule_spec *s,
			   char *err, size_t len)
{
	struct ep l, t;

	if (parse_proto(proto, &s->key.proto, err, len) || parse_endpoint(listen, false, "listen", &l, err, len) ||
	    (target && parse_endpoint(target, true, "target", &t, err, len)))
		return -EINVAL;
	s->key.addr = l.addr;
	s->key.port = htons(l.star ? 0 : l.lo);
	s->port_last = l.star ? 0 : l.hi;
	s->key.family = l.family;
	if (!target)
		return 0;
	if (t.noport && !l.star)
		return pr_perr(err, len, "missing target port in '%s' (expected ADDR:PORT)", target);
	/* Mixed families would be NAT64, which portredir does not do. */
	if (l.family && l.family != t.family)
		return pr_perr(err, len, "mixed address families: listen '%s' is IPv%u, target '%s' is IPv%u (no NAT64)",
			    listen, l.family, target, t.family);
	s->key.family = t.family;
	s->target = t.addr;
	if (t.noport || t.star) {
		s->target_port = 0; /* each packet keeps its port */
	} else if (l.star) {
		s->target_port = htons(t.lo);
		if (t.hi != t.lo)
			return pr_perr(err, len, "a ':*' listen takes one target port or none, not the range in '%s'",
				    target);
	} else {
		s->target_port = htons(t.lo);
		if (t.hi != t.lo) {
			if (t.hi - t.lo != l.hi - l.lo)
				return pr_perr(err, len,
					    "ranges of unequal length: listen '%s' has %u ports, target '%s' has %u",
					    listen, l.hi - l.lo + 1, target, t.hi - t.lo + 1);
			s->target_port_last = t.hi;
		}
	}
	return 0;
}

int pr_spec_parse_listen(const char *proto, const char *listen, struct pr_rule_spec *s, char *err, size_t len)
{
	memset(s, 0, sizeof(*s));
	return spec_from_words(proto, listen, NULL, s, err, len);
}

int pr_spec_parse_at(int argc, char *const *argv, struct pr_rule_spec *s, bool *replace, int where[3], char *err,
		     size_t len)
{
	const char *pos[3], *deny = NULL, *allow_tok[PR_ALLOW_MAX];
	struct pr_nat_words nw = {};
	int npos = 0, r;

	memset(s, 0, sizeof(*s));
	if (replace)
		*replace = false;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		r = pr_nat_word(argc, argv, &i, &nw, err, len);
		if (r < 0)
			return r;
		if (r)
			continue;
		if (strcmp(a, "--replace") == 0) {
			if (replace)
				*replace = true;
		} else if (strcmp(a, "--name") == 0) {
			if (i + 1 >= argc)
				return pr_perr(err, len, "--name needs a value");
			if (s->name[0])
				return pr_twice(err, len, a, s->name, argv[i + 1]);
			if (pr_name_check(argv[++i], err, len))
				return -EINVAL;
			snprintf(s->name, sizeof(s->name), "%s", argv[i]);
		} else if (strcmp(a, "--allow") == 0) {
			if (i + 1 >= argc)
				return pr_perr(err, len, "--allow needs a CIDR");
			if (s->allow_count == PR_ALLOW_MAX)
				return pr_perr(err, len, "too many --allow (at most %d): '%s'", PR_ALLOW_MAX, argv[i + 1]);
			allow_tok[s->allow_count] = argv[++i];
			if (parse_cidr(argv[i], &s->allow[s->allow_count], err, len))
				return -EINVAL;
			s->allow_count++;
		} else if (strcmp(a, "--deny-action") == 0) {
			if (i + 1 >= argc)
				return pr_perr(err, len, "--deny-action needs pass or drop");
			if (deny)
				return pr_twice(err, len, a, deny, argv[i + 1]);
			deny = argv[++i];
			if (strcmp(deny, "pass") && strcmp(deny, "drop"))
				return pr_perr(err, len, "unknown --deny-action '%s' (expected pass or drop)", deny);
		} else if (a[0] == '-' && a[1]) {
			return pr_perr(err, len, "unknown option '%s'", a);
		} else if (npos < 3) {
			where[npos] = i;
			pos[npos++] = a;
		} else {
			return pr_perr(err, len, "unexpected argument '%s'", a);
		}
	}
	if (npos < 3)
		return pr_perr(err, len, "missing %s (expected PROTO LISTEN TARGET)",
			    npos == 0 ? "PROTO" : npos == 1 ? "LISTEN" : "TARGET");
	if (spec_from_words(pos[0], pos[1], pos[2], s, err, len))
		return -EINVAL;
	if (deny && !s->allow_count)
		return pr_perr(err, len, "--deny-action '%s' needs --allow", deny);
	s->deny_drop = !deny || strcmp(deny, "drop") == 0;
	for (int i = 0; i < s->allow_count; i++)
		if (s->allow[i].family != s->key.family)
			return pr_perr(err, len, "--allow '%s' is IPv%u but the rule is IPv%u", allow_tok[i],
				    s->allow[i].family, s->key.family);
	return pr_nat_apply(&nw, s, err, len);
}

int pr_spec_parse(int argc, char *const *argv, struct pr_rule_spec *s, bool *replace, char *err, size_t len)
{
	int where[3];

	return pr_spec_parse_at(argc, argv, s, replace, where, err, len);
}
