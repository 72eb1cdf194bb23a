// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Root-free tests of the rule parser and the rule model (no BPF, no root): KTAP out; `-t GROUP` runs one group. */
#include <errno.h>
#include <stdlib.h>
#include "rules_test.h"

int ktap_n, ktap_failed, ktap_bad;

void ktap_result(const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ktap_bad ? "not " : "", ++ktap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	ktap_failed += ktap_bad;
	ktap_bad = 0;
}

int read_file(const char *text, size_t len, struct pr_ruleset *rs, unsigned int *line, char *err)
{
	FILE *f = fmemopen((void *)text, len, "r");
	int ret;

	if (!f)
		return -errno;
	ret = pr_ruleset_read(f, rs, line, err, ERRLEN);
	fclose(f);
	return ret;
}

int read_text(const char *text, struct pr_ruleset *rs, unsigned int *line, char *err)
{
	return read_file(text, strlen(text), rs, line, err);
}

int parse_line(const char *line, struct pr_rule_meta *m, char *err)
{
	struct pr_ruleset rs;
	unsigned int bad;
	int ret = read_text(line, &rs, &bad, err);

	if (!ret && rs.n != 1)
		ret = -EDOM;
	if (!ret)
		*m = rs.rules[0];
	pr_ruleset_free(&rs);
	return ret;
}

int parse_argv(const char *line, struct pr_rule_meta *m, char *err)
{
	char buf[PR_LINE_LEN * 2], *argv[80];
	struct pr_rule_spec s;
	int argc = 0, ret;
	bool replace;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *w = strtok(buf, " "); w && argc < 80; w = strtok(NULL, " "))
		argv[argc++] = w;
	ret = pr_spec_parse(argc, argv, &s, &replace, err, ERRLEN);
	if (!ret)
		pr_meta_from_spec(&s, m);
	return ret;
}

struct pr_rule_meta must_parse(const char *line)
{
	char err[ERRLEN] = "";
	struct pr_rule_meta m = {};

	if (parse_line(line, &m, err))
		EXPECT_FAIL_("'%s' does not parse: %s", line, err);
	return m;
}

static const struct {
	const char *name;
	void (*fn)(void);
} groups[] = {
	{ "good_lines", t_good_lines },	    { "bad_lines", t_bad_lines },   { "file_syntax", t_file_syntax },
	{ "del_listen", t_del_listen },	    { "fields", t_fields },	    { "line_fits", t_line_fits },
	{ "overlap", t_overlap },	    { "ruleset_check", t_ruleset_check }, { "spans", t_spans },
	{ "allow_diff", t_allow_diff },	    { "ids", t_ids },		    { "sizing", t_sizing },
	{ "caps_check", t_caps_check },	    { "dry_run_capacity", t_dry_run_capacity },
	{ "reason_names", t_reason_names }, { "reconcile", t_reconcile }, { "nat_fields", t_nat_fields }, { "snat_default", t_snat_default },
	{ "nat_identity", t_nat_identity }, { "ifaddr_pick", t_ifaddr_pick }, { "ct_near_full", t_ct_near_full },
};

int main(int argc, char **argv)
{
	const char *only = argc == 3 && strcmp(argv[1], "-t") == 0 ? argv[2] : NULL;
	size_t n = sizeof(groups) / sizeof(groups[0]), i = 0;

	if (argc > 1 && !only) {
		fprintf(stderr, "usage: %s [-t GROUP]\n", argv[0]);
		return 2;
	}
	while (only && i < n && strcmp(only, groups[i].name))
		i++;
	if (i == n) {
		fprintf(stderr, "%s: no group '%s'\n", argv[0], only);
		return 2;
	}
	printf("TAP version 13\n");
	for (i = 0; i < n; i++) {
		if (only && strcmp(only, groups[i].name))
			continue;
		printf("# %s\n", groups[i].name);
		groups[i].fn();
	}
	printf("1..%d\n", ktap_n);
	printf("# rules: %d passed, %d failed\n", ktap_n - ktap_failed, ktap_failed);
	return ktap_failed || !ktap_n ? 1 : 0;
}
