// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* BPF unit tests: crafted packets through the XDP and TC programs with BPF_PROG_TEST_RUN; `-l` lists the cases, `-t NAME` runs some. */
#include <stdlib.h>
#include <string.h>
#include "cases.h"

int main(int argc, char **argv)
{
	const struct { const struct pr_case *c; size_t n; } tables[] = {
		{ cases_tcp, cases_tcp_n },   { cases_pass, cases_pass_n }, { cases_udp, cases_udp_n },
		{ cases_icmp, cases_icmp_n }, { cases_ipv6, cases_ipv6_n }, { cases_rules, cases_rules_n },
		{ cases_fib, cases_fib_n },   { cases_nat, cases_nat_n },   { cases_pmtu, cases_pmtu_n },
		{ cases_check, cases_check_n },   { cases_csum, cases_csum_n },
		{ cases_monitor, cases_monitor_n },
	};
	struct pr_suite s = fx_suite_ops;
	struct pr_case *all;
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		n += tables[i].n;
	all = calloc(n, sizeof(*all));
	if (!all)
		return 1;
	n = 0;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		memcpy(all + n, tables[i].c, tables[i].n * sizeof(*all));
		n += tables[i].n;
	}
	s.cases = all;
	s.ncases = n;
	rc = harness_main(&s, argc, argv);
	free(all);
	return rc;
}
