// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* libFuzzer harness: mutated packets through the XDP and TC programs (BPF_PROG_TEST_RUN) against a fixed rule set, judged by oracle.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "libportredir.h"
#include "oracle.h"
#include "seeds.h"
#include "tc.skel.h"
#include "xdp.skel.h"

static struct {
	struct pr_ctx ctx;
	struct xdp_bpf *x;
	struct tc_bpf *t;
	struct pr_rule_spec rules[FUZZ_NRULES];
	union pr_addr any_listen[2];
	struct oracle o;
	unsigned long long runs, pkts, translated;
} F = { .ctx.lock_fd = -1 };

/* Feedback from inside the datapath, which libFuzzer's coverage cannot see:
 * a counter per (hook, reason) that moved during a run. libFuzzer reads
 * this section as extra coverage. */
__attribute__((section("__libfuzzer_extra_counters"))) static __u8 reason_seen[3 * PR_GSTATS_SLOTS];
static __u64 reason_last[PR_GSTATS_SLOTS];

static void die(const char *what, const char *why)
{
	fprintf(stderr, "portredir fuzz: %s: %s\n", what, why);
	exit(1);
}

static void add_rules(void)
{
	char err[PR_PARSE_ERR_LEN];

	for (int i = 0; i < FUZZ_NRULES; i++) {
		char buf[256], *argv[16], *save = NULL;
		int argc = 0;
		struct pr_rule_meta m, conflict;

		snprintf(buf, sizeof(buf), "%s", FUZZ_RULES[i]);
		for (char *t = strtok_r(buf, " ", &save); t && argc < 15; t = strtok_r(NULL, " ", &save))
			argv[argc++] = t;
		if (pr_spec_parse(argc, argv, &F.rules[i], NULL, err, sizeof(err)))
			die(FUZZ_RULES[i], err);
		if (pr_rule_add(&F.ctx, &F.rules[i], false, &m, &conflict))
			die(FUZZ_RULES[i], F.ctx.err);
	}
	inet_pton(AF_INET, FUZZ_LISTEN4, F.any_listen[0].b);
	inet_pton(AF_INET6, FUZZ_LISTEN6, F.any_listen[1].b);
	F.o = (struct oracle){ .rules = F.rules, .nrules = FUZZ_NRULES, .any_listen = F.any_listen, .nany = 2 };
}

static void load(void)
{
	char pin[64], cmd[96];
	LIBBPF_OPTS(bpf_object_open_opts, oo);

	/* a private network namespace: fib lookups and socket lookups see nothing of the host */
	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET)", strerror(errno));
	/* Routes to the clients and targets, so full-NAT packets, which need one, are
	 * translated (not dropped as drop_nat2_no_route) and redirected; an MTU no
	 * input reaches, so none is answered with an ICMP error instead. */
	if (system("ip link add fz0 mtu 9000 type veth peer name fz1 mtu 9000 && ip link set fz0 up && "
		   "ip link set fz1 up && ip route add 198.51.100.0/24 dev fz0 && ip route add 203.0.113.0/24 dev fz0 && "
		   "ip -6 route add 2001:db8::/32 dev fz0 && sysctl -qw net.ipv4.conf.all.forwarding=1 && "
		   "sysctl -qw net.ipv6.conf.all.forwarding=1"))
		die("routes in the private namespace", "ip or sysctl failed");
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/pr_fuzz_%d", getpid());
	pr_set_verbose(getenv("V") && atoi(getenv("V")));
	if (pr_open(&F.ctx, pin, PR_OPEN_CREATE, 64))
		die(pin, F.ctx.err);
	oo.pin_root_path = F.ctx.pin_dir;
	F.x = xdp_bpf__open_opts(&oo);
	F.t = tc_bpf__open_opts(&oo);
	if (!F.x || !F.t || pr_obj_reuse_maps(&F.ctx, F.x->obj) || pr_obj_reuse_maps(&F.ctx, F.t->obj) ||
	    xdp_bpf__load(F.x) || tc_bpf__load(F.t))
		die("loading the BPF programs", "failed (V=1 shows the verifier log)");
	/* from here on everything works on fds: drop the pins, so even a crash leaves none */
	pr_lock(&F.ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pin);
	if (system(cmd))
		die(pin, "could not remove the pin dir");
}

static void report(void)
{
	fprintf(stderr, "portredir fuzz: %llu inputs, %llu packets through the programs, %llu translated, 0 violations\n",
		F.runs, F.pkts, F.translated);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seeds = getenv("PR_FUZZ_SEEDS");

	if (geteuid())
		die("BPF_PROG_TEST_RUN", "needs root");
	if (seeds && fuzz_write_seeds(seeds))
		die(seeds, "cannot write the seed corpus");
	load();
	add_rules();
	atexit(report);
	return 0;
}

/* Empty conntrack and fragment state: each input starts from no flow or its own opener. */
static void reset(void)
{
	unsigned char key[64];
	int fds[2] = { F.ctx.fd_ct, F.ctx.fd_frag };

	for (int i = 0; i < 2; i++)
		while (!bpf_map_get_next_key(fds[i], NULL, key))
			if (bpf_map_delete_elem(fds[i], key))
				die("clearing conntrack", strerror(errno));
}

/* Mark the reasons the datapath counted since the last call (one batch lookup). */
static void reasons_moved(int hook)
{
	static __u64 *vals;
	static int ncpu;
	__u32 keys[PR_GSTATS_SLOTS], count = PR_GSTATS_SLOTS, out_batch;

	if (!vals) {
		ncpu = libbpf_num_possible_cpus();
		vals = calloc((size_t)ncpu * PR_GSTATS_SLOTS, sizeof(*vals));
		if (ncpu <= 0 || !vals)
			die("reason counters", "no memory");
	}
	if (bpf_map_lookup_batch(F.ctx.fd_gstats, NULL, &out_batch, keys, vals, &count, NULL) && errno != ENOENT)
		return;
	for (__u32 i = 0; i < count; i++) {
		__u64 sum = 0;

		for (int c = 0; c < ncpu; c++)
			sum += vals[i * ncpu + c];
		if (keys[i] < PR_GSTATS_SLOTS && sum != reason_last[keys[i]]) {
			reason_seen[hook * PR_GSTATS_SLOTS + keys[i]] = 1;
			reason_last[keys[i]] = sum;
		}
	}
}

/* One run; returns the verdict and sets *out_len (XDP's metadata removed). */
static int run(struct bpf_program *prog, const __u8 *in, __u32 len, __u8 *out, __u32 *out_len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = len, .data_out = out,
		    .data_size_out = FUZZ_MAX_PKT + 64, .repeat = 1);
	int err = bpf_prog_test_run_opts(bpf_program__fd(prog), &o);

	F.pkts++;
	if (err)
		return err; /* the kernel refused the frame (too short for an skb): not a datapath run */
	if (bpf_program__type(prog) == BPF_PROG_TYPE_XDP && o.data_size_out > len) {
		memmove(out, out + (o.data_size_out - len), len);
		o.data_size_out = len;
	}
	*out_len = o.data_size_out;
	return o.retval;
}

int LLVMFuzzerTestOneInput(const __u8 *data, size_t size)
{
	struct bpf_program *progs[3] = { F.x->progs.pr_xdp, F.t->progs.pr_tc_ingress, F.t->progs.pr_tc_egress };
	static __u8 out[FUZZ_MAX_PKT + 64], scratch[FUZZ_MAX_PKT + 64];
	const struct fuzz_opener *op;
	__u32 olen;

	if (size < 1 + 14 || size > 1 + FUZZ_MAX_PKT)
		return -1; /* not kept in the corpus */
	op = fuzz_opener(data[0]);
	F.runs++;
	for (int h = HOOK_XDP; h <= HOOK_TC_EG; h++) {
		int verdict;

		reset();
		if (op) {
			/* open the flow as a client would, through the matching ingress hook */
			verdict = run(progs[h == HOOK_XDP ? 0 : 1], op->pkt, op->len, scratch, &olen);
			if (verdict < 0)
				die("opener", strerror(-verdict));
		}
		verdict = run(progs[h], data + 1, size - 1, out, &olen);
		if (verdict < 0)
			continue;
		reasons_moved(h);
		if (olen != size - 1) {
			fprintf(stderr, "portredir fuzz: VIOLATION: length changed %zu -> %u\n", size - 1, olen);
			abort();
		}
		oracle_check(&F.o, h, op != NULL, data + 1, out, olen,
			     h == HOOK_XDP ? verdict == XDP_REDIRECT : verdict == TC_ACT_REDIRECT);
		F.translated += memcmp(data + 1, out, olen) != 0;
	}
	return 0;
}
