// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The option parser: turns argv into a command's config struct by its option table, and prints usage and help from the same table. */
#include <errno.h>
#include <string.h>
#include "params.h"
#include "output.h"

#define HELP_COL 24 /* where help text starts in -h */
#define MAX_OPTS 32 /* options a table may hold */

const struct opt params_none[] = { { .type = OPT_END } };

/* "a, b or c" (sep ", ", last " or ") or "a|b|c" (both "|"). */
static void choices_text(char *buf, size_t len, const struct opt_choice *ch, const char *sep, const char *last)
{
	size_t n = 0;

	buf[0] = 0;
	for (int i = 0; ch[i].name && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%s", i == 0 ? "" : ch[i + 1].name ? sep : last, ch[i].name);
}

static bool takes_value(const struct opt *o)
{
	return o->type == OPT_WORDS ? (o->flags & OPT_VALUE) != 0 : o->type != OPT_FLAG;
}

static const struct opt *find_long(const struct opt *opts, const char *word, size_t len)
{
	for (const struct opt *o = opts; o->type != OPT_END; o++)
		if (!(o->flags & OPT_POS) && strlen(o->name) == len && strncmp(o->name, word, len) == 0)
			return o;
	return NULL;
}

static const struct opt *find_short(const struct opt *opts, char c)
{
	for (const struct opt *o = opts; o->type != OPT_END; o++)
		if (o->short_name && o->short_name == c)
			return o;
	return NULL;
}

static const struct opt *nth_positional(const struct opt *opts, int n)
{
	for (const struct opt *o = opts; o->type != OPT_END; o++)
		if ((o->flags & OPT_POS) && n-- == 0)
			return o;
	return NULL;
}

static int add_word(struct opt_words *w, const char *word)
{
	if (w->n == OPT_WORDS_MAX)
		return out_err(-EINVAL, "too many words, at '%s' (at most %d)", word, OPT_WORDS_MAX);
	w->v[w->n++] = (char *)word;
	return 0;
}

/* Store one value of o into cfg, checking numbers and choices. */
static int set_value(const struct opt *o, const char *val, void *cfg)
{
	char *dst = (char *)cfg + o->off, list[128];
	int i;

	switch (o->type) {
	case OPT_FLAG:
		*(bool *)dst = true;
		return 0;
	case OPT_STRING:
		*(const char **)dst = val;
		return 0;
	case OPT_ENUM:
		for (i = 0; o->choices[i].name; i++)
			if (strcmp(val, o->choices[i].name) == 0) {
				*(int *)dst = o->choices[i].value;
				return 0;
			}
		choices_text(list, sizeof(list), o->choices, ", ", " or ");
		/* "unknown mode 'x'": the option's name without its dashes */
		return out_err(-EINVAL, "unknown %s '%s' (expected %s)", o->name + strspn(o->name, "-"), val, list);
	case OPT_WORDS:
		if (!(o->flags & OPT_POS) && add_word((struct opt_words *)dst, o->name))
			return -EINVAL;
		return val ? add_word((struct opt_words *)dst, val) : 0;
	case OPT_END:
		break;
	}
	return -EINVAL;
}

static int missing_value(const struct opt *o)
{
	char list[128];

	if (o->type == OPT_ENUM) {
		choices_text(list, sizeof(list), o->choices, ", ", " or ");
		return out_err(-EINVAL, "%s needs a value (%s)", o->name, list);
	}
	return out_err(-EINVAL, "%s needs a value", o->name);
}

/* An option that takes one value, given before: where its first value is
 * kept, to name both. OPT_WORDS options are the loader grammar's to check. */
static const char *earlier_value(const struct opt *o, const void *cfg)
{
	const char *dst = (const char *)cfg + o->off;

	if (o->type == OPT_STRING)
		return *(const char *const *)dst;
	if (o->type == OPT_ENUM)
		for (int i = 0; o->choices[i].name; i++)
			if (o->choices[i].value == *(const int *)dst)
				return o->choices[i].name;
	return "";
}

/* One long option word (argv[*i], maybe "--opt=value"), consuming its value.
 * given[] marks the options of opts seen so far: one that takes a single
 * value may not come twice. */
static int parse_long(const struct opt *opts, int argc, char **argv, int *i, void *cfg, const struct opt **seen,
		      const bool *given)
{
	const char *a = argv[*i], *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL, *val = NULL;
	const struct opt *o = find_long(opts, a, eq ? (size_t)(eq - a) : strlen(a));

	if (!o)
		return out_err(-EINVAL, "unknown option '%s'", a);
	*seen = o;
	if (!takes_value(o)) {
		if (eq)
			return out_err(-EINVAL, "%s takes no value: '%s'", o->name, a);
		return set_value(o, NULL, cfg);
	}
	if (eq)
		val = eq + 1;
	else if (*i + 1 < argc)
		val = argv[++*i];
	if (!val && o->type == OPT_WORDS)
		return set_value(o, NULL, cfg); /* the grammar's owner says what it needs */
	if (!val)
		return missing_value(o);
	if (given[o - opts] && o->type != OPT_WORDS)
		return out_err(-EINVAL, "%s given twice ('%s', then '%s')", o->name, earlier_value(o, cfg), val);
	return set_value(o, val, cfg);
}

static void mark(const struct opt *opts, const struct opt *o, bool *seen)
{
	seen[o - opts] = true;
}

/* "PROTO LISTEN TARGET" */
static void positionals(char *buf, size_t len, const struct opt *opts)
{
	size_t n = 0;

	buf[0] = 0;
	for (const struct opt *o = opts; o->type != OPT_END && n < len; o++)
		if (o->flags & OPT_POS)
			n += snprintf(buf + n, len - n, "%s%s", n ? " " : "", o->name);
}

/* The n-th OPT_INSTEAD option (a command may have several: detach --all, --local). */
static const struct opt *instead_opt(const struct opt *opts, int n)
{
	for (const struct opt *o = opts; o->type != OPT_END; o++)
		if ((o->flags & OPT_INSTEAD) && n-- == 0)
			return o;
	return NULL;
}

/* The OPT_INSTEAD option given, if any. */
static const struct opt *instead_seen(const struct opt *opts, const bool *seen)
{
	for (const struct opt *o = opts; o->type != OPT_END; o++)
		if ((o->flags & OPT_INSTEAD) && seen[o - opts])
			return o;
	return NULL;
}

/* The synopsis of the positionals' form and of each OPT_INSTEAD option's
 * form: "del PROTO LISTEN | del --name NAME", into buf. */
static void alternatives(char *buf, size_t len, const char *name, const struct opt *opts)
{
	const struct opt *alt;
	char pos[128];
	size_t n;

	positionals(pos, sizeof(pos), opts);
	n = snprintf(buf, len, "%s %s", name, pos);
	for (int i = 0; (alt = instead_opt(opts, i)) && n < len; i++)
		n += snprintf(buf + n, len - n, " | %s %s%s%s", name, alt->name, alt->metavar ? " " : "",
			      alt->metavar ? alt->metavar : "");
}

/* A required positional that is missing: 0 when there is none. */
static int missing_positional(const char *name, const struct opt *opts, const bool *seen)
{
	char list[160];

	for (const struct opt *o = opts; o->type != OPT_END; o++) {
		if (!(o->flags & OPT_POS) || !(o->flags & OPT_REQ) || seen[o - opts])
			continue;
		if (o->type == OPT_ENUM) {
			choices_text(list, sizeof(list), o->choices, ", ", " or ");
			return out_err(-EINVAL, "missing %s (%s)", o->name, list);
		}
		if (instead_opt(opts, 0)) {
			alternatives(list, sizeof(list), name, opts);
			return out_err(-EINVAL, "missing %s (usage: %s)", o->name, list);
		}
		/* of several positionals, say which come in what order */
		if (nth_positional(opts, 1)) {
			positionals(list, sizeof(list), opts);
			return out_err(-EINVAL, "missing %s (expected %s)", o->name, list);
		}
		return out_err(-EINVAL, "missing %s", o->name);
	}
	return 0;
}

/* Required words present (positionals, or one option instead of them, not
 * both, and none of the positionals' own options with it), then the checks
 * of the strings given. pos_word[i] is the first word given for opts[i]. */
static int finish(const char *name, const struct opt *opts, const bool *seen, const char *const *pos_word,
		  void *cfg)
{
	const struct opt *o, *alt = instead_seen(opts, seen);
	char err[256], list[128];

	if (alt) {
		for (o = opts; o->type != OPT_END; o++) {
			if (!seen[o - opts] || o == alt)
				continue;
			if (o->flags & OPT_POS) {
				positionals(list, sizeof(list), opts);
				return out_err(-EINVAL, "give either %s or %s, not both ('%s')", list, alt->name,
					       pos_word[o - opts]);
			}
			if (o->flags & (OPT_INSTEAD | OPT_WITH_POS))
				return out_err(-EINVAL, "'%s' does not go with %s", o->name, alt->name);
		}
	} else if (missing_positional(name, opts, seen)) {
		return -EINVAL;
	}
	for (o = opts; o->type != OPT_END; o++)
		if ((o->flags & OPT_REQ) && !(o->flags & OPT_POS) && !seen[o - opts])
			return out_err(-EINVAL, "missing %s", o->name);
	for (o = opts; o->type != OPT_END; o++)
		if (o->check && seen[o - opts] && o->check(*(const char **)((char *)cfg + o->off), err, sizeof(err)))
			return out_err(-EINVAL, "%s", err);
	return 0;
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	return false;
}

static void print_cmd_help(const struct cmd *c)
{
	fputs("Usage: portredir ", stdout);
	params_synopsis(stdout, c->name, c->options);
	fputc('\n', stdout);
	if (c->doc)
		printf("%s\n", c->doc);
	params_help(stdout, c->options);
}

int params_parse(const struct cmd *c, int argc, char **argv, void *cfg)
{
	const char *pos_word[MAX_OPTS] = {};
	bool seen[MAX_OPTS] = {};
	const struct opt *o;
	int npos = 0;

	if (wants_help(argc, argv)) {
		print_cmd_help(c);
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1]) {
			if (parse_long(c->options, argc, argv, &i, cfg, &o, seen))
				return -EINVAL;
		} else {
			o = nth_positional(c->options, npos++);
			if (!o)
				return out_err(-EINVAL, "unexpected argument '%s'", argv[i]);
			if (set_value(o, argv[i], cfg))
				return -EINVAL;
			if (!pos_word[o - c->options])
				pos_word[o - c->options] = argv[i];
		}
		mark(c->options, o, seen);
	}
	return finish(c->name, c->options, seen, pos_word, cfg);
}

int params_parse_global(const struct opt *opts, int argc, char **argv, void *cfg, int *next)
{
	bool given[MAX_OPTS] = {};
	const struct opt *o;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (argv[i][1] == '-') {
			if (parse_long(opts, argc, argv, &i, cfg, &o, given))
				return -EINVAL;
			mark(opts, o, given);
			continue;
		}
		/* bundled short flags: -jv */
		for (const char *p = argv[i] + 1; *p; p++) {
			o = find_short(opts, *p);
			if (!o || o->type != OPT_FLAG)
				return out_err(-EINVAL, "unknown option '-%c'", *p);
			set_value(o, NULL, cfg);
		}
	}
	*next = i;
	return 0;
}

/* How an option or positional looks in usage and help: "--mode auto|native", "IFACE". */
static void opt_label(char *buf, size_t len, const struct opt *o, bool for_help)
{
	char list[128] = "";
	const char *val = o->metavar;

	if (o->type == OPT_ENUM && !val) {
		choices_text(list, sizeof(list), o->choices, "|", "|");
		val = list;
	}
	if (o->flags & OPT_POS)
		snprintf(buf, len, "%s", o->type == OPT_ENUM ? val : o->name);
	else if (o->short_name)
		snprintf(buf, len, "-%c%s%s", o->short_name, for_help ? ", " : "|", o->name);
	else
		snprintf(buf, len, "%s%s%s", o->name, takes_value(o) ? " " : "", takes_value(o) ? val : "");
}

/* One form of a synopsis. alt: NULL for the only form; else the
 * OPT_INSTEAD option, and instead says which form (it, or the positionals). */
static void synopsis_form(FILE *f, const char *name, const struct opt *opts, const struct opt *alt, bool instead)
{
	bool open = false;
	char label[160];

	fputs(name, f);
	for (const struct opt *o = opts; o->type != OPT_END; o++) {
		bool pos = o->flags & OPT_POS, req = (o->flags & OPT_REQ) || (instead && o == alt);

		if ((instead && (pos || (o->flags & OPT_WITH_POS))) || ((o->flags & OPT_INSTEAD) && o != alt) ||
		    (o == alt && !instead))
			continue;
		/* a run of optional positionals shares one pair of brackets */
		if (open && (!pos || req)) {
			fputc(']', f);
			open = false;
		}
		opt_label(label, sizeof(label), o, false);
		if (pos && !req && !open) {
			fprintf(f, " [%s", label);
			open = true;
		} else if ((pos && !req) || req) {
			fprintf(f, " %s", label);
		} else {
			fprintf(f, " [%s]%s", label, o->flags & OPT_MULTI ? "..." : "");
		}
	}
	if (open)
		fputc(']', f);
}

void params_synopsis(FILE *f, const char *name, const struct opt *opts)
{
	const struct opt *alt;

	synopsis_form(f, name, opts, NULL, false);
	for (int i = 0; (alt = instead_opt(opts, i)); i++) {
		fputs(" | ", f);
		synopsis_form(f, name, opts, alt, true);
	}
}

void params_help(FILE *f, const struct opt *opts)
{
	char label[160];

	for (const struct opt *o = opts; o->type != OPT_END; o++) {
		if (!o->help)
			continue;
		opt_label(label, sizeof(label), o, true);
		if (strlen(label) < HELP_COL - 3)
			fprintf(f, "  %-*s ", HELP_COL - 3, label);
		else
			fprintf(f, "  %s\n%*s", label, HELP_COL, "");
		for (const char *p = o->help; *p; p++) {
			fputc(*p, f);
			if (*p == '\n')
				fprintf(f, "%*s", HELP_COL, "");
		}
		fputc('\n', f);
	}
}
