// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit cases: UDP with and without a checksum, replies, and fragmented IPv4 datagrams both ways. */
#include <arpa/inet.h>
#include <linux/ip.h>
#include "cases.h"

#define UDP_SPEC \
	{ .src = CLIENT, .dst = LISTEN, .sport = CPORT, .dport = 5353, .proto = IPPROTO_UDP, .payload = 31 }

static void udp_csum_xdp(struct fx *f, const void *arg)
{
	struct pkt_spec s = UDP_SPEC;
	struct pkt in, out;

	fx_base_rules(f);
	fx_expect_dnat(f, fx_xdp(f), &s, XDP_PASS, TARGET, 53, "xdp");
	pkt_build(&in, &s);
	fx_run(f, fx_xdp(f), &in, &out, 0);
	ASSERT_NEQ_HEX(pkt_l4_csum_field(&out), 0, "a checksum is kept");
	TEST_LINE("xdp: UDP with a checksum is rewritten with a valid checksum");
}

/* A UDP datagram without a checksum, through XDP (arg 0) or TC ingress. */
static void udp_zero_csum(struct fx *f, const void *arg)
{
	bool xdp = !*(const int *)arg;
	struct pkt_spec s = UDP_SPEC;
	struct pkt in, out;

	fx_base_rules(f);
	s.udp_zero_csum = true;
	fx_expect_dnat(f, xdp ? fx_xdp(f) : fx_tc_in(f), &s, xdp ? XDP_PASS : TC_ACT_OK, TARGET, 53, "translated");
	pkt_build(&in, &s);
	fx_run(f, xdp ? fx_xdp(f) : fx_tc_in(f), &in, &out, 0);
	ASSERT_EQ_HEX(pkt_l4_csum_field(&out), 0, "checksum stays 0");
	TEST_LINE("%s: UDP with a zero checksum is rewritten and keeps checksum 0", xdp ? "xdp" : "tc");
}

static void udp_reply_egress(struct fx *f, const void *arg)
{
	struct pkt_spec s = UDP_SPEC;
	struct pkt_spec r = { .src = TARGET, .dst = CLIENT, .sport = 53, .dport = CPORT,
			      .proto = IPPROTO_UDP, .payload = 64 }, rw = r;
	struct pkt in, out;

	fx_base_rules(f);
	s.udp_zero_csum = true;
	pkt_build(&in, &s);
	ASSERT_EQ(fx_run(f, fx_tc_in(f), &in, &out, 0), TC_ACT_OK, "the request opens the flow");
	rw.src = LISTEN;
	rw.sport = 5353;
	fx_expect_spec(f, fx_tc_eg(f), &r, TC_ACT_OK, &rw, "reply");
	TEST_LINE("tc egress: UDP reply is reverse-translated with a valid checksum");
}

void frag_run_from(struct fx *f, struct bpf_program *prog, __u32 ifindex, int verdict,
		   const struct pkt_spec *s, const struct pkt_spec *w, int nwant)
{
	struct pkt d, in[4], want[4], out[4], whole, wd;
	int n, nw;

	pkt_build(&d, s);
	n = pkt_fragment4(&d, 1480, in, 4);
	pkt_build(&wd, w);
	nw = pkt_fragment4(&wd, 1480, want, 4);
	if (!ASSERT_EQ(n, nwant, "fragment count") || !ASSERT_EQ(nw, n, "expected fragment count"))
		return;
	for (int i = 0; i < n; i++) {
		ASSERT_EQ(fx_run(f, prog, &in[i], &out[i], ifindex), verdict, "fragment verdict");
		if (fx_is_xdp(prog))
			ASSERT_EQ_HEX(f->meta, PR_META_DONE, "fragment marked done");
		ASSERT_TRUE(pkt_ip4_csum_ok(&out[i]), "fragment IP checksum");
		ASSERT_PKT_EQ(&out[i], &want[i], "fragment");
	}
	if (!ASSERT_OK(pkt_reassemble4(out, n, &whole), "reassemble"))
		return;
	ASSERT_TRUE(pkt_l4_csum_ok(&whole), "reassembled L4 checksum");
	ASSERT_EQ(pkt_sport(&whole), w->sport, "reassembled source port");
	ASSERT_EQ(pkt_dport(&whole), w->dport, "reassembled destination port");
	ASSERT_ADDR4_EQ(pkt_ip4(&whole)->saddr, w->src, "source");
	ASSERT_ADDR4_EQ(pkt_ip4(&whole)->daddr, w->dst, "destination");
}

static void frag_run(struct fx *f, struct bpf_program *prog, int verdict, const struct pkt_spec *s,
		     const struct pkt_spec *w, int nwant)
{
	frag_run_from(f, prog, 0, verdict, s, w, nwant);
}

#define BIG_UDP \
	{ .src = CLIENT, .dst = LISTEN, .sport = CPORT, .dport = 5353, .proto = IPPROTO_UDP, .payload = 3000 }

static void frag_xdp(struct fx *f, const void *arg)
{
	struct pkt_spec s = BIG_UDP, w = BIG_UDP;
	__u64 before;

	fx_base_rules(f);
	before = fx_gstat(f, PR_R_XLATE_FRAG);
	w.dst = TARGET;
	w.dport = 53;
	frag_run(f, fx_xdp(f), XDP_PASS, &s, &w, 3);
	ASSERT_EQ(fx_gstat(f, PR_R_XLATE_FRAG), before + 3, "xlate_frag counter");
	TEST_LINE("xdp: a 3000-byte UDP datagram in 3 fragments is translated; reassembled, its checksum is valid");
}

static void frag_tc(struct fx *f, const void *arg)
{
	struct pkt_spec s = BIG_UDP, w = BIG_UDP;
	struct pkt_spec r = { .src = TARGET, .dst = CLIENT, .sport = 53, .dport = CPORT,
			      .proto = IPPROTO_UDP, .payload = 2500 }, rw = r;

	fx_base_rules(f);
	w.dst = TARGET;
	w.dport = 53;
	frag_run(f, fx_tc_in(f), TC_ACT_OK, &s, &w, 3);
	TEST_LINE("tc ingress: the same fragmented datagram is translated");

	/* the target's fragmented reply, seen on egress */
	rw.src = LISTEN;
	rw.sport = 5353;
	frag_run(f, fx_tc_eg(f), TC_ACT_OK, &r, &rw, 2);
	TEST_LINE("tc egress: a fragmented reply gets the listen address and port back");
}

static const int XDP_HOOK = 0, TC_HOOK = 1;

const struct pr_case cases_udp[] = {
	CASE(udp_csum_xdp, "UDP with a checksum at XDP"),
	{ "udp_zero_csum_xdp", udp_zero_csum, "UDP without a checksum at XDP keeps none", &XDP_HOOK },
	{ "udp_zero_csum_tc", udp_zero_csum, "UDP without a checksum at TC keeps none", &TC_HOOK },
	CASE(udp_reply_egress, "a UDP reply at TC egress"),
	CASE(frag_xdp, "a fragmented UDP datagram at XDP"),
	CASE(frag_tc, "a fragmented UDP datagram at TC ingress and its fragmented reply at egress"),
};
const size_t cases_udp_n = CASES_COUNT(cases_udp);
