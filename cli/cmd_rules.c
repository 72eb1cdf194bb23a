// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The rule commands add, del and list: their option tables, the rule views they print, and their refusals. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "describe.h"

/* ---- add ---- */

/* add's words go to the loader's rule parser (pr_spec_parse), which owns the
 * rule syntax for add and apply files alike; this table gives them usage,
 * help, --opt=value and the unknown-option check. */
struct add_cfg {
	struct opt_words w;
};

#define RULE_WORD(name, flags, ...) { name, OPT_WORDS, offsetof(struct add_cfg, w), flags, __VA_ARGS__ }
static const struct opt add_opts[] = {
	RULE_WORD("PROTO", OPT_POS | OPT_REQ, .help = "tcp, udp or any (both)"),
	RULE_WORD("LISTEN", OPT_POS | OPT_REQ,
		  .help = "[ADDR]:PORT, [ADDR]:LO-HI (a range), or [ADDR]:* (DMZ: every port\n"
			  "no other rule takes); \":...\" is any address, IPv6 as [ADDR6]:..."),
	RULE_WORD("TARGET", OPT_POS | OPT_REQ,
		  .help = "ADDR:PORT (a range maps onto one port), ADDR:LO-HI (port for port,\n"
			  "same length), or ADDR / ADDR:* (keep each packet's port)"),
	RULE_WORD("--name", OPT_VALUE, .metavar = "NAME", .help = "1-31 letters, digits, '-', '_' or '.'"),
	RULE_WORD("--replace", 0,
		  .help = "swap the target of the rule with this exact listen (or add it);\n"
			  "live flows keep the old target"),
	RULE_WORD("--allow", OPT_VALUE | OPT_MULTI, .metavar = "CIDR",
		  .help = "only these sources are redirected (repeatable, at most " STR(PR_ALLOW_MAX) ")"),
	RULE_WORD("--deny-action", OPT_VALUE, .metavar = "pass|drop",
		  .help = "what happens to other sources: drop (default) or pass"),
	RULE_WORD("--snat", OPT_VALUE, .metavar = "ADDR",
		  .help = "full NAT: new flows also get source ADDR (the target's family)\n"
			  "and a port from --snat-ports, so replies come back here"),
	RULE_WORD("--masquerade", 0,
		  .help = "full NAT with the address of the interface a packet leaves by\n"
			  "(instead of --snat)"),
	RULE_WORD("--snat-ports", OPT_VALUE, .metavar = "LO-HI",
		  .help = "source ports for full NAT and hairpin flows (default: above\n"
			  "net.ipv4.ip_local_port_range, 61000-65535 on a default host)"),
	RULE_WORD("--hairpin", OPT_VALUE, .metavar = "auto|off",
		  .help = "auto (default): a client on the target's own network gets this\n"
			  "host's address as source; off: never"),
	{ .type = OPT_END },
};

static const struct out_col added_view[] = { { RULE_ID, .fmt = "rule %s: " }, { RULE_TEXT, .fmt = "%s\n" }, OUT_COLS_END };

/* A refused add names the rule in the way. */
static int add_conflict(const struct pr_ctx *c, const struct pr_rule_spec *s, bool replace,
			const struct pr_rule_meta *conflict)
{
	bool same_listen = memcmp(&conflict->key, &s->key, sizeof(s->key)) == 0 && conflict->port_last == s->port_last;
	char txt[1024];

	rule_text(conflict, txt, sizeof(txt));
	return out_err(EXIT_FAIL, "%s: rule %u (%s)%s", c->err, conflict->rule.id, txt,
		       same_listen && !replace ? "; use --replace to change its target" : "");
}

static int do_add(const void *cfg, struct pr_ctx *unused)
{
	const struct add_cfg *a = cfg;
	struct pr_rule_meta out, conflict;
	char perr[PR_PARSE_ERR_LEN];
	struct pr_rule_spec s;
	bool replace = false;
	int rc = EXIT_OK, err;
	struct pr_ctx c;

	if (pr_spec_parse(a->w.n, a->w.v, &s, &replace, perr, sizeof(perr)))
		return out_err(EXIT_USAGE, "%s", perr);
	if (cli_open(&c, true, 0))
		return EXIT_FAIL;
	err = pr_rule_add(&c, &s, replace, &out, &conflict);
	if (err == -EEXIST)
		rc = add_conflict(&c, &s, replace, &conflict);
	else if (err)
		rc = cli_fail(&c);
	else
		out_print(&rule_desc, &out, added_view);
	pr_close(&c);
	return rc;
}

const struct cmd cmd_add = {
	"add", do_add, add_opts, sizeof(struct add_cfg), CMD_MAPS_OWN,
	"Adds a rule: packets to LISTEN are sent to TARGET, and their replies translated back.",
};

/* ---- del ---- */

struct del_cfg {
	const char *proto, *listen, *name;
	bool keep_flows;
};

static const struct opt del_opts[] = {
	{ "PROTO", OPT_STRING, offsetof(struct del_cfg, proto), OPT_POS | OPT_REQ, .help = "the rule's protocol" },
	{ "LISTEN", OPT_STRING, offsetof(struct del_cfg, listen), OPT_POS | OPT_REQ,
	  .help = "the rule's whole listen as listed (a range as LO-HI, a DMZ as :*)" },
	{ "--name", OPT_STRING, offsetof(struct del_cfg, name), OPT_INSTEAD, .metavar = "NAME",
	  .check = pr_name_check, .help = "the rule's name, instead of PROTO LISTEN" },
	{ "--keep-flows", OPT_FLAG, offsetof(struct del_cfg, keep_flows),
	  .help = "let the rule's live flows drain; by default they are dropped from\n"
		  "conntrack, so they stop being redirected" },
	{ .type = OPT_END },
};

struct del_out {
	const struct pr_rule_meta *m;
	size_t flushed;
};

static void del_get(const void *obj, size_t which, struct out_val *v)
{
	const struct del_out *d = obj;

	if (which == 0)
		out_obj(v, &rule_desc, d->m);
	else
		out_uint(v, d->flushed);
}

static const struct out_field del_fields[] = {
	{ "rule", del_get, .arg = 0, .flags = OUT_F_MERGE },
	{ "flows_flushed", del_get, .arg = 1 },
};
static const struct out_desc del_desc = OUT_DESC(del_fields);
static const struct out_col deleted_rule[] = { { RULE_ID, .fmt = "deleted rule %s: " }, { RULE_TEXT, .fmt = NULL }, OUT_COLS_END };
static const struct out_col del_view[] = {
	{ 0, .view = deleted_rule }, { 1, .fmt = " (%s conntrack entries removed)\n" }, OUT_COLS_END,
};

/* The listen to delete by; the table has made sure of PROTO LISTEN or --name. */
static int del_target(const struct del_cfg *d, struct pr_rule_spec *s)
{
	char perr[PR_PARSE_ERR_LEN];

	memset(s, 0, sizeof(*s));
	if (!d->name && pr_spec_parse_listen(d->proto, d->listen, s, perr, sizeof(perr)))
		return out_err(EXIT_USAGE, "%s", perr);
	return 0;
}

/* A refused del: the exit code, once reported. */
static int del_failed(const struct pr_ctx *c, const struct del_cfg *d, int err, const struct pr_rule_meta *m)
{
	char txt[1024];

	if (err == -ENOTUNIQ)
		return out_err(EXIT_USAGE, "'%s' is ambiguous: %s; write 0.0.0.0%s or [::]%s", d->listen, c->err,
			       d->listen, d->listen);
	if (err == -EINVAL) {
		rule_text(m, txt, sizeof(txt));
		return out_err(EXIT_FAIL, "%s %s is part of rule %u (%s): delete it by that listen or --name",
			       d->proto, d->listen, m->rule.id, txt);
	}
	if (d->name)
		return cli_fail(c);
	return out_err(EXIT_FAIL, "%s: %s %s", c->err, d->proto, d->listen);
}

static int do_del(const void *cfg, struct pr_ctx *c)
{
	const struct del_cfg *d = cfg;
	struct del_out o = {};
	struct pr_rule_spec s;
	struct pr_rule_meta m;
	int rc, err;

	rc = del_target(d, &s);
	if (rc)
		return rc;
	if (!c && d->name)
		return out_err(EXIT_FAIL, "no rule named '%s'", d->name);
	if (!c)
		return out_err(EXIT_FAIL, "no rule for %s %s", d->proto, d->listen);
	err = pr_rule_del(c, d->name ? NULL : &s, d->name, d->keep_flows, &m, &o.flushed);
	if (err)
		return del_failed(c, d, err, &m);
	o.m = &m;
	out_print(&del_desc, &o, del_view);
	return EXIT_OK;
}

const struct cmd cmd_del = {
	"del", do_del, del_opts, sizeof(struct del_cfg), CMD_MAPS_READ,
	"Deletes a rule, named by its listen (PROTO LISTEN) or by --name.",
};

/* ---- list ---- */

static const struct out_col list_row[] = {
	{ RULE_ID, .fmt = "%-7s " },	    { RULE_NAME, "%-16s ", .empty = "-" }, { RULE_PROTO, .fmt = "%-4s " },
	{ RULE_LISTEN, .fmt = "%-24s " }, { RULE_TARGET, .fmt = NULL },			   { RULE_ALLOW, .fmt = " allow %s" },
	{ RULE_DENY, .fmt = " deny %s" }, { RULE_SNAT, .fmt = " snat %s" }, { RULE_SNAT_PORTS, .fmt = " ports %s" },
	{ RULE_HAIRPIN, .fmt = " hairpin %s" }, OUT_LITERAL("\n"), OUT_COLS_END,
};

static int do_list(const void *cfg, struct pr_ctx *c)
{
	struct pr_rule_meta *v = NULL;
	size_t n = 0;

	if (c && pr_rule_list(c, &v, &n))
		return cli_fail(c);
	out_print_list(&rule_desc, v, n, sizeof(*v), list_row, false, NULL);
	free(v);
	return EXIT_OK;
}

const struct cmd cmd_list = {
	"list", do_list, params_none, 0, CMD_MAPS_READ,
	"One rule a line: ID NAME PROTO LISTEN TARGET, and the allowlist, source NAT and\n"
	"hairpin if set (a JSON array with -j).",
};
