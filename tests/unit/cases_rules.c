// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit cases: port ranges, source allowlists and the DMZ rule, as the datapath applies them. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "cases.h"

/* A TCP SYN from CLIENT:sport to dst:dport is translated by XDP to want:want_port. */
static bool tcp_from_to(struct fx *f, __u16 sport, const char *dst, __u16 dport, const char *want,
			__u16 want_port)
{
	struct pkt_spec s = SYN_SPEC;

	s.sport = sport;
	s.dst = dst;
	s.dport = dport;
	return fx_expect_dnat(f, fx_xdp(f), &s, XDP_PASS, want, want_port, "translated");
}

/* A TCP SYN to dst:dport is translated by XDP to want:want_port. */
static bool tcp_to(struct fx *f, const char *dst, __u16 dport, const char *want, __u16 want_port)
{
	struct pkt_spec s = SYN_SPEC;

	s.dst = dst;
	s.dport = dport;
	return fx_expect_dnat(f, fx_xdp(f), &s, XDP_PASS, want, want_port, "translated");
}

/* A TCP SYN to dst:dport is passed by XDP untouched. */
static bool tcp_untouched(struct fx *f, const char *dst, __u16 dport)
{
	struct pkt_spec s = SYN_SPEC;

	s.dst = dst;
	s.dport = dport;
	return fx_expect_spec(f, fx_xdp(f), &s, XDP_PASS, NULL, "untouched");
}

/* tcp 198.51.100.77:first-last -> 203.0.113.9:tfirst[-tlast]. */
static void range_spec(struct pr_rule_spec *s, __u16 first, __u16 last, __u16 tfirst, __u16 tlast)
{
	memset(s, 0, sizeof(*s));
	s->key.proto = IPPROTO_TCP;
	s->key.family = PR_AF_INET;
	inet_pton(AF_INET, "198.51.100.77", &s->key.addr.v4);
	s->key.port = htons(first);
	s->port_last = last;
	inet_pton(AF_INET, "203.0.113.9", &s->target.v4);
	s->target_port = htons(tfirst);
	s->target_port_last = tlast;
}

static void range_full(struct fx *f, const void *arg)
{
	struct pr_rule_spec s;
	struct pr_rule_meta m = {};

	/* every port of one listen address, port for port */
	range_spec(&s, 1, 65535, 1, 65535);
	ASSERT_OK(fx_add_spec(f, &s, &m), "add the range");
	ASSERT_EQ(pr_rule_span(&m), 65535, "span");
	tcp_to(f, "198.51.100.77", 1, "203.0.113.9", 1);
	tcp_to(f, "198.51.100.77", 32768, "203.0.113.9", 32768);
	tcp_to(f, "198.51.100.77", 65535, "203.0.113.9", 65535);
	TEST_LINE("a 65,535-port range maps first, middle and last port for port (one hash entry a port)");
}

static void range_overlap(struct fx *f, const void *arg)
{
	struct pr_rule_spec s, o;
	struct pr_rule_meta m, conflict = {};

	range_spec(&s, 1, 65535, 1, 65535);
	ASSERT_OK(fx_add_spec(f, &s, NULL), "add the range");
	/* an address rule inside it would overlap */
	range_spec(&o, 443, 443, 1, 0);
	ASSERT_EQ(pr_rule_add(&f->ctx, &o, false, &m, &conflict), -EEXIST, "add inside the range");
	ASSERT_EQ(conflict.port_last, 65535, "the conflict named");
	TEST_LINE("a rule overlapping a range is refused, naming the range");
}

static void range_delete(struct fx *f, const void *arg)
{
	struct pr_rule_spec s;

	range_spec(&s, 1, 65535, 1, 65535);
	ASSERT_OK(fx_add_spec(f, &s, NULL), "add the range");
	tcp_to(f, "198.51.100.77", 2000, "203.0.113.9", 2000);
	ASSERT_OK(fx_del_spec(f, &s), "delete the range");
	tcp_untouched(f, "198.51.100.77", 2000);
	tcp_untouched(f, "198.51.100.77", 2001);
	TEST_LINE("deleting the range removes all its ports");
}

static void range_onto_one(struct fx *f, const void *arg)
{
	struct pr_rule_spec s;

	range_spec(&s, 7100, 7199, 7000, 0);
	ASSERT_OK(fx_add_spec(f, &s, NULL), "add the range");
	tcp_to(f, "198.51.100.77", 7100, "203.0.113.9", 7000);
	/* another client port: from CPORT the two flows' replies would clash */
	tcp_from_to(f, CPORT + 1, "198.51.100.77", 7199, "203.0.113.9", 7000);
	tcp_untouched(f, "198.51.100.77", 7200);
	TEST_LINE("a range whose target is one port maps every port onto it");
}

/* udp :7000 -> TARGET:7000, sources 198.51.100.0/30 only. */
static __u32 allow_rule(struct fx *f, struct pr_rule_spec *s, bool drop)
{
	struct pr_rule_meta m = {};

	memset(s, 0, sizeof(*s));
	s->key.proto = IPPROTO_UDP;
	s->key.family = PR_AF_INET;
	s->key.port = htons(7000);
	s->port_last = 7000;
	inet_pton(AF_INET, TARGET, &s->target.v4);
	s->target_port = htons(7000);
	s->allow_count = 1;
	s->allow[0].family = PR_AF_INET;
	s->allow[0].len = 30;
	inet_pton(AF_INET, "198.51.100.0", &s->allow[0].addr.v4);
	s->deny_drop = drop;
	ASSERT_OK(fx_add_spec(f, s, &m), "add the allowlisted rule");
	return m.rule.id;
}

#define UDP7000(src_) \
	{ .src = src_, .dst = LISTEN, .sport = CPORT, .dport = 7000, .proto = IPPROTO_UDP, .payload = 10 }

static void allow_inside(struct fx *f, const void *arg)
{
	struct pr_rule_spec s;
	struct pkt_spec p = UDP7000(CLIENT), w = UDP7000(CLIENT);

	allow_rule(f, &s, true);
	w.dst = TARGET;
	fx_expect_spec(f, fx_xdp(f), &p, XDP_PASS, &w, "inside");
	TEST_LINE("allowlist: a source inside the CIDR is redirected");
}

static void allow_outside_drop(struct fx *f, const void *arg)
{
	struct pr_rule_spec s;
	struct pr_rule_stats st = {};
	struct pkt_spec p = UDP7000("198.51.100.9");
	struct pkt in, out;
	__u32 id = allow_rule(f, &s, true);

	pkt_build(&in, &p);
	ASSERT_EQ(fx_run(f, fx_xdp(f), &in, &out, 0), XDP_DROP, "xdp");
	ASSERT_EQ(fx_run(f, fx_tc_in(f), &in, &out, 0), TC_ACT_SHOT, "tc");
	ASSERT_OK(pr_rule_stats(&f->ctx, id, &st), "rule stats");
	ASSERT_EQ(st.denied, 2, "denied counter");
	ASSERT_EQ(st.flows, 0, "no flow opened");
	TEST_LINE("allowlist: a source outside is dropped by XDP and TC and counted (denied %llu)",
		  (unsigned long long)st.denied);
}

static void allow_outside_pass(struct fx *f, const void *arg)
{
	struct pr_rule_spec s;
	struct pr_rule_meta m, conflict;
	struct pkt_spec p = UDP7000("198.51.100.9");

	allow_rule(f, &s, true);
	s.deny_drop = false;
	ASSERT_OK(pr_rule_add(&f->ctx, &s, true, &m, &conflict), "replace with --deny-action pass");
	fx_expect_spec(f, fx_xdp(f), &p, XDP_PASS, NULL, "outside");
	TEST_LINE("allowlist with --deny-action pass: an outside source reaches the stack untouched");
}

/* A rule listening on 127.0.0.1 is for local clients (the socket hooks):
 * a packet from outside to it is passed untouched by XDP and TC. */
static void loopback_listen(struct fx *f, const void *arg)
{
	struct pr_rule_spec s;
	struct pr_rule_meta m = {};
	struct pkt_spec p = SYN_SPEC;
	__u64 before = fx_gstat(f, PR_R_PASS_LOOPBACK);

	range_spec(&s, 8080, 8080, 80, 0);
	inet_pton(AF_INET, "127.0.0.1", &s.key.addr.v4);
	ASSERT_OK(fx_add_spec(f, &s, &m), "add tcp 127.0.0.1:8080");
	p.dst = "127.0.0.1";
	p.dport = 8080;
	fx_expect_spec(f, fx_xdp(f), &p, XDP_PASS, NULL, "xdp: untouched");
	fx_expect_spec(f, fx_tc_in(f), &p, TC_ACT_OK, NULL, "tc: untouched");
	ASSERT_EQ(fx_gstat(f, PR_R_PASS_LOOPBACK) - before, 2, "pass_loopback_dst by XDP and TC");
	TEST_LINE("a packet from outside to a 127.0.0.1 rule is left untouched and counted as pass_loopback_dst");
}

/* tcp :* -> TARGET2 (port 0: keep each packet's port), beside the base rules. */
static void dmz_rule(struct fx *f, struct pr_rule_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->key.proto = IPPROTO_TCP;
	s->key.family = PR_AF_INET;
	inet_pton(AF_INET, TARGET2, &s->target.v4);
	fx_base_rules(f);
	ASSERT_OK(fx_add_spec(f, s, NULL), "add the DMZ rule");
}

static void dmz_takes_unmapped(struct fx *f, const void *arg)
{
	struct pr_rule_spec s;

	dmz_rule(f, &s);
	tcp_to(f, LISTEN, 9999, TARGET2, 9999);
	tcp_to(f, LISTEN, 8080, TARGET, 80);
	TEST_LINE("DMZ ':*' takes an unmapped port (keeping it) while a specific rule still wins");
}

static void dmz_local_socket(struct fx *f, const void *arg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9998) };
	struct pkt_spec p = SYN_SPEC;
	struct pr_rule_spec s;
	struct pkt in;
	__u64 before;
	int fd;

	dmz_rule(f, &s);
	/* a local listener on 9998 in this namespace: the DMZ leaves its traffic alone */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (!ASSERT_TRUE(fd >= 0 && !bind(fd, (void *)&sa, sizeof(sa)) && !listen(fd, 1), "local listener")) {
		diag("listener on :9998: %s", strerror(errno));
		goto out;
	}
	before = fx_gstat(f, PR_R_PASS_LOCAL_SOCKET);
	p.dport = 9998;
	pkt_build(&in, &p);
	fx_expect(f, fx_xdp(f), &in, XDP_PASS, NULL, NULL, "xdp");
	fx_expect(f, fx_tc_in(f), &in, TC_ACT_OK, NULL, NULL, "tc");
	ASSERT_EQ(fx_gstat(f, PR_R_PASS_LOCAL_SOCKET), before + 2, "pass_local_socket counter");
out:
	TEST_LINE("DMZ yields to a local listening socket (the host's own services stay reachable)");
	if (fd >= 0)
		close(fd);
}

static void dmz_delete(struct fx *f, const void *arg)
{
	struct pr_rule_spec s;

	dmz_rule(f, &s);
	tcp_to(f, LISTEN, 9999, TARGET2, 9999);
	ASSERT_OK(fx_del_spec(f, &s), "delete the DMZ rule");
	tcp_untouched(f, LISTEN, 9999);
	tcp_untouched(f, LISTEN, 9997);
	TEST_LINE("deleting the DMZ rule stops it");
}

const struct pr_case cases_rules[] = {
	CASE(range_full, "a 65,535-port range, port for port"),
	CASE(range_overlap, "a rule inside a range is refused"),
	CASE(range_delete, "deleting a range removes its ports"),
	CASE(range_onto_one, "a range onto one target port"),
	CASE(allow_inside, "allowlist: a source inside"),
	CASE(allow_outside_drop, "allowlist: a source outside, dropped"),
	CASE(allow_outside_pass, "allowlist: a source outside, passed"),
	CASE(loopback_listen, "a loopback listen is for local clients only"),
	CASE(dmz_takes_unmapped, "the DMZ rule takes unmapped ports"),
	CASE(dmz_local_socket, "the DMZ rule yields to local sockets"),
	CASE(dmz_delete, "deleting the DMZ rule"),
};
const size_t cases_rules_n = CASES_COUNT(cases_rules);
