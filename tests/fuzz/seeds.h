/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The datapath fuzzer's fixed rule set, the flows an input may open first, and its seed corpus. */
#ifndef PR_FUZZ_SEEDS_H
#define PR_FUZZ_SEEDS_H

#include <linux/types.h>

#define FUZZ_MAX_PKT 2048
#define FUZZ_LISTEN4 "198.51.100.1" /* where the seeds reach any-address rules */
#define FUZZ_LISTEN6 "2001:db8:1::1"
#define FUZZ_NRULES 9
extern const char *const FUZZ_RULES[FUZZ_NRULES]; /* in `portredir add` syntax */

/* A valid packet that opens a flow through the ingress hooks. */
struct fuzz_opener {
	__u8 pkt[256];
	__u32 len;
};
/* The opener an input's first byte selects (its low nibble, 1..N), or NULL: no flow. */
const struct fuzz_opener *fuzz_opener(__u8 sel);
/* Write the seed corpus into dir (created if absent); returns 0 or -errno. */
int fuzz_write_seeds(const char *dir);

#endif
