// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The apply command: read a rule or config file, make the live rules (and interfaces) equal it, and print the changes and counts from their field tables. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "describe.h"
#include "drift.h"

struct apply_cfg {
	const char *file;
	bool dry_run, keep_flows;
};

static const struct opt apply_opts[] = {
	{ "FILE", OPT_STRING, offsetof(struct apply_cfg, file), OPT_POS | OPT_REQ,
	  .help = "the rule file; - reads stdin" },
	{ "--dry-run", OPT_FLAG, offsetof(struct apply_cfg, dry_run),
	  .help = "print what would be added, replaced, deleted, attached, changed\n"
		  "and detached; change nothing" },
	{ "--keep-flows", OPT_FLAG, offsetof(struct apply_cfg, keep_flows),
	  .help = "let the flows of deleted rules drain" },
	{ .type = OPT_END },
};

/* ---- a change, and the result ---- */

enum { CH_ACTION, CH_RULE, CH_LINE, CH_OLD };

static void change_get(const void *obj, size_t which, struct out_val *v)
{
	static const char *const verb[] = {
		[PR_CHANGE_ADD] = "add", [PR_CHANGE_REPLACE] = "replace", [PR_CHANGE_DELETE] = "delete",
		[PR_CHANGE_REPAIR] = "repair",
	};
	const struct pr_change *ch = obj;

	switch (which) {
	case CH_ACTION: out_str(v, "%s", verb[ch->kind]); break;
	case CH_RULE: out_obj(v, &rule_desc, ch->rule); break;
	case CH_LINE:
		out_uint(v, ch->line);
		v->absent = !ch->line; /* deletes have no line */
		break;
	case CH_OLD:
		out_obj(v, &rule_desc, ch->old);
		v->absent = !ch->old || ch->kind == PR_CHANGE_REPAIR; /* a repair's old is itself */
		break;
	}
}

static const struct out_field change_fields[] = {
	[CH_ACTION] = { "action", change_get, .arg = CH_ACTION },
	[CH_RULE] = { "rule", change_get, .arg = CH_RULE },
	[CH_LINE] = { "line", change_get, .arg = CH_LINE },
	[CH_OLD] = { "old", change_get, .arg = CH_OLD },
};
static const struct out_desc change_desc = OUT_DESC(change_fields);
static const struct out_col change_id[] = { { RULE_ID, .fmt = "rule %s" }, OUT_COLS_END };
static const struct out_col change_text[] = { { RULE_TEXT, .fmt = ": %s\n" }, OUT_COLS_END };
static const struct out_col change_was[] = { { RULE_TEXT, .fmt = "          was: %s\n" }, OUT_COLS_END };
static const struct out_col change_view[] = {
	{ CH_ACTION, .fmt = "%-7s " }, { CH_RULE, .view = change_id }, { CH_LINE, .fmt = " (line %s)" },
	{ CH_RULE, .view = change_text }, { CH_OLD, .view = change_was }, OUT_COLS_END,
};

/* ---- an interface change (apply with interface lines) ---- */

static const char *req_name(enum pr_mode_req r)
{
	return r == PR_REQ_NATIVE ? "native" : r == PR_REQ_GENERIC ? "generic" : r == PR_REQ_TC ? "tc" : "auto";
}

/* "tc, forward direct" for a record, "auto -> tc, forward stack" for an auto request */
static void if_how(struct out_val *v, const char *mode, bool auto_req, bool via)
{
	bool shown = auto_req && strcmp(mode, "none");

	out_str(v, "%s%s%s, forward %s", auto_req ? "auto" : mode, shown ? " -> " : "", shown ? mode : "",
		via ? "stack" : "direct");
}

/* The old record of a change or detach. */
enum { IO_MODE, IO_ATTACHED, IO_FORWARD };

static void if_old_get(const void *obj, size_t which, struct out_val *v)
{
	const struct pr_iface *rec = obj;

	switch (which) {
	case IO_MODE: out_str(v, "%s", (rec->flags & PR_IF_AUTO) ? "auto" : pr_mode_name(rec->mode)); break;
	case IO_ATTACHED: out_str(v, "%s", pr_mode_name(rec->mode)); break;
	case IO_FORWARD: out_str(v, "%s", (rec->flags & PR_IF_VIA_STACK) ? "stack" : "direct"); break;
	}
}

static const struct out_field if_old_fields[] = {
	[IO_MODE] = { "mode", if_old_get, .arg = IO_MODE },
	[IO_ATTACHED] = { "attached_mode", if_old_get, .arg = IO_ATTACHED },
	[IO_FORWARD] = { "forward", if_old_get, .arg = IO_FORWARD },
};
static const struct out_desc if_old_desc = OUT_DESC(if_old_fields);

enum { IC_ACTION, IC_IFACE, IC_DONE, IC_LINE, IC_MODE, IC_FORWARD, IC_ATTACHED, IC_RECORD, IC_OLD, IC_GONE,
       IC_VERB, IC_NOW, IC_WAS_CHANGE, IC_WAS_DETACH, IC_NOTE };

/* The text-only fields: how the change reads in a sentence. done is false
 * on a dry run, and only done changes are printed after a failure. */
static void if_change_text(const struct pr_iface_change *ch, size_t which, struct out_val *v)
{
	static const char *const verb[][2] = {
		[PR_IFACE_ATTACH] = { "attach ", "attached" },
		[PR_IFACE_CHANGE] = { "change ", "changed" },
		[PR_IFACE_DETACH] = { "detach ", "detached" },
	};
	bool via = ch->want.flags & PR_ATTACH_VIA_STACK, old_via = ch->old.flags & PR_IF_VIA_STACK;

	switch (which) {
	case IC_VERB: out_str(v, "%s", verb[ch->kind][ch->done]); break;
	case IC_NOW:
		v->absent = ch->kind == PR_IFACE_DETACH;
		if (ch->want.req != PR_REQ_AUTO)
			if_how(v, req_name(ch->want.req), false, via);
		else
			if_how(v, ch->done ? pr_mode_name(ch->res.mode) : "none", true, via);
		break;
	case IC_WAS_CHANGE:
	case IC_WAS_DETACH:
		v->absent = ch->kind != (which == IC_WAS_CHANGE ? PR_IFACE_CHANGE : PR_IFACE_DETACH);
		if_how(v, pr_mode_name(ch->old.mode), ch->old.flags & PR_IF_AUTO, old_via);
		break;
	case IC_NOTE:
		out_str(v, "%s", ch->kind == PR_IFACE_CHANGE && ch->record_only ?
				 "; programs untouched, only the request is recorded" :
			 ch->kind == PR_IFACE_DETACH && ch->gone ? " (interface gone: record dropped)" : "");
		break;
	}
}

static void if_change_get(const void *obj, size_t which, struct out_val *v)
{
	static const char *const action[] = {
		[PR_IFACE_ATTACH] = "attach", [PR_IFACE_CHANGE] = "change", [PR_IFACE_DETACH] = "detach",
	};
	const struct pr_iface_change *ch = obj;
	bool detach = ch->kind == PR_IFACE_DETACH;

	switch (which) {
	case IC_ACTION: out_str(v, "%s", action[ch->kind]); break;
	case IC_IFACE: out_str(v, "%.16s", detach ? ch->old.name : ch->want.name); break;
	case IC_DONE: out_bool(v, ch->done); break;
	case IC_LINE: out_uint(v, ch->line); v->absent = !ch->line; break;
	case IC_MODE: out_str(v, "%s", req_name(ch->want.req)); v->absent = detach; break;
	case IC_FORWARD:
		out_str(v, "%s", ch->want.flags & PR_ATTACH_VIA_STACK ? "stack" : "direct");
		v->absent = detach;
		break;
	case IC_ATTACHED: out_str(v, "%s", pr_mode_name(ch->res.mode)); v->absent = detach || !ch->done; break;
	case IC_RECORD: out_bool(v, true); v->absent = detach || !ch->record_only; break;
	case IC_OLD: out_obj(v, &if_old_desc, &ch->old); v->absent = ch->kind == PR_IFACE_ATTACH; break;
	case IC_GONE: out_bool(v, true); v->absent = !ch->gone; break;
	default: if_change_text(ch, which, v); break;
	}
}

#define IF_CHANGE(key, which, ...) [which] = { key, if_change_get, .arg = which, __VA_ARGS__ }
static const struct out_field if_change_fields[] = {
	IF_CHANGE("action", IC_ACTION), IF_CHANGE("interface", IC_IFACE), IF_CHANGE("done", IC_DONE),
	IF_CHANGE("line", IC_LINE), IF_CHANGE("mode", IC_MODE), IF_CHANGE("forward", IC_FORWARD),
	IF_CHANGE("attached_mode", IC_ATTACHED), IF_CHANGE("record_only", IC_RECORD), IF_CHANGE("old", IC_OLD),
	IF_CHANGE("gone", IC_GONE), IF_CHANGE("verb", IC_VERB, .flags = OUT_F_TEXT),
	IF_CHANGE("now", IC_NOW, .flags = OUT_F_TEXT), IF_CHANGE("was", IC_WAS_CHANGE, .flags = OUT_F_TEXT),
	IF_CHANGE("was", IC_WAS_DETACH, .flags = OUT_F_TEXT), IF_CHANGE("note", IC_NOTE, .flags = OUT_F_TEXT),
};
static const struct out_desc if_change_desc = OUT_DESC(if_change_fields);
static const struct out_col if_change_view[] = {
	{ IC_VERB, .fmt = "%s interface " }, { IC_IFACE, .fmt = NULL }, { IC_LINE, .fmt = " (line %s)" },
	{ IC_NOW, .fmt = ": %s" }, { IC_WAS_CHANGE, .fmt = " (was %s)" }, { IC_WAS_DETACH, .fmt = ": was %s" },
	{ IC_NOTE, .fmt = NULL }, OUT_LITERAL("\n"), OUT_COLS_END,
};

struct apply_out {
	struct pr_apply_result r;
	bool dry_run;
	bool show; /* list the changes (a dry run, or -v) */
};

enum { AP_DRY, AP_ADDED, AP_REPLACED, AP_DELETED, AP_UNCHANGED, AP_FLUSHED, AP_FIRST, AP_CHANGES, AP_IFACES,
       AP_REPAIRED, AP_RECONCILED, AP_DRIFT };
enum { IS_ATTACHED, IS_CHANGED, IS_DETACHED, IS_UNCHANGED, IS_CHANGES, IS_LOCAL, IS_LOCAL_TEXT };

static void if_changes_get(const void *obj, size_t arg, struct out_val *v)
{
	const struct apply_out *o = obj;

	out_array(v, &if_change_desc, o->r.if_changes, o->r.nif_changes, sizeof(*o->r.if_changes));
}

/* "local": what the local line did (serve: attach --local; unserve: detach
 * --local; keep: nothing); its text line only when it did something. */
static void if_local_get(const void *obj, size_t which, struct out_val *v)
{
	static const char *const json[] = { "keep", "serve", "unserve" };
	const struct apply_out *o = obj;
	const struct pr_apply_result *r = &o->r;

	if (which == IS_LOCAL) {
		out_str(v, "%s", json[r->local_change]);
		return;
	}
	v->absent = r->local_change == PR_LOCAL_KEEP || (!o->dry_run && !r->local_done);
	if (r->local_change == PR_LOCAL_SERVE)
		out_str(v, "%s local clients with no interface (line %u)", o->dry_run ? "would serve" : "serving",
			r->local_line);
	else if (o->dry_run)
		out_str(v, "would stop serving local clients for their own sake (the file has no local line)");
	else if (r->local_removed)
		out_str(v, "stopped serving local clients (the file has no local line; socket hooks removed)");
	else
		out_str(v, "local clients stay served while interfaces are attached (the file has no local line)");
}

#define COUNT(key, member) { key, out_get_size, .arg = offsetof(struct apply_out, r.member) }
/* "interfaces": the interface phase's counts and changes, also an apply_out */
static const struct out_field ifaces_fields[] = {
	[IS_ATTACHED] = COUNT("attached", if_attached),
	[IS_CHANGED] = COUNT("changed", if_changed),
	[IS_DETACHED] = COUNT("detached", if_detached),
	[IS_UNCHANGED] = COUNT("unchanged", if_unchanged),
	[IS_CHANGES] = { "changes", if_changes_get, .arg = IS_CHANGES },
	[IS_LOCAL] = { "local", if_local_get, .arg = IS_LOCAL },
	[IS_LOCAL_TEXT] = { "local_text", if_local_get, .arg = IS_LOCAL_TEXT, .flags = OUT_F_TEXT },
};
static const struct out_desc ifaces_desc = OUT_DESC(ifaces_fields);

static void apply_get(const void *obj, size_t which, struct out_val *v)
{
	const struct apply_out *o = obj;

	switch (which) {
	case AP_CHANGES:
		out_array(v, &change_desc, o->r.changes, o->r.nchanges, sizeof(*o->r.changes));
		v->absent = !o->show;
		break;
	case AP_IFACES:
		out_obj(v, &ifaces_desc, o);
		v->absent = !o->r.ifaces;
		break;
	case AP_DRIFT:
		out_obj(v, &drift_desc, &o->r.drift);
		v->absent = !out_json() && !pr_drift_any(&o->r.drift);
		break;
	}
}

static const struct out_field apply_fields[] = {
	[AP_DRY] = { "dry_run", out_get_bool, .arg = offsetof(struct apply_out, dry_run) },
	[AP_ADDED] = COUNT("added", added),
	[AP_REPLACED] = COUNT("replaced", replaced),
	[AP_DELETED] = COUNT("deleted", deleted),
	[AP_UNCHANGED] = COUNT("unchanged", unchanged),
	[AP_FLUSHED] = COUNT("flows_flushed", flows_flushed),
	[AP_FIRST] = { "deleted_first", out_get_bool, .arg = offsetof(struct apply_out, r.deleted_first) },
	[AP_CHANGES] = { "changes", apply_get, .arg = AP_CHANGES },
	[AP_IFACES] = { "interfaces", apply_get, .arg = AP_IFACES },
	[AP_REPAIRED] = COUNT("repaired", repaired),
	[AP_RECONCILED] = { "reconciled", out_get_bool, .arg = offsetof(struct apply_out, r.reconciled) },
	[AP_DRIFT] = { "drift", apply_get, .arg = AP_DRIFT },
};
static const struct out_desc apply_desc = OUT_DESC(apply_fields);
/* Text: rule changes (dry run or -v), interface changes, then the counts. */
static const struct out_col if_changes_view[] = {
	{ IS_CHANGES, .view = if_change_view }, { IS_LOCAL_TEXT, .fmt = "%s\n" }, OUT_COLS_END,
};
static const struct out_col if_counts_view[] = {
	{ IS_ATTACHED, .fmt = "interfaces: attached %s" }, { IS_CHANGED, .fmt = ", changed %s" },
	{ IS_DETACHED, .fmt = ", detached %s" }, { IS_UNCHANGED, .fmt = ", unchanged %s\n" }, OUT_COLS_END,
};
static const struct out_col if_dry_counts_view[] = {
	{ IS_ATTACHED, .fmt = "interfaces: would attach %s" }, { IS_CHANGED, .fmt = ", change %s" },
	{ IS_DETACHED, .fmt = ", detach %s" }, { IS_UNCHANGED, .fmt = ", unchanged %s\n" }, OUT_COLS_END,
};
static const struct out_col applied_view[] = {
	{ AP_CHANGES, .view = change_view }, { AP_IFACES, .view = if_changes_view },
	{ AP_ADDED, .fmt = "added %s" }, { AP_REPLACED, .fmt = ", replaced %s" }, { AP_DELETED, .fmt = ", deleted %s" },
	{ AP_UNCHANGED, .fmt = ", unchanged %s" }, { AP_FLUSHED, .fmt = " (%s conntrack entries removed)\n" },
	{ AP_DRIFT, .view = drift_repaired_view }, { AP_IFACES, .view = if_counts_view }, OUT_COLS_END,
};
static const struct out_col dry_run_view[] = {
	{ AP_CHANGES, .view = change_view }, { AP_IFACES, .view = if_changes_view },
	{ AP_ADDED, .fmt = "dry run, nothing changed: would add %s" }, { AP_REPLACED, .fmt = ", replace %s" },
	{ AP_DELETED, .fmt = ", delete %s" }, { AP_UNCHANGED, .fmt = "; unchanged %s\n" },
	{ AP_DRIFT, .view = drift_would_view }, { AP_IFACES, .view = if_dry_counts_view }, OUT_COLS_END,
};

/* ---- the command ---- */

/* Read and check the file. Returns 0 or the exit code, once reported. */
static int read_rules(const char *file, const char *shown, struct pr_ruleset *rs)
{
	char perr[PR_PARSE_ERR_LEN];
	unsigned int line = 0;
	FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	int err, rc;

	if (!f)
		return out_err(EXIT_USAGE, "cannot open '%s': %s", file, strerror(errno));
	err = pr_ruleset_read(f, rs, &line, perr, sizeof(perr));
	if (f != stdin)
		fclose(f);
	if (!err)
		err = pr_ruleset_check(rs, &line, perr, sizeof(perr));
	if (!err)
		return 0;
	rc = err == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	if (line)
		out_err(rc, "%s:%u: %s", shown, line, perr);
	else
		out_err(rc, "%s: %s", shown, perr);
	pr_ruleset_free(rs);
	return rc;
}

/* Warnings of the interface changes made: a native attach that fell back. */
static void if_notes(const struct pr_apply_result *r)
{
	for (size_t i = 0; i < r->nif_changes && r->if_changes[i].done; i++)
		if (r->if_changes[i].res.fell_back)
			out_note("%s", r->if_changes[i].res.why);
}

/* pr_apply failed: what it did first (text only: under -j the error is the
 * one JSON object printed), then the error. Returns the exit code. */
static int apply_failed(const char *shown, const struct pr_ctx *c, int err, const struct pr_apply_result *r)
{
	int rc = err == -EINVAL && !r->rules_done ? EXIT_USAGE : EXIT_FAIL;
	size_t done = 0;

	while (done < r->nif_changes && r->if_changes[done].done)
		done++;
	if (!out_json())
		out_print_list(&if_change_desc, r->if_changes, done, sizeof(*r->if_changes), if_change_view, false,
			       NULL);
	if_notes(r);
	if (r->bad_line)
		return out_err(rc, "%s:%u: %s", shown, r->bad_line, c->err);
	return out_err(rc, "%s: %s", shown, c->err);
}

/* Existing maps are checked against the file's --max-rules (a line error);
 * absent ones are created with it. A dry run creates nothing: against no
 * maps it plans from an empty table. Returns cli_open's 0, 1 or -1. */
static int apply_open(struct pr_ctx *c, const struct pr_ruleset *rs, bool dry_run)
{
	/* a dry run migrates nothing: an older schema's maps are refused */
	int open = cli_open_flags(c, dry_run ? 0 : PR_OPEN_MIGRATE, 0);

	if (open == 1 && !dry_run)
		open = cli_open(c, true, rs->max_rules);
	return open;
}

static int do_apply(const void *cfg, struct pr_ctx *unused)
{
	const struct apply_cfg *a = cfg;
	const char *shown = strcmp(a->file, "-") ? a->file : "<stdin>";
	struct pr_apply_opts o = { .dry_run = a->dry_run, .keep_flows = a->keep_flows };
	struct apply_out out = { .dry_run = a->dry_run, .show = a->dry_run || cli.verbose };
	struct pr_ruleset rs;
	struct pr_ctx c;
	int rc, err, open;

	rc = read_rules(a->file, shown, &rs);
	if (rc)
		return rc;
	open = apply_open(&c, &rs, o.dry_run);
	if (open < 0) {
		pr_ruleset_free(&rs);
		return EXIT_FAIL;
	}
	err = pr_apply(&c, &rs, &o, &out.r);
	if (err) {
		rc = apply_failed(shown, &c, err, &out.r);
	} else {
		if (out.r.deleted_first)
			out_note("the maps cannot hold the old and the new rules at once, so the deleted rules %s first",
				 o.dry_run ? "would go" : "went");
		if_notes(&out.r);
		out_print(&apply_desc, &out, o.dry_run ? dry_run_view : applied_view);
	}
	pr_apply_free(&out.r);
	pr_ruleset_free(&rs);
	if (open == 0)
		pr_close(&c);
	return rc;
}

const struct cmd cmd_apply = {
	"apply", do_apply, apply_opts, sizeof(struct apply_cfg), CMD_MAPS_OWN,
	"Makes the rule table equal FILE: one rule a line, written as add's arguments\n"
	"(see portredir add -h; --replace is implied); blank lines and # comments are\n"
	"skipped, and words may be quoted as in a shell.\n"
	"  a rule identical to a live one is left alone (same id, counters and flows);\n"
	"  a rule with a live rule's exact listen replaces it as add --replace does\n"
	"  (live flows keep the old target); live rules not in FILE are deleted as del\n"
	"  does (their flows are flushed unless --keep-flows).\n"
	"Lines 'interface IFACE [--mode auto|native|generic|tc] [--via-stack]\n"
	"[--allow-threaded-napi] [--max-rules N]' (attach's options)\n"
	"make the interfaces attached in this network namespace exactly those: after the\n"
	"rules, changed ones are changed in place (no packet meets a bare interface), new\n"
	"ones attached, the others detached. A line 'local' is attach --local: local\n"
	"clients are served with no interface; in a file with interface lines and no\n"
	"local line, they are served only while interfaces are attached. A file without\n"
	"interface or local lines leaves both alone. /etc/portredir.conf is such a file\n"
	"(see portredir save).\n"
	"The whole file is checked first: a bad line prints FILE:LINE and changes nothing.",
};
