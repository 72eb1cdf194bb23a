// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit cases: the monitor's events as the datapath emits them (pr_mon_emit): only under a lease, with the flow's endpoints, through its filters and rate limit. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cases.h"
#include "tc.skel.h"

static const int XDP_HOOK = 0, TC_HOOK = 1;
#define MAX_EVENTS 16
#define LO_IFINDEX 1 /* the private netns's lo: an ingress device both program types take */

/* The ring read back, with what the datapath put on it since mon_on(). */
struct mon {
	struct ring_buffer *rb;
	struct pr_mon_event ev[MAX_EVENTS];
	int n;
};

static int got_event(void *ctx, void *data, size_t size)
{
	struct mon *m = ctx;

	if (m->n < MAX_EVENTS && size >= sizeof(m->ev[0]))
		memcpy(&m->ev[m->n], data, sizeof(m->ev[0]));
	m->n++;
	return 0;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Write ctl (lease, filters, rate) into pr_mon_ctl as a monitor would; lease_ns
 * from now (0: none, negative: one that has run out). The ring's old events
 * are skipped and each CPU's rate limit starts afresh. */
static bool mon_ctl(struct fx *f, struct pr_mon_ctl *ctl, long long lease_ns)
{
	int ncpu = libbpf_num_possible_cpus();
	struct pr_mon_cpu *b = calloc(ncpu, sizeof(*b));
	__u32 zero = 0;
	bool ok;

	ctl->lease_until = lease_ns ? (__u64)((long long)mono_ns() + lease_ns) : 0;
	if (!ctl->interval_ns) { /* the monitor's defaults: 1000 a second, a burst of 100 */
		ctl->interval_ns = 1000000;
		ctl->tolerance_ns = 99 * ctl->interval_ns;
	}
	if (!ctl->events)
		ctl->events = PR_MON_ALL;
	ok = b && bpf_map_lookup_elem(bpf_map__fd(f->tskel->maps.pr_mon_cpu), &zero, b) == 0;
	for (int i = 0; ok && i < ncpu; i++)
		b[i].tat = 0;
	ok = ok && bpf_map_update_elem(bpf_map__fd(f->tskel->maps.pr_mon_cpu), &zero, b, BPF_EXIST) == 0;
	free(b);
	return ASSERT_TRUE(ok && bpf_map_update_elem(bpf_map__fd(f->tskel->maps.pr_mon_ctl), &zero, ctl, BPF_ANY) == 0,
			   "write pr_mon_ctl and reset pr_mon_cpu");
}

static bool mon_on(struct fx *f, struct mon *m, struct pr_mon_ctl *ctl)
{
	memset(m, 0, sizeof(*m));
	m->rb = ring_buffer__new(bpf_map__fd(f->tskel->maps.pr_mon_ring), got_event, m, NULL);
	if (!ASSERT_TRUE(m->rb != NULL, "map pr_mon_ring"))
		return false;
	ring_buffer__consume(m->rb);
	m->n = 0;
	return mon_ctl(f, ctl, 2000000000LL);
}

/* Events put on the ring since the last call. */
static int mon_take(struct mon *m)
{
	m->n = 0;
	ring_buffer__consume(m->rb);
	return m->n;
}

static void mon_off(struct fx *f, struct mon *m)
{
	struct pr_mon_ctl none = { .events = PR_MON_ALL };

	mon_ctl(f, &none, 0);
	ring_buffer__free(m->rb);
	m->rb = NULL;
}

static struct pr_mon_cpu mon_counts(struct fx *f)
{
	int ncpu = libbpf_num_possible_cpus();
	struct pr_mon_cpu *b = calloc(ncpu, sizeof(*b)), sum = {};
	__u32 zero = 0;

	if (b && bpf_map_lookup_elem(bpf_map__fd(f->tskel->maps.pr_mon_cpu), &zero, b) == 0)
		for (int i = 0; i < ncpu; i++) {
			sum.emitted += b[i].emitted;
			sum.dropped += b[i].dropped;
			sum.lost += b[i].lost;
		}
	free(b);
	return sum;
}

/* A SYN from CLIENT:sport to LISTEN:8080 through prog from lo. */
static int syn_from(struct fx *f, struct bpf_program *prog, __u16 sport)
{
	struct pkt_spec s = SYN_SPEC;
	struct pkt in, out;

	s.sport = sport;
	pkt_build(&in, &s);
	return fx_run(f, prog, &in, &out, LO_IFINDEX);
}

/* A new flow, through XDP or TC ingress: one event with its rule, client,
 * listen, target and source; its next packet none. */
static void mon_new_flow(struct fx *f, const void *arg)
{
	bool xdp = *(const int *)arg == XDP_HOOK;
	struct bpf_program *prog = xdp ? fx_xdp(f) : fx_tc_in(f);
	const char *hook = xdp ? "xdp" : "tc";
	struct pkt_spec s = SYN_SPEC;
	struct pr_mon_ctl ctl = {};
	struct pkt in, out;
	struct mon m;
	__u32 id = fx_base_rules(f);

	if (!mon_on(f, &m, &ctl))
		return;
	syn_from(f, prog, CPORT);
	if (ASSERT_EQ(mon_take(&m), 1, "events for one SYN")) {
		const struct pr_mon_event *e = &m.ev[0];

		ASSERT_EQ(e->type, PR_MON_NEW, "type");
		ASSERT_EQ(e->rule_id, id, "rule");
		ASSERT_EQ(e->ifindex, LO_IFINDEX, "the device it came in by");
		ASSERT_EQ(e->proto, IPPROTO_TCP, "proto");
		ASSERT_EQ(e->family, PR_AF_INET, "family");
		ASSERT_ADDR4_EQ(e->client.v4, CLIENT, "client");
		ASSERT_EQ(ntohs(e->client_port), CPORT, "client port");
		ASSERT_ADDR4_EQ(e->listen.v4, LISTEN, "listen");
		ASSERT_EQ(ntohs(e->listen_port), 8080, "listen port");
		ASSERT_ADDR4_EQ(e->target.v4, TARGET, "target");
		ASSERT_EQ(ntohs(e->target_port), 80, "target port");
		ASSERT_ADDR4_EQ(e->source.v4, CLIENT, "source: the client itself");
		ASSERT_EQ(ntohs(e->source_port), CPORT, "source port");
		ASSERT_EQ_HEX(e->flags, PR_MON_F_TARGET | PR_MON_F_SOURCE, "flags");
		ASSERT_EQ(e->reason, 0, "no reason");
	}
	TEST_LINE("%s: a new flow under a lease is one event: rule, client, listen, target, source, device", hook);

	s.tcp_flags = TCP_ACK;
	pkt_build(&in, &s);
	fx_run(f, prog, &in, &out, LO_IFINDEX);
	ASSERT_EQ(mon_take(&m), 0, "events");
	TEST_LINE("%s: the flow's next packet emits nothing", hook);
	mon_off(f, &m);
}

/* No lease, or one that ran out: nothing on the ring, nothing counted. */
static void mon_no_lease(struct fx *f, const void *arg)
{
	struct pr_mon_ctl ctl = {};
	struct pr_mon_cpu before;
	struct mon m;

	fx_base_rules(f);
	if (!mon_on(f, &m, &ctl))
		return;
	mon_ctl(f, &ctl, 0);
	before = mon_counts(f);
	syn_from(f, fx_tc_in(f), CPORT);
	syn_from(f, fx_xdp(f), CPORT + 1);
	ASSERT_EQ(mon_take(&m), 0, "events without a lease");
	mon_ctl(f, &ctl, -1000000000LL); /* the datapath's clock is coarse: a jiffy behind */
	syn_from(f, fx_tc_in(f), CPORT + 2);
	ASSERT_EQ(mon_take(&m), 0, "events after the lease ran out");
	ASSERT_EQ(mon_counts(f).emitted, before.emitted, "emitted");
	ASSERT_EQ(mon_counts(f).dropped, before.dropped, "dropped");
	TEST_LINE("no lease, or one that ran out: new flows emit and count nothing");
	mon_off(f, &m);
}

/* A denied flow (allowlist) and a refused one (no source port): their
 * reasons; no source. */
static void mon_denied_refused(struct fx *f, const void *arg)
{
	struct pkt_spec u = { .src = "198.51.100.9", .dst = LISTEN, .sport = CPORT, .dport = 7000,
			      .proto = IPPROTO_UDP, .payload = 10 };
	struct pr_rule_spec s = {};
	struct pr_mon_ctl ctl = {};
	struct pr_rule_meta r = {};
	struct pkt in, out;
	struct mon m;
	__u32 id;

	s.key.proto = IPPROTO_UDP;
	s.key.family = PR_AF_INET;
	s.key.port = htons(7000);
	s.port_last = 7000;
	inet_pton(AF_INET, TARGET, &s.target.v4);
	s.target_port = htons(7000);
	s.allow_count = 1;
	s.allow[0].family = PR_AF_INET;
	s.allow[0].len = 30;
	inet_pton(AF_INET, "198.51.100.0", &s.allow[0].addr.v4);
	s.deny_drop = true;
	ASSERT_OK(fx_add_spec(f, &s, &r), "add the allowlisted rule");
	if (!mon_on(f, &m, &ctl))
		return;
	pkt_build(&in, &u);
	fx_run(f, fx_tc_in(f), &in, &out, LO_IFINDEX);
	if (ASSERT_EQ(mon_take(&m), 1, "events")) {
		ASSERT_EQ(m.ev[0].type, PR_MON_DENIED, "type");
		ASSERT_EQ(m.ev[0].reason, PR_R_DROP_DENIED, "reason");
		ASSERT_EQ(m.ev[0].rule_id, r.rule.id, "rule");
		ASSERT_ADDR4_EQ(m.ev[0].client.v4, "198.51.100.9", "client");
		ASSERT_EQ(ntohs(m.ev[0].listen_port), 7000, "listen port");
		ASSERT_EQ_HEX(m.ev[0].flags, 0, "no target, no source");
	}
	TEST_LINE("a source outside the allowlist: one denied event, reason drop_denied_source, no target");

	/* a rule whose one source port a live flow holds */
	id = fx_base_rules(f);
	ASSERT_TRUE(fx_rnat(f, id, PR_SNAT_ADDR, "203.0.113.1", 40000, 40000), "one-port --snat");
	ASSERT_TRUE(fx_rule_flags(f, "tcp", 8080, false, PR_RULE_F_SNAT), "the rule's --snat flag");
	syn_from(f, fx_tc_in(f), CPORT);
	syn_from(f, fx_tc_in(f), CPORT + 1);
	if (ASSERT_EQ(mon_take(&m), 2, "events")) {
		ASSERT_EQ(m.ev[0].type, PR_MON_NEW, "the first flow opens");
		ASSERT_ADDR4_EQ(m.ev[0].source.v4, "203.0.113.1", "its source: the --snat address");
		ASSERT_EQ(ntohs(m.ev[0].source_port), 40000, "and the one port");
		ASSERT_EQ_HEX(m.ev[0].flags, PR_MON_F_TARGET | PR_MON_F_SOURCE | PR_MON_F_NAT2, "flags");
		ASSERT_EQ(m.ev[1].type, PR_MON_REFUSED, "the second is refused");
		ASSERT_EQ(m.ev[1].reason, PR_R_DROP_SNAT_EXHAUSTED, "reason");
		ASSERT_EQ(ntohs(m.ev[1].client_port), CPORT + 1, "its client port");
		ASSERT_EQ_HEX(m.ev[1].flags & PR_MON_F_SOURCE, 0, "no source");
	}
	TEST_LINE("full NAT: the new flow's source is the --snat address; a flow with no port left is refused");
	mon_off(f, &m);
}

/* The filters: rule, event type, address. */
static void mon_filters(struct fx *f, const void *arg)
{
	struct pr_mon_ctl ctl = {};
	struct mon m;
	__u32 id = fx_base_rules(f);

	if (!mon_on(f, &m, &ctl))
		return;
	ctl.rule_id = id + 1;
	mon_ctl(f, &ctl, 2000000000LL);
	syn_from(f, fx_tc_in(f), CPORT);
	ASSERT_EQ(mon_take(&m), 0, "another rule's filter");
	ctl.rule_id = id;
	ctl.events = PR_MON_MASK(PR_MON_DENIED);
	mon_ctl(f, &ctl, 2000000000LL);
	syn_from(f, fx_tc_in(f), CPORT + 1);
	ASSERT_EQ(mon_take(&m), 0, "--event denied");
	ctl.events = PR_MON_ALL;
	ctl.family = PR_AF_INET;
	inet_pton(AF_INET, TARGET2, &ctl.addr.v4);
	ctl.mask.v4 = htonl(0xffffffff);
	mon_ctl(f, &ctl, 2000000000LL);
	syn_from(f, fx_tc_in(f), CPORT + 2);
	ASSERT_EQ(mon_take(&m), 0, "--addr " TARGET2 "/32");
	inet_pton(AF_INET, "203.0.113.0", &ctl.addr.v4);
	ctl.mask.v4 = htonl(0xffffff00);
	mon_ctl(f, &ctl, 2000000000LL);
	syn_from(f, fx_tc_in(f), CPORT + 3);
	ASSERT_EQ(mon_take(&m), 1, "--addr 203.0.113.0/24, the target's");
	TEST_LINE("filters: another rule, another type, another address emit nothing; the target's network does");
	mon_off(f, &m);
}

/* The rate limit: a burst of 2, then one a second: of 6 new flows on one
 * CPU, 2 are emitted and 4 dropped, and counted so. */
static void mon_rate(struct fx *f, const void *arg)
{
	struct pr_mon_ctl ctl = { .interval_ns = 1000000000ULL, .tolerance_ns = 1000000000ULL,
				  .events = PR_MON_ALL };
	struct pr_mon_cpu before, after;
	cpu_set_t all, one;
	struct mon m;

	fx_base_rules(f);
	/* one CPU: the bucket is per CPU */
	sched_getaffinity(0, sizeof(all), &all);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	sched_setaffinity(0, sizeof(one), &one);
	if (!mon_on(f, &m, &ctl))
		goto out;
	before = mon_counts(f);
	for (int i = 0; i < 6; i++)
		syn_from(f, fx_tc_in(f), CPORT + i);
	after = mon_counts(f);
	ASSERT_EQ(mon_take(&m), 2, "events on the ring");
	ASSERT_EQ(after.emitted - before.emitted, 2, "emitted");
	ASSERT_EQ(after.dropped - before.dropped, 4, "dropped");
	TEST_LINE("rate limit (burst 2, 1/s): 6 new flows on one CPU, 2 emitted, 4 dropped and counted");
	mon_off(f, &m);
out:
	sched_setaffinity(0, sizeof(all), &all);
}

const struct pr_case cases_monitor[] = {
	{ .name = "mon_new_flow_xdp", .fn = mon_new_flow, .arg = &XDP_HOOK,
	  .doc = "a new flow's event from XDP, none for its next packet" },
	{ .name = "mon_new_flow_tc", .fn = mon_new_flow, .arg = &TC_HOOK,
	  .doc = "a new flow's event from TC ingress, none for its next packet" },
	CASE(mon_no_lease, "no lease or an expired one: nothing emitted or counted"),
	CASE(mon_denied_refused, "denied and refused flows' events, and a full-NAT source"),
	CASE(mon_filters, "the rule, type and address filters"),
	CASE(mon_rate, "the per-CPU rate limit drops and counts"),
};
const size_t cases_monitor_n = CASES_COUNT(cases_monitor);
