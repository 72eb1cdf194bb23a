// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The save command: the live interfaces and rules printed as the config file apply reads (the lines come from the loader). */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static int cmp_attached(const void *x, const void *y)
{
	const struct pr_iface_status *a = x, *b = y;

	if (a->rec.attached_ns != b->rec.attached_ns)
		return a->rec.attached_ns < b->rec.attached_ns ? -1 : 1;
	return strncmp(a->rec.name, b->rec.name, sizeof(a->rec.name));
}

/* Interface lines in the order of attachment; --max-rules on the first when
 * the capacity is not the default. Returns 0 or EXIT_FAIL once reported. */
static int save_ifaces(const struct pr_ctx *c, struct pr_iface_status *ifs, size_t n)
{
	char line[PR_LINE_LEN], perr[PR_PARSE_ERR_LEN];
	bool first = true;

	qsort(ifs, n, sizeof(*ifs), cmp_attached);
	for (size_t i = 0; i < n; i++) {
		const struct pr_iface_status *st = &ifs[i];

		if (!st->present) {
			out_note("left out %.16s: the interface is gone (detach --all drops its record)", st->rec.name);
			continue;
		}
		if (!pr_iface_live(st))
			out_note("%.16s has programs missing; apply attaches it again", st->rec.name);
		if (pr_iface_line(&st->rec, first && c->max_rules != PR_DEFAULT_MAX_RULES ? c->max_rules : 0, line,
				  sizeof(line), perr, sizeof(perr)))
			return out_err(EXIT_FAIL, "%s", perr);
		puts(line);
		first = false;
	}
	if (n == 0 && c->max_rules != PR_DEFAULT_MAX_RULES)
		out_note("the maps hold %u rules, which only an interface line can say; none is attached", c->max_rules);
	return 0;
}

static int save_rules(const struct pr_rule_meta *v, size_t n)
{
	char line[PR_LINE_LEN];

	for (size_t i = 0; i < n; i++) {
		if (pr_rule_line(&v[i], line, sizeof(line)))
			return out_err(EXIT_FAIL, "cannot write rule %u", v[i].rule.id);
		puts(line);
	}
	return 0;
}

static int do_save(const void *cfg, struct pr_ctx *c)
{
	struct pr_iface_status *ifs = NULL;
	struct pr_rule_meta *v = NULL;
	struct pr_local_status local;
	size_t n = 0, nr = 0;
	int rc;

	if (out_json())
		return out_err(EXIT_USAGE, "-j: save prints the config file format only (-j status and -j list give JSON)");
	if (!c)
		return EXIT_OK; /* no maps: nothing attached, no rules */
	if (pr_iface_list(c, &ifs, &n) || pr_rule_list(c, &v, &nr) || pr_local_status(c, &local)) {
		rc = cli_fail(c);
	} else {
		if (local.explicit_local)
			puts("local");
		rc = save_ifaces(c, ifs, n) ?: save_rules(v, nr);
	}
	free(ifs);
	free(v);
	return rc;
}

const struct cmd cmd_save = {
	"save", do_save, params_none, 0, CMD_MAPS_READ,
	"Prints the live state in the config file format apply reads: 'local' when\n"
	"attach --local serves local clients with no interface, the interfaces attached\n"
	"in this network namespace (in the order they were attached), then the rules by\n"
	"id. 'portredir save > f; portredir apply f' changes nothing, and\n"
	"'portredir save | diff - /etc/portredir.conf' shows drift. An interface attached\n"
	"with --mode auto is saved without --mode; --max-rules is saved (on the first\n"
	"interface line) when the maps' capacity is not the default. No JSON (-j): use\n"
	"-j status and -j list.",
};
