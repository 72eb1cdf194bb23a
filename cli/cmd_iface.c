// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The interface commands attach and detach (one interface, or --all), with their option tables and the results they print. */
#include <errno.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include "cli.h"

/* attach's help states the counter size */
_Static_assert(sizeof(struct pr_rule_stats) == 56, "attach -h says 56 bytes");

/* IFACE: an interface of this network namespace. */
static int iface_check(const char *tok, char *err, size_t len)
{
	if (if_nametoindex(tok))
		return 0;
	snprintf(err, len, "unknown interface '%s'", tok);
	return -EINVAL;
}

/* ---- attach ---- */

/* attach's words go to the loader's interface parser (pr_iface_parse), which
 * apply's interface lines share; the table gives usage, help, --opt=value
 * and the unknown-option check. */
struct attach_cfg {
	struct opt_words w;
};

#define IFACE_WORD(name, flags, ...) { name, OPT_WORDS, offsetof(struct attach_cfg, w), flags, __VA_ARGS__ }
static const struct opt attach_opts[] = {
	IFACE_WORD("IFACE", OPT_POS | OPT_REQ, .help = "the interface whose arriving packets are redirected"),
	IFACE_WORD("--mode", OPT_VALUE, .metavar = "auto|native|generic|tc",
		   .help = "auto (default) picks TC on veth (XDP there costs GSO) and\n"
			   "native XDP elsewhere, falling back to generic XDP when the\n"
			   "driver has no native support"),
	IFACE_WORD("--via-stack", 0,
		   .help = "hand translated packets to the stack, so the host's firewall\n"
			   "sees them, at the stack's cost"),
	IFACE_WORD("--max-rules", OPT_VALUE, .metavar = "N",
		   .help = "size the rule maps when this attach creates them (default\n"
			   STR(PR_DEFAULT_MAX_RULES) ", at most " STR(PR_MAX_RULES_LIMIT) "); per-rule counters take\n"
			   "(N + 1) x 56 bytes x possible CPUs"),
	{ .type = OPT_END },
};

struct attach_out {
	const char *ifname;
	struct pr_attach_result res;
};

enum { AT_IFACE, AT_MODE, AT_ALREADY, AT_FELL_BACK, AT_WHY, AT_VERB, AT_REASON };

static void attach_get(const void *obj, size_t which, struct out_val *v)
{
	const struct attach_out *o = obj;

	switch (which) {
	case AT_IFACE: out_str(v, "%s", o->ifname); break;
	case AT_MODE: out_str(v, "%s", pr_mode_name(o->res.mode)); break;
	case AT_ALREADY: out_bool(v, o->res.already); break;
	case AT_FELL_BACK: out_bool(v, o->res.fell_back); break;
	case AT_WHY: out_str(v, "%s", o->res.why); break;
	case AT_VERB: out_str(v, "%s", o->res.already ? "already attached to" : "attached to"); break;
	/* a fall-back's reason went to stderr as a warning */
	case AT_REASON: out_str(v, "%s", o->res.fell_back ? "" : o->res.why); break;
	}
}

static const struct out_field attach_fields[] = {
	[AT_IFACE] = { "interface", attach_get, .arg = AT_IFACE },
	[AT_MODE] = { "mode", attach_get, .arg = AT_MODE },
	[AT_ALREADY] = { "already", attach_get, .arg = AT_ALREADY },
	[AT_FELL_BACK] = { "fell_back", attach_get, .arg = AT_FELL_BACK },
	[AT_WHY] = { "why", attach_get, .arg = AT_WHY },
	[AT_VERB] = { "verb", attach_get, .arg = AT_VERB, .flags = OUT_F_TEXT },
	[AT_REASON] = { "reason", attach_get, .arg = AT_REASON, .flags = OUT_F_TEXT },
};
static const struct out_desc attach_desc = OUT_DESC(attach_fields);
static const struct out_col attach_view[] = {
	{ AT_VERB, .fmt = "%s " }, { AT_IFACE, .fmt = "%s in " }, { AT_MODE, .fmt = "%s mode" },
	{ AT_REASON, .fmt = ": %s", .flags = OUT_C_SKIP_EMPTY }, OUT_LITERAL("\n"), OUT_COLS_END,
};

static int do_attach(const void *cfg, struct pr_ctx *unused)
{
	const struct attach_cfg *a = cfg;
	char perr[PR_PARSE_ERR_LEN];
	struct pr_iface_spec spec;
	struct attach_out o = {};
	int rc = EXIT_OK;
	struct pr_ctx c;

	if (pr_iface_parse(a->w.n, a->w.v, &spec, perr, sizeof(perr)))
		return out_err(EXIT_USAGE, "%s", perr);
	if (iface_check(spec.name, perr, sizeof(perr)))
		return out_err(EXIT_USAGE, "%s", perr);
	if (cli_open(&c, true, spec.max_rules))
		return EXIT_FAIL;
	o.ifname = spec.name;
	if (pr_attach(&c, spec.name, spec.req, spec.flags, &o.res)) {
		rc = cli_fail(&c);
		goto out;
	}
	if (o.res.fell_back)
		out_note("%s", o.res.why);
	out_print(&attach_desc, &o, attach_view);
out:
	pr_close(&c);
	return rc;
}

const struct cmd cmd_attach = {
	"attach", do_attach, attach_opts, sizeof(struct attach_cfg), CMD_MAPS_OWN,
	"Attaches portredir's XDP and TC programs to IFACE. Translated packets arriving\n"
	"there go straight to their egress device when the route and neighbour are known,\n"
	"past the stack's forward path (netfilter forward and postrouting, rp_filter).",
};

/* ---- detach ---- */

struct detach_cfg {
	const char *ifname;
	bool all;
};

static const struct opt detach_opts[] = {
	{ "IFACE", OPT_STRING, offsetof(struct detach_cfg, ifname), OPT_POS | OPT_REQ, .check = iface_check,
	  .help = "the interface to leave" },
	{ "--all", OPT_FLAG, offsetof(struct detach_cfg, all), OPT_INSTEAD,
	  .help = "every interface attached in this network namespace (exit 0 when\n"
		  "there is none); records of interfaces that are gone are dropped" },
	{ .type = OPT_END },
};

/* One interface detached: what detach prints, and each element of detach --all. */
struct detached {
	const char *ifname;
	bool gone; /* only its record was dropped */
};

enum { DE_IFACE, DE_DETACHED, DE_DONE, DE_FORGOT, DE_GONE };

static void detached_get(const void *obj, size_t which, struct out_val *v)
{
	const struct detached *d = obj;

	switch (which) {
	case DE_IFACE: out_str(v, "%.16s", d->ifname); break;
	case DE_DETACHED: out_bool(v, true); break;
	case DE_GONE: out_bool(v, d->gone); break;
	case DE_DONE: out_str(v, "%.16s", d->gone ? "" : d->ifname); break;
	case DE_FORGOT: out_str(v, "%.16s", d->gone ? d->ifname : ""); break;
	}
}

static const struct out_field detached_fields[] = {
	[DE_IFACE] = { "interface", detached_get, .arg = DE_IFACE },
	[DE_DETACHED] = { "detached", detached_get, .arg = DE_DETACHED },
	[DE_DONE] = { "done", detached_get, .arg = DE_DONE, .flags = OUT_F_TEXT },
	[DE_FORGOT] = { "forgot", detached_get, .arg = DE_FORGOT, .flags = OUT_F_TEXT },
	[DE_GONE] = { "gone", detached_get, .arg = DE_GONE }, /* detach --all only */
};
/* detach IFACE has no "gone" */
static const struct out_desc detached_desc = { detached_fields, DE_GONE };
static const struct out_desc detached_all_desc = OUT_DESC(detached_fields);
static const struct out_col detached_view[] = {
	{ DE_DONE, .fmt = "detached from %s\n", .flags = OUT_C_SKIP_EMPTY },
	{ DE_FORGOT, .fmt = "forgot %s (interface gone)\n", .flags = OUT_C_SKIP_EMPTY }, OUT_COLS_END,
};

/* detach --all: every interface of this namespace; the maps stay. */
static int detach_all(struct pr_ctx *c)
{
	struct pr_iface_status *v = NULL;
	struct detached *d = NULL;
	size_t n = 0;
	int rc = EXIT_OK;

	if (c && pr_detach_all(c, &v, &n))
		rc = cli_fail(c);
	d = calloc(n ? n : 1, sizeof(*d));
	if (!d) {
		free(v);
		return out_err(EXIT_FAIL, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		d[i] = (struct detached){ v[i].rec.name, !v[i].present };
	out_print_list(&detached_all_desc, d, n, sizeof(*d), detached_view, false,
		       rc == EXIT_OK ? "no interface attached in this network namespace" : NULL);
	free(d);
	free(v);
	return rc;
}

static int do_detach(const void *cfg, struct pr_ctx *c)
{
	const struct detach_cfg *a = cfg;
	struct detached d = { .ifname = a->ifname };

	if (a->all)
		return detach_all(c);
	if (!c)
		return out_err(EXIT_FAIL, "portredir is not attached to '%s'", a->ifname);
	if (pr_detach(c, a->ifname))
		return cli_fail(c);
	out_print(&detached_desc, &d, detached_view);
	return EXIT_OK;
}

const struct cmd cmd_detach = {
	"detach", do_detach, detach_opts, sizeof(struct detach_cfg), CMD_MAPS_READ,
	"Removes portredir's XDP and TC programs, and the clsact qdisc if portredir added it\n"
	"and nothing else uses it. The pinned maps stay: rules, counters and live flows'\n"
	"conntrack entries, so attaching again resumes them.",
};
