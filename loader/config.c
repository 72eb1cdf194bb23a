// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* apply files: splitting a line into words, rule and interface lines into a pr_ruleset, and the file's checks that need no map. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "libportredir.h"
#include "internal.h"

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
			return pr_perr(err, len, "too many words (at most %d): '%s'", MAX_WORDS, p);
		if (*p == '\'' || *p == '"') {
			char q = *p, *end = strchr(p + 1, q);

			if (!end)
				return pr_perr(err, len, "unterminated quote in '%s'", p);
			w[n++] = p + 1;
			*end = 0;
			p = end + 1;
			if (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
				return pr_perr(err, len, "a quoted word must end at a blank: '%s'", w[n - 1]);
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
		pr_perr(err, len, "out of memory reading interfaces");
		return -ENOMEM;
	}
	rs->ifaces = nv;
	rs->ifaces[rs->nifaces++] = s;
	return 0;
}

/* The `local` line: `attach --local`, local clients served with no
 * interface; it takes no words after it, and comes once. */
static int add_local(struct pr_ruleset *rs, int argc, char *const *argv, unsigned int line, char *err, size_t len)
{
	if (argc > 1)
		return pr_perr(err, len, "'%s' after 'local' (the line takes no options)", argv[1]);
	if (rs->local_line)
		return pr_perr(err, len, "'local' is already on line %u", rs->local_line);
	rs->local_line = line;
	return 0;
}

/* A rule line's words, appended to rs->rules and rs->src, which have room
 * for *cap rules (doubled when full). */
static int add_rule(struct pr_ruleset *rs, size_t *cap, int argc, char *const *argv, unsigned int line, char *err,
		    size_t len)
{
	struct pr_rule_spec s;
	int pos[3];

	if (pr_spec_parse_at(argc, argv, &s, NULL, pos, err, len))
		return -EINVAL;
	if (rs->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 1024;
		void *nr = realloc(rs->rules, nc * sizeof(*rs->rules)), *ns;

		if (nr)
			rs->rules = nr;
		ns = realloc(rs->src, nc * sizeof(*rs->src));
		if (ns)
			rs->src = ns;
		if (!nr || !ns) {
			pr_perr(err, len, "out of memory reading rules");
			return -ENOMEM;
		}
		*cap = nc;
	}
	pr_meta_from_spec(&s, &rs->rules[rs->n]);
	src_text(&rs->src[rs->n], line, argv[pos[0]], argv[pos[1]]);
	rs->n++;
	return 0;
}

/* A UTF-8 byte-order mark opening the file (what some editors write) is
 * no word of it: dropped. A UTF-16 one means a file in an encoding this
 * parser does not read: refused, saying so, rather than as a NUL byte. */
static int skip_bom(char *line, ssize_t *got, char *err, size_t len)
{
	const unsigned char *u = (const unsigned char *)line;

	if (*got >= 3 && u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf) {
		memmove(line, line + 3, *got - 2);
		*got -= 3;
		return 0;
	}
	if (*got >= 2 && ((u[0] == 0xff && u[1] == 0xfe) || (u[0] == 0xfe && u[1] == 0xff)))
		return pr_perr(err, len, "the file is UTF-16 (byte-order mark %02X %02X): write it as UTF-8 or ASCII",
			       u[0], u[1]);
	return 0;
}

int pr_ruleset_read(FILE *f, struct pr_ruleset *rs, unsigned int *bad_line, char *err, size_t len)
{
	char *line = NULL, *w[MAX_WORDS];
	size_t cap = 0, lcap = 0;
	unsigned int lineno = 0;
	ssize_t got;
	int n, ret = 0;

	memset(rs, 0, sizeof(*rs));
	*bad_line = 0;
	while ((got = getline(&line, &lcap, f)) >= 0) {
		lineno++;
		while (got && (line[got - 1] == '\n' || line[got - 1] == '\r'))
			line[--got] = 0;
		if (lineno == 1) {
			ret = skip_bom(line, &got, err, len);
			if (ret)
				goto fail;
		}
		if (memchr(line, 0, got)) {
			ret = pr_perr(err, len, "a NUL byte in the line");
			goto fail;
		}
		n = split_words(line, w, err, len);
		if (n < 0) {
			ret = n;
			goto fail;
		}
		if (n == 0)
			continue;
		if (strcmp(w[0], "local") == 0) {
			ret = add_local(rs, n, w, lineno, err, len);
			if (ret)
				goto fail;
			continue;
		}
		if (strcmp(w[0], "interface") == 0) {
			ret = add_iface(rs, n - 1, w + 1, lineno, err, len);
			if (ret)
				goto fail;
			continue;
		}
		ret = add_rule(rs, &cap, n, w, lineno, err, len);
		if (ret)
			goto fail;
	}
	if (ferror(f)) {
		ret = pr_perr(err, len, "read error after line %u", lineno);
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

/* ---- checks of a file by itself ---- */

/* Interface lines among themselves: one line an interface, one capacity. */
static int check_ifaces(struct pr_ruleset *rs, unsigned int *bad_line, char *err, size_t len)
{
	rs->max_rules = 0;
	rs->max_rules_line = 0;
	for (size_t i = 0; i < rs->nifaces; i++) {
		const struct pr_iface_spec *s = &rs->ifaces[i];

		for (size_t j = 0; j < i; j++) {
			if (strcmp(rs->ifaces[j].name, s->name))
				continue;
			*bad_line = s->line;
			snprintf(err, len, "interface '%s' is already on line %u", s->name, rs->ifaces[j].line);
			return -EINVAL;
		}
		if (!s->max_rules)
			continue;
		if (rs->max_rules && s->max_rules != rs->max_rules) {
			*bad_line = s->line;
			snprintf(err, len, "--max-rules '%u' differs from --max-rules %u on line %u (the maps have one size)",
				 s->max_rules, rs->max_rules, rs->max_rules_line);
			return -EINVAL;
		}
		if (!rs->max_rules) {
			rs->max_rules = s->max_rules;
			rs->max_rules_line = s->line;
		}
	}
	return 0;
}

static int cmp_name(const void *x, const void *y)
{
	const struct pr_rule_meta *const *a = x, *const *b = y;
	int d = strncmp((*a)->name, (*b)->name, PR_NAME_LEN);

	return d ? d : (*a > *b) - (*a < *b); /* ties in file order */
}

/* Rule names: sorted, a repeat is next to its first use. named[0..nn) are
 * the rules of rs that have a name. */
static int check_names(const struct pr_ruleset *rs, const struct pr_rule_meta **named, size_t nn,
		       unsigned int *bad_line, char *err, size_t len)
{
	qsort(named, nn, sizeof(*named), cmp_name);
	for (size_t i = 1; i < nn; i++) {
		if (strncmp(named[i - 1]->name, named[i]->name, PR_NAME_LEN))
			continue;
		*bad_line = rs->src[named[i] - rs->rules].line;
		snprintf(err, len, "name '%.*s' is taken by line %u", PR_NAME_LEN, named[i]->name,
			 rs->src[named[i - 1] - rs->rules].line);
		return -EINVAL;
	}
	return 0;
}

/* Rule listens: sorted spans; within one (family, address, protocol) a span
 * overlaps another when it starts at or before the furthest end so far.
 * all[0..rs->n) are the rules of rs. */
static int check_listens(const struct pr_ruleset *rs, const struct pr_rule_meta **all, unsigned int *bad_line,
			 char *err, size_t len)
{
	struct pr_span *v = NULL, *top = NULL;
	size_t nv = 0;
	int ret;

	ret = pr_spans_build(all, rs->n, &v, &nv);
	if (ret) {
		snprintf(err, len, "out of memory checking %zu rules", rs->n);
		return ret;
	}
	for (size_t i = 0; i < nv; i++) {
		const struct pr_rule_src *a, *b;

		if (top && (top->family != v[i].family || top->proto != v[i].proto ||
			    memcmp(&top->addr, &v[i].addr, sizeof(top->addr))))
			top = NULL;
		if (top && v[i].lo <= top->hi) {
			a = &rs->src[top->idx];
			b = &rs->src[v[i].idx];
			if (a->line > b->line) {
				const struct pr_rule_src *t = a;

				a = b;
				b = t;
			}
			*bad_line = b->line;
			if (strcmp(a->listen, b->listen) == 0)
				snprintf(err, len, "listen '%s' is already on line %u", b->listen, a->line);
			else
				snprintf(err, len, "listen '%s' overlaps '%s' on line %u", b->listen, a->listen, a->line);
			ret = -EINVAL;
			break;
		}
		if (!top || v[i].hi > top->hi)
			top = &v[i];
	}
	free(v);
	return ret;
}

int pr_ruleset_check(struct pr_ruleset *rs, unsigned int *bad_line, char *err, size_t len)
{
	const struct pr_rule_meta **named = malloc((rs->n + 1) * sizeof(*named)), **all = NULL;
	size_t nn = 0;
	int ret = 0;

	*bad_line = 0;
	ret = check_ifaces(rs, bad_line, err, len);
	if (ret)
		goto out;
	all = malloc((rs->n + 1) * sizeof(*all));
	if (!named || !all) {
		ret = -ENOMEM;
		snprintf(err, len, "out of memory checking %zu rules", rs->n);
		goto out;
	}
	for (size_t i = 0; i < rs->n; i++) {
		all[i] = &rs->rules[i];
		if (rs->rules[i].name[0])
			named[nn++] = &rs->rules[i];
	}
	ret = check_names(rs, named, nn, bad_line, err, len);
	if (!ret)
		ret = check_listens(rs, all, bad_line, err, len);
	if (!ret)
		rs->checked = true;
out:
	free(named);
	free(all);
	return ret;
}

void pr_ruleset_free(struct pr_ruleset *rs)
{
	free(rs->rules);
	free(rs->src);
	free(rs->ifaces);
	memset(rs, 0, sizeof(*rs));
}
