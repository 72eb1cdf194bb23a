// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit cases: bpf_fib_lookup and redirect straight to the egress device, over veths in the test's own netns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "cases.h"

const unsigned char TARGET_MAC[6] = { 2, 0, 0, 0, 0, 0x99 }, CLIENT_MAC[6] = { 2, 0, 0, 0, 0, 0x98 };

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		diag("command failed (%d): %s", rc, cmd);
	return rc;
}

/* sysfs still shows the host's namespace, so ask the kernel directly */
static int if_mac(const char *name, unsigned char *mac)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rc = -1;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (fd >= 0 && !ioctl(fd, SIOCGIFHWADDR, &ifr)) {
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
		rc = 0;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Delete the IPv4 neighbour addr on ifindex with one netlink request: a
 * fork of ip(8) can take longer than the route cache's second on a slow VM.
 * Returns 0 or -errno. */
static int neigh_del4(__u32 ifindex, const char *addr)
{
	struct {
		struct nlmsghdr nh;
		struct ndmsg nd;
		struct rtattr rta;
		__u8 dst[4];
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_DELNEIGH, .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK },
		.nd = { .ndm_family = AF_INET, .ndm_ifindex = ifindex },
		.rta = { .rta_len = RTA_LENGTH(4), .rta_type = NDA_DST },
	};
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr err;
	} ack;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), rc;

	if (fd < 0)
		return -errno;
	inet_pton(AF_INET, addr, req.dst);
	rc = send(fd, &req, sizeof(req), 0) == sizeof(req) && recv(fd, &ack, sizeof(ack), 0) >= (ssize_t)sizeof(ack) ?
		     ack.err.error : -errno;
	close(fd);
	return rc;
}

bool veths_bare(struct veths *v)
{
	if (!ASSERT_OK(sh("ip link add ut_in type veth peer name ut_in_p && ip link add ut_out type veth peer name ut_out_p &&"
			  " ip addr add " LISTEN "/24 dev ut_in && ip addr add 203.0.113.1/24 dev ut_out &&"
			  " ip addr add " LISTEN6 "/64 dev ut_in nodad && ip addr add 2001:db8:2::1/64 dev ut_out nodad &&"
			  " ip link set ut_in up && ip link set ut_in_p up && ip link set ut_out up && ip link set ut_out_p up &&"
			  " ip neigh replace " TARGET " lladdr 02:00:00:00:00:99 dev ut_out nud permanent &&"
			  " ip neigh replace " TARGET6 " lladdr 02:00:00:00:00:99 dev ut_out nud permanent &&"
			  " sysctl -qw net.ipv4.conf.all.forwarding=1 && sysctl -qw net.ipv6.conf.all.forwarding=1"),
		       "veth setup"))
		return false;
	v->in_if = if_nametoindex("ut_in");
	v->out_if = if_nametoindex("ut_out");
	return ASSERT_OK(if_mac("ut_in", v->in_mac), "ut_in MAC") && ASSERT_OK(if_mac("ut_out", v->out_mac), "ut_out MAC");
}

/* veths_bare() plus the base rules. */
static bool veths_up(struct fx *f, struct veths *v)
{
	fx_base_rules(f);
	return veths_bare(v);
}

void veths_down(void)
{
	/* deleting one end of a veth deletes the pair */
	if (system("ip link del ut_in 2>/dev/null; ip link del ut_out 2>/dev/null;"
		   " sysctl -qw net.ipv4.conf.all.forwarding=0; sysctl -qw net.ipv6.conf.all.forwarding=0"))
		diag("veth teardown failed");
}

/* Run in_spec through prog from ifindex; the verdict and the whole output. */
static bool expect_from(struct fx *f, struct bpf_program *prog, __u32 ifindex, const struct pkt_spec *in_spec,
			int verdict, const struct pkt_spec *want_spec, const char *what)
{
	struct pkt in, out, want;
	bool ok;

	pkt_build(&in, in_spec);
	if (want_spec)
		pkt_build(&want, want_spec);
	ok = ASSERT_EQ(fx_run(f, prog, &in, &out, ifindex), verdict, what);
	ok = ASSERT_PKT_EQ(&out, want_spec ? &want : &in, what) && ok;
	if (want_spec)
		ok = ASSERT_CSUMS_OK(&out, what) && ok;
	return ok;
}

void veths_routed(const struct veths *v, const struct pkt_spec *sp, struct pkt_spec *w)
{
	*w = *sp;
	w->dst = TARGET;
	w->dport = 80;
	w->ttl = 63;
	w->dmac = TARGET_MAC;
	w->smac = v->out_mac;
}

/* The SYN translated and routed out of ut_out: TTL-1, the neighbour's MACs. */
static void routed(const struct veths *v, struct pkt_spec *w)
{
	struct pkt_spec s = SYN_SPEC;

	veths_routed(v, &s, w);
}

static void fib_xdp_not_in_tx(struct fx *f, const void *arg)
{
	struct pkt_spec s = SYN_SPEC, w = SYN_SPEC;
	struct veths v;

	if (veths_up(f, &v)) {
		w.dst = TARGET;
		w.dport = 80;
		expect_from(f, fx_xdp(f), v.in_if, &s, XDP_PASS, &w, "xdp");
	}
	TEST_LINE("xdp: a routable egress that is not in pr_tx gets XDP_PASS with MACs and TTL untouched");
	veths_down();
}

static void fib_xdp_redirect(struct fx *f, const void *arg)
{
	struct pkt_spec s = SYN_SPEC, w;
	struct veths v;
	__u64 before;

	if (veths_up(f, &v) && ASSERT_OK(pr_tx_allow(&f->ctx, v.out_if, true), "pr_tx")) {
		before = fx_gstat(f, PR_R_REDIRECT);
		routed(&v, &w);
		expect_from(f, fx_xdp(f), v.in_if, &s, XDP_REDIRECT, &w, "xdp");
		ASSERT_EQ(fx_gstat(f, PR_R_REDIRECT), before + 1, "redirect counter");
	}
	TEST_LINE("xdp: fib lookup success redirects with neighbour MACs, TTL-1 and a valid IP checksum");
	veths_down();
}

static void fib_xdp_ttl1(struct fx *f, const void *arg)
{
	struct pkt_spec s = SYN_SPEC, w = SYN_SPEC;
	struct veths v;

	if (veths_up(f, &v) && ASSERT_OK(pr_tx_allow(&f->ctx, v.out_if, true), "pr_tx")) {
		s.ttl = w.ttl = 1;
		w.dst = TARGET;
		w.dport = 80;
		expect_from(f, fx_xdp(f), v.in_if, &s, XDP_PASS, &w, "xdp");
	}
	TEST_LINE("xdp: TTL 1 is left to the stack (time exceeded) instead of redirected");
	veths_down();
}

/* A veth armed in pr_vxmit (its far end takes XDP frames) is redirected
 * into by ifindex, with no pr_tx entry; a slot of another namespace, one
 * that says no, or one the kernel refused a frame into is not. */
static void fib_xdp_veth(struct fx *f, const void *arg)
{
	struct pkt_spec s = SYN_SPEC, w, pass = SYN_SPEC;
	struct veths v;
	__u64 r0, v0;

	pass.dst = TARGET;
	pass.dport = 80;
	if (!veths_up(f, &v))
		goto out;
	if (fx_vxmit(f, v.out_if, false, 1, 0)) {
		r0 = fx_gstat(f, PR_R_REDIRECT);
		v0 = fx_gstat(f, PR_R_REDIRECT_VETH);
		routed(&v, &w);
		expect_from(f, fx_xdp(f), v.in_if, &s, XDP_REDIRECT, &w, "xdp, armed");
		ASSERT_EQ(fx_gstat(f, PR_R_REDIRECT), r0 + 1, "redirect counter");
		ASSERT_EQ(fx_gstat(f, PR_R_REDIRECT_VETH), v0 + 1, "redirect_xdp_veth counter");
	}
	TEST_LINE("xdp: an egress veth armed in pr_vxmit is redirected into, counted in redirect_xdp_veth");
	if (fx_vxmit(f, v.out_if, true, 1, 0))
		expect_from(f, fx_xdp(f), v.in_if, &s, XDP_PASS, &pass, "xdp, other namespace");
	TEST_LINE("xdp: a slot armed by another namespace is not this one's: XDP_PASS, untouched");
	if (fx_vxmit(f, v.out_if, false, 0, 0))
		expect_from(f, fx_xdp(f), v.in_if, &s, XDP_PASS, &pass, "xdp, far end without NAPI");
	TEST_LINE("xdp: a slot whose far end has no NAPI: XDP_PASS, untouched");
	if (fx_vxmit(f, v.out_if, false, 1, 1))
		expect_from(f, fx_xdp(f), v.in_if, &s, XDP_PASS, &pass, "xdp, refused");
	TEST_LINE("xdp: a slot the kernel refused a frame into: XDP_PASS, untouched");
	fx_vxmit(f, v.out_if, true, 0, 0);
out:
	veths_down();
}

/* TC needs no devmap: bpf_redirect sends an skb to any device. */
static bool tc_redirect(struct fx *f, const struct veths *v)
{
	struct pkt_spec s = SYN_SPEC, w;
	__u64 before = fx_gstat(f, PR_R_REDIRECT);

	routed(v, &w);
	return expect_from(f, fx_tc_in(f), v->in_if, &s, TC_ACT_REDIRECT, &w, "tc") &
	       ASSERT_EQ(fx_gstat(f, PR_R_REDIRECT), before + 1, "redirect counter");
}

static void fib_tc_redirect(struct fx *f, const void *arg)
{
	struct veths v;

	if (veths_up(f, &v))
		tc_redirect(f, &v);
	TEST_LINE("tc: a translated packet with a route and a neighbour goes straight to the egress device "
		  "(bpf_redirect) with neighbour MACs, TTL-1 and valid checksums");
	veths_down();
}

/* The reply of tc_redirect's flow arrives on ut_out: with no neighbour for
 * the client it is left to the egress hook; once known, it goes straight
 * back out of ut_in, translated; the route is cached for a second. */
static void fib_tc_reply(struct fx *f, const void *arg)
{
	struct pkt_spec r = { .src = TARGET, .dst = CLIENT, .sport = 80, .dport = CPORT,
			      .proto = IPPROTO_TCP, .tcp_flags = TCP_SYN | TCP_ACK }, rw = r;
	struct veths v;
	__u64 before;

	if (!veths_up(f, &v) || !tc_redirect(f, &v))
		goto out;
	before = fx_gstat(f, PR_R_PASS_REPLY_EGRESS);
	expect_from(f, fx_tc_in(f), v.out_if, &r, TC_ACT_OK, NULL, "tc, no neighbour");
	ASSERT_EQ(fx_gstat(f, PR_R_PASS_REPLY_EGRESS), before + 1, "pass_reply_egress counter");
	TEST_LINE("tc: a reply with no neighbour yet is left untranslated for the egress hook");

	if (!ASSERT_OK(sh("ip neigh replace " CLIENT " lladdr 02:00:00:00:00:98 dev ut_in nud permanent"),
		       "client neighbour"))
		goto out;
	rw.src = LISTEN;
	rw.sport = 8080;
	rw.ttl = 63;
	rw.dmac = CLIENT_MAC;
	rw.smac = v.in_mac;
	expect_from(f, fx_tc_in(f), v.out_if, &r, TC_ACT_REDIRECT, &rw, "tc, neighbour known");
	TEST_LINE("tc: with the neighbour known the reply is translated and goes straight back out");

	/* the flow keeps that route for a second without a lookup, then looks again */
	ASSERT_OK(neigh_del4(v.in_if, CLIENT), "neighbour removal");
	expect_from(f, fx_tc_in(f), v.out_if, &r, TC_ACT_REDIRECT, &rw, "tc, cached route");
	TEST_LINE("tc: the flow's cached route serves the next packet without a lookup");
	usleep(1100 * 1000);
	expect_from(f, fx_tc_in(f), v.out_if, &r, TC_ACT_OK, NULL, "tc, route looked up again");
	TEST_LINE("tc: after a second the route is looked up again and the neighbour's removal is seen");
out:
	veths_down();
}

const struct pr_case cases_fib[] = {
	CASE(fib_xdp_not_in_tx, "XDP: a routable egress not in pr_tx is left to the stack"),
	CASE(fib_xdp_redirect, "XDP: fib lookup and XDP_REDIRECT"),
	CASE(fib_xdp_ttl1, "XDP: TTL 1 is left to the stack"),
	CASE(fib_xdp_veth, "XDP: into a veth armed in pr_vxmit, and not otherwise"),
	CASE(fib_tc_redirect, "TC: fib lookup and bpf_redirect"),
	CASE(fib_tc_reply, "TC: a reply's neighbour, its route cache and its refresh"),
};
const size_t cases_fib_n = CASES_COUNT(cases_fib);
