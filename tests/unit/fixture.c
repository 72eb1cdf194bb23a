// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The datapath test fixture: load the programs once in a private netns, empty every map before and after each case. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "fixture.h"
#include <sys/stat.h>
#include "tc.skel.h"
#include "xdp.skel.h"

static struct fx FX = { .ctx.lock_fd = -1 };
static char pin_dir[64];

struct bpf_program *fx_xdp(struct fx *f) { return f->xskel->progs.pr_xdp; }
struct bpf_program *fx_tc_in(struct fx *f) { return f->tskel->progs.pr_tc_ingress; }
struct bpf_program *fx_tc_eg(struct fx *f) { return f->tskel->progs.pr_tc_egress; }
bool fx_is_xdp(struct bpf_program *prog) { return bpf_program__type(prog) == BPF_PROG_TYPE_XDP; }

int fx_run(struct fx *f, struct bpf_program *prog, const struct pkt *in, struct pkt *out, __u32 ingress_ifindex)
{
	return fx_run_gso(f, prog, in, out, ingress_ifindex, 0);
}

int fx_run_gso(struct fx *f, struct bpf_program *prog, const struct pkt *in, struct pkt *out, __u32 ingress_ifindex,
	       __u32 gso_size)
{
	bool is_xdp = fx_is_xdp(prog);
	struct xdp_md xctx = { .data_end = in->len, .ingress_ifindex = ingress_ifindex };
	struct __sk_buff sctx = { .ifindex = ingress_ifindex, .ingress_ifindex = ingress_ifindex,
				  .gso_size = gso_size };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->b, .data_size_in = in->len, .data_out = out->b,
		    .data_size_out = sizeof(out->b), .repeat = 1);
	int err;

	if (ingress_ifindex && is_xdp) {
		o.ctx_in = &xctx;
		o.ctx_size_in = sizeof(xctx);
	} else if (ingress_ifindex || gso_size) {
		o.ctx_in = &sctx;
		o.ctx_size_in = sizeof(sctx);
	}
	if (!is_xdp)
		o.flags = f->skb_flags;
	memset(out, 0, sizeof(*out));
	f->meta = 0;
	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &o);
	f->run_err = err;
	if (err) {
		diag("test_run of %s failed: %s", bpf_program__name(prog), strerror(-err));
		return -1;
	}
	out->len = o.data_size_out;
	/* XDP test runs return the metadata area in front of the packet */
	if (is_xdp && out->len >= in->len + sizeof(__u32)) {
		__u32 ml = out->len - in->len;

		memcpy(&f->meta, out->b, sizeof(__u32));
		memmove(out->b, out->b + ml, in->len);
		memset(out->b + in->len, 0, ml);
		out->len = in->len;
	}
	return o.retval;
}

__u32 fx_rule(struct fx *f, const char *proto, const char *listen, __u16 lport, const char *target,
	      __u16 tport, bool replace)
{
	struct pr_rule_spec s = {};
	struct pr_rule_meta out, conflict;
	int af = strchr(target, ':') ? AF_INET6 : AF_INET;

	s.key.proto = strcmp(proto, "tcp") ? IPPROTO_UDP : IPPROTO_TCP;
	s.key.family = af == AF_INET ? PR_AF_INET : PR_AF_INET6;
	s.key.port = htons(lport);
	s.port_last = lport;
	if (listen)
		inet_pton(af, listen, s.key.addr.b);
	inet_pton(af, target, s.target.b);
	s.target_port = htons(tport);
	if (!ASSERT_OK(pr_rule_add(&f->ctx, &s, replace, &out, &conflict), "rule add")) {
		diag("rule add %s %s:%u -> %s:%u: %s", proto, listen ? listen : "*", lport, target, tport, f->ctx.err);
		return 0;
	}
	return out.rule.id;
}

__u32 fx_base_rules(struct fx *f)
{
	__u32 id = fx_rule(f, "tcp", NULL, 8080, TARGET, 80, false);

	fx_rule(f, "tcp", LISTEN, 8443, TARGET, 443, false);
	fx_rule(f, "udp", NULL, 5353, TARGET, 53, false);
	return id;
}

int fx_add_spec(struct fx *f, const struct pr_rule_spec *s, struct pr_rule_meta *out)
{
	struct pr_rule_meta conflict, tmp;

	return pr_rule_add(&f->ctx, s, false, out ? out : &tmp, &conflict);
}

int fx_del_spec(struct fx *f, const struct pr_rule_spec *s)
{
	return pr_rule_del(&f->ctx, s, NULL, false, NULL, NULL);
}

__u64 fx_gstat(struct fx *f, unsigned int reason)
{
	__u64 g[PR_R_MAX] = {};

	pr_global_stats(&f->ctx, g);
	return g[reason];
}

bool assert_csums(const char *file, int line, struct pkt *p, const char *what)
{
	bool ok = true;

	if (!pkt_is_ip6(p))
		ok = h_assert_true(file, line, "pkt_ip4_csum_ok(p)", pkt_ip4_csum_ok(p), what);
	return h_assert_true(file, line, "pkt_l4_csum_ok(p)", pkt_l4_csum_ok(p), what) && ok;
}

bool fx_expect_at(const char *file, int line, struct fx *f, struct bpf_program *prog, const struct pkt *in,
		  int verdict, const struct pkt *want, struct pkt *out, const char *what)
{
	struct pkt tmp;
	bool ok;

	if (!out)
		out = &tmp;
	ok = h_assert_int(file, line, what, "verdict", fx_run(f, prog, in, out, 0), verdict, H_DEC, true);
	if (!want)
		want = in;
	ok = h_assert_mem(file, line, what, out->b, out->len, want->b, want->len) && ok;
	if (want != in)
		ok = assert_csums(file, line, out, what) && ok;
	return ok;
}

bool fx_expect_spec_at(const char *file, int line, struct fx *f, struct bpf_program *prog,
		       const struct pkt_spec *in_spec, int verdict, const struct pkt_spec *want_spec, const char *what)
{
	struct pkt in, want;

	pkt_build(&in, in_spec);
	if (want_spec)
		pkt_build(&want, want_spec);
	return fx_expect_at(file, line, f, prog, &in, verdict, want_spec ? &want : NULL, NULL, what);
}

bool fx_expect_dnat_at(const char *file, int line, struct fx *f, struct bpf_program *prog,
		       const struct pkt_spec *in_spec, int verdict, const char *dst, __u16 dport, const char *what)
{
	struct pkt_spec w = *in_spec;

	w.dst = dst;
	w.dport = dport;
	return fx_expect_spec_at(file, line, f, prog, in_spec, verdict, &w, what);
}

static int fd_rnat(struct fx *f) { return bpf_map__fd(f->xskel->maps.pr_rnat); }
static int fd_ifaddr(struct fx *f) { return bpf_map__fd(f->xskel->maps.pr_ifaddr); }

bool fx_rnat(struct fx *f, __u32 id, __u8 mode, const char *addr, __u16 lo, __u16 hi)
{
	struct pr_rule_nat n = { .mode = mode, .port_lo = lo, .port_hi = hi };

	if (addr) {
		n.family = strchr(addr, ':') ? PR_AF_INET6 : PR_AF_INET;
		inet_pton(n.family == PR_AF_INET6 ? AF_INET6 : AF_INET, addr, n.addr.b);
	}
	return ASSERT_OK(bpf_map_update_elem(fd_rnat(f), &id, &n, BPF_ANY), "pr_rnat write");
}

bool fx_rule_flags(struct fx *f, const char *proto, __u16 lport, bool v6, __u32 flags)
{
	struct pr_rule_key k = { .port = htons(lport), .proto = strcmp(proto, "tcp") ? IPPROTO_UDP : IPPROTO_TCP,
				 .family = v6 ? PR_AF_INET6 : PR_AF_INET };
	struct pr_rule r;

	if (!ASSERT_OK(bpf_map_lookup_elem(f->ctx.fd_rules, &k, &r), "pr_rules entry"))
		return false;
	r.flags |= flags;
	return ASSERT_OK(bpf_map_update_elem(f->ctx.fd_rules, &k, &r, BPF_EXIST), "pr_rules write");
}

bool fx_vxmit(struct fx *f, __u32 ifindex, bool other_ns, __u32 ok, __u32 failed)
{
	struct pr_vxmit v = { .netns_ino = f->xskel->rodata->pr_xdp_netns + other_ns, .ok = ok, .failed = failed };

	return ASSERT_OK(bpf_map_update_elem(bpf_map__fd(f->xskel->maps.pr_vxmit), &ifindex, &v, BPF_ANY),
			 "pr_vxmit write");
}

bool fx_peer(struct fx *f, __u32 ifindex, const unsigned char *mac, bool set)
{
	struct pr_peer pe = { .set = set };

	memcpy(pe.mac, mac, 6);
	return ASSERT_OK(bpf_map_update_elem(bpf_map__fd(f->xskel->maps.pr_peer), &ifindex, &pe, BPF_ANY),
			 "pr_peer write");
}

bool fx_ifaddr(struct fx *f, __u32 ifindex, const char *v4, const char *v6)
{
	struct pr_ifaddr a = {};

	if (v4)
		a.has_v4 = inet_pton(AF_INET, v4, &a.v4) == 1;
	if (v6)
		a.has_v6 = inet_pton(AF_INET6, v6, a.v6.b) == 1;
	return ASSERT_OK(bpf_map_update_elem(fd_ifaddr(f), &ifindex, &a, BPF_ANY), "pr_ifaddr write");
}

struct pr_rule_stats fx_rstat(struct fx *f, __u32 id)
{
	struct pr_rule_stats st = {};

	ASSERT_OK(pr_rule_stats(&f->ctx, id, &st), "rule stats");
	return st;
}

/* pr_rnat is an array: zero the ids cases use (handed out lowest first
 * into an empty table). */
#define FX_RNAT_IDS 64

static int rnat_clear(struct fx *f)
{
	struct pr_rule_nat n = {};

	for (__u32 id = 0; id < FX_RNAT_IDS; id++)
		if (bpf_map_update_elem(fd_rnat(f), &id, &n, BPF_ANY))
			return -errno;
	return 0;
}

/* Delete every entry of a hash-like map. */
static int map_clear(int fd, size_t key_size)
{
	unsigned char key[64], next[64];
	int err = 0;

	if (key_size > sizeof(key))
		return -E2BIG;
	while (!bpf_map_get_next_key(fd, NULL, next)) {
		memcpy(key, next, key_size);
		if (bpf_map_delete_elem(fd, key)) {
			err = -errno;
			break;
		}
	}
	return err;
}

/* Every rule deleted (as `apply` of an empty file does), every flow,
 * fragment and redirect target gone; then prove the maps are empty. */
static int fx_reset(struct fx *f)
{
	struct pr_ruleset rs = {};
	struct pr_apply_opts ao = {};
	struct pr_apply_result ar = {};
	struct pr_fill fill = {};
	unsigned int bad;
	char err[PR_PARSE_ERR_LEN];
	__u32 key;
	int rc;

	rc = pr_ruleset_check(&rs, &bad, err, sizeof(err));
	if (!rc)
		rc = pr_apply(&f->ctx, &rs, &ao, &ar);
	pr_apply_free(&ar);
	if (!rc)
		rc = pr_ct_flush(&f->ctx, 0, NULL);
	if (!rc)
		rc = map_clear(f->ctx.fd_frag, sizeof(struct pr_frag_key));
	if (!rc)
		rc = map_clear(f->ctx.fd_tx, sizeof(__u32));
	if (!rc)
		rc = map_clear(fd_ifaddr(f), sizeof(__u32));
	if (!rc)
		rc = rnat_clear(f);
	if (!rc)
		rc = pr_map_fill(&f->ctx, &fill);
	if (rc) {
		diag("fixture reset: %s", f->ctx.err[0] ? f->ctx.err : strerror(-rc));
		return rc;
	}
	if (fill.rules || fill.rule_entries || fill.ct_entries ||
	    !bpf_map_get_next_key(f->ctx.fd_frag, NULL, &(struct pr_frag_key){}) ||
	    !bpf_map_get_next_key(f->ctx.fd_tx, NULL, &key)) {
		diag("fixture reset: maps not empty (rules %zu, entries %zu, ct %zu)", fill.rules,
		     fill.rule_entries, fill.ct_entries);
		return -ENOTEMPTY;
	}
	f->meta = 0;
	f->skb_flags = 0;
	return 0;
}

static int fx_setup(struct fx **f)
{
	*f = &FX;
	return fx_reset(&FX);
}

static int fx_teardown(struct fx *f)
{
	return fx_reset(f);
}

static int load_progs(struct fx *f)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = f->ctx.pin_dir);
	struct stat ns;

	f->xskel = xdp_bpf__open_opts(&oo);
	f->tskel = tc_bpf__open_opts(&oo);
	if (!f->xskel || !f->tskel)
		return -1;
	/* as the loader does: the namespace whose pr_vxmit slots XDP may use */
	if (stat("/proc/self/ns/net", &ns) == 0)
		f->xskel->rodata->pr_xdp_netns = ns.st_ino;
	if (pr_obj_reuse_maps(&f->ctx, f->xskel->obj) || pr_obj_reuse_maps(&f->ctx, f->tskel->obj))
		return -1;
	if (xdp_bpf__load(f->xskel))
		return -1;
	return tc_bpf__load(f->tskel);
}

static void rm_pins(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pin_dir);
	if (system(cmd))
		diag("could not remove %s", pin_dir);
}

static int fx_init(void)
{
	if (geteuid()) {
		printf("1..0 # SKIP needs root (BPF_PROG_TEST_RUN)\n");
		return 4;
	}
	/* a private network namespace: the fib case's veths never touch the host */
	if (unshare(CLONE_NEWNET)) {
		printf("Bail out! unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 1;
	}
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/pr_unit_%d", getpid());
	pr_set_verbose(getenv("V") && atoi(getenv("V")));
	if (pr_open(&FX.ctx, pin_dir, PR_OPEN_CREATE, 0)) {
		printf("Bail out! %s\n", FX.ctx.err);
		return 1;
	}
	if (load_progs(&FX)) {
		printf("Bail out! cannot load the BPF programs (V=1 shows the verifier log)\n");
		return 1;
	}
	/* Everything from here works on fds: take the lock the library wants and
	 * drop the pins, so not even a crash leaves them behind. */
	pr_lock(&FX.ctx);
	rm_pins();
	return 0;
}

static void fx_fini(void)
{
	xdp_bpf__destroy(FX.xskel);
	tc_bpf__destroy(FX.tskel);
	if (FX.ctx.fd_rules > 0)
		pr_close(&FX.ctx);
	if (pin_dir[0])
		rm_pins();
}

const struct pr_suite fx_suite_ops = {
	.init = fx_init, .fini = fx_fini, .setup = fx_setup, .teardown = fx_teardown,
};
