// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The apply command: read a rule file, make the live table equal it, and print the changes and counts from their field tables. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "describe.h"

struct apply_cfg {
	const char *file;
	bool dry_run, keep_flows;
};

static const struct opt apply_opts[] = {
	{ "FILE", OPT_STRING, offsetof(struct apply_cfg, file), OPT_POS | OPT_REQ,
	  .help = "the rule file; - reads stdin" },
	{ "--dry-run", OPT_FLAG, offsetof(struct apply_cfg, dry_run),
	  .help = "print what would be added, replaced and deleted; change nothing" },
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
		v->absent = !ch->old;
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

struct apply_out {
	struct pr_apply_result r;
	bool dry_run;
	bool show; /* list the changes (a dry run, or -v) */
};

enum { AP_DRY, AP_ADDED, AP_REPLACED, AP_DELETED, AP_UNCHANGED, AP_FLUSHED, AP_FIRST, AP_CHANGES };

static void changes_get(const void *obj, size_t which, struct out_val *v)
{
	const struct apply_out *o = obj;

	out_array(v, &change_desc, o->r.changes, o->r.nchanges, sizeof(*o->r.changes));
	v->absent = !o->show;
}

#define COUNT(key, member) { key, out_get_size, .arg = offsetof(struct apply_out, r.member) }
static const struct out_field apply_fields[] = {
	[AP_DRY] = { "dry_run", out_get_bool, .arg = offsetof(struct apply_out, dry_run) },
	[AP_ADDED] = COUNT("added", added),
	[AP_REPLACED] = COUNT("replaced", replaced),
	[AP_DELETED] = COUNT("deleted", deleted),
	[AP_UNCHANGED] = COUNT("unchanged", unchanged),
	[AP_FLUSHED] = COUNT("flows_flushed", flows_flushed),
	[AP_FIRST] = { "deleted_first", out_get_bool, .arg = offsetof(struct apply_out, r.deleted_first) },
	[AP_CHANGES] = { "changes", changes_get, .arg = AP_CHANGES },
};
static const struct out_desc apply_desc = OUT_DESC(apply_fields);
static const struct out_col applied_view[] = {
	{ AP_CHANGES, .view = change_view },
	{ AP_ADDED, .fmt = "added %s" }, { AP_REPLACED, .fmt = ", replaced %s" }, { AP_DELETED, .fmt = ", deleted %s" },
	{ AP_UNCHANGED, .fmt = ", unchanged %s" }, { AP_FLUSHED, .fmt = " (%s conntrack entries removed)\n" }, OUT_COLS_END,
};
static const struct out_col dry_run_view[] = {
	{ AP_CHANGES, .view = change_view },
	{ AP_ADDED, .fmt = "dry run, nothing changed: would add %s" }, { AP_REPLACED, .fmt = ", replace %s" },
	{ AP_DELETED, .fmt = ", delete %s" }, { AP_UNCHANGED, .fmt = "; unchanged %s\n" }, OUT_COLS_END,
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

static int do_apply(const void *cfg)
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
	/* a dry run creates nothing: against no maps it plans from an empty table */
	open = cli_open(&c, !o.dry_run, 0);
	if (open < 0) {
		pr_ruleset_free(&rs);
		return EXIT_FAIL;
	}
	err = pr_apply(&c, &rs, &o, &out.r);
	if (err) {
		rc = err == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
		if (out.r.bad_line)
			out_err(rc, "%s:%u: %s", shown, out.r.bad_line, c.err);
		else
			out_err(rc, "%s: %s", shown, c.err);
	} else {
		if (out.r.deleted_first)
			out_note("the maps cannot hold the old and the new rules at once, so the %s deleted rules %s first",
				 o.dry_run ? "would be" : "were", o.dry_run ? "go" : "went");
		out_print(&apply_desc, &out, o.dry_run ? dry_run_view : applied_view);
	}
	pr_apply_free(&out.r);
	pr_ruleset_free(&rs);
	if (open == 0)
		pr_close(&c);
	return rc;
}

const struct cmd cmd_apply = {
	"apply", do_apply, apply_opts, sizeof(struct apply_cfg),
	"Makes the rule table equal FILE: one rule a line, written as add's arguments\n"
	"(see portredir add -h; --replace is implied); blank lines and # comments are\n"
	"skipped, and words may be quoted as in a shell.\n"
	"  a rule identical to a live one is left alone (same id, counters and flows);\n"
	"  a rule with a live rule's exact listen replaces it as add --replace does\n"
	"  (live flows keep the old target); live rules not in FILE are deleted as del\n"
	"  does (their flows are flushed unless --keep-flows).\n"
	"The whole file is checked first: a bad line prints FILE:LINE and changes nothing.",
};
