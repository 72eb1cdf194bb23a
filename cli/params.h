/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Options and commands as data: the tables every command declares, and the parser, help and usage built from them. */
#ifndef PR_CLI_PARAMS_H
#define PR_CLI_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum opt_type {
	OPT_END,    /* ends a table */
	OPT_FLAG,   /* bool: set when given; takes no value */
	OPT_STRING, /* const char *: the value as given */
	OPT_ENUM,   /* int: the value of the choice whose name was given */
	OPT_WORDS,  /* struct opt_words: the option (and its value) appended as words,
		     * for a grammar the loader owns because apply files share it
		     * (add's rule words, attach's interface words); numbers are
		     * parsed there */
};

/* OPT_ENUM choices, ended by a NULL name. */
struct opt_choice {
	const char *name;
	int value;
};

#define OPT_WORDS_MAX 64
struct opt_words {
	int n;
	char *v[OPT_WORDS_MAX];
};

#define OPT_POS (1u << 0)   /* positional: filled in table order; name is its metavariable */
#define OPT_REQ (1u << 1)   /* must be given */
#define OPT_MULTI (1u << 2) /* may be repeated (OPT_WORDS); usage shows "..." */
#define OPT_VALUE (1u << 3) /* OPT_WORDS option that takes a value */
#define OPT_INSTEAD (1u << 4) /* the option stands for the positionals: one or the other (several may) */
#define OPT_WITH_POS (1u << 5) /* belongs to the positionals' form: refused with an OPT_INSTEAD option */

/* Contract of a check: 0 if tok is good, else -EINVAL with err set to one line naming tok. */
typedef int (*opt_check_fn)(const char *tok, char *err, size_t len);

struct opt {
	const char *name;    /* "--mode"; for a positional, its metavariable ("IFACE") */
	enum opt_type type;
	size_t off;          /* where the value goes in the command's config struct */
	unsigned int flags;  /* OPT_POS, OPT_REQ, OPT_MULTI, OPT_VALUE */
	const char *metavar; /* an option's value in usage ("N"); OPT_ENUM lists its choices */
	const char *help;    /* may hold '\n'; -h indents what follows */
	const struct opt_choice *choices; /* OPT_ENUM */
	opt_check_fn check;  /* OPT_STRING: run once every word is parsed */
	char short_name;     /* global options only: 'j' for -j */
};

/* What main opens for a command before fn runs: nothing (the command opens
 * the maps itself, as those that create them do once their input is
 * checked), or the pinned maps when they exist (fn gets NULL when there are
 * none yet: read-only commands show an empty state). */
enum cmd_maps { CMD_MAPS_OWN, CMD_MAPS_READ };

struct pr_ctx;
/* A command: parse fills a zeroed config struct of cfg_size bytes from
 * options, then fn runs; it returns the exit code. */
struct cmd {
	const char *name;
	int (*fn)(const void *cfg, struct pr_ctx *c);
	const struct opt *options;
	size_t cfg_size;
	enum cmd_maps maps;
	const char *doc; /* what -h prints after the usage line */
};

/* The table of a command without options. */
extern const struct opt params_none[];

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Parse argv (argv[0] is the command) into cfg. -h or --help anywhere prints
 * the command's help. Returns 0 to run the command, 1 when help was printed,
 * or -EINVAL once a one-line error naming the bad word has been reported. */
int params_parse(const struct cmd *c, int argc, char **argv, void *cfg);
/* Parse the global options before the command into cfg; *next is the index
 * of the command word (argc when there is none). Stops at the first word
 * that is not an option. Returns 0 or -EINVAL (reported). */
int params_parse_global(const struct opt *opts, int argc, char **argv, void *cfg, int *next);
/* "attach IFACE [--mode auto|native|generic|tc] ..." */
void params_synopsis(FILE *f, const char *name, const struct opt *opts);
/* The options of a table, one a line with their help. */
void params_help(FILE *f, const struct opt *opts);

#endif
