/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A small KTAP test harness: named cases, ASSERT_* checks that print what they saw and expected, and result lines. */
#ifndef PR_HARNESS_H
#define PR_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <linux/types.h>

struct fx; /* the fixture a case runs against (fixture.h) */

/* One named case: it sets up what it needs on a fixture the harness has
 * just reset, and reports one or more result lines with TEST_LINE. */
struct pr_case {
	const char *name;
	void (*fn)(struct fx *f, const void *arg);
	const char *doc;
	const void *arg; /* passed to fn: lets one function serve a table of cases */
};

/* Run the cases of table[0..n) that the command line selects; returns the
 * process exit status (0 all passed, 1 a failure, 4 all skipped). setup and
 * teardown run around each case and count as part of it (nonzero: the case
 * fails). */
struct pr_suite {
	const struct pr_case *cases;
	size_t ncases;
	int (*init)(void);                /* once, before the first case; nonzero: the exit status */
	void (*fini)(void);
	int (*setup)(struct fx **f);      /* before each case: a fixture with no state */
	int (*teardown)(struct fx *f);    /* after each case: remove what it left */
};
int harness_main(const struct pr_suite *s, int argc, char **argv);

/* Emit a result line for the checks made since the previous one:
 * "ok N - case: desc", or "not ok" if any of them failed. */
void test_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Emit "ok N - case: desc # SKIP reason". */
void test_skip(const char *reason, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "# ..." diagnostic line. */
void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define TEST_LINE(...) test_line(__VA_ARGS__)

/* The check behind every ASSERT_*: records a failure for the current line. */
bool harness_check(bool ok);

enum h_fmt { H_DEC, H_HEX };
bool h_assert_int(const char *file, int line, const char *what, const char *expr, long long got, long long want,
		  enum h_fmt fmt, bool want_eq);
bool h_assert_true(const char *file, int line, const char *expr, bool ok, const char *what);
bool h_assert_ok(const char *file, int line, const char *what, const char *expr, long long rc);
bool h_assert_addr(const char *file, int line, const char *expr, int af, const void *got, const char *want);
bool h_assert_mem(const char *file, int line, const char *expr, const void *got, size_t got_len,
		  const void *want, size_t want_len);
/* Hexdump both buffers in the 16-byte rows around off. */
void h_hexdump_around(const void *got, size_t got_len, const void *want, size_t want_len, size_t off);

/* Decimal: counters, lengths, verdicts. Evaluate each argument once. */
#define ASSERT_EQ(got, want, what) \
	h_assert_int(__FILE__, __LINE__, what, #got " == " #want, (long long)(got), (long long)(want), H_DEC, true)
#define ASSERT_NEQ(got, want, what) \
	h_assert_int(__FILE__, __LINE__, what, #got " != " #want, (long long)(got), (long long)(want), H_DEC, false)
/* Hex: bytes, flags, checksums, magic values. */
#define ASSERT_EQ_HEX(got, want, what) \
	h_assert_int(__FILE__, __LINE__, what, #got " == " #want, (long long)(got), (long long)(want), H_HEX, true)
#define ASSERT_NEQ_HEX(got, want, what) \
	h_assert_int(__FILE__, __LINE__, what, #got " != " #want, (long long)(got), (long long)(want), H_HEX, false)
#define ASSERT_TRUE(cond, what) h_assert_true(__FILE__, __LINE__, #cond, (cond), what)
/* rc is 0 or -errno. */
#define ASSERT_OK(rc, what) h_assert_ok(__FILE__, __LINE__, what, #rc, (rc))
/* got points at a network-order IPv4 (AF_INET) or IPv6 address; want is text. */
#define ASSERT_ADDR4_EQ(got, want, what) h_assert_addr(__FILE__, __LINE__, what, AF_INET, &(got), want)
#define ASSERT_ADDR6_EQ(got, want, what) h_assert_addr(__FILE__, __LINE__, what, AF_INET6, &(got), want)
/* Whole buffers: lengths, then the first differing offset with a hexdump. */
#define ASSERT_MEM_EQ(got, glen, want, wlen, what) h_assert_mem(__FILE__, __LINE__, what, got, glen, want, wlen)

#endif
