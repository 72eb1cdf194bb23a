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
	bool local;
};

#define IFACE_WORD(name, flags, ...) { name, OPT_WORDS, offsetof(struct attach_cfg, w), flags, __VA_ARGS__ }
static const struct opt attach_opts[] = {
	IFACE_WORD("IFACE", OPT_POS | OPT_REQ, .help = "the interface whose arriving packets are redirected"),
	IFACE_WORD("--mode", OPT_VALUE | OPT_WITH_POS, .metavar = "auto|native|generic|tc",
		   .help = "auto (default) picks TC on veth (XDP there costs GSO) and\n"
			   "native XDP elsewhere, falling back to generic XDP when the\n"
			   "driver has no native support"),
	IFACE_WORD("--via-stack", OPT_WITH_POS,
		   .help = "hand translated packets to the stack, so the host's firewall\n"
			   "sees them, at the stack's cost"),
	IFACE_WORD("--allow-threaded-napi", OPT_WITH_POS,
		   .help = "native XDP even on a veth whose NAPI is threaded, which is\n"
			   "refused otherwise: its 256-frame ring then drops a burst's\n"
			   "frames until the NAPI thread runs (give it a CPU of its own)"),
	IFACE_WORD("--max-rules", OPT_VALUE | OPT_WITH_POS, .metavar = "N",
		   .help = "size the rule maps when this attach creates them (default\n"
			   STR(PR_DEFAULT_MAX_RULES) ", at most " STR(PR_MAX_RULES_LIMIT) "); per-rule counters take\n"
			   "(N + 1) x 56 bytes x possible CPUs"),
	{ "--local", OPT_FLAG, offsetof(struct attach_cfg, local), OPT_INSTEAD,
	  .help = "serve local clients (this namespace's own processes) with no\n"
		  "interface attached: the socket hooks stay until detach --local\n"
		  "or detach --all (an attach of an interface brings them too)" },
	{ .type = OPT_END },
};

struct attach_out {
	const char *ifname;
	struct pr_attach_result res;
};

enum { AT_IFACE, AT_MODE, AT_ALREADY, AT_UPGRADED, AT_FELL_BACK, AT_WHY, AT_LOCAL, AT_LOCAL_ERR, AT_VERB, AT_REASON };

static void attach_get(const void *obj, size_t which, struct out_val *v)
{
	const struct attach_out *o = obj;

	switch (which) {
	case AT_IFACE: out_str(v, "%s", o->ifname); break;
	case AT_MODE: out_str(v, "%s", pr_mode_name(o->res.mode)); break;
	case AT_ALREADY: out_bool(v, o->res.already); break;
	case AT_UPGRADED: out_bool(v, o->res.upgraded); break;
	case AT_FELL_BACK: out_bool(v, o->res.fell_back); break;
	case AT_WHY: out_str(v, "%s", o->res.why); break;
	case AT_LOCAL: out_bool(v, !o->res.local_failed); break;
	case AT_LOCAL_ERR:
		out_str(v, "%s", o->res.local_err);
		v->absent = !o->res.local_failed;
		break;
	case AT_VERB:
		out_str(v, "%s", o->res.already ? "already attached to" :
				 o->res.upgraded ? "replaced another build's programs on" : "attached to");
		break;
	/* a fall-back's reason went to stderr as a warning */
	case AT_REASON: out_str(v, "%s", o->res.fell_back ? "" : o->res.why); break;
	}
}

static const struct out_field attach_fields[] = {
	[AT_IFACE] = { "interface", attach_get, .arg = AT_IFACE },
	[AT_MODE] = { "mode", attach_get, .arg = AT_MODE },
	[AT_ALREADY] = { "already", attach_get, .arg = AT_ALREADY },
	[AT_UPGRADED] = { "upgraded", attach_get, .arg = AT_UPGRADED },
	[AT_FELL_BACK] = { "fell_back", attach_get, .arg = AT_FELL_BACK },
	[AT_WHY] = { "why", attach_get, .arg = AT_WHY },
	[AT_LOCAL] = { "local_clients", attach_get, .arg = AT_LOCAL },
	[AT_LOCAL_ERR] = { "local_error", attach_get, .arg = AT_LOCAL_ERR },
	[AT_VERB] = { "verb", attach_get, .arg = AT_VERB, .flags = OUT_F_TEXT },
	[AT_REASON] = { "reason", attach_get, .arg = AT_REASON, .flags = OUT_F_TEXT },
};
static const struct out_desc attach_desc = OUT_DESC(attach_fields);
static const struct out_col attach_view[] = {
	{ AT_VERB, .fmt = "%s " }, { AT_IFACE, .fmt = "%s in " }, { AT_MODE, .fmt = "%s mode" },
	{ AT_REASON, .fmt = ": %s", .flags = OUT_C_SKIP_EMPTY }, OUT_LITERAL("\n"), OUT_COLS_END,
};

/* attach --local and detach --local: what they did. */
struct local_out {
	bool already, removed;
	size_t ifaces; /* detach --local: interfaces that keep the hooks */
	const char *cgroup;
};

enum { LA_LOCAL, LA_ALREADY, LA_CGROUP, LA_REMOVED, LA_IFACES, LA_TEXT };

static void local_out_get(const void *obj, size_t which, struct out_val *v)
{
	const struct local_out *o = obj;

	switch (which) {
	case LA_LOCAL: out_bool(v, true); break;
	case LA_ALREADY: out_bool(v, o->already); break;
	case LA_CGROUP: out_str(v, "%s", o->cgroup); break;
	case LA_REMOVED: out_bool(v, o->removed); break;
	case LA_IFACES: out_uint(v, o->ifaces); break;
	case LA_TEXT:
		if (o->cgroup)
			out_str(v, "%s local clients (socket hooks on cgroup %s)", o->already ? "already serving" : "serving",
				o->cgroup);
		else if (o->removed)
			out_str(v, "stopped serving local clients (socket hooks removed)");
		else
			out_str(v, "local clients stay served while %zu interface%s attached here (detach --all removes both)",
				o->ifaces, o->ifaces == 1 ? " is" : "s are");
		break;
	}
}

static const struct out_field local_attach_fields[] = {
	{ "local", local_out_get, .arg = LA_LOCAL },
	{ "already", local_out_get, .arg = LA_ALREADY },
	{ "cgroup", local_out_get, .arg = LA_CGROUP },
	{ "text", local_out_get, .arg = LA_TEXT, .flags = OUT_F_TEXT },
};
static const struct out_field local_detach_fields[] = {
	{ "local", local_out_get, .arg = LA_LOCAL },
	{ "detached", local_out_get, .arg = LA_REMOVED },
	{ "interfaces", local_out_get, .arg = LA_IFACES },
	{ "text", local_out_get, .arg = LA_TEXT, .flags = OUT_F_TEXT },
};
static const struct out_desc local_attach_desc = OUT_DESC(local_attach_fields);
static const struct out_desc local_detach_desc = OUT_DESC(local_detach_fields);
static const struct out_col local_view[] = { { 3, .fmt = "%s\n" }, OUT_COLS_END };

/* attach --local: the socket hooks, with or without interfaces. */
static int attach_local(void)
{
	struct pr_local_status st;
	struct local_out o = {};
	int rc = EXIT_OK;
	struct pr_ctx c;

	if (cli_open(&c, true, 0))
		return EXIT_FAIL;
	if (pr_local_attach(&c, true, &o.already) || pr_local_status(&c, &st)) {
		rc = cli_fail(&c);
		goto out;
	}
	o.cgroup = st.cgroup;
	out_print(&local_attach_desc, &o, local_view);
out:
	pr_close(&c);
	return rc;
}

static int do_attach(const void *cfg, struct pr_ctx *unused)
{
	const struct attach_cfg *a = cfg;
	char perr[PR_PARSE_ERR_LEN];
	struct pr_iface_spec spec;
	struct attach_out o = {};
	int rc = EXIT_OK;
	struct pr_ctx c;

	if (a->local)
		return attach_local();
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
	if (o.res.local_failed)
		out_note("%s is attached, but local clients are not served: %s", spec.name, o.res.local_err);
	out_print(&attach_desc, &o, attach_view);
out:
	pr_close(&c);
	return rc;
}

const struct cmd cmd_attach = {
	"attach", do_attach, attach_opts, sizeof(struct attach_cfg), CMD_MAPS_OWN,
	"Attaches portredir's XDP and TC programs to IFACE. Translated packets arriving\n"
	"there go straight to their egress device when the route and neighbour are known,\n"
	"past the stack's forward path (netfilter forward and postrouting, rp_filter).\n"
	"The first attach in a network namespace also adds the socket hooks for its local\n"
	"clients (on the cgroup2 root, acting on this namespace's sockets only).",
};

/* ---- detach ---- */

struct detach_cfg {
	const char *ifname;
	bool all, local;
};

static const struct opt detach_opts[] = {
	{ "IFACE", OPT_STRING, offsetof(struct detach_cfg, ifname), OPT_POS | OPT_REQ, .check = iface_check,
	  .help = "the interface to leave" },
	{ "--all", OPT_FLAG, offsetof(struct detach_cfg, all), OPT_INSTEAD,
	  .help = "every interface attached in this network namespace (exit 0 when\n"
		  "there is none); records of interfaces that are gone are dropped;\n"
		  "the socket hooks for local clients go too" },
	{ "--local", OPT_FLAG, offsetof(struct detach_cfg, local), OPT_INSTEAD,
	  .help = "undo attach --local: the socket hooks go now when no interface\n"
		  "is attached here, else with the last one" },
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

static int detach_local(struct pr_ctx *c)
{
	struct local_out o = {};

	if (!c)
		return out_err(EXIT_FAIL, "local clients are not served in this network namespace");
	if (pr_local_detach(c, &o.removed, &o.ifaces))
		return cli_fail(c);
	out_print(&local_detach_desc, &o, local_view);
	return EXIT_OK;
}

static int do_detach(const void *cfg, struct pr_ctx *c)
{
	const struct detach_cfg *a = cfg;
	struct detached d = { .ifname = a->ifname };

	if (a->all)
		return detach_all(c);
	if (a->local)
		return detach_local(c);
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
	"and nothing else uses it; the last interface of a network namespace takes its\n"
	"socket hooks for local clients along, unless attach --local asked for them.\n"
	"The pinned maps stay: rules, counters and live flows' conntrack entries, so\n"
	"attaching again resumes them.",
};
