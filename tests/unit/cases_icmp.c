// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit cases: ICMP errors about translated flows (quoted packets translated back), and ICMP that is not ours. */
#include <string.h>
#include <arpa/inet.h>
#include <linux/icmp.h>
#include "cases.h"

#define QLEN (20 + 28) /* IP header and 28 bytes of TCP, checksum included */

struct flow {
	struct pkt c0, c1; /* what the client sent, what the server got */
	struct pkt r0, r1; /* what the server answered, what the client got */
};

/* The base rules and one TCP flow through XDP and TC egress. */
static void open_flow(struct fx *f, struct flow *fl)
{
	struct pkt_spec s = SYN_SPEC;
	struct pkt_spec r = { .src = TARGET, .dst = CLIENT, .sport = 80, .dport = CPORT,
			      .proto = IPPROTO_TCP, .tcp_flags = TCP_ACK, .payload = 700 };

	fx_base_rules(f);
	s.tcp_flags = TCP_PSH | TCP_ACK;
	s.payload = 1400;
	pkt_build(&fl->c0, &s);
	ASSERT_EQ(fx_run(f, fx_xdp(f), &fl->c0, &fl->c1, 0), XDP_PASS, "client's segment");
	pkt_build(&fl->r0, &r);
	ASSERT_EQ(fx_run(f, fx_tc_eg(f), &fl->r0, &fl->r1, 0), TC_ACT_OK, "server's segment");
}

static void icmp_ingress_leaves(struct fx *f, const void *arg)
{
	struct flow fl;
	struct pkt in;
	__u64 before;

	open_flow(f, &fl);
	/* the target says c1 was too big: from the listen address it would be martian to the stack */
	pkt_icmp(&in, TARGET, CLIENT, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1280, &fl.c1, QLEN);
	before = fx_gstat(f, PR_R_PASS_REPLY_EGRESS);
	fx_expect(f, fx_xdp(f), &in, XDP_PASS, NULL, NULL, "xdp");
	ASSERT_EQ_HEX(f->meta, PR_META_DONE, "xdp marks it done");
	fx_expect(f, fx_tc_in(f), &in, TC_ACT_OK, NULL, NULL, "tc ingress");
	ASSERT_EQ(fx_gstat(f, PR_R_PASS_REPLY_EGRESS), before + 2, "pass_reply_egress counter");
	TEST_LINE("xdp and tc ingress leave an error on its way to the client untouched, for the egress hook");
}

/* An error from src about c1 (quoting qlen bytes) leaves egress from src,
 * quoting c0: what the client sent. */
static void egress_error(struct fx *f, const char *src, __u8 type, __u8 code, __u32 rest, int qlen,
			 const struct pkt *c0, const struct pkt *c1)
{
	struct pkt in, want;
	__u64 before = fx_gstat(f, PR_R_XLATE_ICMP);

	pkt_icmp(&in, src, CLIENT, type, code, rest, c1, qlen);
	pkt_icmp(&want, strcmp(src, TARGET) ? src : LISTEN, CLIENT, type, code, rest, c0, qlen);
	fx_expect(f, fx_tc_eg(f), &in, TC_ACT_OK, &want, NULL, "tc egress");
	ASSERT_EQ(fx_gstat(f, PR_R_XLATE_ICMP), before + 1, "xlate_icmp counter");
}

static void icmp_frag_needed(struct fx *f, const void *arg)
{
	struct flow fl;

	open_flow(f, &fl);
	egress_error(f, TARGET, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1280, QLEN, &fl.c0, &fl.c1);
	TEST_LINE("tc egress: frag-needed from the target quotes the client's own packet byte for byte, from the listen address");
}

static void icmp_local_frag_needed(struct fx *f, const void *arg)
{
	struct flow fl;

	/* the router itself (another source) sends frag-needed about c1 out of the client side */
	open_flow(f, &fl);
	egress_error(f, "203.0.113.1", ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1280, QLEN, &fl.c0, &fl.c1);
	TEST_LINE("tc egress: a locally generated frag-needed is translated, its own source kept");
}

static void icmp_time_exceeded_8(struct fx *f, const void *arg)
{
	struct flow fl;

	/* only the 8 bytes RFC 792 promises: ports translated, no checksum to fix */
	open_flow(f, &fl);
	egress_error(f, TARGET, ICMP_TIME_EXCEEDED, 0, 0, 28, &fl.c0, &fl.c1);
	TEST_LINE("tc egress: time-exceeded quoting only 8 bytes of TCP is translated");
}

/* Found by tests/fuzz: a quote cut short inside the IP length, in a frame
 * with bytes after the IP packet (Ethernet padding, a trailer). Those bytes
 * are not the quoted packet's: the error is translated as its IP length
 * says, and the trailer and the ICMP checksum stay right. */
static void icmp_quote_in_trailer(struct fx *f, const void *arg)
{
	struct flow fl;
	struct pkt in, want;

	open_flow(f, &fl);
	pkt_icmp(&in, TARGET, CLIENT, ICMP_TIME_EXCEEDED, 0, 0, &fl.c1, 28);
	pkt_icmp(&want, LISTEN, CLIENT, ICMP_TIME_EXCEEDED, 0, 0, &fl.c0, 28);
	/* 10 trailer bytes would hold the quoted TCP checksum, were they quoted */
	memset(in.b + in.len, 0xee, 10);
	memset(want.b + want.len, 0xee, 10);
	in.len += 10;
	want.len += 10;
	fx_expect(f, fx_tc_eg(f), &in, TC_ACT_OK, &want, NULL, "tc egress");
	TEST_LINE("tc egress: an error quoting 8 bytes of TCP in a frame with a trailer leaves the trailer alone");
}

static void icmp_from_client(struct fx *f, const void *arg)
{
	struct flow fl;
	struct pkt in, want;

	/* the client answers the reply r1 with port-unreachable; the target must see r0 */
	open_flow(f, &fl);
	pkt_icmp(&in, CLIENT, LISTEN, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, &fl.r1, QLEN);
	pkt_icmp(&want, CLIENT, TARGET, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, &fl.r0, QLEN);
	fx_expect(f, fx_xdp(f), &in, XDP_PASS, &want, NULL, "xdp");
	TEST_LINE("xdp: an error from the client about a reply reaches the target quoting its own packet");
	fx_expect(f, fx_tc_eg(f), &in, TC_ACT_OK, NULL, NULL, "tc egress");
	TEST_LINE("tc egress: errors about forward-direction entries are not translated there");
}

static void icmp_udp_zero_csum(struct fx *f, const void *arg)
{
	struct pkt_spec us = { .src = CLIENT, .dst = LISTEN, .sport = CPORT, .dport = 5353,
			       .proto = IPPROTO_UDP, .payload = 40, .udp_zero_csum = true };
	struct pkt u0, u1;

	/* UDP quoted without a checksum keeps none */
	fx_base_rules(f);
	pkt_build(&u0, &us);
	ASSERT_EQ(fx_run(f, fx_xdp(f), &u0, &u1, 0), XDP_PASS, "the datagram opens the flow");
	egress_error(f, TARGET, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, 28, &u0, &u1);
	TEST_LINE("tc egress: port-unreachable quoting UDP without a checksum is translated, checksum stays 0");
}

static void icmp_unknown_flow(struct fx *f, const void *arg)
{
	struct flow fl;
	struct pkt q, in;
	__u64 before;

	open_flow(f, &fl);
	pkt_copy(&q, &fl.c1);
	((__be16 *)pkt_l4(&q))[0] = htons(1); /* another source port: no flow */
	pkt_icmp(&in, TARGET, CLIENT, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, &q, QLEN);
	before = fx_gstat(f, PR_R_PASS_ICMP);
	fx_expect(f, fx_xdp(f), &in, XDP_PASS, NULL, NULL, "xdp");
	ASSERT_EQ(fx_gstat(f, PR_R_PASS_ICMP), before + 1, "pass_icmp counter");
	TEST_LINE("xdp: an error about a flow we do not track is passed untouched");
}

static void icmp_echo(struct fx *f, const void *arg)
{
	struct flow fl;
	struct pkt in;

	open_flow(f, &fl);
	pkt_icmp(&in, CLIENT, LISTEN, ICMP_ECHO, 0, 0x00010001, &fl.c0, 56);
	fx_expect(f, fx_xdp(f), &in, XDP_PASS, NULL, NULL, "xdp");
	fx_expect(f, fx_tc_in(f), &in, TC_ACT_OK, NULL, NULL, "tc");
	TEST_LINE("ICMP echo to a listen address is passed untouched by XDP and TC");
}

const struct pr_case cases_icmp[] = {
	CASE(icmp_ingress_leaves, "an error on its way to the client is left to the egress hook"),
	CASE(icmp_frag_needed, "frag-needed from the target, translated at egress"),
	CASE(icmp_local_frag_needed, "frag-needed from the router itself, translated at egress"),
	CASE(icmp_time_exceeded_8, "time-exceeded quoting only 8 bytes of TCP"),
	CASE(icmp_quote_in_trailer, "bytes after an error's IP packet are not quoted bytes (found by tests/fuzz)"),
	CASE(icmp_from_client, "an error from the client about a reply"),
	CASE(icmp_udp_zero_csum, "an error quoting UDP without a checksum"),
	CASE(icmp_unknown_flow, "an error about a flow we do not track"),
	CASE(icmp_echo, "ICMP echo is not ours"),
};
const size_t cases_icmp_n = CASES_COUNT(cases_icmp);
