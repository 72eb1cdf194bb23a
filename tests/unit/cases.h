/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The datapath unit cases, one table per file; test_datapath.c joins them into the suite. */
#ifndef PR_CASES_H
#define PR_CASES_H

#include <linux/in.h>
#include "fixture.h"

/* A TCP SYN from the client to the listen address's port 8080. */
#define SYN_SPEC \
	{ .src = CLIENT, .dst = LISTEN, .sport = CPORT, .dport = 8080, .proto = IPPROTO_TCP, .tcp_flags = TCP_SYN }

/* Two veths in the test's netns (cases_fib.c): client side ut_in (LISTEN/24,
 * LISTEN6/64), target side ut_out (203.0.113.1/24, 2001:db8:2::1/64), the
 * targets' neighbours known (TARGET_MAC), forwarding on. veths_down()
 * removes them. */
struct veths {
	__u32 in_if, out_if;
	unsigned char in_mac[6], out_mac[6];
};
extern const unsigned char TARGET_MAC[6], CLIENT_MAC[6];
bool veths_bare(struct veths *v);
void veths_down(void);
/* sp translated to TARGET:80 and routed out of ut_out: TTL-1, the neighbour's MACs. */
void veths_routed(const struct veths *v, const struct pkt_spec *sp, struct pkt_spec *w);

/* Run the IPv4 fragments (of 1480 bytes) of s through prog from ifindex
 * (0: none) and compare each, verdict included, with the fragments of w,
 * and the reassembled output with w (cases_udp.c). */
void frag_run_from(struct fx *f, struct bpf_program *prog, __u32 ifindex, int verdict,
		   const struct pkt_spec *s, const struct pkt_spec *w, int nwant);

#define CASE(fn_, doc_) { .name = #fn_, .fn = fn_, .doc = doc_ }
#define CASES_COUNT(a) (sizeof(a) / sizeof((a)[0]))

extern const struct pr_case cases_tcp[], cases_pass[], cases_udp[], cases_icmp[], cases_ipv6[], cases_rules[],
	cases_fib[], cases_nat[], cases_pmtu[], cases_monitor[];
extern const size_t cases_tcp_n, cases_pass_n, cases_udp_n, cases_icmp_n, cases_ipv6_n, cases_rules_n, cases_fib_n,
	cases_nat_n, cases_pmtu_n, cases_monitor_n;
/* TC's L4 checksums for each ip_summed (cases_csum.c) */
extern const struct pr_case cases_csum[];
extern const size_t cases_csum_n;
/* portredir check's packet (cases_check.c) */
extern const struct pr_case cases_check[];
extern const size_t cases_check_n;

#endif
