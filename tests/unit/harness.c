// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The KTAP test harness: case selection (-t, -l), result lines, and the checks behind ASSERT_*. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"

static struct {
	int n, pass, fail, skip;
	const char *case_name; /* the running case */
	int case_lines;        /* result lines it has emitted */
	bool line_failed;      /* a check failed since the last result line */
	bool case_failed;
} H;

void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

bool harness_check(bool ok)
{
	if (!ok)
		H.line_failed = H.case_failed = true;
	return ok;
}

static void vline(bool ok, const char *skip, const char *fmt, va_list ap)
{
	H.n++;
	H.case_lines++;
	if (skip)
		H.skip++;
	else if (ok)
		H.pass++;
	else
		H.fail++;
	printf("%sok %d - %s: ", ok ? "" : "not ", H.n, H.case_name);
	vprintf(fmt, ap);
	if (skip)
		printf(" # SKIP %s", skip);
	putchar('\n');
	fflush(stdout);
	H.line_failed = false;
}

void test_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(!H.line_failed, NULL, fmt, ap);
	va_end(ap);
}

void test_skip(const char *reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(true, reason, fmt, ap);
	va_end(ap);
}

static void where(const char *file, int line)
{
	const char *base = strrchr(file, '/');

	printf("# %s:%d: ", base ? base + 1 : file, line);
}

bool h_assert_int(const char *file, int line, const char *what, const char *expr, long long got, long long want,
		  enum h_fmt fmt, bool want_eq)
{
	if (harness_check((got == want) == want_eq))
		return true;
	where(file, line);
	if (fmt == H_HEX)
		printf("%s: %s: got 0x%llx, expected %s0x%llx\n", what, expr, got, want_eq ? "" : "anything but ", want);
	else
		printf("%s: %s: got %lld, expected %s%lld\n", what, expr, got, want_eq ? "" : "anything but ", want);
	return false;
}

bool h_assert_true(const char *file, int line, const char *expr, bool ok, const char *what)
{
	if (harness_check(ok))
		return true;
	where(file, line);
	printf("%s: expected %s to hold\n", what, expr);
	return false;
}

bool h_assert_ok(const char *file, int line, const char *what, const char *expr, long long rc)
{
	if (harness_check(rc == 0))
		return true;
	where(file, line);
	printf("%s: %s: got %lld (%s), expected 0\n", what, expr, rc, rc < 0 ? strerror((int)-rc) : "not an errno");
	return false;
}

bool h_assert_addr(const char *file, int line, const char *expr, int af, const void *got, const char *want)
{
	unsigned char w[16];
	char gs[INET6_ADDRSTRLEN];
	size_t len = af == AF_INET ? 4 : 16;

	if (inet_pton(af, want, w) != 1) {
		harness_check(false);
		where(file, line);
		printf("%s: bad expected address '%s'\n", expr, want);
		return false;
	}
	if (harness_check(memcmp(got, w, len) == 0))
		return true;
	inet_ntop(af, got, gs, sizeof(gs));
	where(file, line);
	printf("%s: got address %s (", expr, gs);
	for (size_t i = 0; i < len; i++)
		printf("%02x", ((const unsigned char *)got)[i]);
	printf("), expected %s\n", want);
	return false;
}

static void hexrow(const char *tag, const unsigned char *b, size_t len, size_t row, size_t mark)
{
	printf("#   %s %04zx:", tag, row);
	for (size_t i = row; i < row + 16; i++) {
		if (i < len)
			printf("%c%02x", i == mark ? '>' : ' ', b[i]);
		else
			printf("   ");
	}
	putchar('\n');
}

void h_hexdump_around(const void *got, size_t got_len, const void *want, size_t want_len, size_t off)
{
	size_t first = off / 16 * 16, last = first + 32, max = got_len > want_len ? got_len : want_len;

	first = first >= 16 ? first - 16 : 0;
	if (last > max)
		last = max;
	for (size_t row = first; row < last; row += 16) {
		hexrow("got ", got, got_len, row, off);
		hexrow("want", want, want_len, row, off);
	}
}

bool h_assert_mem(const char *file, int line, const char *expr, const void *got, size_t got_len,
		  const void *want, size_t want_len)
{
	const unsigned char *g = got, *w = want;
	size_t n = got_len < want_len ? got_len : want_len, off = 0;

	while (off < n && g[off] == w[off])
		off++;
	if (harness_check(off == n && got_len == want_len))
		return true;
	where(file, line);
	if (off == n)
		printf("%s: length %zu, expected %zu (equal up to the shorter)\n", expr, got_len, want_len);
	else
		printf("%s: first difference at offset %zu (0x%zx): got 0x%02x, expected 0x%02x (lengths %zu, %zu)\n",
		       expr, off, off, g[off], w[off], got_len, want_len);
	h_hexdump_around(got, got_len, want, want_len, off);
	return false;
}

/* -t: a comma-separated list of substrings of case names (any may match). */
static bool selected(const char *name, char **filters, int nf)
{
	if (!nf)
		return true;
	for (int i = 0; i < nf; i++) {
		char buf[256], *tok, *save = NULL;

		snprintf(buf, sizeof(buf), "%s", filters[i]);
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			if (strstr(name, tok))
				return true;
	}
	return false;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-l] [-t NAME[,NAME...]]...\n"
			"  -l       list the cases\n"
			"  -t NAME  run only cases whose name contains NAME (a substring)\n", prog);
}

static void run_case(const struct pr_suite *s, const struct pr_case *c)
{
	struct fx *f = NULL;

	H.case_name = c->name;
	H.case_lines = 0;
	H.line_failed = H.case_failed = false;
	if (s->setup(&f)) {
		harness_check(false);
		test_line("setup failed");
		return;
	}
	c->fn(f, c->arg);
	if (H.line_failed || !H.case_lines)
		test_line("%s", H.case_lines ? "checks after the last result line" : "reported no result");
	if (s->teardown(f)) {
		harness_check(false);
		test_line("teardown failed");
	}
}

int harness_main(const struct pr_suite *s, int argc, char **argv)
{
	char **filters = calloc(argc, sizeof(*filters));
	int nf = 0, opt, matched = 0;

	if (!filters)
		return 1;
	while ((opt = getopt(argc, argv, "lt:h")) != -1) {
		if (opt == 't') {
			filters[nf++] = optarg;
		} else if (opt == 'l') {
			for (size_t i = 0; i < s->ncases; i++)
				printf("%-28s %s\n", s->cases[i].name, s->cases[i].doc);
			free(filters);
			return 0;
		} else {
			usage(argv[0]);
			free(filters);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0], argv[optind]);
		free(filters);
		return 2;
	}
	for (size_t i = 0; i < s->ncases; i++)
		matched += selected(s->cases[i].name, filters, nf);
	if (!matched) {
		fprintf(stderr, "%s: no case matches -t %s (-l lists them)\n", argv[0], filters[0]);
		free(filters);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	opt = s->init();
	if (opt) {
		s->fini();
		free(filters);
		return opt;
	}
	for (size_t i = 0; i < s->ncases; i++)
		if (selected(s->cases[i].name, filters, nf))
			run_case(s, &s->cases[i]);
	s->fini();
	free(filters);
	printf("1..%d\n", H.n);
	printf("# unit: %d passed, %d failed, %d skipped\n", H.pass, H.fail, H.skip);
	if (H.fail || !H.n)
		return 1;
	return H.pass ? 0 : 4;
}
