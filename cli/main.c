// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The portredir command's entry: global options, the command table, dispatch, and the usage text built from them. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#ifndef PR_VERSION
#define PR_VERSION "0.1.0"
#endif

struct cli_global cli;

static const struct opt global_opts[] = {
	{ "--pin-dir", OPT_STRING, offsetof(struct cli_global, pin_dir), .metavar = "DIR",
	  .help = "where the maps are pinned (default $PORTREDIR_PIN_DIR,\nelse " PR_DEFAULT_PIN_DIR ")" },
	{ "--json", OPT_FLAG, offsetof(struct cli_global, json), .short_name = 'j',
	  .help = "print JSON; errors too, as {\"error\": \"...\"} on stdout" },
	{ "--verbose", OPT_FLAG, offsetof(struct cli_global, verbose), .short_name = 'v',
	  .help = "libbpf and libxdp logs on stderr; apply lists its changes" },
	{ "--version", OPT_FLAG, offsetof(struct cli_global, version), .short_name = 'V',
	  .help = "print the version and the map schema" },
	{ "--help", OPT_FLAG, offsetof(struct cli_global, help), .short_name = 'h', .help = "this text" },
	{ .type = OPT_END },
};

/* The command table: a new command is defined next to its function in a
 * cmd_*.c file and listed here. */
static const struct cmd *const commands[] = {
	&cmd_attach, &cmd_detach, &cmd_status, &cmd_add,       &cmd_del,
	&cmd_apply,  &cmd_save,   &cmd_list,   &cmd_stats,     &cmd_conntrack,
	&cmd_exporter,
	&cmd_repair,
	&cmd_check,
	&cmd_monitor,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fputs("Usage: ", f);
	params_synopsis(f, "portredir", global_opts);
	fputs(" COMMAND ...\nCommands:\n", f);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		fputs("  ", f);
		params_synopsis(f, commands[i]->name, commands[i]->options);
		fputc('\n', f);
	}
	fputs("Options:\n", f);
	params_help(f, global_opts);
	fprintf(f,
		"PROTO:  tcp | udp | any\n"
		"LISTEN: [ADDR]:PORT | [ADDR]:LO-HI | [ADDR]:*   (\":8080\" = any address; IPv6 as [ADDR6]:PORT)\n"
		"TARGET: ADDR:PORT | ADDR:LO-HI | ADDR (keep the port)\n"
		"The pin dir defaults to $PORTREDIR_PIN_DIR, else %s.\n"
		"'portredir COMMAND -h' explains a command and its options.\n"
		"Exit status: 0 success, 1 failure, 2 bad usage or input. An error is one line on\n"
		"stderr, or with -j {\"error\": \"...\"} on stdout.\n",
		PR_DEFAULT_PIN_DIR);
}

/* The version, and the schema of the maps this binary creates (the only one it opens). */
struct version {
	const char *version;
	__u32 map_schema;
};
static const struct out_field version_fields[] = {
	{ "version", out_get_cstr, .arg = offsetof(struct version, version) },
	{ "map_schema", out_get_u32, .arg = offsetof(struct version, map_schema) },
};
static const struct out_desc version_desc = OUT_DESC(version_fields);
static const struct out_col version_view[] = {
	{ 0, .fmt = "portredir %s " }, { 1, .fmt = "(map schema %s)\n" }, OUT_COLS_END,
};

static void print_version(void)
{
	const struct version v = { PR_VERSION, PR_SCHEMA_VERSION };

	out_print(&version_desc, &v, version_view);
}

const char *cli_pin_dir(void)
{
	return cli.pin_dir ? cli.pin_dir : PR_DEFAULT_PIN_DIR;
}

int cli_open_flags(struct pr_ctx *c, unsigned int flags, __u32 max_rules)
{
	const struct pr_migrated *m = &c->migrated;
	int err = pr_open(c, cli.pin_dir, flags, max_rules);

	if (err == -ENOENT && !(flags & PR_OPEN_CREATE))
		return 1;
	if (err) {
		out_err(EXIT_FAIL, "%s", c->err);
		return -1;
	}
	if (m->from && m->resumed)
		out_note("finished the migration of %s from schema %u to %u that an earlier command began (%zu interfaces on this build's programs)",
			 c->pin_dir, m->from, PR_SCHEMA_VERSION, m->ifaces);
	else if (m->from)
		out_note("migrated %s from schema %u to %u: %zu rules and %zu flows carried over, %zu interfaces on this build's programs; %zu flows caught in the %llu ms switch window",
			 c->pin_dir, m->from, PR_SCHEMA_VERSION, m->rules, m->flows,
			 m->ifaces, m->window_flows, (unsigned long long)(m->window_us / 1000));
	return 0;
}

/* The commands that create maps (attach, add) also migrate an older schema's. */
int cli_open(struct pr_ctx *c, bool create, __u32 max_rules)
{
	return cli_open_flags(c, create ? PR_OPEN_CREATE | PR_OPEN_MIGRATE : 0, max_rules);
}

int cli_fail(const struct pr_ctx *c)
{
	return out_err(EXIT_FAIL, "%s", c->err);
}

/* The global options; a bad one is reported as JSON when -j came before it,
 * and in one line as every bad input is (not with the usage text). */
static int parse_global(int argc, char **argv, int *next)
{
	int err;

	out_mute(true);
	err = params_parse_global(global_opts, argc, argv, &cli, next);
	out_mute(false);
	out_setup(cli.json, NULL);
	if (err) {
		memset(&cli, 0, sizeof(cli));
		params_parse_global(global_opts, argc, argv, &cli, next);
	}
	return err;
}

/* Parse, open what the command reads, run it. */
static int run(const struct cmd *cmd, int argc, char **argv)
{
	void *cfg = calloc(1, cmd->cfg_size ? cmd->cfg_size : 1);
	struct pr_ctx c;
	int rc, open = 1;

	if (!cfg)
		return out_err(EXIT_FAIL, "out of memory");
	out_setup(cli.json, cmd->name);
	rc = params_parse(cmd, argc, argv, cfg);
	if (rc == 0 && cmd->maps == CMD_MAPS_READ)
		open = cli_open(&c, false, 0);
	if (rc)
		rc = rc < 0 ? EXIT_USAGE : EXIT_OK;
	else if (open < 0)
		rc = EXIT_FAIL;
	else
		rc = cmd->fn(cfg, open == 0 ? &c : NULL);
	if (open == 0)
		pr_close(&c);
	free(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	int next;

	if (parse_global(argc, argv, &next))
		return EXIT_USAGE;
	if (cli.version) {
		print_version();
		return EXIT_OK;
	}
	if (cli.help) {
		usage(stdout);
		return EXIT_OK;
	}
	if (next >= argc) {
		if (cli.json)
			return out_err(EXIT_USAGE, "missing COMMAND (see portredir --help)");
		usage(stderr);
		return EXIT_USAGE;
	}
	pr_set_verbose(cli.verbose);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[next], commands[i]->name) == 0)
			return run(commands[i], argc - next, argv + next);
	return out_err(EXIT_USAGE, "unknown command '%s' (see portredir --help)", argv[next]);
}
