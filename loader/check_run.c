// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* check's test run: the packet a client would send, through a private instance of the programs whose conntrack and counters are its own. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
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
 * one flow's entries; counters by rule id need every id. */
static const struct {
	const char *name;
	__u32 max; /* 0: the rule capacity + 1 */
} fresh_maps[] = {
	{ "pr_ct", 64 }, { "pr_frag", 64 }, { "pr_rstats", 0 }, { "pr_gstats", PR_GSTATS_SLOTS },
};
/* Maps of the object neither program uses (the socket hooks'): private and tiny. */
static const char *const unused_maps[] = { "pr_local_addr", "pr_sock_rev", "pr_local_ns" };

static bool in_list(const char *name, const char *const *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, l[i]) == 0)
			return true;
	return false;
}

/* Point obj's maps before load: the written ones private (from peer, the
 * instance loaded first, when given), the socket hooks' private, every
 * other one the live pinned map, which these programs only read. */
static int scratch_maps(struct pr_ctx *c, struct bpf_object *obj, struct bpf_object *peer)
{
	struct bpf_map *m;
	int err;

	bpf_object__for_each_map(m, obj) {
		const char *name = bpf_map__name(m);
		bool fresh = false;
		int fd;

		for (size_t i = 0; i < sizeof(fresh_maps) / sizeof(fresh_maps[0]); i++) {
			if (strcmp(name, fresh_maps[i].name))
				continue;
			fresh = true;
			bpf_map__set_pin_path(m, NULL);
			if (peer) {
				fd = bpf_map__fd(bpf_object__find_map_by_name(peer, name));
				err = bpf_map__reuse_fd(m, fd);
				if (err)
					return pr_errf(c, err, "cannot share the check's %s: %s", name, strerror(-err));
			} else {
				bpf_map__set_max_entries(m, fresh_maps[i].max ? fresh_maps[i].max : c->max_rules + 1);
			}
		}
		if (fresh)
			continue;
		if (in_list(name, unused_maps, sizeof(unused_maps) / sizeof(unused_maps[0]))) {
			bpf_map__set_pin_path(m, NULL);
			bpf_map__set_max_entries(m, 64);
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
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = c->pin_dir);
	bool use_xdp = r->attached && (r->mode == PR_MODE_NATIVE || r->mode == PR_MODE_GENERIC);
	__u8 out[512], mid[512];
	struct xdp_bpf *xskel = NULL;
	struct tc_bpf *tskel;
	size_t midlen = len;
	int err;

	if (len > sizeof(mid))
		return pr_errf(c, -E2BIG, "check packet too long");
	memcpy(mid, pkt, len);
	tskel = tc_bpf__open_opts(&oo);
	if (!tskel)
		return pr_errf(c, -errno, "cannot open the TC object: %s", strerror(errno));
	tskel->rodata->pr_via_stack = r->via_stack;
	err = scratch_maps(c, tskel->obj, NULL);
	if (err)
		goto out;
	err = tc_bpf__load(tskel);
	if (err) {
		err = pr_errf(c, err, "cannot load the TC programs for the check: %s (run with -v for the verifier log)",
			      strerror(-err));
		goto out;
	}
	if (use_xdp) {
		struct xdp_md xctx = { .data_end = (__u32)len, .ingress_ifindex = r->ifindex };
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (__u32)len, .data_out = out,
			    .data_size_out = sizeof(out), .ctx_in = &xctx, .ctx_size_in = sizeof(xctx), .repeat = 1);
		__u32 meta = 0;

		xskel = xdp_bpf__open_opts(&oo);
		if (!xskel) {
			err = pr_errf(c, -errno, "cannot open the XDP object: %s", strerror(errno));
			goto out;
		}
		xskel->rodata->pr_via_stack = r->via_stack;
		err = scratch_maps(c, xskel->obj, tskel->obj);
		if (err)
			goto out;
		err = xdp_bpf__load(xskel);
		if (err) {
			err = pr_errf(c, err, "cannot load the XDP program for the check: %s", strerror(-err));
			goto out;
		}
		err = bpf_prog_test_run_opts(bpf_program__fd(xskel->progs.pr_xdp), &o);
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

		err = bpf_prog_test_run_opts(bpf_program__fd(tskel->progs.pr_tc_ingress), &o);
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
	read_reasons(r, bpf_map__fd(tskel->maps.pr_gstats));
	r->translated = memcmp(&r->out_dst, &r->dst, sizeof(r->dst)) || memcmp(&r->out_src, &r->src, sizeof(r->src));
	err = 0;
out:
	xdp_bpf__destroy(xskel);
	tc_bpf__destroy(tskel);
	return err;
}
