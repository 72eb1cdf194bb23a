// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The repair command, and the view of a disagreement between the rule records and the datapath maps that apply and status print too. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "drift.h"

/* "N one" or "N many" into buf at *at, after ", " when something is there, when N is not 0. */
static void part(char *buf, size_t len, size_t *at, size_t n, const char *one, const char *many)
{
	int w;

	if (!n || *at >= len)
		return;
	w = snprintf(buf + *at, len - *at, "%s%zu %s", *at ? ", " : "", n, n == 1 ? one : many);
	if (w > 0)
		*at += (size_t)w;
}

void drift_text(char *buf, size_t len, const struct pr_drift *d)
{
	char why[256] = "";
	size_t at = 0, wat = 0;

	buf[0] = 0;
	part(why, sizeof(why), &wat, d->entries_missing, "lookup entry missing", "lookup entries missing");
	part(why, sizeof(why), &wat, d->entries_wrong, "lookup entry pointing elsewhere", "lookup entries pointing elsewhere");
	part(why, sizeof(why), &wat, d->sources_missing, "allowed source missing", "allowed sources missing");
	part(why, sizeof(why), &wat, d->nat_wrong, "source NAT record wrong", "source NAT records wrong");
	if (d->rules) {
		at = (size_t)snprintf(buf, len, "%zu rule%s (%s)", d->rules, d->rules == 1 ? "" : "s", why);
		if (at >= len)
			at = len - 1;
	}
	part(buf, len, &at, d->entries_stray, "lookup entry of no rule", "lookup entries of no rule");
	part(buf, len, &at, d->sources_stray, "allowed source of no rule", "allowed sources of no rule");
}

enum { DR_CONSISTENT, DR_RULES, DR_MISSING, DR_WRONG, DR_STRAY, DR_SRC_MISSING, DR_SRC_STRAY, DR_NAT, DR_TEXT };

static void drift_get(const void *obj, size_t which, struct out_val *v)
{
	const struct pr_drift *d = obj;
	char buf[OUT_STR_MAX];

	switch (which) {
	case DR_CONSISTENT: out_bool(v, !pr_drift_any(d)); break;
	case DR_TEXT:
		drift_text(buf, sizeof(buf), d);
		out_str(v, "%s", buf);
		break;
	}
}

#define DRIFT(key, member) { key, out_get_size, .arg = offsetof(struct pr_drift, member) }
static const struct out_field drift_fields[] = {
	[DR_CONSISTENT] = { "consistent", drift_get, .arg = DR_CONSISTENT },
	[DR_RULES] = DRIFT("rules", rules),
	[DR_MISSING] = DRIFT("entries_missing", entries_missing),
	[DR_WRONG] = DRIFT("entries_wrong", entries_wrong),
	[DR_STRAY] = DRIFT("entries_stray", entries_stray),
	[DR_SRC_MISSING] = DRIFT("sources_missing", sources_missing),
	[DR_SRC_STRAY] = DRIFT("sources_stray", sources_stray),
	[DR_NAT] = DRIFT("nat_wrong", nat_wrong),
	[DR_TEXT] = { "text", drift_get, .arg = DR_TEXT, .flags = OUT_F_TEXT },
};
const struct out_desc drift_desc = OUT_DESC(drift_fields);
const struct out_col drift_repaired_view[] = { { DR_TEXT, .fmt = "repaired: %s\n" }, OUT_COLS_END };
const struct out_col drift_would_view[] = { { DR_TEXT, .fmt = "would repair: %s\n" }, OUT_COLS_END };
const struct out_col drift_status_view[] = {
	{ DR_TEXT, .fmt = "tables: DISAGREE: %s; portredir repair (or apply) fixes it\n", .flags = OUT_C_SKIP_EMPTY },
	{ DR_CONSISTENT, .fmt = "tables: consistent (records, lookup entries, sources, source NAT)\n" },
	OUT_COLS_END,
};

/* ---- repair ---- */

struct repair_cfg {
	bool keep_flows;
};

static const struct opt repair_opts[] = {
	{ "--keep-flows", OPT_FLAG, offsetof(struct repair_cfg, keep_flows),
	  .help = "let the flows of half-made rules (ids no record has) drain" },
	{ .type = OPT_END },
};

struct repair_out {
	struct pr_repair_result r;
};

enum { RP_DRIFT, RP_FLUSHED, RP_NONE };

static void repair_get(const void *obj, size_t which, struct out_val *v)
{
	const struct repair_out *o = obj;

	switch (which) {
	case RP_DRIFT:
		out_obj(v, &drift_desc, &o->r.drift);
		v->absent = !out_json() && !pr_drift_any(&o->r.drift);
		break;
	case RP_NONE:
		out_str(v, "%s", pr_drift_any(&o->r.drift) ? "" : "nothing to repair: the tables agree\n");
		break;
	}
}

static const struct out_field repair_fields[] = {
	[RP_DRIFT] = { "repaired", repair_get, .arg = RP_DRIFT },
	[RP_FLUSHED] = { "flows_flushed", out_get_size, .arg = offsetof(struct repair_out, r.flows_flushed) },
	[RP_NONE] = { "none", repair_get, .arg = RP_NONE, .flags = OUT_F_TEXT },
};
static const struct out_desc repair_desc = OUT_DESC(repair_fields);
static const struct out_col repair_view[] = {
	{ RP_NONE, .fmt = "%s", .flags = OUT_C_SKIP_EMPTY }, { RP_DRIFT, .view = drift_repaired_view },
	OUT_COLS_END,
};

static int do_repair(const void *cfg, struct pr_ctx *c)
{
	const struct repair_cfg *a = cfg;
	struct repair_out o;

	if (!c)
		return out_err(EXIT_FAIL, "no maps in %s: nothing to repair", cli_pin_dir());
	if (pr_repair(c, a->keep_flows, &o.r))
		return cli_fail(c);
	out_print(&repair_desc, &o, repair_view);
	return EXIT_OK;
}

const struct cmd cmd_repair = {
	"repair", do_repair, repair_opts, sizeof(struct repair_cfg), CMD_MAPS_READ,
	"Makes the datapath maps what the rule records (list) say, as after an interrupted\n"
	"add, del or apply: rules whose lookup entries, allowed sources or source NAT\n"
	"disagree are written again (their ids, counters and flows stay), and entries and\n"
	"sources of no rule are removed, with the flows of such half-made rules unless\n"
	"--keep-flows. status shows what disagrees; apply of any file repairs too.",
};
