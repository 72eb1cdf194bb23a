// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit cases: the L4 checksum TC leaves after a translation (ctx/skb.h's pr_skb_l4_csum()), for each skb->ip_summed a test run can give: CHECKSUM_NONE, CHECKSUM_COMPLETE, and full checksums that look like a CHECKSUM_PARTIAL seed or whose address change folds to zero. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ipv6.h>
#include "cases.h"

/* Linux 6.11 (backported to Debian's 6.1.0-57): the test run's skb gets CHECKSUM_COMPLETE with skb->csum
 * summed over the packet, and the run fails with EBADMSG when skb->csum no
 * longer matches the packet the program left. Kernels without it refuse
 * the flag (EINVAL), and the cases that need it skip. */
#ifndef BPF_F_TEST_SKB_CHECKSUM_COMPLETE
#define BPF_F_TEST_SKB_CHECKSUM_COMPLETE (1U << 2)
#endif

#define SYN4 { .src = CLIENT, .dst = LISTEN, .sport = CPORT, .dport = 8080, .proto = IPPROTO_TCP, .tcp_flags = TCP_SYN }
#define UDP4 { .src = CLIENT, .dst = LISTEN, .sport = CPORT, .dport = 5353, .proto = IPPROTO_UDP, .payload = 33 }
#define SYN6 { .src = CLIENT6, .dst = LISTEN6, .sport = CPORT, .dport = 8080, .proto = IPPROTO_TCP, .tcp_flags = TCP_SYN }
#define UDP6 { .src = CLIENT6, .dst = LISTEN6, .sport = CPORT, .dport = 5353, .proto = IPPROTO_UDP, .payload = 33 }

static void rules(struct fx *f)
{
	fx_base_rules(f); /* tcp :8080 -> TARGET:80, udp :5353 -> TARGET:53 */
	fx_rule(f, "tcp", NULL, 8080, TARGET6, 80, false);
	fx_rule(f, "udp", LISTEN6, 5353, TARGET6, 53, false);
}

/* Ask for CHECKSUM_COMPLETE on every TC run from now on; false (and
 * nothing asked) when this kernel's test runs cannot give it. */
static bool complete_on(struct fx *f)
{
	struct pkt_spec s = { .src = CLIENT, .dst = LISTEN, .sport = CPORT, .dport = 9, .proto = IPPROTO_UDP,
			      .payload = 8 };
	struct pkt in, out;

	pkt_build(&in, &s);
	f->skb_flags = BPF_F_TEST_SKB_CHECKSUM_COMPLETE;
	if (fx_run(f, fx_tc_in(f), &in, &out, 0) < 0 && f->run_err == -EINVAL) {
		f->skb_flags = 0;
		return false;
	}
	return true;
}

/* Every translation TC makes of a TCP or UDP flow, both ways, both
 * families, with CHECKSUM_COMPLETE: the run itself checks skb->csum, and
 * the packet's own checksums are checked from scratch. Without BPF_F_IPV6
 * (6.16) the helper fixes skb->csum for an IPv6 pseudo-header change too,
 * which the receiver then finds wrong ("hw csum failure"). */
static void csum_complete(struct fx *f, const void *arg)
{
	const struct {
		struct pkt_spec s;
		const char *target;
		__u16 tport;
		const char *what;
	} t[] = {
		{ SYN4, TARGET, 80, "IPv4 TCP" },
		{ UDP4, TARGET, 53, "IPv4 UDP" },
		{ SYN6, TARGET6, 80, "IPv6 TCP" },
		{ UDP6, TARGET6, 53, "IPv6 UDP" },
	};

	if (!complete_on(f)) {
		test_skip("this kernel's test runs refuse BPF_F_TEST_SKB_CHECKSUM_COMPLETE",
			  "tc: translations keep skb->csum of CHECKSUM_COMPLETE packets");
		return;
	}
	rules(f);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct pkt_spec w = t[i].s, r = t[i].s, rw;

		w.dst = t[i].target;
		w.dport = t[i].tport;
		r.src = t[i].target;
		r.sport = t[i].tport;
		r.dst = t[i].s.src;
		r.dport = t[i].s.sport;
		r.tcp_flags = t[i].s.proto == IPPROTO_TCP ? TCP_SYN | TCP_ACK : 0;
		rw = r;
		rw.src = t[i].s.dst;
		rw.sport = t[i].s.dport;
		fx_expect_spec(f, fx_tc_in(f), &t[i].s, TC_ACT_OK, &w, t[i].what);
		fx_expect_spec(f, fx_tc_eg(f), &r, TC_ACT_OK, &rw, t[i].what);
		TEST_LINE("tc: %s with CHECKSUM_COMPLETE, to the target and its reply back: skb->csum still "
			  "matches the packet, and the checksums verify", t[i].what);
	}
}

/* Change the last payload word until the full checksum equals the
 * pseudo-header seed: 1 packet in 65536 does, and it must not be taken
 * for CHECKSUM_PARTIAL. */
static bool lookalike(struct pkt *p, int payload)
{
	__u32 hl = pkt_ip6(p)->nexthdr == IPPROTO_TCP ? 20 : 8;
	__u8 *w = (__u8 *)pkt_l4(p) + hl + payload - 2;

	for (__u32 v = 0; v < 0x10000; v++) {
		w[0] = v >> 8;
		w[1] = v;
		pkt_csum_refill(p);
		if (pkt_l4_csum_field(p) == pkt_l4_pseudo_seed(p))
			return true;
	}
	return false;
}

static void csum_lookalike(struct fx *f, const void *arg)
{
	const struct {
		struct pkt_spec s;
		__u16 tport;
		const char *what;
	} t[] = {
		{ UDP6, 53, "IPv6 UDP" },
		{ SYN6, 80, "IPv6 TCP" },
	};
	bool complete;

	rules(f);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct pkt_spec s = t[i].s;
		struct pkt in, want;

		s.payload = 34;
		pkt_build(&in, &s);
		if (!ASSERT_TRUE(lookalike(&in, s.payload), "a payload word that makes the lookalike"))
			continue;
		pkt_copy(&want, &in);
		inet_pton(AF_INET6, TARGET6, &pkt_ip6(&want)->daddr);
		((__be16 *)pkt_l4(&want))[1] = htons(t[i].tport);
		pkt_csum_refill(&want);
		fx_expect(f, fx_tc_in(f), &in, TC_ACT_OK, &want, NULL, "CHECKSUM_NONE");
		TEST_LINE("tc: %s whose full checksum equals its pseudo-header seed (CHECKSUM_NONE) gets the "
			  "address and the port change", t[i].what);
		complete = complete_on(f);
		if (complete)
			fx_expect(f, fx_tc_in(f), &in, TC_ACT_OK, &want, NULL, "CHECKSUM_COMPLETE");
		f->skb_flags = 0;
		if (complete)
			TEST_LINE("tc: the same %s packet as CHECKSUM_COMPLETE: translated alike, skb->csum kept",
				  t[i].what);
		else
			test_skip("this kernel's test runs refuse BPF_F_TEST_SKB_CHECKSUM_COMPLETE",
				  "tc: the same %s packet as CHECKSUM_COMPLETE", t[i].what);
	}
}

/* A rule whose target address is its listen address: the address change
 * folds to zero, so what the helper did to the field cannot tell
 * CHECKSUM_PARTIAL from not, and the port change takes a second call. */
static void csum_port_only(struct fx *f, const void *arg)
{
	struct pkt_spec s = SYN4, w = SYN4;
	struct pkt_spec u = UDP4, uw = UDP4;

	fx_rule(f, "tcp", LISTEN, 8080, LISTEN, 80, false);
	fx_rule(f, "udp", LISTEN, 5353, LISTEN, 53, false);
	w.dport = 80;
	uw.dport = 53;
	fx_expect_spec(f, fx_tc_in(f), &s, TC_ACT_OK, &w, "tcp");
	fx_expect_spec(f, fx_tc_in(f), &u, TC_ACT_OK, &uw, "udp");
	TEST_LINE("tc: a port-only translation (listen address = target address) gets its TCP and UDP "
		  "checksums right");
}

const struct pr_case cases_csum[] = {
	CASE(csum_complete, "CHECKSUM_COMPLETE through TC, both families, both ways"),
	CASE(csum_lookalike, "IPv6 full checksums that equal the pseudo-header seed"),
	CASE(csum_port_only, "a port-only translation, whose address change folds to zero"),
};
const size_t cases_csum_n = CASES_COUNT(cases_csum);
