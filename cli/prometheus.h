/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The Prometheus text format writer that stats --prometheus and the exporter share. */
#ifndef PR_CLI_PROMETHEUS_H
#define PR_CLI_PROMETHEUS_H

#include <stdio.h>
#include "libportredir.h"

/* The content type of what prom_write writes. */
#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Write every counter and the conntrack fill of c's maps to f in the text
 * exposition format (c NULL: no maps yet, every value 0). Returns 0, or a
 * negative errno with err set to one line saying what could not be read;
 * then f may hold part of the output. */
int prom_write(FILE *f, struct pr_ctx *c, char *err, size_t len);

#endif
