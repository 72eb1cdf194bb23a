// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* check's test run: the packet a client would send, through a private instance of the programs whose conntrack and counters are its own. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "libportredir.h"
#include "internal.h"
#include "check.h"
#include "tc.skel.h"
#include "xdp.skel.h"

/* Maps the programs write: the instance gets fresh ones, so the live
 * conntrack, fragments and counters never see the check. Sizes: room for
 * one flow's entries; nothing reads the instance's per-rule counters, and
 * the programs skip a rule id past the array's end, so one slot. */
#define FRESH_MAPS 4
static const struct {
	const char *name;
	__u32 max;
} fresh_maps[FRESH_MAPS] = {
	{ "pr_ct", 64 }, { "pr_frag", 64 }, { "pr_rstats", 1 }, { "pr_gstats", PR_GSTATS_SLOTS },
};
enum { FRESH_CT, FRESH_FRAG, FRESH_RSTATS, FRESH_GSTATS };
/* Maps of the object neither program uses (the socket hooks'): private and tiny. */
static const char *const unused_maps[] = { "pr_local_addr", "pr_sock_rev", "pr_local_ns" };

static int fresh_index(const char *name)
{
	for (int i = 0; i < FRESH_MAPS; i++)
		if (strcmp(name, fresh_maps[i].name) == 0)
			return i;
	return -1;
}

/* The monitor's maps: private too, at their own sizes (the ring at one
 * page), so a check's run never reaches a live monitor: its lease is none. */
static bool monitor_map(const char *name)
{
	return strncmp(name, "pr_mon_", 7) == 0;
}

static bool unused_map(const char *name)
{
	for (size_t i = 0; i < sizeof(unused_maps) / sizeof(unused_maps[0]); i++)
		if (strcmp(name, unused_maps[i]) == 0)
			return true;
	return false;
}

/* Point obj's maps before load: the written ones private (peer's, the TC
 * instance's, when given), the socket hooks' and the monitor's private,
 * every other one the live pinned map, which these programs only read. */
static int scratch_maps(struct pr_ctx *c, struct bpf_object *obj, const int *peer)
{
	struct bpf_map *m;
	int err;

	bpf_object__for_each_map(m, obj) {
		const char *name = bpf_map__name(m);
		int i = fresh_index(name), fd;

		if (monitor_map(name)) {
			bpf_map__set_pin_path(m, NULL);
			if (bpf_map__type(m) == BPF_MAP_TYPE_RINGBUF)
				bpf_map__set_max_entries(m, sysconf(_SC_PAGESIZE));
			continue;
		}
		if (i >= 0 || unused_map(name)) {
			bpf_map__set_pin_path(m, NULL);
			bpf_map__set_max_entries(m, i >= 0 ? fresh_maps[i].max : 64);
			if (i >= 0 && peer && (err = bpf_map__reuse_fd(m, peer[i])))
				return pr_errf(c, err, "cannot share the check's %s: %s", name, strerror(-err));
			continue;
		}
		fd = pr_pinned_map_fd(c, name);
		if (fd == -ENOENT) /* the object's own: .rodata, per-CPU scratch */
			continue;
		if (fd < 0)
			return pr_errf(c, -ENOENT, "%s/%s is not open", c->pin_dir, name);
		err = bpf_map__reuse_fd(m, fd);
		if (err)
			return pr_errf(c, err, "cannot reuse %s/%s: %s", c->pin_dir, name, strerror(-err));
	}
	return 0;
}

/* ---- the instance, kept verified in PIN/progs ----
 * A load is the verifier's work (about 1.5 s for TC here, 20 s under TCG),
 * so the instance is pinned as PIN/progs/check-BUILD-sV-tc and -xdp, as
 * attach caches its own (prog_cache.c), and its private maps are emptied
 * before each run. Checks take PIN/progs's lock, one at a time, since
 * they share those maps. */
/* A pr_prog_map_fn: the private maps' ids into arg (a __u32[FRESH_MAPS]),
 * every other map the one pinned now. */
static bool fresh_or_pinned(struct pr_ctx *c, __u32 id, const char *name, void *arg)
{
	int k = fresh_index(name);

	if (k < 0)
		return pr_map_pinned_now(c, id, name, NULL);
	((__u32 *)arg)[k] = id;
	return true;
}

/* The map ids of prog_fd by name: fresh[] gets the private ones (0 when
 * absent). False when a map it reads is not the one pinned now. */
static bool prog_maps(struct pr_ctx *c, int prog_fd, __u32 fresh[FRESH_MAPS])
{
	memset(fresh, 0, FRESH_MAPS * sizeof(fresh[0]));
	return pr_prog_maps_each(c, prog_fd, fresh_or_pinned, fresh);
}

static void check_key(bool via_stack, char key[64])
{
	static char ttag[PR_BUILD_TAG_LEN], xtag[PR_BUILD_TAG_LEN];

	snprintf(key, 64, "check-%.8s%.8s-s%d", pr_build_tag(tc_bpf__elf_bytes, ttag),
		 pr_build_tag(xdp_bpf__elf_bytes, xtag), via_stack);
}

/* The cached program name of key, when it reads the maps pinned now and
 * (want, when given) writes those private maps: its fd, else -1. */
static int cached(struct pr_ctx *c, const char *key, const char *name, const __u32 *want, __u32 fresh[FRESH_MAPS])
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/progs/%s-%s", c->pin_dir, key, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	if (prog_maps(c, fd, fresh) && (!want || memcmp(want, fresh, FRESH_MAPS * sizeof(*want)) == 0) &&
	    fresh[FRESH_CT] && fresh[FRESH_GSTATS])
		return fd;
	close(fd);
	unlink(path); /* stale: bound to maps no longer pinned */
	return -1;
}

/* Load the TC (xdp false) or XDP object as the instance and keep its
 * program in *fd (pinned when it can be); peer: the TC instance's private
 * map fds, for XDP. */
static int load_prog(struct pr_ctx *c, bool xdp, bool via_stack, const int *peer, const char *key, int *fd)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = c->pin_dir);
	const char *name = xdp ? "xdp" : "tc";
	struct xdp_bpf *xs = NULL;
	struct tc_bpf *ts = NULL;
	struct bpf_object *obj;
	int err;

	if (xdp) {
		xs = xdp_bpf__open_opts(&oo);
		if (!xs)
			return pr_errf(c, -errno, "cannot open the XDP object: %s", strerror(errno));
		xs->rodata->pr_via_stack = via_stack;
		obj = xs->obj;
	} else {
		ts = tc_bpf__open_opts(&oo);
		if (!ts)
			return pr_errf(c, -errno, "cannot open the TC object: %s", strerror(errno));
		ts->rodata->pr_via_stack = via_stack;
		obj = ts->obj;
	}
	err = scratch_maps(c, obj, peer);
	if (err)
		goto out;
	err = xdp ? xdp_bpf__load(xs) : tc_bpf__load(ts);
	if (err) {
		err = pr_errf(c, err, "cannot load the %s programs for the check: %s (run with -v for the verifier log)",
			      xdp ? "XDP" : "TC", strerror(-err));
		goto out;
	}
	*fd = dup(bpf_program__fd(xdp ? xs->progs.pr_xdp : ts->progs.pr_tc_ingress));
	if (*fd < 0) {
		err = pr_errf(c, -errno, "cannot keep the check's program: %s", strerror(errno));
		goto out;
	}
	pr_prog_cache_put(c, key, &name, 1, fd);
out:
	xdp_bpf__destroy(xs);
	tc_bpf__destroy(ts);
	return err;
}

/* Empty the instance's conntrack, fragments and reason counters. */
static int fresh_reset(const int fds[FRESH_MAPS])
{
	int ncpu = pr_ncpus();
	__u64 zero[ncpu > 0 ? ncpu : 1];
	__u8 key[64], next[64];

	memset(zero, 0, sizeof(zero));
	for (int m = FRESH_CT; m <= FRESH_FRAG; m++)
		for (int n = 0; n < 4096 && bpf_map_get_next_key(fds[m], NULL, next) == 0; n++) {
			memcpy(key, next, sizeof(key));
			if (bpf_map_delete_elem(fds[m], key))
				return -errno;
		}
	for (__u32 k = 0; k < PR_GSTATS_SLOTS; k++)
		if (bpf_map_update_elem(fds[FRESH_GSTATS], &k, zero, BPF_ANY))
			return -errno;
	return 0;
}

/* The instance for r: tfd (TC ingress), xfd (XDP, when want_xdp) and the
 * private maps' fds, emptied. */
static int instance(struct pr_ctx *c, const struct pr_check_result *r, bool want_xdp, int *tfd, int *xfd,
		    int fresh_fds[FRESH_MAPS])
{
	__u32 tfresh[FRESH_MAPS], xfresh[FRESH_MAPS];
	char key[64];
	int err;

	check_key(r->via_stack, key);
	*tfd = cached(c, key, "tc", NULL, tfresh);
	if (*tfd < 0) {
		err = load_prog(c, false, r->via_stack, NULL, key, tfd);
		if (err)
			return err;
		if (!prog_maps(c, *tfd, tfresh))
			return pr_errf(c, -ESTALE, "the check's TC program does not read the pinned maps");
	}
	for (int i = 0; i < FRESH_MAPS; i++) {
		fresh_fds[i] = tfresh[i] ? bpf_map_get_fd_by_id(tfresh[i]) : -1;
		if (fresh_fds[i] < 0)
			return pr_errf(c, -ENOENT, "the check's TC program has no %s", fresh_maps[i].name);
	}
	if (want_xdp) {
		*xfd = cached(c, key, "xdp", tfresh, xfresh);
		if (*xfd < 0 && (err = load_prog(c, true, r->via_stack, fresh_fds, key, xfd)))
			return err;
	}
	err = fresh_reset(fresh_fds);
	return err ? pr_errf(c, err, "cannot empty the check's conntrack: %s", strerror(-err)) : 0;
}

/* One's complement sum of len bytes, folded later. */
static __u32 sum16(const void *p, size_t len, __u32 s)
{
	const __u8 *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (__u32)b[i] << 8 | b[i + 1];
	if (len & 1)
		s += (__u32)b[len - 1] << 8;
	return s;
}

static __u16 fold(__u32 s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

int pr_check_packet(const struct pr_check_result *r, const __u8 dmac[6], const __u8 smac[6], __u8 *buf,
		    size_t size)
{
	size_t l3 = sizeof(struct ethhdr), iph = r->family == PR_AF_INET6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	size_t l4len = r->proto == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr) + 8;
	size_t total = l3 + iph + l4len;
	struct ethhdr *eth = (void *)buf;
	__u8 *l4 = buf + l3 + iph;
	__u32 ps = 0;
	__u16 csum;

	if (total > size)
		return -ENOSPC;
	memset(buf, 0, total);
	memcpy(eth->h_dest, dmac, 6);
	memcpy(eth->h_source, smac, 6);
	if (r->family == PR_AF_INET6) {
		struct ipv6hdr *ip6 = (void *)(buf + l3);

		eth->h_proto = htons(ETH_P_IPV6);
		ip6->version = 6;
		ip6->payload_len = htons(l4len);
		ip6->nexthdr = r->proto;
		ip6->hop_limit = 64;
		memcpy(&ip6->saddr, r->src.addr.b, 16);
		memcpy(&ip6->daddr, r->dst.addr.b, 16);
		ps = sum16(&ip6->saddr, 32, 0);
	} else {
		struct iphdr *ip = (void *)(buf + l3);

		eth->h_proto = htons(ETH_P_IP);
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons(iph + l4len);
		ip->id = htons(0x5052);
		ip->frag_off = htons(0x4000); /* DF, as Linux's TCP and UDP send */
		ip->ttl = 64;
		ip->protocol = r->proto;
		ip->saddr = r->src.addr.v4;
		ip->daddr = r->dst.addr.v4;
		ip->check = htons(fold(sum16(ip, iph, 0)));
		ps = sum16(&ip->saddr, 8, 0);
	}
	ps += r->proto + l4len;
	if (r->proto == IPPROTO_TCP) {
		struct tcphdr *t = (void *)l4;

		t->source = htons(r->src.port);
		t->dest = htons(r->dst.port);
		t->seq = htonl(0x50524448);
		t->doff = 5;
		t->syn = 1;
		t->window = htons(64240);
		csum = fold(sum16(t, l4len, ps));
		t->check = htons(csum);
	} else {
		struct udphdr *u = (void *)l4;

		u->source = htons(r->src.port);
		u->dest = htons(r->dst.port);
		u->len = htons(l4len);
		memcpy(l4 + sizeof(*u), "portredr", 8);
		csum = fold(sum16(u, l4len, ps));
		u->check = htons(csum ? csum : 0xffff);
	}
	return (int)total;
}

/* Addresses and ports of an output packet (the layout pr_check_packet built). */
static void read_out(struct pr_check_result *r, const __u8 *b, size_t len)
{
	size_t l3 = sizeof(struct ethhdr);
	const __u8 *l4;

	if (r->family == PR_AF_INET6) {
		const struct ipv6hdr *ip6 = (const void *)(b + l3);

		if (len < l3 + sizeof(*ip6) + 4)
			return;
		memcpy(r->out_src.addr.b, &ip6->saddr, 16);
		memcpy(r->out_dst.addr.b, &ip6->daddr, 16);
		l4 = b + l3 + sizeof(*ip6);
	} else {
		const struct iphdr *ip = (const void *)(b + l3);

		if (len < l3 + sizeof(*ip) + 4)
			return;
		r->out_src.addr.v4 = ip->saddr;
		r->out_dst.addr.v4 = ip->daddr;
		l4 = b + l3 + ip->ihl * 4;
	}
	r->out_src.port = (__u16)(l4[0] << 8 | l4[1]);
	r->out_dst.port = (__u16)(l4[2] << 8 | l4[3]);
}

/* Counters the run moved, from the instance's own pr_gstats. */
static void read_reasons(struct pr_check_result *r, int fd)
{
	int ncpu = pr_ncpus();
	__u64 v[ncpu > 0 ? ncpu : 1];

	for (__u32 k = 0; k < PR_R_MAX && r->nreasons < sizeof(r->reasons) / sizeof(r->reasons[0]); k++) {
		__u64 sum = 0;

		if (bpf_map_lookup_elem(fd, &k, v))
			continue;
		for (int i = 0; i < ncpu; i++)
			sum += v[i];
		if (sum)
			snprintf(r->reasons[r->nreasons++], sizeof(r->reasons[0]), "%s", pr_reason_name(k));
	}
}

int pr_check_run(struct pr_ctx *c, struct pr_check_result *r, const __u8 *pkt, size_t len)
{
	bool use_xdp = r->attached && (r->mode == PR_MODE_NATIVE || r->mode == PR_MODE_GENERIC);
	int tfd = -1, xfd = -1, fresh_fds[FRESH_MAPS] = { -1, -1, -1, -1 }, lock = -1, err;
	__u8 out[512], mid[512];
	char dir[512];
	size_t midlen = len;

	if (len > sizeof(mid))
		return pr_errf(c, -E2BIG, "check packet too long");
	memcpy(mid, pkt, len);
	snprintf(dir, sizeof(dir), "%s/progs", c->pin_dir);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return pr_errf(c, -errno, "cannot make %s: %s", dir, strerror(errno));
	lock = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock < 0 || flock(lock, LOCK_EX)) {
		err = pr_errf(c, -errno, "cannot lock %s: %s", dir, strerror(errno));
		goto out;
	}
	err = instance(c, r, use_xdp, &tfd, &xfd, fresh_fds);
	if (err)
		goto out;
	if (use_xdp) {
		struct xdp_md xctx = { .data_end = (__u32)len, .ingress_ifindex = r->ifindex };
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (__u32)len, .data_out = out,
			    .data_size_out = sizeof(out), .ctx_in = &xctx, .ctx_size_in = sizeof(xctx), .repeat = 1);
		__u32 meta = 0;

		err = bpf_prog_test_run_opts(xfd, &o);
		if (err) {
			err = pr_errf(c, err, "test run of the XDP program on %s failed: %s", r->ifname, strerror(-err));
			goto out;
		}
		snprintf(r->prog, sizeof(r->prog), "xdp");
		/* the output starts with the metadata area, when XDP reserved one */
		if (o.data_size_out >= len + sizeof(meta))
			memcpy(&meta, out, sizeof(meta));
		if (o.data_size_out > len && o.data_size_out - len <= 32) {
			midlen = len;
			memcpy(mid, out + (o.data_size_out - len), len);
		} else {
			midlen = o.data_size_out < sizeof(mid) ? o.data_size_out : sizeof(mid);
			memcpy(mid, out, midlen);
		}
		if (meta == PR_META_DONE || o.retval != XDP_PASS) {
			snprintf(r->verdict, sizeof(r->verdict), "%s",
				 o.retval == XDP_PASS ? "pass" : o.retval == XDP_REDIRECT ? "redirect"
				 : o.retval == XDP_TX ? "tx" : "drop");
			read_out(r, mid, midlen);
			goto done;
		}
		/* not finished by XDP: TC ingress takes it, as on the wire */
	}
	{
		struct __sk_buff sctx = { .ifindex = r->ifindex, .ingress_ifindex = r->ifindex };
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = mid, .data_size_in = (__u32)midlen, .data_out = out,
			    .data_size_out = sizeof(out), .ctx_in = &sctx, .ctx_size_in = sizeof(sctx), .repeat = 1);

		err = bpf_prog_test_run_opts(tfd, &o);
		if (err) {
			err = pr_errf(c, err, "test run of the TC ingress program on %s failed: %s", r->ifname,
				      strerror(-err));
			goto out;
		}
		snprintf(r->prog, sizeof(r->prog), "%s", use_xdp ? "xdp, tc ingress" : "tc ingress");
		snprintf(r->verdict, sizeof(r->verdict), "%s",
			 o.retval == TC_ACT_OK ? "pass" : o.retval == TC_ACT_REDIRECT ? "redirect" : "drop");
		read_out(r, out, o.data_size_out);
	}
done:
	r->ran = true;
	read_reasons(r, fresh_fds[FRESH_GSTATS]);
	r->translated = memcmp(&r->out_dst, &r->dst, sizeof(r->dst)) || memcmp(&r->out_src, &r->src, sizeof(r->src));
	err = 0;
out:
	for (int i = 0; i < FRESH_MAPS; i++)
		if (fresh_fds[i] >= 0)
			close(fresh_fds[i]);
	if (xfd >= 0)
		close(xfd);
	if (tfd >= 0)
		close(tfd);
	if (lock >= 0)
		close(lock);
	return err;
}
