// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Benchmark case 4: XDP datapath cost in ns per packet (BPF_PROG_TEST_RUN) by packet kind, rule count and a full conntrack table. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "portredir.h"
#include "csum_ref.h"
#include "xdp.skel.h"
#include "tc.skel.h"

#define ROUNDS 5
#define LISTEN "198.51.100.1"
#define CLIENT "198.51.100.2"

static struct xdp_bpf *skel;
static struct tc_bpf *tskel;
static int quick;

struct pkt {
	unsigned char b[128];
	__u32 len;
};

/* A TCP segment with complete checksums (as from the wire: XDP handles it itself). */
static void build(struct pkt *p, const char *src, const char *dst, __u16 sport, __u16 dport, __u8 flags)
{
	struct ethhdr *eth = (void *)p->b;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *th = (void *)(ip + 1);
	__u32 ps;

	memset(p, 0, sizeof(*p));
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->tot_len = htons(20 + 20 + 10);
	inet_pton(AF_INET, src, &ip->saddr);
	inet_pton(AF_INET, dst, &ip->daddr);
	ip->check = htons(~fold(sum16(ip, 20, 0)) & 0xffff);
	th->source = htons(sport);
	th->dest = htons(dport);
	th->doff = 5;
	((__u8 *)th)[13] = flags;
	ps = sum16(&ip->saddr, 8, 0) + IPPROTO_TCP + 30;
	th->check = htons(~fold(sum16(th, 30, ps)) & 0xffff);
	p->len = 14 + 50;
}

static int bare_fd; /* XDP_PASS and nothing else: the harness's own cost */

/* One run on a fresh copy of p, in ns as the kernel times it. Runs are
 * single because a repeated test run reuses one buffer: the metadata the
 * program reserves would pile up and later repetitions would measure a
 * different path. */
static double run_fd(int fd, struct pkt *p)
{
	unsigned char out[512];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->b, .data_size_in = p->len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);
	int err = bpf_prog_test_run_opts(fd, &o);

	if (err) {
		fprintf(stderr, "bench: test run: %s\n", strerror(-err));
		exit(1);
	}
	return o.duration;
}

/* Mean ns per run of TC ingress over repeat runs on one skb. TC reserves
 * no metadata and the identity rule rewrites the packet to itself, so every
 * repetition takes the same path. */
static double run_tc(struct pkt *p, __u32 repeat)
{
	unsigned char out[512];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->b, .data_size_in = p->len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = repeat);
	int err = bpf_prog_test_run_opts(bpf_program__fd(tskel->progs.pr_tc_ingress), &o);

	if (err) {
		fprintf(stderr, "bench: tc test run: %s\n", strerror(-err));
		exit(1);
	}
	return o.duration;
}

static double run(struct pkt *p)
{
	return run_fd(bpf_program__fd(skel->progs.pr_xdp), p);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* rules 0..n-1 besides the measured one; keys from documentation space */
static void fill_rules(int fd, __u32 from, __u32 to)
{
	struct pr_rule r = { .target_port = htons(80), .id = 2 };
	struct pr_rule_key k = { .proto = IPPROTO_TCP, .family = PR_AF_INET };
	__u32 base;

	inet_pton(AF_INET, "203.0.113.10", &r.target.v4);
	inet_pton(AF_INET, "203.0.113.0", &base);
	for (__u32 i = from; i < to; i++) {
		k.addr.v4 = htonl(ntohl(base) + i / 60000);
		k.port = htons(1 + i % 60000);
		bpf_map_update_elem(fd, &k, &r, BPF_ANY);
	}
}

/* n conntrack entries of made-up flows (n/2 flows, both directions). */
static void fill_ct(int fd, __u32 n)
{
	struct pr_ct_key k = { .proto = IPPROTO_TCP, .family = PR_AF_INET };
	struct pr_ct_val v = { .dir = PR_DIR_ORIG, .state = PR_CT_ESTABLISHED, .rule_id = 2 };
	__u32 base;

	inet_pton(AF_INET, "192.0.2.0", &base);
	for (__u32 i = 0; i < n; i++) {
		k.saddr.v4 = htonl(ntohl(base) + (i >> 16) % 256);
		k.daddr.v4 = htonl(ntohl(base) + 1);
		k.sport = htons(1 + (i & 0xffff) % 65535);
		k.dport = htons(1024 + (i >> 24));
		v.last_seen = ~0ULL >> 1; /* far future: never expires during the run */
		bpf_map_update_elem(fd, &k, &v, BPF_ANY);
	}
}

struct res {
	double med, min, max;
};

static struct res stats(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_d);
	return (struct res){ v[n / 2], v[0], v[n - 1] };
}

static int load_bare(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_XDP, "pr_bench_bare", "GPL", insns, 2, NULL);
}

static int cmp_d(const void *a, const void *b);

/* Median of n single runs, less the bare program's median. */
static double median_runs(struct pkt *p, __u32 n, double bare)
{
	double *v = calloc(n, sizeof(double)), med;

	for (__u32 i = 0; i < n; i++)
		v[i] = run(p);
	qsort(v, n, sizeof(double), cmp_d);
	med = v[n / 2] - bare;
	free(v);
	return med;
}

int main(int argc, char **argv)
{
	static const __u32 counts[] = { 1, 10000, 1000000 };
	const char *out_path = argc > 1 ? argv[1] : NULL;
	__u32 repeat, nnew, ct_n;
	struct bpf_map *m;
	FILE *out = NULL;
	__u32 have = 0;
	int fd_rules, fd_ct;

	quick = getenv("QUICK") && atoi(getenv("QUICK"));
	repeat = quick ? 2000 : 20000; /* single runs per round for each figure */
	nnew = quick ? 500 : 3000;
	ct_n = quick ? 200000 : 1000000;
	libbpf_set_print(NULL);
	skel = xdp_bpf__open();
	if (!skel)
		return fprintf(stderr, "bench: cannot open the XDP object\n"), 1;
	/* private, unpinned maps sized for the run */
	bpf_object__for_each_map(m, skel->obj)
		bpf_map__set_pin_path(m, NULL);
	bpf_map__set_max_entries(skel->maps.pr_rules, 1100000);
	bpf_map__set_max_entries(skel->maps.pr_ct, 1100000 + 2 * nnew * ROUNDS * 3 + 64);
	if (xdp_bpf__load(skel))
		return fprintf(stderr, "bench: cannot load the XDP program (root? memlock?)\n"), 1;
	/* TC ingress on the same maps */
	tskel = tc_bpf__open();
	if (!tskel)
		return fprintf(stderr, "bench: cannot open the TC object\n"), 1;
	bpf_object__for_each_map(m, tskel->obj) {
		struct bpf_map *x = bpf_object__find_map_by_name(skel->obj, bpf_map__name(m));

		bpf_map__set_pin_path(m, NULL);
		if (x && !strstr(bpf_map__name(m), ".rodata") && !strstr(bpf_map__name(m), ".bss"))
			bpf_map__reuse_fd(m, bpf_map__fd(x));
	}
	if (tc_bpf__load(tskel))
		return fprintf(stderr, "bench: cannot load the TC program\n"), 1;
	bare_fd = load_bare();
	if (bare_fd < 0)
		return fprintf(stderr, "bench: cannot load the bare XDP program\n"), 1;
	fd_rules = bpf_map__fd(skel->maps.pr_rules);
	fd_ct = bpf_map__fd(skel->maps.pr_ct);

	/* the measured rule maps a port onto itself: the packet is rewritten
	 * (same lookups, same checksum arithmetic) yet stays valid for the
	 * next repetition, since test runs reuse one buffer */
	struct pr_rule_key mk = { .port = htons(8080), .proto = IPPROTO_TCP, .family = PR_AF_INET };
	struct pr_rule mr = { .target_port = htons(8080), .id = 1 };
	inet_pton(AF_INET, LISTEN, &mk.addr.v4);
	mr.target = mk.addr;
	bpf_map_update_elem(fd_rules, &mk, &mr, BPF_ANY);
	have = 1;
	fill_ct(fd_ct, ct_n);

	/* the harness's own cost per run, subtracted from every figure */
	struct pkt probe;
	build(&probe, CLIENT, LISTEN, 1, 9, 0x10);
	double *bv = calloc(repeat, sizeof(double));
	for (__u32 i = 0; i < repeat; i++)
		bv[i] = run_fd(bare_fd, &probe);
	qsort(bv, repeat, sizeof(double), cmp_d);
	double bare = bv[repeat / 2];
	free(bv);
	printf("# datapath cost of pr_xdp in ns/packet, BPF_PROG_TEST_RUN single runs: median of %u runs a round,\n"
	       "# median (min-max) of %d rounds, less the bare XDP_PASS program's %.0f ns; conntrack holds %u other entries\n",
	       repeat, ROUNDS, bare, ct_n);
	printf("%-10s %-22s %-22s %-22s %-22s %-16s %-16s\n", "rules", "new flow", "established", "reply",
	       "non-matching", "tc established", "tc non-matching");
	if (out_path)
		out = fopen(out_path, "w");
	if (out)
		fprintf(out, "# rules new_med established_med reply_med nomatch_med (ns/packet)\n");

	__u16 sport = 1024;
	double base_est = 0;
	for (size_t ci = 0; ci < sizeof(counts) / sizeof(counts[0]); ci++) {
		double r_new[ROUNDS], r_est[ROUNDS], r_rep[ROUNDS], r_nom[ROUNDS], t_est[ROUNDS], t_nom[ROUNDS];
		struct pkt syn, est, rep, nom;

		if (quick && counts[ci] > 10000)
			break;
		fill_rules(fd_rules, have - 1, counts[ci] - 1);
		have = counts[ci];
		for (int round = 0; round < ROUNDS; round++) {
			double *each = calloc(nnew, sizeof(double));

			for (__u32 i = 0; i < nnew; i++) {
				build(&syn, CLIENT, LISTEN, sport++, 8080, 0x02);
				if (sport < 1024)
					sport = 1024;
				each[i] = run(&syn);
			}
			r_new[round] = stats(each, nnew).med - bare;
			free(each);
			build(&est, CLIENT, LISTEN, 999, 8080, 0x10);
			run(&est); /* opens the flow */
			r_est[round] = median_runs(&est, repeat, bare);
			build(&rep, LISTEN, CLIENT, 8080, 999, 0x10);
			r_rep[round] = median_runs(&rep, repeat, bare);
			build(&nom, CLIENT, LISTEN, 999, 9, 0x10);
			r_nom[round] = median_runs(&nom, repeat, bare);
			t_est[round] = run_tc(&est, repeat * 50);
			t_nom[round] = run_tc(&nom, repeat * 50);
		}
		struct res a = stats(r_new, ROUNDS), b = stats(r_est, ROUNDS), c = stats(r_rep, ROUNDS),
			   d = stats(r_nom, ROUNDS);
		struct res e = stats(t_est, ROUNDS), f = stats(t_nom, ROUNDS);
		char s[6][40];
		snprintf(s[4], 40, "%.0f (%.0f-%.0f)", e.med, e.min, e.max);
		snprintf(s[5], 40, "%.0f (%.0f-%.0f)", f.med, f.min, f.max);
		snprintf(s[0], 40, "%.0f (%.0f-%.0f)", a.med, a.min, a.max);
		snprintf(s[1], 40, "%.0f (%.0f-%.0f)", b.med, b.min, b.max);
		snprintf(s[2], 40, "%.0f (%.0f-%.0f)", c.med, c.min, c.max);
		snprintf(s[3], 40, "%.0f (%.0f-%.0f)", d.med, d.min, d.max);
		printf("%-10u %-22s %-22s %-22s %-22s %-16s %-16s\n", counts[ci], s[0], s[1], s[2], s[3], s[4], s[5]);
		if (out)
			fprintf(out, "%u %.1f %.1f %.1f %.1f %.1f %.1f\n", counts[ci], a.med, b.med, c.med, d.med, e.med,
				f.med);
		/* the precise figure (repeat loop, no timer per run) decides the targets */
		if (ci == 0)
			base_est = e.med;
		else
			printf("#   tc established at %u rules: %+.1f%% against 1 rule (target: at most +10%%: %s)\n",
			       counts[ci], 100.0 * (e.med - base_est) / base_est,
			       e.med <= base_est * 1.10 ? "met" : "MISSED");
		if (counts[ci] == 1000000 || (quick && counts[ci] == 10000))
			printf("#   tc established with %u conntrack entries: %.0f ns (target: at most 60 ns: %s)\n",
			       ct_n, e.med, e.med <= 60 ? "met" : "MISSED");
	}
	if (out)
		fclose(out);
	xdp_bpf__destroy(skel);
	return 0;
}
