// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit cases: IPv6 flows, extension headers, fragments and ICMPv6 errors through XDP and TC. */
#include <arpa/inet.h>
#include <linux/ipv6.h>
#include "cases.h"

static const int XDP_HOOK = 0, TC_HOOK = 1;

static void rules6(struct fx *f)
{
	fx_rule(f, "tcp", NULL, 8080, TARGET6, 80, false);
	fx_rule(f, "udp", LISTEN6, 5353, TARGET6, 53, false);
}

#define SYN6 { .src = CLIENT6, .dst = LISTEN6, .sport = CPORT, .dport = 8080, .proto = IPPROTO_TCP, .tcp_flags = TCP_SYN }
#define UDP6 { .src = CLIENT6, .dst = LISTEN6, .sport = CPORT, .dport = 5353, .proto = IPPROTO_UDP, .payload = 33 }

static void ipv6_tcp(struct fx *f, const void *arg)
{
	bool xdp = *(const int *)arg == XDP_HOOK;
	struct bpf_program *fwd = xdp ? fx_xdp(f) : fx_tc_in(f);
	int pass = xdp ? XDP_PASS : TC_ACT_OK;
	const char *hook = xdp ? "xdp" : "tc";
	struct pkt_spec s = SYN6, w = SYN6;
	struct pkt_spec r = { .src = TARGET6, .dst = CLIENT6, .sport = 80, .dport = CPORT, .proto = IPPROTO_TCP,
			      .tcp_flags = TCP_SYN | TCP_ACK, .payload = 40 }, rw = r;

	rules6(f);
	w.dst = TARGET6;
	w.dport = 80;
	fx_expect_spec(f, fwd, &s, pass, &w, "SYN");
	TEST_LINE("%s: IPv6 TCP SYN is rewritten to the IPv6 target with a valid checksum", hook);
	fx_expect_spec(f, fwd, &r, pass, NULL, "reply at ingress");
	TEST_LINE("%s: an IPv6 reply with no direct way out is left to the egress hook", hook);
	rw.src = LISTEN6;
	rw.sport = 8080;
	fx_expect_spec(f, fx_tc_eg(f), &r, TC_ACT_OK, &rw, "reply at egress");
	TEST_LINE("%s: IPv6 reply gets the listen address and port back", hook);
}

static void ipv6_ext(struct fx *f, const void *arg)
{
	bool xdp = *(const int *)arg == XDP_HOOK;
	struct bpf_program *fwd = xdp ? fx_xdp(f) : fx_tc_in(f);
	int pass = xdp ? XDP_PASS : TC_ACT_OK;
	const char *hook = xdp ? "xdp" : "tc";
	struct pkt_spec s = UDP6, w = UDP6;

	rules6(f);
	s.ext6 = w.ext6 = EXT_HBH_DST;
	w.dst = TARGET6;
	w.dport = 53;
	fx_expect_spec(f, fwd, &s, pass, &w, "behind options");
	TEST_LINE("%s: IPv6 UDP behind hop-by-hop and destination options is translated", hook);
	s.ext6 = EXT_ROUTING_LEFT;
	fx_expect_spec(f, fwd, &s, pass, NULL, "routing header");
	TEST_LINE("%s: IPv6 with a routing header with segments left is passed untouched", hook);
}

static void ipv6_frag_xdp(struct fx *f, const void *arg)
{
	struct pkt_spec s = UDP6, w;
	struct pkt in, want, later, later_want, out;
	__u8 *fh;

	rules6(f);
	s.ext6 = EXT_FRAG_FIRST;
	s.payload = 64;
	w = s;
	w.dst = TARGET6;
	w.dport = 53;
	/* a first fragment with a fragment header: the UDP length is the whole datagram's */
	pkt_build(&in, &s);
	pkt_build(&want, &w);
	((__be16 *)pkt_l4(&in))[2] = htons(8 + 64 + 1000);
	((__be16 *)pkt_l4(&want))[2] = htons(8 + 64 + 1000);
	/* its checksum covers the whole datagram: compared, not verified */
	ASSERT_EQ(fx_run(f, fx_xdp(f), &in, &out, 0), XDP_PASS, "first fragment");
	ASSERT_PKT_EQ(&out, &want, "first fragment");
	/* then a later one (offset 72, last), which carries no ports: only the address changes */
	pkt_copy(&later, &in);
	fh = (__u8 *)(pkt_ip6(&later) + 1);
	fh[2] = 0;
	fh[3] = (72 / 8) << 3;
	pkt_copy(&later_want, &later);
	inet_pton(AF_INET6, TARGET6, &pkt_ip6(&later_want)->daddr);
	ASSERT_EQ(fx_run(f, fx_xdp(f), &later, &out, 0), XDP_PASS, "later fragment");
	ASSERT_PKT_EQ(&out, &later_want, "later fragment");
	TEST_LINE("xdp: IPv6 fragments: the first is translated, a later one follows by fragment id");
}

static void ipv6_icmp_too_big(struct fx *f, const void *arg)
{
	struct pkt_spec s = SYN6;
	struct pkt c0, c1, in, want, out;
	const int qlen = 40 + 28;

	rules6(f);
	s.tcp_flags = TCP_PSH | TCP_ACK;
	s.payload = 1200;
	pkt_build(&c0, &s);
	ASSERT_EQ(fx_run(f, fx_xdp(f), &c0, &c1, 0), XDP_PASS, "the client's segment");
	/* packet-too-big from the target about the forwarded segment */
	pkt_icmp(&in, TARGET6, CLIENT6, 2 /* packet too big */, 0, 1280, &c1, qlen);
	fx_expect(f, fx_xdp(f), &in, XDP_PASS, NULL, NULL, "xdp");
	TEST_LINE("xdp: an ICMPv6 error on its way to the client is left to the egress hook");
	pkt_icmp(&want, LISTEN6, CLIENT6, 2, 0, 1280, &c0, qlen);
	fx_expect(f, fx_tc_eg(f), &in, TC_ACT_OK, &want, &out, "tc egress");
	TEST_LINE("tc egress: ICMPv6 packet-too-big quotes the client's own packet byte for byte, from the listen address");
}

const struct pr_case cases_ipv6[] = {
	{ "ipv6_tcp_xdp", ipv6_tcp, "IPv6 TCP SYN and reply, opened at XDP", &XDP_HOOK },
	{ "ipv6_tcp_tc", ipv6_tcp, "IPv6 TCP SYN and reply, opened at TC ingress", &TC_HOOK },
	{ "ipv6_ext_xdp", ipv6_ext, "IPv6 extension headers at XDP", &XDP_HOOK },
	{ "ipv6_ext_tc", ipv6_ext, "IPv6 extension headers at TC ingress", &TC_HOOK },
	CASE(ipv6_frag_xdp, "IPv6 fragments at XDP"),
	CASE(ipv6_icmp_too_big, "ICMPv6 packet-too-big about a translated flow"),
};
const size_t cases_ipv6_n = CASES_COUNT(cases_ipv6);
