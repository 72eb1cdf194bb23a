// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit cases: TCP flows through XDP and TC (handshake, replies, --replace, options, conntrack states, counters). */
#include <errno.h>
#include <time.h>
#include <bpf/bpf.h>
#include <arpa/inet.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include "cases.h"

static const int XDP_HOOK = 0, TC_HOOK = 1;

/* SYN, reply, data: the flow a client opens, through XDP or TC ingress. */
static void tcp_flow(struct fx *f, const void *arg)
{
	bool xdp = *(const int *)arg == XDP_HOOK;
	struct bpf_program *fwd = xdp ? fx_xdp(f) : fx_tc_in(f);
	int pass = xdp ? XDP_PASS : TC_ACT_OK;
	const char *hook = xdp ? "xdp" : "tc";
	struct pkt_spec s = SYN_SPEC, w = SYN_SPEC;
	struct pkt_spec r = { .src = TARGET, .dst = CLIENT, .sport = 80, .dport = CPORT,
			      .proto = IPPROTO_TCP, .tcp_flags = TCP_SYN | TCP_ACK };
	struct pkt_spec rw = r;

	fx_base_rules(f);
	w.dst = TARGET;
	w.dport = 80;
	fx_expect_spec(f, fwd, &s, pass, &w, "SYN");
	if (xdp)
		ASSERT_EQ_HEX(f->meta, PR_META_DONE, "XDP marks the packet done for TC");
	TEST_LINE("%s: TCP SYN to a rule is rewritten to the target with valid checksums%s", hook,
		  xdp ? " and marked done for TC" : "");

	if (xdp) {
		/* no route out of this namespace: XDP leaves the reply to the
		 * egress hook, since the stack would drop it as martian */
		__u64 before = fx_gstat(f, PR_R_PASS_REPLY_EGRESS);

		fx_expect_spec(f, fwd, &r, XDP_PASS, NULL, "reply at XDP");
		ASSERT_EQ_HEX(f->meta, PR_META_DONE, "reply marked done");
		ASSERT_EQ(fx_gstat(f, PR_R_PASS_REPLY_EGRESS), before + 1, "pass_reply_egress counter");
		TEST_LINE("xdp: a reply with no direct way out is left untranslated, marked done, for the egress hook");
	}
	rw.src = LISTEN;
	rw.sport = 8080;
	fx_expect_spec(f, fx_tc_eg(f), &r, TC_ACT_OK, &rw, "reply at tc egress");
	TEST_LINE("tc egress: reply from the target is reverse-translated to the listen address%s",
		  xdp ? " (flow opened by xdp)" : "");

	s.tcp_flags = w.tcp_flags = TCP_PSH | TCP_ACK;
	s.payload = w.payload = 333;
	fx_expect_spec(f, fwd, &s, pass, &w, "data segment");
	TEST_LINE("%s: established data segment (odd payload length) follows its flow", hook);
}

static void replace_keeps_flow(struct fx *f, const void *arg)
{
	struct pkt_spec s = SYN_SPEC;
	struct pkt in, out;

	fx_base_rules(f);
	pkt_build(&in, &s);
	ASSERT_EQ(fx_run(f, fx_xdp(f), &in, &out, 0), XDP_PASS, "first SYN");
	fx_rule(f, "tcp", NULL, 8080, TARGET2, 81, true);

	s.tcp_flags = TCP_ACK;
	s.payload = 10;
	fx_expect_dnat(f, fx_xdp(f), &s, XDP_PASS, TARGET, 80, "established flow");
	TEST_LINE("established flow keeps its old target after --replace");

	s = (struct pkt_spec)SYN_SPEC;
	s.sport = CPORT + 1;
	fx_expect_dnat(f, fx_xdp(f), &s, XDP_PASS, TARGET2, 81, "new flow");
	TEST_LINE("new flow after --replace takes the new target");

	s.sport = CPORT + 2;
	fx_expect_dnat(f, fx_tc_in(f), &s, TC_ACT_OK, TARGET2, 81, "new flow at tc");
	TEST_LINE("tc ingress: new flow after --replace takes the new target");
}

static void ip_options_ttl_tos(struct fx *f, const void *arg)
{
	struct pkt_spec s = SYN_SPEC;
	struct pkt in, out;

	fx_base_rules(f);
	s.ttl = 7;
	s.tos = 0xb8;
	s.ip_opt_words = 3;
	s.payload = 100;
	fx_expect_dnat(f, fx_xdp(f), &s, XDP_PASS, TARGET, 80, "xdp");
	pkt_build(&in, &s);
	fx_run(f, fx_xdp(f), &in, &out, 0);
	ASSERT_EQ(pkt_ip4(&out)->ttl, 7, "ttl");
	ASSERT_EQ_HEX(pkt_ip4(&out)->tos, 0xb8, "tos");
	ASSERT_EQ(pkt_ip4(&out)->ihl, 8, "ihl");
	TEST_LINE("xdp: IPv4 options, TTL and TOS kept while the L4 header behind options is rewritten");

	s.sport = CPORT + 1;
	fx_expect_dnat(f, fx_tc_in(f), &s, TC_ACT_OK, TARGET, 80, "tc");
	TEST_LINE("tc: IPv4 options, TTL and TOS kept while the L4 header behind options is rewritten");
}

static void partial_csum_punt(struct fx *f, const void *arg)
{
	struct pkt_spec s = SYN_SPEC;
	__u64 before;

	fx_base_rules(f);
	before = fx_gstat(f, PR_R_PASS_CSUM_PUNT);
	s.partial_csum = true;
	s.payload = 20;
	fx_expect_spec(f, fx_xdp(f), &s, XDP_PASS, NULL, "partial checksum at xdp");
	ASSERT_EQ(fx_gstat(f, PR_R_PASS_CSUM_PUNT), before + 1, "pass_csum_punt counter");
	ASSERT_EQ_HEX(f->meta, 0, "left unmarked");
	TEST_LINE("xdp: a CHECKSUM_PARTIAL-looking segment is left untouched and unmarked, for TC");
}

static void ct_key_v4(struct pr_ct_key *k, __u16 sport)
{
	*k = (struct pr_ct_key){ .sport = htons(sport), .dport = htons(8080), .proto = IPPROTO_TCP,
				 .family = PR_AF_INET };
	inet_pton(AF_INET, CLIENT, &k->saddr.v4);
	inet_pton(AF_INET, LISTEN, &k->daddr.v4);
}

static void expired_entry(struct fx *f, const void *arg)
{
	struct pr_ct_key k;
	struct pr_ct_val v = { .nat_port = htons(99), .dir = PR_DIR_ORIG, .state = PR_CT_ESTABLISHED,
			       .rule_id = 1 }, got = {};
	struct pkt_spec s = SYN_SPEC;
	struct timespec ts;

	fx_base_rules(f);
	ct_key_v4(&k, CPORT);
	inet_pton(AF_INET, "203.0.113.99", &v.nat_addr.v4);
	/* last seen one second past the established timeout (bpf_ktime_get_ns is
	 * CLOCK_MONOTONIC; unsigned wrap keeps the difference exact on young boots) */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	v.last_seen = ((__u64)ts.tv_sec - pr_ct_timeout(PR_CT_ESTABLISHED) - 1) * 1000000000ULL + ts.tv_nsec;
	ASSERT_OK(bpf_map_update_elem(f->ctx.fd_ct, &k, &v, BPF_ANY) ? -errno : 0, "plant the expired entry");
	s.tcp_flags = TCP_ACK;
	s.payload = 5;
	fx_expect_dnat(f, fx_xdp(f), &s, XDP_PASS, TARGET, 80, "rewritten to the rule's target");
	ASSERT_OK(bpf_map_lookup_elem(f->ctx.fd_ct, &k, &got) ? -errno : 0, "entry lookup");
	ASSERT_NEQ(got.last_seen, v.last_seen, "entry renewed");
	ASSERT_ADDR4_EQ(got.nat_addr.v4, TARGET, "new entry's nat address");
	TEST_LINE("expired conntrack entry is treated as absent: the flow is created anew from the rules");

	/* the same entry, fresh, wins over the rule */
	v.last_seen = got.last_seen;
	ASSERT_OK(bpf_map_update_elem(f->ctx.fd_ct, &k, &v, BPF_ANY) ? -errno : 0, "plant the live entry");
	fx_expect_dnat(f, fx_xdp(f), &s, XDP_PASS, "203.0.113.99", 99, "rewritten to the entry's target");
	TEST_LINE("a live conntrack entry wins over the rule table");
}

/* The client's flow's original-direction entry is in state. */
static void state_is(struct fx *f, unsigned int state, const char *what)
{
	struct pr_ct_key k;
	struct pr_ct_val v = {};

	ct_key_v4(&k, CPORT);
	ASSERT_OK(bpf_map_lookup_elem(f->ctx.fd_ct, &k, &v) ? -errno : 0, what);
	if (!ASSERT_EQ(v.state, state, what))
		diag("state %s, expected %s", pr_ct_state_name(v.state), pr_ct_state_name(state));
}

/* Run s through prog, then check the flow's state. */
static void step_state(struct fx *f, struct bpf_program *prog, const struct pkt_spec *s, unsigned int state,
		       const char *what)
{
	struct pkt in, out;

	pkt_build(&in, s);
	fx_run(f, prog, &in, &out, 0);
	state_is(f, state, what);
}

static void tcp_states(struct fx *f, const void *arg)
{
	struct pkt_spec s = SYN_SPEC, r = { .src = TARGET, .dst = CLIENT, .sport = 80, .dport = CPORT,
					       .proto = IPPROTO_TCP };

	fx_base_rules(f);
	step_state(f, fx_xdp(f), &s, PR_CT_SYN_SENT, "after SYN");
	r.tcp_flags = TCP_SYN | TCP_ACK;
	step_state(f, fx_tc_eg(f), &r, PR_CT_ESTABLISHED, "after SYN-ACK");
	s.tcp_flags = TCP_FIN | TCP_ACK;
	step_state(f, fx_xdp(f), &s, PR_CT_HALF_CLOSED, "after FIN");
	r.tcp_flags = TCP_FIN | TCP_ACK;
	step_state(f, fx_tc_eg(f), &r, PR_CT_CLOSING, "after the second FIN");
	TEST_LINE("TCP state follows SYN, SYN-ACK, FIN, FIN across both entries");

	/* a new SYN on the closing flow is a new connection and takes the current rule */
	fx_rule(f, "tcp", NULL, 8080, TARGET2, 81, true);
	s.tcp_flags = TCP_SYN;
	fx_expect_dnat(f, fx_xdp(f), &s, XDP_PASS, TARGET2, 81, "new SYN");
	TEST_LINE("a new SYN on a CLOSING flow opens a new connection with the current rule");
}

static void tcp_rst(struct fx *f, const void *arg)
{
	struct pkt_spec s = SYN_SPEC;

	fx_base_rules(f);
	step_state(f, fx_xdp(f), &s, PR_CT_SYN_SENT, "after SYN");
	s.tcp_flags = TCP_RST;
	fx_expect_dnat(f, fx_xdp(f), &s, XDP_PASS, TARGET, 80, "RST translated");
	state_is(f, PR_CT_CLOSING, "after RST");
	TEST_LINE("RST on a flow is translated and moves it to CLOSING");
}

static void rule_counters(struct fx *f, const void *arg)
{
	struct pkt_spec s = SYN_SPEC, r = { .src = TARGET, .dst = CLIENT, .sport = 80, .dport = CPORT,
					    .proto = IPPROTO_TCP, .tcp_flags = TCP_SYN | TCP_ACK };
	struct pr_rule_stats st = {};
	struct pkt in[3], out;
	__u32 id = fx_base_rules(f);

	pkt_build(&in[0], &s);
	pkt_build(&in[1], &r);
	s.tcp_flags = TCP_ACK;
	s.payload = 100;
	pkt_build(&in[2], &s);
	ASSERT_EQ(fx_run(f, fx_xdp(f), &in[0], &out, 0), XDP_PASS, "SYN");
	ASSERT_EQ(fx_run(f, fx_tc_eg(f), &in[1], &out, 0), TC_ACT_OK, "SYN-ACK");
	ASSERT_EQ(fx_run(f, fx_xdp(f), &in[2], &out, 0), XDP_PASS, "ACK");
	ASSERT_OK(pr_rule_stats(&f->ctx, id, &st), "rule stats");
	ASSERT_EQ(st.flows, 1, "flows");
	ASSERT_EQ(st.pkts_orig, 2, "forward packets");
	ASSERT_EQ(st.pkts_reply, 1, "reply packets");
	ASSERT_TRUE(st.bytes_orig > 0, "forward bytes");
	ASSERT_TRUE(st.bytes_reply > 0, "reply bytes");
	TEST_LINE("per-rule counters count flows, packets and bytes both ways (flows %llu in %llu out %llu)",
		  (unsigned long long)st.flows, (unsigned long long)st.pkts_orig,
		  (unsigned long long)st.pkts_reply);
}

static __u64 ct_evicted_count(struct fx *f)
{
	struct pr_ct_fill fill = {};

	ASSERT_OK(pr_ct_fill(&f->ctx, &fill), "conntrack fill");
	return fill.evicted;
}

/* A live flow whose reply entry the LRU evicted: the forward entry's next
 * state change finds its peer gone, counts one eviction and recreates it,
 * so replies are translated again. A flow that keeps both counts none. */
static void ct_evicted(struct fx *f, const void *arg)
{
	struct pkt_spec s = SYN_SPEC, r = { .src = TARGET, .dst = CLIENT, .sport = 80, .dport = CPORT,
					       .proto = IPPROTO_TCP, .tcp_flags = TCP_SYN | TCP_ACK }, rw;
	struct pr_ct_key rk = { .sport = htons(80), .dport = htons(CPORT), .proto = IPPROTO_TCP, .family = PR_AF_INET };
	struct pr_ct_fill fill = {};
	struct pr_ct_val v = {};
	__u64 before;

	inet_pton(AF_INET, TARGET, &rk.saddr.v4);
	inet_pton(AF_INET, CLIENT, &rk.daddr.v4);
	fx_base_rules(f);
	before = ct_evicted_count(f);
	step_state(f, fx_xdp(f), &s, PR_CT_SYN_SENT, "after SYN");
	step_state(f, fx_tc_eg(f), &r, PR_CT_ESTABLISHED, "after SYN-ACK");
	ASSERT_EQ(ct_evicted_count(f), before, "evictions of a flow with both entries");
	ASSERT_OK(pr_ct_fill(&f->ctx, &fill), "conntrack fill");
	ASSERT_EQ(fill.entries, 2, "entries");
	ASSERT_EQ(fill.live, 2, "live entries");
	ASSERT_EQ(fill.flows, 1, "flows");
	ASSERT_EQ(fill.max, PR_CT_ENTRIES, "table size");
	TEST_LINE("conntrack fill: a flow is two live entries and one flow; a state change with both entries counts no eviction");

	ASSERT_OK(bpf_map_delete_elem(f->ctx.fd_ct, &rk) ? -errno : 0, "evict the reply entry");
	s.tcp_flags = TCP_FIN | TCP_ACK;
	step_state(f, fx_xdp(f), &s, PR_CT_HALF_CLOSED, "after FIN");
	ASSERT_EQ(ct_evicted_count(f), before + 1, "evictions");
	ASSERT_OK(bpf_map_lookup_elem(f->ctx.fd_ct, &rk, &v) ? -errno : 0, "reply entry recreated");
	ASSERT_EQ(v.state, PR_CT_HALF_CLOSED, "recreated entry's state");
	r.tcp_flags = TCP_FIN | TCP_ACK;
	rw = r;
	rw.src = LISTEN;
	rw.sport = 8080;
	fx_expect_spec(f, fx_tc_eg(f), &r, TC_ACT_OK, &rw, "reply after the eviction");
	ASSERT_EQ(ct_evicted_count(f), before + 1, "evictions after the reply");
	TEST_LINE("a live flow's evicted reply entry is counted once when the flow next changes state, and recreated");
}

/* Zero the IP length field of p as a BIG TCP burst carries it (IPv4: its
 * header checksum follows; IPv6 has none). */
static void big_zero_len(struct pkt *p)
{
	if (pkt_is_ip6(p)) {
		pkt_ip6(p)->payload_len = 0;
		return;
	}
	pkt_ip4(p)->tot_len = 0;
	pkt_ip4(p)->check = 0;
	pkt_ip4(p)->check = htons(pkt_ip4_csum(pkt_ip4(p)));
}

/* BIG TCP: a GSO burst over 64 KiB (gso_max_size, gso_ipv4_max_size, or
 * GRO's gro_max_size) carries 0 in its IP length field. TC must translate it
 * like any segment of the flow: passed untouched, it reached the listen
 * address on the router, which answered with a RST. A test run's packet is
 * small, but the field and gso_size are what the parse reads. */
static void big_tcp(struct fx *f, const void *arg)
{
	const struct {
		bool v6;
		const char *target;
		const char *what;
	} t[] = { { false, TARGET, "IPv4" }, { true, TARGET6, "IPv6" } };

	fx_base_rules(f);
	fx_rule(f, "tcp", NULL, 8080, TARGET6, 80, false);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct pkt_spec s = SYN_SPEC, w;
		struct pkt in, want, out;
		__u64 bad0;

		s.tcp_flags = TCP_ACK | TCP_PSH;
		s.payload = 2800;
		if (t[i].v6) {
			s.src = CLIENT6;
			s.dst = LISTEN6;
		}
		w = s;
		w.dst = t[i].target;
		w.dport = 80;
		pkt_build(&in, &s);
		pkt_build(&want, &w);
		big_zero_len(&in);
		big_zero_len(&want);
		bad0 = fx_gstat(f, PR_R_PASS_MALFORMED);
		ASSERT_EQ(fx_run(f, fx_xdp(f), &in, &out, 0), XDP_PASS, "xdp");
		ASSERT_PKT_EQ(&out, &in, "untouched by xdp");
		ASSERT_EQ(f->meta, 0, "unmarked: tc judges it");
		ASSERT_EQ(fx_gstat(f, PR_R_PASS_MALFORMED), bad0, "not counted by xdp");
		TEST_LINE("xdp: a %s packet whose IP length is 0 (a BIG TCP burst, to generic XDP) is left to TC "
			  "unmarked, uncounted", t[i].what);
		ASSERT_EQ(fx_run_gso(f, fx_tc_in(f), &in, &out, 0, 1400), TC_ACT_OK, "the burst");
		ASSERT_PKT_EQ(&out, &want, "translated, its length field still 0");
		ASSERT_EQ(fx_gstat(f, PR_R_PASS_MALFORMED), bad0, "not malformed");
		TEST_LINE("tc: a %s BIG TCP burst (IP length 0, gso_size set) is translated like any segment "
			  "of its flow", t[i].what);
		ASSERT_EQ(fx_run(f, fx_tc_in(f), &in, &out, 0), TC_ACT_OK, "no GSO");
		ASSERT_PKT_EQ(&out, &in, "untouched");
		ASSERT_EQ(fx_gstat(f, PR_R_PASS_MALFORMED), bad0 + 1, "pass_malformed");
		TEST_LINE("tc: the same %s packet without gso_size is malformed, passed untouched", t[i].what);
	}
}

const struct pr_case cases_tcp[] = {
	{ "tcp_flow_xdp", tcp_flow, "SYN, reply and data of a TCP flow opened at XDP", &XDP_HOOK },
	{ "tcp_flow_tc", tcp_flow, "SYN, reply and data of a TCP flow opened at TC ingress", &TC_HOOK },
	CASE(replace_keeps_flow, "--replace: live flows keep the old target, new ones take the new"),
	CASE(ip_options_ttl_tos, "IPv4 options, TTL and TOS survive translation"),
	CASE(partial_csum_punt, "XDP leaves a CHECKSUM_PARTIAL segment to TC"),
	CASE(expired_entry, "an expired conntrack entry is ignored, a live one wins"),
	CASE(tcp_states, "TCP conntrack states; a new SYN on a closing flow"),
	CASE(tcp_rst, "RST on a flow is translated and closes it"),
	CASE(ct_evicted, "an evicted entry of a live flow is counted and recreated"),
	CASE(rule_counters, "per-rule flow, packet and byte counters"),
	CASE(big_tcp, "BIG TCP bursts, whose IP length field is 0"),
};
const size_t cases_tcp_n = CASES_COUNT(cases_tcp);
