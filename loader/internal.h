/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Helpers shared between the loader's own files; not part of the library API. */
#ifndef PR_INTERNAL_H
#define PR_INTERNAL_H

#include "libportredir.h"

/* Set c->err from fmt and return err as a negative errno. */
int pr_errf(struct pr_ctx *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int pr_ensure_bpffs(struct pr_ctx *c);
/* Number of possible CPUs, for per-CPU map values. */
int pr_ncpus(void);
/* Point an object's pr_tx at the pinned one; call between open and load. */
struct bpf_map;
int pr_reuse_tx(struct pr_ctx *c, struct bpf_map *map);
/* Filters on ifindex's clsact ingress or egress that are not portredir's; count or -errno. */
int pr_tc_foreign_filters(int ifindex, bool egress);

#endif
