// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit cases: packets both hooks must pass untouched (no match, malformed, fragments of nothing, not IP), each counted by reason. */
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include "cases.h"

enum mangle { M_NONE, M_IHL, M_DOFF, M_UDP_LEN, M_TOT_LEN, M_VLAN, M_GRE };

struct pass_case {
	struct pkt_spec s;
	int cut;             /* truncate the frame to this many bytes */
	enum mangle mangle;
	unsigned int reason; /* the counter XDP moves */
	const char *desc;
};

#define TCP_TO(port_, sport_) TCP_FLAGS_TO(LISTEN, port_, sport_, TCP_SYN)
#define TCP_FLAGS_TO(dst_, port_, sport_, flags_) \
	.src = CLIENT, .dst = dst_, .sport = sport_, .dport = port_, .proto = IPPROTO_TCP, .tcp_flags = flags_
#define UDP_TO(port_, sport_) .src = CLIENT, .dst = LISTEN, .sport = sport_, .dport = port_, .proto = IPPROTO_UDP

static const struct pass_case P_NOMATCH = { { TCP_TO(9999, CPORT) }, 0, M_NONE, PR_R_PASS_NOMATCH, "non-matching port" };
static const struct pass_case P_NOADDR = { { TCP_FLAGS_TO("198.51.100.9", 8443, CPORT, TCP_SYN) }, 0, M_NONE,
					   PR_R_PASS_NOMATCH, "non-matching address for an address rule" };
static const struct pass_case P_CUT_IP = { { TCP_TO(8080, CPORT) }, ETH_HLEN + 12, M_NONE, PR_R_PASS_MALFORMED,
					   "truncated IPv4 header" };
static const struct pass_case P_CUT_TCP = { { TCP_TO(8080, CPORT) }, ETH_HLEN + 20 + 10, M_NONE, PR_R_PASS_MALFORMED,
					    "truncated TCP header" };
static const struct pass_case P_CUT_UDP = { { UDP_TO(5353, CPORT) }, ETH_HLEN + 20 + 4, M_NONE, PR_R_PASS_MALFORMED,
					    "truncated UDP header" };
static const struct pass_case P_IHL = { { TCP_TO(8080, CPORT) }, 0, M_IHL, PR_R_PASS_MALFORMED, "IPv4 ihl below 5" };
static const struct pass_case P_DOFF = { { TCP_TO(8080, CPORT) }, 0, M_DOFF, PR_R_PASS_MALFORMED,
					 "TCP data offset below 5" };
static const struct pass_case P_UDP_LEN = { { UDP_TO(5353, CPORT), .payload = 8 }, 0, M_UDP_LEN, PR_R_PASS_MALFORMED,
					    "UDP length beyond the IP payload" };
static const struct pass_case P_TOT_LEN = { { TCP_TO(8080, CPORT), .payload = 8 }, 0, M_TOT_LEN, PR_R_PASS_MALFORMED,
					    "IPv4 total length beyond the frame" };
static const struct pass_case P_FRAG_FIRST = { { UDP_TO(5353, CPORT), .payload = 8, .frag_off = 0x2000 }, 0, M_NONE,
					       PR_R_PASS_MALFORMED, "first IPv4 fragment whose UDP length fits in it" };
static const struct pass_case P_FRAG_LATER = { { UDP_TO(5353, CPORT), .payload = 8, .frag_off = 0x0100 }, 0, M_NONE,
					       PR_R_PASS_FRAGMENT, "later IPv4 fragment of no translated datagram" };
static const struct pass_case P_VLAN = { { TCP_TO(8080, CPORT) }, 0, M_VLAN, PR_R_PASS_NOT_IP,
					 "VLAN-tagged frame (passed to the stack)" };
static const struct pass_case P_RST = { { TCP_FLAGS_TO(LISTEN, 8080, CPORT, TCP_RST) }, 0, M_NONE, PR_R_PASS_TCP_RST,
					"TCP RST without a flow" };
static const struct pass_case P_GRE = { { UDP_TO(0, 0) }, 0, M_GRE, PR_R_PASS_NOT_L4, "ICMP-like other protocol" };

static void mangle(struct pkt *p, enum mangle m)
{
	struct iphdr *ip = pkt_ip4(p);

	switch (m) {
	case M_NONE: break;
	case M_IHL: ip->ihl = 4; break;
	case M_DOFF: ((struct tcphdr *)pkt_l4(p))->doff = 4; break;
	case M_UDP_LEN: ((struct udphdr *)pkt_l4(p))->len = htons(200); break;
	case M_TOT_LEN: ip->tot_len = htons(ntohs(ip->tot_len) + 100); break;
	case M_VLAN: /* insert an 802.1Q tag: the IPv4 packet sits behind it untouched */
		memmove(p->b + 16, p->b + 12, p->len - 12);
		memcpy(p->b + 12, "\x81\x00\x00\x07", 4);
		p->len += 4;
		break;
	case M_GRE: ip->protocol = 47; break;
	}
}

static void passed_untouched(struct fx *f, const void *arg)
{
	const struct pass_case *c = arg;
	struct pkt in, out;
	__u64 before;
	int rt;

	fx_base_rules(f);
	before = fx_gstat(f, c->reason);
	pkt_build(&in, &c->s);
	mangle(&in, c->mangle);
	if (c->cut)
		in.len = c->cut;
	fx_expect(f, fx_xdp(f), &in, XDP_PASS, NULL, NULL, "xdp");
	/* an unknown later fragment is left unmarked for TC, which counts it */
	if (c->reason == PR_R_PASS_FRAGMENT)
		ASSERT_EQ_HEX(f->meta, 0, "xdp leaves it unmarked");
	else
		ASSERT_EQ(fx_gstat(f, c->reason), before + 1, pr_reason_name(c->reason));
	if (in.len < ETH_HLEN + sizeof(struct iphdr)) {
		rt = fx_run(f, fx_tc_in(f), &in, &out, 0);
		if (rt < 0)
			diag("the kernel's TC test_run refuses IPv4 frames shorter than an IP header; XDP only");
		else if (ASSERT_EQ(rt, TC_ACT_OK, "tc"))
			ASSERT_PKT_EQ(&out, &in, "tc");
	} else {
		fx_expect(f, fx_tc_in(f), &in, TC_ACT_OK, NULL, NULL, "tc");
		if (c->reason == PR_R_PASS_FRAGMENT)
			ASSERT_EQ(fx_gstat(f, c->reason), before + 1, "tc counts the unknown fragment");
	}
	TEST_LINE("%s: passed untouched by XDP and TC (reason %s)", c->desc, pr_reason_name(c->reason));
}

#define PASS(name_, c_) { .name = "pass_" name_, .fn = passed_untouched, .doc = c_.desc, .arg = &c_ }

const struct pr_case cases_pass[] = {
	PASS("nomatch_port", P_NOMATCH),
	PASS("nomatch_addr", P_NOADDR),
	PASS("cut_ip", P_CUT_IP),
	PASS("cut_tcp", P_CUT_TCP),
	PASS("cut_udp", P_CUT_UDP),
	PASS("ihl", P_IHL),
	PASS("doff", P_DOFF),
	PASS("udp_len", P_UDP_LEN),
	PASS("tot_len", P_TOT_LEN),
	PASS("frag_first_short", P_FRAG_FIRST),
	PASS("frag_later", P_FRAG_LATER),
	PASS("vlan", P_VLAN),
	PASS("rst_no_flow", P_RST),
	PASS("other_proto", P_GRE),
};
const size_t cases_pass_n = CASES_COUNT(cases_pass);
