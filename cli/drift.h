/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* How a disagreement of the rule tables (struct pr_drift) is shown, shared by apply, status and repair. */
#ifndef PR_CLI_DRIFT_H
#define PR_CLI_DRIFT_H

#include "libportredir.h"
#include "output.h"

/* The fields of a struct pr_drift: each count, "consistent", and a text-only summary. */
extern const struct out_desc drift_desc;
/* "repaired: SUMMARY\n" (apply), "would repair: SUMMARY\n" (apply --dry-run). */
extern const struct out_col drift_repaired_view[], drift_would_view[];
/* "tables: consistent\n", or "tables: DISAGREE: SUMMARY; ...\n" (status). */
extern const struct out_col drift_status_view[];
/* The summary: "2 rules (3 lookup entries missing, 1 pointing elsewhere),
 * 4 lookup entries of no rule", or "" when d counts nothing. */
void drift_text(char *buf, size_t len, const struct pr_drift *d);

#endif
