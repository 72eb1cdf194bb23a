/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A small KTAP harness: EXPECT_* checks print what they got and expected, ktap_result() closes one named test. */
#ifndef PR_TEST_EXPECT_H
#define PR_TEST_EXPECT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

extern int ktap_n, ktap_failed, ktap_bad; /* tests so far, failed ones, and whether the current one failed */

/* "ok N - NAME" or "not ok N - NAME" for the checks since the last result. */
void ktap_result(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define EXPECT_FAIL_(fmt, ...)                                                     \
	do {                                                                       \
		printf("# %s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__);     \
		ktap_bad = 1;                                                      \
	} while (0)

#define EXPECT_INT(got, want)                                                                      \
	do {                                                                                       \
		long long g_ = (long long)(got), w_ = (long long)(want);                           \
		if (g_ != w_)                                                                      \
			EXPECT_FAIL_("%s: got %lld, expected %lld", #got, g_, w_);                 \
	} while (0)

#define EXPECT_STR(got, want)                                                                      \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		if (strcmp(g_, w_))                                                                \
			EXPECT_FAIL_("%s: got '%s', expected '%s'", #got, g_, w_);                 \
	} while (0)

#define EXPECT_HAS(text, part)                                                                     \
	do {                                                                                       \
		const char *t_ = (text), *p_ = (part);                                             \
		if (!strstr(t_, p_))                                                               \
			EXPECT_FAIL_("%s: got '%s', expected it to contain '%s'", #text, t_, p_);  \
	} while (0)

#define EXPECT_TRUE(cond)                                                                          \
	do {                                                                                       \
		if (!(cond))                                                                       \
			EXPECT_FAIL_("expected %s", #cond);                                        \
	} while (0)

#endif
