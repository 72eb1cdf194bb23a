// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit cases: path MTU of full-NAT flows, the frag-needed and packet-too-big errors TC builds for a packet too big for its egress. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include "cases.h"

#define SNAT_ADDR "203.0.113.1"    /* ut_out's own address */
#define SNAT_ADDR6 "2001:db8:2::1" /* and its IPv6 one */
#define MTU 1280                    /* of ut_out (and ut_in), set by each case */
#define Q4 548                      /* the IPv4 quote: the error is 576 bytes */
#define Q6 1232                     /* the IPv6 quote: the error is 1280 bytes */
#define BURST 50                    /* the rate limit's burst (bpf/lib/pmtu.h) */
#define CLIENT_HI "198.51.100.66"   /* with LISTEN, an error header summing to 2^31 or more */

static int ip_len(const struct pkt *p)
{
	return p->len - ETH_HLEN;
}

/* bpf_csum_diff's answer for n bytes at b as Linux before 6.13 gives it on
 * x86: the 32-bit one's-complement sum of the little-endian words, not
 * folded to 16 bits (6.13 folds it on every arch). At 2^31 or above it
 * is negative in an int, which pr_pmtu() once read as the helper failing. */
static __u32 csum_diff32(const void *b, int n)
{
	__u64 s = 0;
	__u32 w;

	for (int i = 0; i + 4 <= n; i += 4) {
		memcpy(&w, (const __u8 *)b + i, 4);
		s += w;
	}
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return s;
}

/* The error TC should make of orig, a packet from src to dst that is too
 * big for an MTU of mtu: from dst to src, quoting orig as it arrived, the
 * Ethernet addresses swapped, IPv4 TOS as Linux's icmp_send() sets it. */
static void want_error(struct pkt *w, const struct pkt *orig, const char *src, const char *dst, __u32 mtu)
{
	bool v6 = strchr(src, ':');
	int q = v6 ? (ip_len(orig) < Q6 ? ip_len(orig) : Q6) : (ip_len(orig) < Q4 ? ip_len(orig) : Q4);

	pkt_icmp(w, dst, src, v6 ? ICMPV6_PKT_TOOBIG : ICMP_DEST_UNREACH, v6 ? 0 : ICMP_FRAG_NEEDED, mtu, orig, q);
	memcpy(w->b, orig->b + 6, 6);
	memcpy(w->b + 6, orig->b, 6);
	if (!v6) {
		pkt_ip4(w)->tos = 0xc0 | (((const struct iphdr *)(orig->b + ETH_HLEN))->tos & 0x1e);
		pkt_ip4(w)->check = 0;
		pkt_ip4(w)->check = htons(pkt_ip4_csum(pkt_ip4(w)));
	}
}

/* The veths with both links' MTU lowered to MTU, and a rule tcp :8080 ->
 * target:80, with snat a --snat one (source snat:20000), whose flow the
 * client opens with a SYN from ut_in (CLIENT or CLIENT6). */
static bool mtu_flow(struct fx *f, struct veths *v, bool v6, bool snat)
{
	struct pkt_spec s = SYN_SPEC;
	struct pkt in, out;
	__u32 id;

	if (!veths_bare(v) ||
	    !ASSERT_OK(system("ip link set ut_out mtu 1280 && ip link set ut_in mtu 1280"), "MTU 1280"))
		return false;
	id = fx_rule(f, "tcp", NULL, 8080, v6 ? TARGET6 : TARGET, 80, false);
	if (snat) {
		fx_rule_flags(f, "tcp", 8080, v6, PR_RULE_F_SNAT);
		fx_rnat(f, id, PR_SNAT_ADDR, v6 ? SNAT_ADDR6 : SNAT_ADDR, 20000, 20000);
	}
	if (v6) {
		s.src = CLIENT6;
		s.dst = LISTEN6;
	}
	pkt_build(&in, &s);
	return ASSERT_EQ(fx_run(f, fx_tc_in(f), &in, &out, v->in_if), TC_ACT_REDIRECT, "the flow's SYN");
}

/* A data segment of the flow from the client, payload bytes long. */
static struct pkt_spec segment(bool v6, int payload)
{
	struct pkt_spec s = SYN_SPEC;

	s.tcp_flags = TCP_PSH | TCP_ACK;
	s.payload = payload;
	if (v6) {
		s.src = CLIENT6;
		s.dst = LISTEN6;
	}
	return s;
}

/* Run in through TC ingress from ifindex (gso_size: a burst's segment
 * size, 0 for none): redirected, out is want whole with its checksums
 * verifying from scratch, drop_too_big_icmp_sent counted once and no
 * translation. */
static bool error_sent(struct fx *f, __u32 ifindex, const struct pkt *in, __u32 gso_size, const struct pkt *want,
		       struct pkt *out, const char *what)
{
	__u64 sent = fx_gstat(f, PR_R_DROP_TOO_BIG_ICMP), fwd = fx_gstat(f, PR_R_XLATE_FWD),
	      rep = fx_gstat(f, PR_R_XLATE_REPLY);
	bool ok;

	ok = ASSERT_EQ(fx_run_gso(f, fx_tc_in(f), in, out, ifindex, gso_size), TC_ACT_REDIRECT, what);
	ok = ASSERT_PKT_EQ(out, want, what) && ok;
	ok = ASSERT_CSUMS_OK(out, what) && ok;
	ok = ASSERT_EQ(fx_gstat(f, PR_R_DROP_TOO_BIG_ICMP), sent + 1, "drop_too_big_icmp_sent") && ok;
	return ASSERT_EQ(fx_gstat(f, PR_R_XLATE_FWD) + fx_gstat(f, PR_R_XLATE_REPLY), fwd + rep, "nothing translated") &&
	       ok;
}

static void pmtu_v4(struct fx *f, const void *arg)
{
	struct pkt_spec s = segment(false, 1400), r, w;
	struct pkt in, want, out;
	struct veths v;
	__u64 noroute;
	__u32 id;

	if (!mtu_flow(f, &v, false, true))
		goto out;
	pkt_build(&in, &s);
	want_error(&want, &in, CLIENT, LISTEN, MTU);
	error_sent(f, v.in_if, &in, 0, &want, &out, "1440 bytes over MTU 1280");
	TEST_LINE("tc: a --snat segment too big for the egress MTU gets frag-needed (MTU 1280) from the listen address, "
		  "quoting 548 bytes of it as it arrived, MACs swapped, back out of its interface");


	fx_expect(f, fx_xdp(f), &in, XDP_PASS, NULL, NULL, "xdp");
	ASSERT_EQ_HEX(f->meta, 0, "left unmarked for TC");
	TEST_LINE("xdp leaves the too-big packet unmarked to TC ingress, as every full-NAT packet");

	s.payload = 1240 - 40;
	w = s;
	veths_routed(&v, &s, &w);
	w.src = SNAT_ADDR;
	w.sport = 20000;
	pkt_build(&in, &s);
	pkt_build(&want, &w);
	ASSERT_EQ(fx_run(f, fx_tc_in(f), &in, &out, v.in_if), TC_ACT_REDIRECT, "1280 bytes");
	ASSERT_PKT_EQ(&out, &want, "1280 bytes");
	TEST_LINE("tc: a segment of exactly the MTU is translated and sent on");

	r = (struct pkt_spec){ .src = TARGET, .dst = SNAT_ADDR, .sport = 80, .dport = 20000, .proto = IPPROTO_TCP,
			       .tcp_flags = TCP_ACK, .payload = 1300, .tos = 0x10 };
	pkt_build(&in, &r);
	want_error(&want, &in, TARGET, SNAT_ADDR, MTU);
	error_sent(f, v.out_if, &in, 0, &want, &out, "a reply over the client link's MTU");
	TEST_LINE("tc: a reply too big for the client's link gets frag-needed to the target, from the SNAT address, "
		  "TOS 0xc0 | the reply's");

	s.payload = 1400;
	pkt_build(&in, &s);
	pkt_ip4(&in)->frag_off = 0;
	pkt_csum_refill(&in);
	noroute = fx_gstat(f, PR_R_DROP_NAT2_NO_ROUTE);
	ASSERT_EQ(fx_run(f, fx_tc_in(f), &in, &out, v.in_if), TC_ACT_SHOT, "DF clear");
	ASSERT_EQ(fx_gstat(f, PR_R_DROP_NAT2_NO_ROUTE), noroute + 1, "drop_nat2_no_route");
	TEST_LINE("tc: a too-big IPv4 packet without DF gets no error (a router would fragment it): dropped, "
		  "counted drop_nat2_no_route");

	/* a client whose error's IP header sums to 2^31 or more in 32 bits,
	 * on a rule of its own (the first holds the one port 20000) */
	id = fx_rule(f, "tcp", NULL, 8081, TARGET, 80, false);
	fx_rule_flags(f, "tcp", 8081, false, PR_RULE_F_SNAT);
	fx_rnat(f, id, PR_SNAT_ADDR, SNAT_ADDR, 20001, 20001);
	s = segment(false, 0);
	s.src = CLIENT_HI;
	s.dport = 8081;
	s.tcp_flags = TCP_SYN;
	pkt_build(&in, &s);
	ASSERT_EQ(fx_run(f, fx_tc_in(f), &in, &out, v.in_if), TC_ACT_REDIRECT, "the second client's SYN");
	s.tcp_flags = TCP_PSH | TCP_ACK;
	s.payload = 1400;
	pkt_build(&in, &s);
	want_error(&want, &in, CLIENT_HI, LISTEN, MTU);
	ASSERT_TRUE(csum_diff32(pkt_ip4(&want), 20) >= 1u << 31, "the error's IP header sums to 2^31 or more");
	error_sent(f, v.in_if, &in, 0, &want, &out, "the second client's segment");
	TEST_LINE("tc: frag-needed also goes to a client for whose error bpf_csum_diff answers 2^31 or more "
		  "(Linux before 6.13 does not fold it: a negative int, once taken for the helper failing)");
out:
	veths_down();
}

static void pmtu_v6(struct fx *f, const void *arg)
{
	struct pkt_spec s = segment(true, 1300);
	struct pkt in, want, out;
	struct veths v;

	if (!mtu_flow(f, &v, true, true))
		goto out;
	pkt_build(&in, &s);
	want_error(&want, &in, CLIENT6, LISTEN6, MTU);
	error_sent(f, v.in_if, &in, 0, &want, &out, "1360 bytes over MTU 1280");
	ASSERT_EQ(out.len, ETH_HLEN + 1280, "the error fills the minimum MTU");
	TEST_LINE("tc: an IPv6 --snat segment too big for its egress gets packet-too-big (MTU 1280) from the listen "
		  "address, quoting as much as fits in 1280 bytes, checksum over the pseudo header");
out:
	veths_down();
}

/* The device or the stack completes a CHECKSUM_PARTIAL skb's checksum at
 * the quoted L4 header (its csum_start): emulate it on the error e at
 * the offset of the quoted L4 checksum field, off from the frame's start. */
static void complete_at(struct pkt *e, int l4_start, int field)
{
	__u32 s = 0;

	for (int i = l4_start; i < (int)e->len; i += 2)
		s += (e->b[i] << 8) | (i + 1 < (int)e->len ? e->b[i + 1] : 0);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	s = ~s & 0xffff;
	e->b[field] = s >> 8;
	e->b[field + 1] = s & 0xff;
}

/* A GSO burst (as GRO or a local socket's TSO makes it, its TCP checksum
 * the CHECKSUM_PARTIAL seed, TCP options in its header) is checked by its
 * segments' length, exactly. */
static void pmtu_gso(struct fx *f, const void *arg)
{
	struct pkt_spec s = segment(false, 3000), w;
	struct pkt in, want, out, done;
	struct veths v;
	int l4, field;

	if (!mtu_flow(f, &v, false, true))
		goto out;
	s.partial_csum = true;
	pkt_build(&in, &s);
	/* 12 bytes of options: a 32-byte TCP header (the seed covers the
	 * pseudo header only, so it stays) */
	((struct tcphdr *)pkt_l4(&in))->doff = 8;

	w = s;
	veths_routed(&v, &s, &w);
	w.src = SNAT_ADDR;
	w.sport = 20000;
	ASSERT_EQ(fx_run_gso(f, fx_tc_in(f), &in, &out, v.in_if, MTU - 20 - 32), TC_ACT_REDIRECT, "segments of the MTU");
	ASSERT_EQ(pkt_ip4(&out)->daddr, inet_addr(TARGET), "translated");
	ASSERT_EQ(pkt_ip4(&out)->saddr, inet_addr(SNAT_ADDR), "translated");
	ASSERT_EQ(out.len, in.len, "the burst whole");
	TEST_LINE("tc: a --snat GSO burst of 3060 bytes whose segments (20 + 32 + 1228) fit the MTU exactly is "
		  "translated and sent on");

	/* ut_out's peer in another namespace (pr_peer, as attach writes it for
	 * a container's veth): a single segment goes into it, a burst not */
	{
		__u64 peer0 = fx_gstat(f, PR_R_REDIRECT_PEER);
		struct pkt one;

		fx_peer(f, v.out_if, TARGET_MAC, true);
		ASSERT_EQ(fx_run_gso(f, fx_tc_in(f), &in, &out, v.in_if, MTU - 20 - 32), TC_ACT_REDIRECT, "the burst");
		ASSERT_EQ(fx_gstat(f, PR_R_REDIRECT_PEER), peer0, "the burst: not into the peer");
		s.payload = 1000;
		s.partial_csum = false;
		pkt_build(&one, &s);
		ASSERT_EQ(fx_run(f, fx_tc_in(f), &one, &out, v.in_if), TC_ACT_REDIRECT, "a single segment");
		ASSERT_EQ(fx_gstat(f, PR_R_REDIRECT_PEER), peer0 + 1, "a single segment: into the peer");
		fx_peer(f, v.out_if, TARGET_MAC, false);
		s.payload = 3000;
		s.partial_csum = true;
		TEST_LINE("tc: a GSO burst for a container's veth takes bpf_redirect, not bpf_redirect_peer "
			  "(docs/design.md); a single segment still goes into the peer");
	}

	want_error(&want, &in, CLIENT, LISTEN, MTU);
	if (!ASSERT_EQ(fx_run_gso(f, fx_tc_in(f), &in, &out, v.in_if, MTU - 20 - 32 + 1), TC_ACT_REDIRECT,
		       "segments one byte over"))
		goto out;
	/* the quote's TCP checksum field is the one value completing it keeps */
	l4 = ETH_HLEN + 20 + 8 + 20;
	field = l4 + 16;
	memcpy(want.b + field, out.b + field, 2);
	pkt_csum_refill(&want);
	ASSERT_PKT_EQ(&out, &want, "the error, but for the quoted TCP checksum");
	ASSERT_CSUMS_OK(&out, "the error");
	pkt_copy(&done, &out);
	complete_at(&done, l4, field);
	ASSERT_PKT_EQ(&done, &out, "completed at csum_start");
	TEST_LINE("tc: segments one byte over the MTU (TCP options counted) get frag-needed; the quoted partial "
		  "checksum is set so a device completing it leaves the error valid");

	/* The sum of the error's ICMP header and the quoted IP header, which
	 * this path takes apart, lies at 2^31 or above for some IP ids: send
	 * 16 ids across the range, each must get its error. */
	for (int k = 0, high = 0; k < 16; k++) {
		__u8 pre[28];

		pkt_ip4(&in)->id = htons(k * 0x1111);
		pkt_ip4(&in)->check = 0;
		pkt_ip4(&in)->check = htons(pkt_ip4_csum(pkt_ip4(&in)));
		want_error(&want, &in, CLIENT, LISTEN, MTU);
		memcpy(pre, want.b + ETH_HLEN + 20, 8);
		memset(pre + 2, 0, 2); /* the ICMP checksum, not yet set when summed */
		memcpy(pre + 8, in.b + ETH_HLEN, 20);
		high += csum_diff32(pre, sizeof(pre)) >= 1u << 31;
		if (!ASSERT_EQ(fx_run_gso(f, fx_tc_in(f), &in, &out, v.in_if, MTU - 20 - 32 + 1), TC_ACT_REDIRECT,
			       "another IP id"))
			break;
		memcpy(want.b + field, out.b + field, 2);
		pkt_csum_refill(&want);
		if (!ASSERT_PKT_EQ(&out, &want, "the error for another IP id"))
			break;
		if (k == 15)
			ASSERT_TRUE(high > 0, "some of the ids sum to 2^31 or more");
	}
	TEST_LINE("tc: the quoted partial checksum is set whatever the IP id, also where bpf_csum_diff answers "
		  "2^31 or more (Linux before 6.13)");
out:
	veths_down();
}

/* A DNAT flow's GSO burst (no --snat: the target sees the client) is
 * checked by its segments' length as a full-NAT one is: segments that
 * fit go straight out of ut_out (bpf_redirect, not into a container's
 * peer), translated, the burst whole; segments one byte over take the
 * stack's path, which answers frag-needed itself. */
static void pmtu_gso_dnat(struct fx *f, const void *arg)
{
	struct pkt_spec s = segment(false, 3000), w;
	struct pkt in, want, out;
	struct veths v;
	__u64 redir0, peer0;

	if (!mtu_flow(f, &v, false, false))
		goto out;
	s.partial_csum = true;
	pkt_build(&in, &s);
	veths_routed(&v, &s, &w);
	pkt_build(&want, &w);
	fx_peer(f, v.out_if, TARGET_MAC, true);
	redir0 = fx_gstat(f, PR_R_REDIRECT);
	peer0 = fx_gstat(f, PR_R_REDIRECT_PEER);
	ASSERT_EQ(fx_run_gso(f, fx_tc_in(f), &in, &out, v.in_if, MTU - 20 - 20), TC_ACT_REDIRECT, "segments of the MTU");
	/* a test run's skb is not CHECKSUM_PARTIAL, so the seed takes the
	 * port's change too: the TCP checksum field is left out */
	memcpy(want.b + ETH_HLEN + 20 + 16, out.b + ETH_HLEN + 20 + 16, 2);
	ASSERT_PKT_EQ(&out, &want, "translated and routed, the burst whole");
	ASSERT_EQ(fx_gstat(f, PR_R_REDIRECT), redir0 + 1, "redirect counted");
	ASSERT_EQ(fx_gstat(f, PR_R_REDIRECT_PEER), peer0, "not into the peer");
	TEST_LINE("tc: a DNAT GSO burst of 3040 bytes whose segments (20 + 20 + 1240) fit the MTU exactly goes "
		  "straight out, translated, by bpf_redirect (not into a container's peer)");

	redir0 = fx_gstat(f, PR_R_REDIRECT);
	ASSERT_EQ(fx_run_gso(f, fx_tc_in(f), &in, &out, v.in_if, MTU - 20 - 20 + 1), TC_ACT_OK, "segments one byte over");
	ASSERT_EQ(fx_gstat(f, PR_R_REDIRECT), redir0, "not redirected");
	ASSERT_EQ(pkt_ip4(&out)->daddr, inet_addr(TARGET), "translated");
	ASSERT_EQ(pkt_ip4(&out)->ttl, 64, "TTL left to the stack");
	TEST_LINE("tc: segments one byte over the MTU leave the translated burst to the stack's path (whose "
		  "frag-needed redirect.sh's case_pmtu sees)");
	fx_peer(f, v.out_if, TARGET_MAC, false);
out:
	veths_down();
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* On one CPU, errors beyond the burst wait for tokens (one a
 * millisecond): the packets meanwhile are dropped, counted
 * drop_nat2_no_route, and no error goes out. */
static void pmtu_rate(struct fx *f, const void *arg)
{
	struct pkt_spec s = segment(false, 1400);
	__u64 sent0 = 0, drop0 = 0;
	cpu_set_t old, one;
	struct pkt in, out;
	int sent = 0, held = 0, rc = 0, i;
	struct veths v;
	double t0, ms;

	if (sched_getaffinity(0, sizeof(old), &old) || !mtu_flow(f, &v, false, true))
		goto out;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	if (!ASSERT_OK(sched_setaffinity(0, sizeof(one), &one), "pin to one CPU"))
		goto out;
	pkt_build(&in, &s);
	usleep((BURST + 10) * 1000); /* a full bucket */
	sent0 = fx_gstat(f, PR_R_DROP_TOO_BIG_ICMP);
	drop0 = fx_gstat(f, PR_R_DROP_NAT2_NO_ROUTE);
	t0 = now_ms();
	for (i = 0; i < 400 && held < 10; i++) {
		rc = fx_run(f, fx_tc_in(f), &in, &out, v.in_if);
		if (rc == TC_ACT_REDIRECT && !held)
			sent++;
		else if (rc == TC_ACT_SHOT)
			held++;
		else if (rc != TC_ACT_REDIRECT)
			break;
	}
	ms = now_ms() - t0;
	sched_setaffinity(0, sizeof(old), &old);
	ASSERT_TRUE(rc == TC_ACT_REDIRECT || rc == TC_ACT_SHOT, "every packet: an error or a drop");
	if (!ASSERT_TRUE(held > 0, "some packets held back")) {
		diag("%d errors in %.1f ms", i, ms);
		goto out;
	}
	ASSERT_TRUE(sent >= BURST, "the burst goes out whole");
	if (!ASSERT_TRUE(sent <= BURST + ms + 1, "then one a millisecond at most"))
		diag("%d errors before the first held back, in %.1f ms", sent, ms);
	ASSERT_EQ(fx_gstat(f, PR_R_DROP_TOO_BIG_ICMP) + fx_gstat(f, PR_R_DROP_NAT2_NO_ROUTE) - sent0 - drop0, i,
		  "each counted once");
	ASSERT_TRUE(fx_gstat(f, PR_R_DROP_NAT2_NO_ROUTE) - drop0 >= (__u64)held, "held back: drop_nat2_no_route");
	TEST_LINE("tc: errors are rate-limited per CPU, a burst of 50 then 1000 a second; the packets over it are "
		  "dropped without one, counted drop_nat2_no_route");
out:
	veths_down();
}

const struct pr_case cases_pmtu[] = {
	CASE(pmtu_v4, "frag-needed for too-big full-NAT IPv4 packets, both ways, and DF clear"),
	CASE(pmtu_v6, "packet-too-big for a too-big full-NAT IPv6 packet"),
	CASE(pmtu_gso, "a full-NAT GSO burst checked by its segments' length, a partial checksum in the quote"),
	CASE(pmtu_gso_dnat, "a DNAT GSO burst checked by its segments' length: straight out, or the stack's path"),
	CASE(pmtu_rate, "the errors' rate limit"),
};
const size_t cases_pmtu_n = CASES_COUNT(cases_pmtu);
