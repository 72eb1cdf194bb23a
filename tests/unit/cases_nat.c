// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit cases: full NAT (--snat, --masquerade, hairpin) and the tuple clash a DNAT flow's source port remap resolves. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <linux/icmp.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include "cases.h"

#define SNAT_ADDR "203.0.113.1" /* ut_out's own address */
#define NEIGHBOUR "203.0.113.5" /* a client on the target's link */

/* Run in_spec through prog from ifindex (0: none) and check the verdict;
 * the output is left in out. */
static bool run_from(struct fx *f, struct bpf_program *prog, __u32 ifindex, const struct pkt_spec *in_spec,
		     int verdict, struct pkt *out, const char *what)
{
	struct pkt in;

	pkt_build(&in, in_spec);
	return ASSERT_EQ(fx_run(f, prog, &in, out, ifindex), verdict, what);
}

/* out is want built, whole, and its checksums verify from scratch. */
static bool is_pkt(struct pkt *out, const struct pkt_spec *want, const char *what)
{
	struct pkt w;

	pkt_build(&w, want);
	return ASSERT_PKT_EQ(out, &w, what) & ASSERT_CSUMS_OK(out, what);
}

static bool in_range(__u16 port, __u16 lo, __u16 hi, const char *what)
{
	if (port >= lo && port <= hi)
		return true;
	diag("%s: port %u outside %u-%u", what, port, lo, hi);
	return ASSERT_EQ(port, lo, what);
}

/* tcp :lport -> dst:dport, with flags added to its entry; its id. */
static __u32 rule(struct fx *f, __u16 lport, const char *dst, __u16 dport, __u32 flags)
{
	__u32 id = fx_rule(f, "tcp", NULL, lport, dst, dport, false);

	if (id && flags)
		fx_rule_flags(f, "tcp", lport, strchr(dst, ':'), flags);
	return id;
}

/* tcp :8080, :8081 and :8082 -> TARGET:80, the last two with the one port
 * 50000 for the flows their reply tuples push off the client's own port. */
static void one_port_rules(struct fx *f, __u32 *id2, __u32 *id3)
{
	rule(f, 8080, TARGET, 80, 0);
	*id2 = rule(f, 8081, TARGET, 80, 0);
	*id3 = rule(f, 8082, TARGET, 80, 0);
	fx_rnat(f, *id2, PR_SNAT_NONE, NULL, 50000, 50000);
	fx_rnat(f, *id3, PR_SNAT_NONE, NULL, 50000, 50000);
}

/* One packet of the flow s (its flags set to flags) through prog, passed or shot. */
static void seg(struct fx *f, struct bpf_program *prog, struct pkt_spec s, __u8 flags, int verdict,
		const char *what)
{
	struct pkt out;

	s.tcp_flags = flags;
	run_from(f, prog, 0, &s, verdict, &out, what);
}

/* A closed flow gives up its source port to a new SYN, as Linux NAT reuses
 * a conntrack in TIME_WAIT or CLOSE; a flow still waiting for the ACK of its
 * last FIN keeps it. Rules :8081 and :8082 share one port (50000), after a
 * DNAT flow on :8080 pushed :8081's first flow off the client's own. */
static void nat_port_reuse(struct fx *f, const void *arg)
{
	struct pkt_spec a = SYN_SPEC, b = SYN_SPEC, c = SYN_SPEC, rb, rc, w;
	__u64 reused = fx_gstat(f, PR_R_XLATE_PORT_REUSE), ex = fx_gstat(f, PR_R_DROP_SNAT_EXHAUSTED);
	__u32 id2, id3;

	one_port_rules(f, &id2, &id3);
	fx_expect_dnat(f, fx_tc_in(f), &a, TC_ACT_OK, TARGET, 80, "flow a");
	b.dport = 8081;
	c.dport = 8082;
	seg(f, fx_tc_in(f), b, TCP_SYN, TC_ACT_OK, "flow b takes port 50000");
	rb = (struct pkt_spec){ .src = TARGET, .dst = CLIENT, .sport = 80, .dport = 50000, .proto = IPPROTO_TCP };
	seg(f, fx_tc_eg(f), rb, TCP_SYN | TCP_ACK, TC_ACT_OK, "flow b's SYN-ACK");
	seg(f, fx_tc_in(f), b, TCP_ACK, TC_ACT_OK, "flow b's ACK");
	seg(f, fx_tc_in(f), c, TCP_SYN, TC_ACT_SHOT, "flow c while b is live");
	ASSERT_EQ(fx_gstat(f, PR_R_DROP_SNAT_EXHAUSTED), ex + 1, "drop_snat_exhausted");
	TEST_LINE("tc: a live flow's port is not given to another");

	/* the target closes first; the client's FIN is the last */
	seg(f, fx_tc_eg(f), rb, TCP_FIN | TCP_ACK, TC_ACT_OK, "the target's FIN");
	seg(f, fx_tc_in(f), b, TCP_FIN | TCP_ACK, TC_ACT_OK, "the client's FIN");
	seg(f, fx_tc_in(f), c, TCP_SYN, TC_ACT_SHOT, "flow c before the last FIN is acked");
	ASSERT_EQ(fx_gstat(f, PR_R_DROP_SNAT_EXHAUSTED), ex + 2, "drop_snat_exhausted");
	TEST_LINE("tc: a flow closed both ways whose last FIN is not yet acked keeps its port");

	seg(f, fx_tc_eg(f), rb, TCP_ACK, TC_ACT_OK, "the target's ACK of the last FIN");
	w = c;
	w.dst = TARGET;
	w.dport = 80;
	w.sport = 50000;
	fx_expect_spec(f, fx_tc_in(f), &c, TC_ACT_OK, &w, "flow c takes the closed flow's port");
	ASSERT_EQ(fx_gstat(f, PR_R_XLATE_PORT_REUSE), reused + 1, "xlate_port_reused");
	ASSERT_EQ(fx_rstat(f, id3).flows, 1, "flow c opened");
	rc = rb;
	rc.tcp_flags = TCP_SYN | TCP_ACK;
	w = rc;
	w.src = LISTEN;
	w.sport = 8082;
	w.dport = CPORT;
	fx_expect_spec(f, fx_tc_eg(f), &rc, TC_ACT_OK, &w, "flow c's SYN-ACK goes to flow c");
	TEST_LINE("tc: once its last FIN is acked, a closed flow's port goes to a new SYN, and replies follow the new flow");

	seg(f, fx_tc_in(f), c, TCP_ACK, TC_ACT_OK, "flow c's ACK");
	seg(f, fx_tc_eg(f), rb, TCP_RST, TC_ACT_OK, "the target resets flow c");
	seg(f, fx_tc_in(f), b, TCP_SYN, TC_ACT_OK, "flow b's tuple again, after the reset");
	ASSERT_EQ(fx_gstat(f, PR_R_XLATE_PORT_REUSE), reused + 2, "xlate_port_reused");
	TEST_LINE("tc: a flow closed by a RST gives up its port at once");
	seg(f, fx_tc_in(f), c, TCP_ACK, TC_ACT_SHOT, "a late ACK of reset flow c: no port for it");
	ASSERT_EQ(fx_gstat(f, PR_R_XLATE_PORT_REUSE), reused + 2, "xlate_port_reused");
	TEST_LINE("tc: a non-SYN packet never takes a closed flow's port");
}


/* The clash of issue 11: :8080 -> T:80 and :8081 -> T:80, one client, the
 * same source port for both. The second flow gets a port of its rule's
 * range; the first is untouched. xdp: XDP opens the flow and leaves its
 * packets to TC ingress. */
static void nat_clash(struct fx *f, const void *arg)
{
	bool xdp = arg != NULL;
	struct pkt_spec s1 = SYN_SPEC, s2 = SYN_SPEC, w, r1, r2;
	struct pkt out;
	__u64 remap = fx_gstat(f, PR_R_XLATE_PORT_REMAP);
	__u32 id2;
	__u16 p;

	rule(f, 8080, TARGET, 80, 0);
	id2 = rule(f, 8081, TARGET, 80, 0);
	fx_rnat(f, id2, PR_SNAT_NONE, NULL, 50000, 50003);
	s2.dport = 8081;
	fx_expect_dnat(f, fx_tc_in(f), &s1, TC_ACT_OK, TARGET, 80, "first flow");
	if (xdp) {
		fx_expect_spec(f, fx_xdp(f), &s2, XDP_PASS, NULL, "second flow at xdp");
		ASSERT_EQ_HEX(f->meta, 0, "left unmarked for TC");
		TEST_LINE("xdp: a flow whose port is remapped is left unmarked to TC ingress");
	}
	run_from(f, fx_tc_in(f), 0, &s2, TC_ACT_OK, &out, "second flow");
	p = pkt_sport(&out);
	w = s2;
	w.dst = TARGET;
	w.dport = 80;
	w.sport = p;
	in_range(p, 50000, 50003, "remapped port");
	is_pkt(&out, &w, "second flow");
	ASSERT_EQ(fx_gstat(f, PR_R_XLATE_PORT_REMAP), remap + 1, "xlate_port_remapped");
	ASSERT_EQ(fx_rstat(f, id2).flows, 1, "the second rule's flow count");
	TEST_LINE("%s: the second flow's reply tuple clashes, so its source port is remapped into its rule's range",
		  xdp ? "xdp" : "tc");

	r1 = (struct pkt_spec){ .src = TARGET, .dst = CLIENT, .sport = 80, .dport = CPORT, .proto = IPPROTO_TCP,
				.tcp_flags = TCP_SYN | TCP_ACK };
	r2 = r1;
	r2.dport = p;
	w = r1;
	w.src = LISTEN;
	w.sport = 8080;
	fx_expect_spec(f, fx_tc_eg(f), &r1, TC_ACT_OK, &w, "first reply");
	w.sport = 8081;
	fx_expect_spec(f, fx_tc_eg(f), &r2, TC_ACT_OK, &w, "second reply");
	TEST_LINE("each reply goes back to its own flow: the first untouched, the second to the client's own port");

	s1.tcp_flags = s2.tcp_flags = TCP_ACK;
	fx_expect_dnat(f, fx_tc_in(f), &s1, TC_ACT_OK, TARGET, 80, "first flow's data");
	w = s2;
	w.dst = TARGET;
	w.dport = 80;
	w.sport = p;
	fx_expect_spec(f, fx_tc_in(f), &s2, TC_ACT_OK, &w, "second flow's data");
	TEST_LINE("both flows carry on as they started");
}

/* Every port of the range taken: the third flow is dropped and counted. */
static void nat_exhausted(struct fx *f, const void *arg)
{
	struct pkt_spec s = SYN_SPEC, w;
	__u64 ex = fx_gstat(f, PR_R_DROP_SNAT_EXHAUSTED);
	struct pkt out;
	__u32 id2, id3;

	one_port_rules(f, &id2, &id3);
	fx_expect_dnat(f, fx_tc_in(f), &s, TC_ACT_OK, TARGET, 80, "first flow");
	s.dport = 8081;
	w = s;
	w.dst = TARGET;
	w.dport = 80;
	w.sport = 50000;
	fx_expect_spec(f, fx_tc_in(f), &s, TC_ACT_OK, &w, "second flow takes the range's one port");
	s.dport = 8082;
	run_from(f, fx_tc_in(f), 0, &s, TC_ACT_SHOT, &out, "third flow");
	ASSERT_EQ(fx_gstat(f, PR_R_DROP_SNAT_EXHAUSTED), ex + 1, "drop_snat_exhausted");
	ASSERT_EQ(fx_rstat(f, id3).snat_exhausted, 1, "the rule's snat_exhausted");
	ASSERT_EQ(fx_rstat(f, id3).flows, 0, "no flow opened");
	run_from(f, fx_tc_in(f), 0, &s, TC_ACT_SHOT, &out, "third flow, again");
	TEST_LINE("tc: with no free port in the range a new flow is dropped, counted globally and per rule, never sent");
}

/* tcp :8080 -> TARGET:80 with --snat SNAT_ADDR --snat-ports lo-hi over the veths. */
static __u32 snat_rule(struct fx *f, __u8 mode, __u16 lo, __u16 hi)
{
	__u32 id = rule(f, 8080, TARGET, 80, PR_RULE_F_SNAT);

	fx_rnat(f, id, mode, mode == PR_SNAT_ADDR ? SNAT_ADDR : NULL, lo, hi);
	return id;
}

/* The SYN of sp, translated and routed out of ut_out with source src:port. */
static void routed_syn(const struct veths *v, const struct pkt_spec *sp, const char *src, __u16 port,
		       struct pkt_spec *w)
{
	veths_routed(v, sp, w);
	w->src = src;
	w->sport = port;
}

static void nat_snat_addr(struct fx *f, const void *arg)
{
	struct pkt_spec s = SYN_SPEC, w, r, rw;
	struct veths v;
	struct pkt out;
	__u16 p;

	if (!veths_bare(&v))
		goto out;
	snat_rule(f, PR_SNAT_ADDR, 20000, 20009);
	run_from(f, fx_tc_in(f), v.in_if, &s, TC_ACT_REDIRECT, &out, "SYN");
	p = pkt_sport(&out);
	in_range(p, 20000, 20009, "allocated port");
	routed_syn(&v, &s, SNAT_ADDR, p, &w);
	is_pkt(&out, &w, "SYN");
	TEST_LINE("tc: --snat rewrites source and destination, allocates a port in the range and redirects");

	r = (struct pkt_spec){ .src = TARGET, .dst = SNAT_ADDR, .sport = 80, .dport = p, .proto = IPPROTO_TCP,
			       .tcp_flags = TCP_SYN | TCP_ACK };
	rw = r;
	rw.src = LISTEN;
	rw.sport = 8080;
	rw.dst = CLIENT;
	rw.dport = CPORT;
	rw.ttl = 63;
	run_from(f, fx_tc_in(f), v.out_if, &r, TC_ACT_REDIRECT, &out, "reply, no neighbour");
	is_pkt(&out, &rw, "reply, no neighbour");
	TEST_LINE("tc: the reply gets both addresses and ports back and leaves by bpf_redirect_neigh without a neighbour");

	if (!ASSERT_OK(system("ip neigh replace " CLIENT " lladdr 02:00:00:00:00:98 dev ut_in nud permanent"),
		       "client neighbour"))
		goto out;
	rw.dmac = CLIENT_MAC;
	rw.smac = v.in_mac;
	r.tcp_flags = TCP_ACK;
	rw.tcp_flags = TCP_ACK;
	run_from(f, fx_tc_in(f), v.out_if, &r, TC_ACT_REDIRECT, &out, "reply, neighbour known");
	is_pkt(&out, &rw, "reply, neighbour known");
	TEST_LINE("tc: with the neighbour known the reply goes straight out with its MACs");

	s.tcp_flags = TCP_ACK;
	fx_expect_spec(f, fx_xdp(f), &s, XDP_PASS, NULL, "xdp");
	ASSERT_EQ_HEX(f->meta, 0, "left unmarked for TC");
	TEST_LINE("xdp: a full-NAT flow's packets are left unmarked to TC ingress");
out:
	veths_down();
}

static void nat_keep_port(struct fx *f, const void *arg)
{
	struct pkt_spec s = SYN_SPEC, w;
	struct veths v;
	struct pkt out;
	__u16 p;

	if (!veths_bare(&v))
		goto out;
	snat_rule(f, PR_SNAT_ADDR, CPORT - 5, CPORT + 5);
	routed_syn(&v, &s, SNAT_ADDR, CPORT, &w);
	run_from(f, fx_tc_in(f), v.in_if, &s, TC_ACT_REDIRECT, &out, "first client");
	is_pkt(&out, &w, "first client");
	TEST_LINE("tc: --snat keeps the client's port when it lies in the range and is free");

	s.src = "198.51.100.3";
	run_from(f, fx_tc_in(f), v.in_if, &s, TC_ACT_REDIRECT, &out, "second client");
	p = pkt_sport(&out);
	ASSERT_TRUE(p != CPORT, "the second client gets another port");
	in_range(p, CPORT - 5, CPORT + 5, "second client's port");
	routed_syn(&v, &s, SNAT_ADDR, p, &w);
	is_pkt(&out, &w, "second client");
	TEST_LINE("tc: a second client with the same port gets another port of the range (collision)");
out:
	veths_down();
}

/* Whether this kernel's route lookup must name the source it would choose
 * (BPF_FIB_LOOKUP_SRC, mainline Linux 6.8); older kernels may have it
 * backported (Debian's 6.1 does), so there the first flow tells. */
static bool fib_src_required(void)
{
	struct utsname u;
	int a = 0, b = 0;

	return !uname(&u) && sscanf(u.release, "%d.%d", &a, &b) == 2 && (a > 6 || (a == 6 && b >= 8));
}

/* One new masquerade flow from client port cport through ut_out: redirected
 * from src, or (src NULL) dropped for want of an address. */
static void masq_flow(struct fx *f, const struct veths *v, __u16 cport, const char *src, const char *what)
{
	struct pkt_spec s = SYN_SPEC, w;
	struct pkt out;

	s.sport = cport;
	if (!src) {
		run_from(f, fx_tc_in(f), v->in_if, &s, TC_ACT_SHOT, &out, what);
		return;
	}
	if (!run_from(f, fx_tc_in(f), v->in_if, &s, TC_ACT_REDIRECT, &out, what))
		return;
	routed_syn(v, &s, src, pkt_sport(&out), &w);
	in_range(pkt_sport(&out), 20000, 20009, what);
	is_pkt(&out, &w, what);
}

static void nat_masquerade(struct fx *f, const void *arg)
{
	__u64 noaddr = fx_gstat(f, PR_R_DROP_SNAT_NO_ADDR);
	bool live = fib_src_required();
	struct pkt_spec s = SYN_SPEC;
	struct pkt in, out;
	struct veths v;

	if (!veths_bare(&v))
		goto out;
	snat_rule(f, PR_SNAT_MASQ, 20000, 20009);
	masq_flow(f, &v, CPORT, NULL, "not attached");
	ASSERT_EQ(fx_gstat(f, PR_R_DROP_SNAT_NO_ADDR), noaddr + 1, "drop_snat_no_address");
	TEST_LINE("tc: --masquerade out of an interface that is not attached (no pr_ifaddr entry) drops, counted");

	/* attached, with an entry that differs from the interface's address:
	 * the flow's source tells which one masquerade took */
	fx_ifaddr(f, v.out_if, "203.0.113.66", NULL);
	s.sport = CPORT + 1;
	pkt_build(&in, &s);
	if (!ASSERT_EQ(fx_run(f, fx_tc_in(f), &in, &out, v.in_if), TC_ACT_REDIRECT, "attached"))
		goto out;
	if (!live)
		live = pkt_ip4(&out)->saddr == inet_addr(SNAT_ADDR);
	diag("masquerade takes %s", live ? "the kernel's source (BPF_FIB_LOOKUP_SRC)" : "the loaded address");
	masq_flow(f, &v, CPORT + 2, live ? SNAT_ADDR : "203.0.113.66", "attached");
	TEST_LINE(live ? "tc: --masquerade takes the source the kernel chooses for the route" :
			 "tc: --masquerade takes the interface's address loaded at attach (no BPF_FIB_LOOKUP_SRC)");

	/* the interface's address changes; pr_ifaddr still holds the old one */
	if (!ASSERT_OK(system("ip addr del 203.0.113.1/24 dev ut_out && ip addr add 203.0.113.7/24 dev ut_out &&"
			      " ip neigh replace " TARGET " lladdr 02:00:00:00:00:99 dev ut_out nud permanent"),
		       "address change"))
		goto out;
	masq_flow(f, &v, CPORT + 3, live ? "203.0.113.7" : "203.0.113.66", "address changed");
	TEST_LINE(live ? "tc: --masquerade follows the interface's new address at once, without an apply" :
			 "tc: --masquerade keeps the address loaded at attach until an apply (no BPF_FIB_LOOKUP_SRC)");
out:
	veths_down();
}

/* A neighbour of the target reaches the listen address: its flow would go
 * back out where it came from, so it gets ut_out's address as source. */
static void nat_hairpin(struct fx *f, const void *arg)
{
	struct pkt_spec s = SYN_SPEC, w;
	struct veths v;
	struct pkt out;
	__u32 id;

	if (!veths_bare(&v))
		goto out;
	id = rule(f, 8080, TARGET, 80, 0);
	fx_rnat(f, id, PR_SNAT_NONE, NULL, 20000, 20000);
	fx_ifaddr(f, v.out_if, SNAT_ADDR, NULL);
	s.src = NEIGHBOUR;
	routed_syn(&v, &s, SNAT_ADDR, 20000, &w);
	run_from(f, fx_tc_in(f), v.out_if, &s, TC_ACT_REDIRECT, &out, "hairpin");
	is_pkt(&out, &w, "hairpin");
	TEST_LINE("tc: a flow routed back out of its ingress interface gets that interface's address (hairpin)");

	id = rule(f, 8081, TARGET, 80, PR_RULE_F_HAIRPIN_OFF);
	fx_rnat(f, id, PR_SNAT_NONE, NULL, 20000, 20000);
	s.dport = 8081;
	routed_syn(&v, &s, NEIGHBOUR, CPORT, &w);
	w.dport = 80;
	run_from(f, fx_tc_in(f), v.out_if, &s, TC_ACT_REDIRECT, &out, "hairpin off");
	is_pkt(&out, &w, "hairpin off");
	TEST_LINE("tc: --hairpin off leaves such a flow DNAT only");
out:
	veths_down();
}

static void nat_snat_v6(struct fx *f, const void *arg)
{
	struct pkt_spec s = { .src = CLIENT6, .dst = LISTEN6, .sport = CPORT, .dport = 8080, .proto = IPPROTO_TCP,
			      .tcp_flags = TCP_SYN }, w, r, rw;
	struct veths v;
	struct pkt out;
	__u32 id;

	if (!veths_bare(&v))
		goto out;
	id = rule(f, 8080, TARGET6, 80, PR_RULE_F_SNAT);
	fx_rnat(f, id, PR_SNAT_ADDR, "2001:db8:2::1", 20000, 20000);
	routed_syn(&v, &s, "2001:db8:2::1", 20000, &w);
	w.dst = TARGET6;
	run_from(f, fx_tc_in(f), v.in_if, &s, TC_ACT_REDIRECT, &out, "IPv6 SYN");
	is_pkt(&out, &w, "IPv6 SYN");
	TEST_LINE("tc: IPv6 --snat rewrites both addresses and ports with a valid checksum");

	r = (struct pkt_spec){ .src = TARGET6, .dst = "2001:db8:2::1", .sport = 80, .dport = 20000,
			       .proto = IPPROTO_TCP, .tcp_flags = TCP_SYN | TCP_ACK };
	rw = r;
	rw.src = LISTEN6;
	rw.sport = 8080;
	rw.dst = CLIENT6;
	rw.dport = CPORT;
	fx_expect_spec(f, fx_tc_eg(f), &r, TC_ACT_OK, &rw, "IPv6 reply at egress");
	TEST_LINE("tc egress: an IPv6 full-NAT reply gets both rewrites back");
out:
	veths_down();
}

/* A --snat UDP flow's datagrams in fragments: forward ones leave from
 * ingress with both rewrites, replies at egress get both back; later
 * fragments follow their first (pr_frag's new2_addr). */
static void nat_frag(struct fx *f, const void *arg)
{
	struct pkt_spec s = { .src = CLIENT, .dst = LISTEN, .sport = CPORT, .dport = 5353, .proto = IPPROTO_UDP,
			      .payload = 3000 }, w, r, rw;
	struct veths v;
	__u32 id;

	if (!veths_bare(&v))
		goto out;
	id = fx_rule(f, "udp", NULL, 5353, TARGET, 53, false);
	fx_rule_flags(f, "udp", 5353, false, PR_RULE_F_SNAT);
	fx_rnat(f, id, PR_SNAT_ADDR, SNAT_ADDR, 20000, 20000);
	w = s;
	w.src = SNAT_ADDR;
	w.sport = 20000;
	w.dst = TARGET;
	w.dport = 53;
	w.ttl = 63;
	w.dmac = TARGET_MAC;
	w.smac = v.out_mac;
	frag_run_from(f, fx_tc_in(f), v.in_if, TC_ACT_REDIRECT, &s, &w, 3);
	TEST_LINE("tc: a --snat flow's fragmented datagram leaves from ingress, every fragment with both addresses");

	r = (struct pkt_spec){ .src = TARGET, .dst = SNAT_ADDR, .sport = 53, .dport = 20000, .proto = IPPROTO_UDP,
			       .payload = 2500 };
	rw = r;
	rw.src = LISTEN;
	rw.sport = 5353;
	rw.dst = CLIENT;
	rw.dport = CPORT;
	frag_run_from(f, fx_tc_eg(f), 0, TC_ACT_OK, &r, &rw, 2);
	TEST_LINE("tc egress: its fragmented reply gets both rewrites back");
out:
	veths_down();
}

/* ICMP errors about full-NAT flows (docs/design.md, "ICMP errors"). */

#define ROUTER "203.0.113.254" /* a router on the target's link */
#define ROUTER_C "198.51.100.254" /* a router on the client's link */
#define QLEN (20 + 28) /* the quoted IP header and 28 bytes of TCP, its checksum included */

/* p as it leaves a redirect: TTL or hop limit 63, and with dmac the next
 * hop's MACs (NULL: bpf_redirect_neigh writes them, the test sees the input's). */
static void as_routed(struct pkt *p, const unsigned char *dmac, const unsigned char *smac)
{
	if (pkt_is_ip6(p)) {
		pkt_ip6(p)->hop_limit = 63;
	} else {
		pkt_ip4(p)->ttl = 63;
		pkt_ip4(p)->check = 0;
		pkt_ip4(p)->check = htons(pkt_ip4_csum(pkt_ip4(p)));
	}
	if (dmac) {
		memcpy(p->b, dmac, 6);
		memcpy(p->b + 6, smac, 6);
	}
}

/* Run the error in through TC ingress from ifindex: redirected, and out is
 * want whole, its checksums (outer IPv4, ICMP(v6) with the quote) verifying
 * from scratch; xlate_icmp_error and redirect counted. */
static bool icmp_redirected(struct fx *f, __u32 ifindex, const struct pkt *in, const struct pkt *want,
			    const char *what)
{
	__u64 xl = fx_gstat(f, PR_R_XLATE_ICMP), rd = fx_gstat(f, PR_R_REDIRECT);
	struct pkt out;
	bool ok;

	ok = ASSERT_EQ(fx_run(f, fx_tc_in(f), in, &out, ifindex), TC_ACT_REDIRECT, what);
	ok = ASSERT_PKT_EQ(&out, want, what) && ok;
	ok = ASSERT_CSUMS_OK(&out, what) && ok;
	ok = ASSERT_EQ(fx_gstat(f, PR_R_XLATE_ICMP), xl + 1, "xlate_icmp_error") && ok;
	return ASSERT_EQ(fx_gstat(f, PR_R_REDIRECT), rd + 1, "redirect") && ok;
}

/* An error quoting a flow's packet but addressed to someone else than the
 * quote's source is about no packet that source sent: TC ingress passes it
 * untouched (pass_icmp), never relaying it from the SNAT address. */
static void icmp_misaddressed(struct fx *f, __u32 ifindex, const char *src, const struct pkt *quoted, const char *what)
{
	__u64 pass = fx_gstat(f, PR_R_PASS_ICMP), xl = fx_gstat(f, PR_R_XLATE_ICMP);
	struct pkt in, out;

	pkt_icmp(&in, src, "198.51.100.77", ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, quoted, QLEN);
	ASSERT_EQ(fx_run(f, fx_tc_in(f), &in, &out, ifindex), TC_ACT_OK, what);
	ASSERT_PKT_EQ(&out, &in, what);
	ASSERT_EQ(fx_gstat(f, PR_R_PASS_ICMP), pass + 1, "pass_icmp");
	ASSERT_EQ(fx_gstat(f, PR_R_XLATE_ICMP), xl, "xlate_icmp_error");
}

/* A --snat flow from the client: c0 what the client sent (spec), c1 what
 * the target got (source SNAT_ADDR:20000). The client's neighbour is known. */
static bool snat_flow(struct fx *f, struct veths *v, const struct pkt_spec *c0, struct pkt *c1)
{
	struct pkt_spec w;
	struct pkt in;

	if (!veths_bare(v))
		return false;
	snat_rule(f, PR_SNAT_ADDR, 20000, 20000);
	if (!ASSERT_OK(system("ip neigh replace " CLIENT " lladdr 02:00:00:00:00:98 dev ut_in nud permanent"),
		       "client neighbour"))
		return false;
	pkt_build(&in, c0);
	if (!ASSERT_EQ(fx_run(f, fx_tc_in(f), &in, c1, v->in_if), TC_ACT_REDIRECT, "the client's segment"))
		return false;
	routed_syn(v, c0, SNAT_ADDR, 20000, &w);
	return is_pkt(c1, &w, "the client's segment");
}

/* The target, then a router on its path, about the forwarded segment: the
 * client gets each error quoting its own segment (but for the TTL we took
 * off), from the listen address (the target) or the router, the MTU kept. */
static void nat_icmp_target_side(struct fx *f, const void *arg)
{
	struct pkt_spec c0 = SYN_SPEC, q;
	struct pkt c1, quote, in, want, out;
	struct veths v;

	c0.tcp_flags = TCP_PSH | TCP_ACK;
	c0.payload = 1400;
	if (!snat_flow(f, &v, &c0, &c1))
		goto out;
	q = c0;
	q.ttl = 63;
	pkt_build(&quote, &q);

	pkt_icmp(&in, TARGET, SNAT_ADDR, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, &c1, QLEN);
	pkt_icmp(&want, LISTEN, CLIENT, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, &quote, QLEN);
	as_routed(&want, CLIENT_MAC, v.in_mac);
	icmp_redirected(f, v.out_if, &in, &want, "port-unreachable from the target");
	TEST_LINE("tc: port-unreachable from the target about a --snat segment reaches the client quoting its own "
		  "segment, from the listen address");

	pkt_icmp(&in, ROUTER, SNAT_ADDR, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1280, &c1, QLEN);
	pkt_icmp(&want, ROUTER, CLIENT, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1280, &quote, QLEN);
	as_routed(&want, CLIENT_MAC, v.in_mac);
	icmp_redirected(f, v.out_if, &in, &want, "frag-needed from a router");
	TEST_LINE("tc: frag-needed from a router on the target's path reaches the client from the router, MTU 1280 kept");

	icmp_misaddressed(f, v.out_if, TARGET, &c1, "an error from the target to another address");
	TEST_LINE("tc: an error quoting the forwarded segment but addressed to another host than the SNAT address "
		  "passes untouched (pass_icmp)");

	fx_expect(f, fx_xdp(f), &in, XDP_PASS, NULL, NULL, "xdp");
	ASSERT_EQ_HEX(f->meta, 0, "left unmarked for TC");
	ASSERT_EQ(fx_run(f, fx_tc_eg(f), &in, &out, 0), TC_ACT_OK, "tc egress");
	ASSERT_PKT_EQ(&out, &in, "tc egress");
	TEST_LINE("xdp leaves such an error unmarked to TC ingress, and tc egress leaves it alone");
out:
	veths_down();
}

/* The client, then a router on its side, about a reply: the target gets
 * each error quoting its own reply, to the target from the SNAT address
 * (the client) or the router. */
static void nat_icmp_client_side(struct fx *f, const void *arg)
{
	struct pkt_spec c0 = SYN_SPEC, r, rw;
	struct pkt c1, r0, r1, quote, in, want;
	struct veths v;

	if (!snat_flow(f, &v, &c0, &c1))
		goto out;
	r = (struct pkt_spec){ .src = TARGET, .dst = SNAT_ADDR, .sport = 80, .dport = 20000, .proto = IPPROTO_TCP,
			       .tcp_flags = TCP_SYN | TCP_ACK, .payload = 100 };
	pkt_build(&r0, &r);
	if (!ASSERT_EQ(fx_run(f, fx_tc_in(f), &r0, &r1, v.out_if), TC_ACT_REDIRECT, "the target's reply"))
		goto out;
	rw = r;
	rw.src = LISTEN;
	rw.sport = 8080;
	rw.dst = CLIENT;
	rw.dport = CPORT;
	rw.ttl = 63;
	rw.dmac = CLIENT_MAC;
	rw.smac = v.in_mac;
	if (!is_pkt(&r1, &rw, "the target's reply"))
		goto out;
	r.ttl = 63;
	pkt_build(&quote, &r);

	pkt_icmp(&in, CLIENT, LISTEN, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, &r1, QLEN);
	pkt_icmp(&want, SNAT_ADDR, TARGET, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, &quote, QLEN);
	as_routed(&want, TARGET_MAC, v.out_mac);
	icmp_redirected(f, v.in_if, &in, &want, "port-unreachable from the client");
	TEST_LINE("tc: port-unreachable from the client about a reply reaches the target from the SNAT address, "
		  "quoting the target's own reply");

	pkt_icmp(&in, ROUTER_C, LISTEN, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1400, &r1, QLEN);
	pkt_icmp(&want, ROUTER_C, TARGET, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1400, &quote, QLEN);
	as_routed(&want, TARGET_MAC, v.out_mac);
	icmp_redirected(f, v.in_if, &in, &want, "frag-needed from the client's router");
	TEST_LINE("tc: frag-needed from a router on the client's side reaches the target from that router, MTU kept");

	icmp_misaddressed(f, v.in_if, CLIENT, &r1, "an error from the client to another address");
	TEST_LINE("tc: an error from the client quoting a reply but addressed to another host than the listen address "
		  "passes untouched (pass_icmp), not relayed from the SNAT address");
out:
	veths_down();
}

/* A UDP --snat flow: port-unreachable from the target quotes a datagram
 * with its checksum, one without keeps none. */
static void nat_icmp_udp(struct fx *f, const void *arg)
{
	struct pkt_spec s = { .src = CLIENT, .dst = LISTEN, .sport = CPORT, .dport = 5353, .proto = IPPROTO_UDP,
			      .payload = 40 }, w;
	struct pkt in, u1, quote, want;
	struct veths v;
	__u32 id;

	if (!veths_bare(&v))
		goto out;
	id = fx_rule(f, "udp", NULL, 5353, TARGET, 53, false);
	fx_rule_flags(f, "udp", 5353, false, PR_RULE_F_SNAT);
	fx_rnat(f, id, PR_SNAT_ADDR, SNAT_ADDR, 20000, 20001);
	for (int zero = 0; zero < 2; zero++) {
		s.udp_zero_csum = zero;
		s.sport = CPORT + zero;
		pkt_build(&in, &s);
		if (!ASSERT_EQ(fx_run(f, fx_tc_in(f), &in, &u1, v.in_if), TC_ACT_REDIRECT, "datagram"))
			goto out;
		w = s;
		w.ttl = 63;
		pkt_build(&quote, &w);
		pkt_icmp(&in, TARGET, SNAT_ADDR, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, &u1, 28 + 8);
		pkt_icmp(&want, LISTEN, CLIENT, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, &quote, 28 + 8);
		as_routed(&want, NULL, NULL); /* the client's neighbour is unknown: bpf_redirect_neigh */
		icmp_redirected(f, v.out_if, &in, &want, zero ? "no UDP checksum" : "UDP checksum");
	}
	TEST_LINE("tc: port-unreachable about a --snat UDP datagram is translated, a quoted checksum of 0 stays 0");
out:
	veths_down();
}

/* IPv6: packet-too-big from the target about a --snat segment. */
static void nat_icmp_v6(struct fx *f, const void *arg)
{
	struct pkt_spec s = { .src = CLIENT6, .dst = LISTEN6, .sport = CPORT, .dport = 8080, .proto = IPPROTO_TCP,
			      .tcp_flags = TCP_PSH | TCP_ACK, .payload = 1300 }, w, q;
	struct pkt in, c1, quote, want;
	struct veths v;
	__u32 id;

	if (!veths_bare(&v))
		goto out;
	id = rule(f, 8080, TARGET6, 80, PR_RULE_F_SNAT);
	fx_rnat(f, id, PR_SNAT_ADDR, "2001:db8:2::1", 20000, 20000);
	pkt_build(&in, &s);
	if (!ASSERT_EQ(fx_run(f, fx_tc_in(f), &in, &c1, v.in_if), TC_ACT_REDIRECT, "IPv6 segment"))
		goto out;
	routed_syn(&v, &s, "2001:db8:2::1", 20000, &w);
	w.dst = TARGET6;
	if (!is_pkt(&c1, &w, "IPv6 segment"))
		goto out;
	q = s;
	q.ttl = 63;
	pkt_build(&quote, &q);
	pkt_icmp(&in, TARGET6, "2001:db8:2::1", 2 /* packet too big */, 0, 1280, &c1, 40 + 28);
	pkt_icmp(&want, LISTEN6, CLIENT6, 2, 0, 1280, &quote, 40 + 28);
	as_routed(&want, NULL, NULL);
	icmp_redirected(f, v.out_if, &in, &want, "packet-too-big");
	TEST_LINE("tc: ICMPv6 packet-too-big about a --snat segment reaches the client quoting its own segment, "
		  "MTU kept, checksum over the new pseudo header");
out:
	veths_down();
}

/* A flow whose source port only was remapped (nat_clash): its errors go as
 * a DNAT flow's, the reply side translated at egress, with the port too. */
static void nat_icmp_remapped(struct fx *f, const void *arg)
{
	struct pkt_spec s1 = SYN_SPEC, s2 = SYN_SPEC, w;
	struct pkt in, out, c1, quote, want;
	__u64 before = fx_gstat(f, PR_R_PASS_REPLY_EGRESS);
	__u32 id2;

	rule(f, 8080, TARGET, 80, 0);
	id2 = rule(f, 8081, TARGET, 80, 0);
	fx_rnat(f, id2, PR_SNAT_NONE, NULL, 50000, 50000);
	s2.dport = 8081;
	fx_expect_dnat(f, fx_tc_in(f), &s1, TC_ACT_OK, TARGET, 80, "first flow");
	pkt_build(&in, &s2);
	ASSERT_EQ(fx_run(f, fx_tc_in(f), &in, &c1, 0), TC_ACT_OK, "second flow");
	w = s2;
	w.dst = TARGET;
	w.dport = 80;
	w.sport = 50000;
	is_pkt(&c1, &w, "second flow, remapped");
	pkt_icmp(&in, TARGET, CLIENT, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1280, &c1, 28);
	fx_expect(f, fx_tc_in(f), &in, TC_ACT_OK, NULL, NULL, "tc ingress");
	ASSERT_EQ(fx_gstat(f, PR_R_PASS_REPLY_EGRESS), before + 1, "pass_reply_to_egress");
	pkt_build(&quote, &s2);
	pkt_icmp(&want, LISTEN, CLIENT, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1280, &quote, 28);
	ASSERT_EQ(fx_run(f, fx_tc_eg(f), &in, &out, 0), TC_ACT_OK, "tc egress");
	ASSERT_PKT_EQ(&out, &want, "tc egress");
	ASSERT_CSUMS_OK(&out, "tc egress");
	TEST_LINE("tc: an error about a remapped flow is left at ingress to egress, which restores port and address");
}

const struct pr_case cases_nat[] = {
	CASE(nat_clash, "tuple clash: the second flow's source port is remapped (tc)"),
	{ .name = "nat_clash_xdp", .fn = nat_clash, .arg = "xdp", .doc = "tuple clash, opened at xdp" },
	CASE(nat_exhausted, "no free port: dropped and counted"),
	CASE(nat_port_reuse, "a closed flow's port goes to a new SYN, a live or half-acked one's never"),
	CASE(nat_snat_addr, "--snat: rewrite, reply, neighbour resolution"),
	CASE(nat_keep_port, "--snat keeps the client's port, a second client gets another"),
	CASE(nat_masquerade, "--masquerade with and without an interface address"),
	CASE(nat_hairpin, "hairpin, and --hairpin off"),
	CASE(nat_snat_v6, "IPv6 --snat"),
	CASE(nat_frag, "fragments of a --snat flow, both ways"),
	CASE(nat_icmp_target_side, "ICMP errors from the target side of a --snat flow"),
	CASE(nat_icmp_client_side, "ICMP errors from the client side of a --snat flow"),
	CASE(nat_icmp_udp, "port-unreachable about --snat UDP, with and without a checksum"),
	CASE(nat_icmp_v6, "ICMPv6 packet-too-big about a --snat flow"),
	CASE(nat_icmp_remapped, "an ICMP error about a flow whose port was remapped"),
};
const size_t cases_nat_n = CASES_COUNT(cases_nat);
