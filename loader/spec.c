// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The rule and config syntax: one parser for `add`'s and `attach`'s arguments, `del`'s listen and every line of an `apply` file, and its inverse for `save`. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "libportredir.h"
#include "internal.h"

/* Set err (one line naming the bad token) and return -EINVAL. */
static int perr(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_proto(const char *tok, __u8 *proto, char *err, size_t len)
{
	if (strcmp(tok, "tcp") == 0)
		*proto = IPPROTO_TCP;
	else if (strcmp(tok, "udp") == 0)
		*proto = IPPROTO_UDP;
	else if (strcmp(tok, "any") == 0)
		*proto = 0;
	else
		return perr(err, len, "unknown protocol '%s' (expected tcp, udp or any)", tok);
	return 0;
}

static int parse_port(const char *tok, const char *whole, __u16 *port, char *err, size_t len)
{
	unsigned long v = 0;
	const char *p;

	if (!*tok)
		return perr(err, len, "missing port in '%s'", whole);
	for (p = tok; *p; p++) {
		if (*p < '0' || *p > '9' || p - tok > 6)
			return perr(err, len, "bad port '%s' in '%s' (expected 1-65535)", tok, whole);
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > 65535)
		return perr(err, len, "bad port '%s' in '%s' (expected 1-65535)", tok, whole);
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
		return perr(err, len, "bad port '%s' in '%s' (expected 1-65535)", tok, whole);
	memcpy(lo, tok, dash - tok);
	lo[dash - tok] = 0;
	if (parse_port(lo, whole, &e->lo, err, len) || parse_port(dash + 1, whole, &e->hi, err, len))
		return -EINVAL;
	if (e->lo > e->hi)
		return perr(err, len, "bad port range '%s' in '%s' (first port above last)", tok, whole);
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
			return perr(err, len, "bad %s '%s' (missing ']')", what, tok);
		if (close[1] != ':' && !(close[1] == 0 && need_addr))
			return perr(err, len, "missing %s port in '%s' (expected [ADDR]:PORT)", what, tok);
		hl = close - host;
		colon = close[1] ? close + 1 : NULL;
		if (hl >= sizeof(buf))
			return perr(err, len, "bad %s address in '%s'", what, tok);
		memcpy(buf, host, hl);
		buf[hl] = 0;
		if (inet_pton(AF_INET6, buf, e->addr.b) != 1)
			return perr(err, len, "bad %s IPv6 address '%s' in '%s'", what, buf, tok);
		e->family = PR_AF_INET6;
	} else {
		colon = strrchr(tok, ':');
		if (colon && strchr(tok, ':') != colon)
			return perr(err, len, "bad %s '%s' (write IPv6 as [ADDR]:PORT)", what, tok);
		if (!colon && !need_addr)
			return perr(err, len, "missing %s port in '%s' (expected [ADDR]:PORT)", what, tok);
		hl = colon ? (size_t)(colon - tok) : strlen(tok);
		if (hl >= sizeof(buf))
			return perr(err, len, "bad %s address in '%s'", what, tok);
		memcpy(buf, tok, hl);
		buf[hl] = 0;
		if (hl) {
			if (inet_pton(AF_INET, buf, &e->addr.v4) != 1)
				return perr(err, len, "bad %s address '%s' in '%s'", what, buf, tok);
			e->family = PR_AF_INET;
		}
	}
	if (need_addr && (!e->family || (e->addr.v6[0] | e->addr.v6[1] | e->addr.v6[2] | e->addr.v6[3]) == 0))
		return perr(err, len, "%s '%s' needs an address (ADDR:PORT)", what, tok);
	if (!colon) {
		e->noport = true;
		return 0;
	}
	return parse_ports(colon + 1, tok, e, err, len);
}

/* "ADDR/LEN" or "ADDR" (a host) as an allowlist entry. */
static int parse_cidr(const char *tok, struct pr_cidr *c, char *err, size_t len)
{
	const char *slash = strchr(tok, '/');
	size_t hl = slash ? (size_t)(slash - tok) : strlen(tok);
	unsigned long plen;
	char buf[64], *end;
	int max;

	memset(c, 0, sizeof(*c));
	if (hl >= sizeof(buf))
		return perr(err, len, "bad --allow '%s'", tok);
	memcpy(buf, tok, hl);
	buf[hl] = 0;
	if (inet_pton(AF_INET, buf, &c->addr.v4) == 1)
		c->family = PR_AF_INET;
	else if (inet_pton(AF_INET6, buf, c->addr.b) == 1)
		c->family = PR_AF_INET6;
	else
		return perr(err, len, "bad --allow address '%s' in '%s'", buf, tok);
	max = c->family == PR_AF_INET ? 32 : 128;
	plen = max;
	if (slash) {
		errno = 0;
		plen = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || plen > (unsigned long)max)
			return perr(err, len, "bad --allow prefix length in '%s' (0-%d)", tok, max);
	}
	c->len = plen;
	/* keep the network part only, as it will be shown */
	for (int bit = plen; bit < 128; bit++)
		c->addr.b[bit / 8] &= ~(0x80 >> (bit % 8));
	return 0;
}

int pr_name_check(const char *tok, char *err, size_t len)
{
	if (!*tok || strlen(tok) >= PR_NAME_LEN)
		return perr(err, len, "bad name '%s' (1-%d characters)", tok, PR_NAME_LEN - 1);
	for (const char *p = tok; *p; p++)
		if (!(*p == '-' || *p == '_' || *p == '.' || (*p >= '0' && *p <= '9') ||
		      (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return perr(err, len, "bad name '%s' (letters, digits, '-', '_', '.')", tok);
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
		return perr(err, len, "missing target port in '%s' (expected ADDR:PORT)", target);
	/* Mixed families would be NAT64, which portredir does not do. */
	if (l.family && l.family != t.family)
		return perr(err, len, "mixed address families: listen '%s' is IPv%u, target '%s' is IPv%u (no NAT64)",
			    listen, l.family, target, t.family);
	s->key.family = t.family;
	s->target = t.addr;
	if (t.noport || t.star) {
		s->target_port = 0; /* each packet keeps its port */
	} else if (l.star) {
		s->target_port = htons(t.lo);
		if (t.hi != t.lo)
			return perr(err, len, "a ':*' listen takes one target port or none, not the range in '%s'",
				    target);
	} else {
		s->target_port = htons(t.lo);
		if (t.hi != t.lo) {
			if (t.hi - t.lo != l.hi - l.lo)
				return perr(err, len,
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

/* pr_spec_parse, also telling where PROTO, LISTEN and TARGET were in argv. */
static int spec_parse(int argc, char *const *argv, struct pr_rule_spec *s, bool *replace, int where[3], char *err,
		      size_t len)
{
	const char *pos[3], *deny = NULL, *allow_tok[PR_ALLOW_MAX];
	int npos = 0;

	memset(s, 0, sizeof(*s));
	if (replace)
		*replace = false;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--replace") == 0) {
			if (replace)
				*replace = true;
		} else if (strcmp(a, "--name") == 0) {
			if (i + 1 >= argc)
				return perr(err, len, "--name needs a value");
			if (pr_name_check(argv[++i], err, len))
				return -EINVAL;
			snprintf(s->name, sizeof(s->name), "%s", argv[i]);
		} else if (strcmp(a, "--allow") == 0) {
			if (i + 1 >= argc)
				return perr(err, len, "--allow needs a CIDR");
			if (s->allow_count == PR_ALLOW_MAX)
				return perr(err, len, "too many --allow (at most %d): '%s'", PR_ALLOW_MAX, argv[i + 1]);
			allow_tok[s->allow_count] = argv[++i];
			if (parse_cidr(argv[i], &s->allow[s->allow_count], err, len))
				return -EINVAL;
			s->allow_count++;
		} else if (strcmp(a, "--deny-action") == 0) {
			if (i + 1 >= argc)
				return perr(err, len, "--deny-action needs pass or drop");
			deny = argv[++i];
			if (strcmp(deny, "pass") && strcmp(deny, "drop"))
				return perr(err, len, "unknown --deny-action '%s' (expected pass or drop)", deny);
		} else if (a[0] == '-' && a[1]) {
			return perr(err, len, "unknown option '%s'", a);
		} else if (npos < 3) {
			where[npos] = i;
			pos[npos++] = a;
		} else {
			return perr(err, len, "unexpected argument '%s'", a);
		}
	}
	if (npos < 3)
		return perr(err, len, "missing %s (expected PROTO LISTEN TARGET)",
			    npos == 0 ? "PROTO" : npos == 1 ? "LISTEN" : "TARGET");
	if (spec_from_words(pos[0], pos[1], pos[2], s, err, len))
		return -EINVAL;
	if (deny && !s->allow_count)
		return perr(err, len, "--deny-action '%s' needs --allow", deny);
	s->deny_drop = !deny || strcmp(deny, "drop") == 0;
	for (int i = 0; i < s->allow_count; i++)
		if (s->allow[i].family != s->key.family)
			return perr(err, len, "--allow '%s' is IPv%u but the rule is IPv%u", allow_tok[i],
				    s->allow[i].family, s->key.family);
	return 0;
}

int pr_spec_parse(int argc, char *const *argv, struct pr_rule_spec *s, bool *replace, char *err, size_t len)
{
	int where[3];

	return spec_parse(argc, argv, s, replace, where, err, len);
}

/* ---- interfaces: attach's arguments, a config file's interface lines ---- */

int pr_iface_parse(int argc, char *const *argv, struct pr_iface_spec *s, char *err, size_t len)
{
	const char *name = NULL;

	memset(s, 0, sizeof(*s));
	s->req = PR_REQ_AUTO;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--max-rules") == 0 || strncmp(a, "--max-rules=", 12) == 0) {
			const char *v = a[11] == '=' ? a + 12 : (i + 1 < argc ? argv[++i] : NULL);
			unsigned long n = 0;
			const char *p;

			if (!v)
				return perr(err, len, "--max-rules needs a number (1-%u)", PR_MAX_RULES_LIMIT);
			for (p = v; *p >= '0' && *p <= '9' && n <= PR_MAX_RULES_LIMIT; p++)
				n = n * 10 + (*p - '0');
			if (!*v || *p || n < 1 || n > PR_MAX_RULES_LIMIT)
				return perr(err, len, "bad --max-rules '%s' (expected 1-%u)", v, PR_MAX_RULES_LIMIT);
			s->max_rules = n;
		} else if (strcmp(a, "--mode") == 0 || strncmp(a, "--mode=", 7) == 0) {
			const char *m = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);

			if (!m)
				return perr(err, len, "--mode needs a value (auto, native, generic or tc)");
			if (strcmp(m, "auto") == 0)
				s->req = PR_REQ_AUTO;
			else if (strcmp(m, "native") == 0)
				s->req = PR_REQ_NATIVE;
			else if (strcmp(m, "generic") == 0)
				s->req = PR_REQ_GENERIC;
			else if (strcmp(m, "tc") == 0)
				s->req = PR_REQ_TC;
			else
				return perr(err, len, "unknown mode '%s' (expected auto, native, generic or tc)", m);
		} else if (strcmp(a, "--via-stack") == 0) {
			s->flags |= PR_ATTACH_VIA_STACK;
		} else if (a[0] == '-') {
			return perr(err, len, "unknown option '%s'", a);
		} else if (!name) {
			name = a;
		} else {
			return perr(err, len, "unexpected argument '%s'", a);
		}
	}
	if (!name)
		return perr(err, len, "missing IFACE");
	if (strlen(name) >= sizeof(s->name) || strchr(name, '/'))
		return perr(err, len, "bad interface name '%s' (at most %zu characters, no '/')", name,
			    sizeof(s->name) - 1);
	snprintf(s->name, sizeof(s->name), "%s", name);
	return 0;
}

/* ---- the config format, written (save) ---- */

/* Append word w to buf at *n, quoted when the reader would otherwise split
 * it, take it for a comment or strip a quote. */
static int put_word(char *buf, size_t len, size_t *n, const char *w)
{
	bool plain = *w && *w != '#' && *w != '\'' && *w != '"' && !strpbrk(w, " \t\r\n");
	char q = !strchr(w, '\'') ? '\'' : '"';
	int k;

	if (!plain && strchr(w, q))
		return -EINVAL; /* both quote characters: no quoting reads back */
	if (plain)
		k = snprintf(buf + *n, len - *n, "%s%s", *n ? " " : "", w);
	else
		k = snprintf(buf + *n, len - *n, "%s%c%s%c", *n ? " " : "", q, w, q);
	if (k < 0 || (size_t)k >= len - *n)
		return -ENOSPC;
	*n += k;
	return 0;
}

int pr_iface_line(const struct pr_iface *rec, __u32 max_rules, char *buf, size_t len, char *err, size_t elen)
{
	char name[PR_IFNAME_LEN + 1], num[16];
	size_t n = 0;
	int ret;

	if (!len)
		return -ENOSPC;
	buf[0] = 0;
	snprintf(name, sizeof(name), "%.*s", (int)sizeof(rec->name), rec->name);
	ret = put_word(buf, len, &n, "interface");
	if (!ret)
		ret = put_word(buf, len, &n, name);
	if (ret == -EINVAL)
		return perr(err, elen, "interface name '%s' has both quote characters: no config line can name it",
			    name);
	if (!ret && name[0] == '-')
		return perr(err, elen, "interface name '%s' starts with '-': no config line can name it", name);
	if (!ret && !(rec->flags & PR_IF_AUTO)) {
		ret = put_word(buf, len, &n, "--mode");
		if (!ret)
			ret = put_word(buf, len, &n, pr_mode_name(rec->mode));
	}
	if (!ret && (rec->flags & PR_IF_VIA_STACK))
		ret = put_word(buf, len, &n, "--via-stack");
	if (!ret && max_rules) {
		snprintf(num, sizeof(num), "%u", max_rules);
		ret = put_word(buf, len, &n, "--max-rules");
		if (!ret)
			ret = put_word(buf, len, &n, num);
	}
	return ret;
}

/* "ADDR" for IPv4 ("" for any when blank_any), "[ADDR6]" for IPv6. */
static void addr_text(char *buf, size_t len, __u8 family, const union pr_addr *a, bool blank_any)
{
	char ip[INET6_ADDRSTRLEN] = "";

	if (family == PR_AF_INET6) {
		inet_ntop(AF_INET6, a->b, ip, sizeof(ip));
		snprintf(buf, len, "[%s]", ip);
		return;
	}
	if (!blank_any || a->v4)
		inet_ntop(AF_INET, &a->v4, ip, sizeof(ip));
	snprintf(buf, len, "%s", ip);
}

/* ":*" for port 0, ":LO" when hi is 0 or lo, else ":LO-HI". */
static void ports_text(char *buf, size_t len, const char *ip, __u16 lo, __u16 hi)
{
	if (!lo)
		snprintf(buf, len, "%s:*", ip);
	else if (!hi || hi == lo)
		snprintf(buf, len, "%s:%u", ip, lo);
	else
		snprintf(buf, len, "%s:%u-%u", ip, lo, hi);
}

int pr_rule_line(const struct pr_rule_meta *m, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN + 2], listen[80], target[80], cidr[INET6_ADDRSTRLEN + 8];
	const char *proto = m->key.proto == IPPROTO_TCP ? "tcp" : m->key.proto == IPPROTO_UDP ? "udp" : "any";
	size_t n = 0;
	int ret;

	if (!len)
		return -ENOSPC;
	buf[0] = 0;
	addr_text(ip, sizeof(ip), m->key.family, &m->key.addr, true);
	ports_text(listen, sizeof(listen), ip, ntohs(m->key.port), m->port_last);
	addr_text(ip, sizeof(ip), m->key.family, &m->rule.target, false);
	if (!m->key.port && !m->rule.target_port)
		snprintf(target, sizeof(target), "%s", ip); /* a DMZ keeping ports: the bare address */
	else
		ports_text(target, sizeof(target), ip, ntohs(m->rule.target_port), m->target_port_last);
	ret = put_word(buf, len, &n, proto);
	if (!ret)
		ret = put_word(buf, len, &n, listen);
	if (!ret)
		ret = put_word(buf, len, &n, target);
	if (!ret && m->name[0]) {
		char name[PR_NAME_LEN + 1];

		snprintf(name, sizeof(name), "%.*s", PR_NAME_LEN, m->name);
		ret = put_word(buf, len, &n, "--name");
		if (!ret)
			ret = put_word(buf, len, &n, name);
	}
	for (int i = 0; !ret && i < m->allow_count && i < PR_ALLOW_MAX; i++) {
		const struct pr_cidr *c = &m->allow[i];

		inet_ntop(c->family == PR_AF_INET ? AF_INET : AF_INET6, c->addr.b, ip, sizeof(ip));
		snprintf(cidr, sizeof(cidr), "%s/%u", ip, c->len);
		ret = put_word(buf, len, &n, "--allow");
		if (!ret)
			ret = put_word(buf, len, &n, cidr);
	}
	/* drop is the default with an allowlist */
	if (!ret && m->allow_count && !(m->rule.flags & PR_RULE_F_DENY_DROP)) {
		ret = put_word(buf, len, &n, "--deny-action");
		if (!ret)
			ret = put_word(buf, len, &n, "pass");
	}
	return ret;
}

/* ---- apply files ---- */

#define MAX_WORDS 64

/* Split line into words in place: blanks separate them, a word starting
 * with '#' starts a comment, and a word may be wrapped in '...' or "..."
 * as a shell would take it. Returns the word count or -EINVAL. */
static int split_words(char *line, char **w, char *err, size_t len)
{
	int n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p || *p == '#')
			return n;
		if (n == MAX_WORDS)
			return perr(err, len, "too many words (at most %d): '%s'", MAX_WORDS, p);
		if (*p == '\'' || *p == '"') {
			char q = *p, *end = strchr(p + 1, q);

			if (!end)
				return perr(err, len, "unterminated quote in '%s'", p);
			w[n++] = p + 1;
			*end = 0;
			p = end + 1;
			if (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
				return perr(err, len, "a quoted word must end at a blank: '%s'", w[n - 1]);
			continue;
		}
		w[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			p++;
		if (*p)
			*p++ = 0;
	}
}

/* Where a rule came from: line and "PROTO LISTEN" as written (snprintf
 * would cost more than the parse at 100,000 lines). */
static void src_text(struct pr_rule_src *src, unsigned int line, const char *proto, const char *listen)
{
	size_t lp = strlen(proto), ll = strlen(listen), room = sizeof(src->listen) - 1;

	src->line = line;
	lp = lp < room ? lp : room;
	memcpy(src->listen, proto, lp);
	if (lp < room)
		src->listen[lp++] = ' ';
	ll = ll < room - lp ? ll : room - lp;
	memcpy(src->listen + lp, listen, ll);
	src->listen[lp + ll] = 0;
}

/* An interface line's words after "interface", appended to rs->ifaces. */
static int add_iface(struct pr_ruleset *rs, int argc, char *const *argv, unsigned int line, char *err,
		     size_t len)
{
	struct pr_iface_spec s, *nv;

	if (pr_iface_parse(argc, argv, &s, err, len))
		return -EINVAL;
	s.line = line;
	nv = realloc(rs->ifaces, (rs->nifaces + 1) * sizeof(*nv));
	if (!nv) {
		perr(err, len, "out of memory reading interfaces");
		return -ENOMEM;
	}
	rs->ifaces = nv;
	rs->ifaces[rs->nifaces++] = s;
	return 0;
}

int pr_ruleset_read(FILE *f, struct pr_ruleset *rs, unsigned int *bad_line, char *err, size_t len)
{
	struct pr_rule_spec s;
	char *line = NULL, *w[MAX_WORDS];
	size_t cap = 0, lcap = 0;
	int pos[3];
	unsigned int lineno = 0;
	ssize_t got;
	int n, ret = 0;

	memset(rs, 0, sizeof(*rs));
	*bad_line = 0;
	while ((got = getline(&line, &lcap, f)) >= 0) {
		lineno++;
		while (got && (line[got - 1] == '\n' || line[got - 1] == '\r'))
			line[--got] = 0;
		if (memchr(line, 0, got)) {
			ret = perr(err, len, "a NUL byte in the line");
			goto fail;
		}
		n = split_words(line, w, err, len);
		if (n < 0) {
			ret = n;
			goto fail;
		}
		if (n == 0)
			continue;
		if (strcmp(w[0], "interface") == 0) {
			ret = add_iface(rs, n - 1, w + 1, lineno, err, len);
			if (ret)
				goto fail;
			continue;
		}
		if (spec_parse(n, w, &s, NULL, pos, err, len)) {
			ret = -EINVAL;
			goto fail;
		}
		if (rs->n == cap) {
			size_t nc = cap ? cap * 2 : 1024;
			void *nr = realloc(rs->rules, nc * sizeof(*rs->rules)), *ns;

			if (nr)
				rs->rules = nr;
			ns = realloc(rs->src, nc * sizeof(*rs->src));
			if (ns)
				rs->src = ns;
			if (!nr || !ns) {
				perr(err, len, "out of memory reading rules");
				ret = -ENOMEM;
				goto fail;
			}
			cap = nc;
		}
		pr_meta_from_spec(&s, &rs->rules[rs->n]);
		src_text(&rs->src[rs->n], lineno, w[pos[0]], w[pos[1]]);
		rs->n++;
	}
	if (ferror(f)) {
		ret = perr(err, len, "read error after line %u", lineno);
		lineno = 0;
		goto fail;
	}
	free(line);
	return 0;
fail:
	*bad_line = lineno;
	free(line);
	pr_ruleset_free(rs);
	return ret;
}

void pr_ruleset_free(struct pr_ruleset *rs)
{
	free(rs->rules);
	free(rs->src);
	free(rs->ifaces);
	memset(rs, 0, sizeof(*rs));
}
