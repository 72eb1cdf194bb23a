// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Small utilities every loader file may use: error text, parse errors, clocks, the CPU count. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "libportredir.h"
#include "internal.h"

int pr_errf(struct pr_ctx *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return err < 0 ? err : -err;
}

int pr_perr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int pr_twice(char *err, size_t len, const char *opt, const char *first, const char *again)
{
	return pr_perr(err, len, "%s given twice ('%s', then '%s')", opt, first, again);
}

static __u64 clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

__u64 pr_realtime_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

__u64 pr_monotonic_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int pr_ncpus(void)
{
	static int n;

	if (!n)
		n = libbpf_num_possible_cpus();
	return n;
}
