/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the rule tests share: rule text into the model through the parser, and the test groups. */
#ifndef PR_TEST_RULES_H
#define PR_TEST_RULES_H

#include "libportredir.h"
#include "internal.h"
#include "expect.h"

#define ERRLEN PR_PARSE_ERR_LEN

/* text (len bytes) as an apply file; 0 or the reader's error, err set. */
int read_file(const char *text, size_t len, struct pr_ruleset *rs, unsigned int *line, char *err);
int read_text(const char *text, struct pr_ruleset *rs, unsigned int *line, char *err);
/* One line as an apply file reads it. */
int parse_line(const char *line, struct pr_rule_meta *m, char *err);
/* The same words as add's argv (split at blanks: no quotes here). */
int parse_argv(const char *line, struct pr_rule_meta *m, char *err);
/* A line that must parse (a failed check when it does not). */
struct pr_rule_meta must_parse(const char *line);

/* rules_syntax.c */
void t_good_lines(void);
void t_bad_lines(void);
void t_file_syntax(void);
void t_del_listen(void);
void t_line_fits(void);
/* rules_model.c */
void t_fields(void);
void t_overlap(void);
void t_ruleset_check(void);
void t_spans(void);
void t_allow_diff(void);
void t_ids(void);
void t_sizing(void);
void t_caps_check(void);
void t_dry_run_capacity(void);
void t_reason_names(void);
void t_ct_near_full(void);
void t_reconcile(void);
/* rules_nat.c */
void t_nat_fields(void);
void t_snat_default(void);
void t_nat_identity(void);
void t_ifaddr_pick(void);

#endif
