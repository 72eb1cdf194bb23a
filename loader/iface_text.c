// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The interface syntax: attach's arguments and a config file's interface lines, parsed (pr_iface_parse) and written back (pr_iface_line, for save). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "libportredir.h"
#include "internal.h"

const char *pr_mode_name(enum pr_mode m)
{
	switch (m) {
	case PR_MODE_NATIVE: return "native";
	case PR_MODE_GENERIC: return "generic";
	case PR_MODE_TC: return "tc";
	default: return "none";
	}
}

int pr_iface_parse(int argc, char *const *argv, struct pr_iface_spec *s, char *err, size_t len)
{
	const char *name = NULL, *max_tok = NULL, *mode_tok = NULL;

	memset(s, 0, sizeof(*s));
	s->req = PR_REQ_AUTO;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--max-rules") == 0 || strncmp(a, "--max-rules=", 12) == 0) {
			const char *v = a[11] == '=' ? a + 12 : (i + 1 < argc ? argv[++i] : NULL);
			unsigned long n = 0;
			const char *p;

			if (!v)
				return pr_perr(err, len, "--max-rules needs a number (1-%u)", PR_MAX_RULES_LIMIT);
			if (max_tok)
				return pr_twice(err, len, "--max-rules", max_tok, v);
			max_tok = v;
			for (p = v; *p >= '0' && *p <= '9' && n <= PR_MAX_RULES_LIMIT; p++)
				n = n * 10 + (*p - '0');
			if (!*v || *p || n < 1 || n > PR_MAX_RULES_LIMIT)
				return pr_perr(err, len, "bad --max-rules '%s' (expected 1-%u)", v, PR_MAX_RULES_LIMIT);
			s->max_rules = n;
		} else if (strcmp(a, "--mode") == 0 || strncmp(a, "--mode=", 7) == 0) {
			const char *m = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);

			if (!m)
				return pr_perr(err, len, "--mode needs a value (auto, native, generic or tc)");
			if (mode_tok)
				return pr_twice(err, len, "--mode", mode_tok, m);
			mode_tok = m;
			if (strcmp(m, "auto") == 0)
				s->req = PR_REQ_AUTO;
			else if (strcmp(m, "native") == 0)
				s->req = PR_REQ_NATIVE;
			else if (strcmp(m, "generic") == 0)
				s->req = PR_REQ_GENERIC;
			else if (strcmp(m, "tc") == 0)
				s->req = PR_REQ_TC;
			else
				return pr_perr(err, len, "unknown mode '%s' (expected auto, native, generic or tc)", m);
		} else if (strcmp(a, "--via-stack") == 0) {
			s->flags |= PR_ATTACH_VIA_STACK;
		} else if (strcmp(a, "--allow-threaded-napi") == 0) {
			s->flags |= PR_ATTACH_THREADED_OK;
		} else if (a[0] == '-') {
			return pr_perr(err, len, "unknown option '%s'", a);
		} else if (!name) {
			name = a;
		} else {
			return pr_perr(err, len, "unexpected argument '%s'", a);
		}
	}
	if (!name)
		return pr_perr(err, len, "missing IFACE");
	if (strlen(name) >= sizeof(s->name) || strchr(name, '/'))
		return pr_perr(err, len, "bad interface name '%s' (at most %zu characters, no '/')", name,
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
		return pr_perr(err, elen, "interface name '%s' has both quote characters: no config line can name it",
			    name);
	if (!ret && name[0] == '-')
		return pr_perr(err, elen, "interface name '%s' starts with '-': no config line can name it", name);
	if (!ret && !(rec->flags & PR_IF_AUTO)) {
		ret = put_word(buf, len, &n, "--mode");
		if (!ret)
			ret = put_word(buf, len, &n, pr_mode_name(rec->mode));
	}
	if (!ret && (rec->flags & PR_IF_VIA_STACK))
		ret = put_word(buf, len, &n, "--via-stack");
	if (!ret && (rec->flags & PR_IF_THREADED_OK))
		ret = put_word(buf, len, &n, "--allow-threaded-napi");
	if (!ret && max_rules) {
		snprintf(num, sizeof(num), "%u", max_rules);
		ret = put_word(buf, len, &n, "--max-rules");
		if (!ret)
			ret = put_word(buf, len, &n, num);
	}
	return ret;
}
