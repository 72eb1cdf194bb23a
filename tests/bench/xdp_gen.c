// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Benchmark case 1: a UDP generator on BPF_PROG_RUN live frames (tests/bench/pps.sh).
 *
 * xdp_gen --dev IF --smac MAC --dmac MAC --src IP --dst IP --sport LO:N --dport LO:N
 *         --secs S --count N [--size BYTES]
 *
 * Sends Ethernet/IPv4/UDP frames of BYTES (default 60, i.e. 64 on a wire with
 * the FCS) out of IF, in the calling thread's network namespace and on its CPU
 * (pin it with taskset), until S seconds or N frames, whichever comes first.
 * Frames go out through IF's ndo_xdp_xmit, so on a veth its peer must have
 * NAPI (GRO on or an XDP program) or every frame is dropped. Prints one line:
 * "packets N secs T mpps R". */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "xdp_gen.skel.h"

#define CHUNK (1 << 20) /* frames per BPF_PROG_RUN call, ~0.3 s: each call costs ~50 ms of setup */

static __u32 sum16(const void *p, size_t len, __u32 sum)
{
	const __u16 *w = p;

	for (; len > 1; len -= 2)
		sum += *w++;
	if (len)
		sum += *(const __u8 *)w;
	return sum;
}

static int parse_mac(const char *s, __u8 *mac)
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3],
		      &mac[4], &mac[5]) == 6 ? 0 : -1;
}

static int parse_range(const char *s, __u16 *lo, __u16 *n)
{
	unsigned int a, b;

	if (sscanf(s, "%u:%u", &a, &b) != 2 || !a || !b || a + b - 1 > 65535)
		return -1;
	*lo = a;
	*n = b;
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: xdp_gen --dev IF --smac MAC --dmac MAC --src IP --dst IP "
			"--sport LO:N --dport LO:N --secs S --count N [--size BYTES]\n");
	exit(2);
}

/* What the command line asks for; the frame's headers are filled as parsed. */
struct gen {
	__u8 pkt[1500];
	__u16 sport_lo, sport_n, dport_lo, dport_n;
	unsigned long long count;
	unsigned int size, ifindex;
	double secs;
};

static void parse_args(int argc, char **argv, struct gen *g)
{
	static const struct option opts[] = {
		{ "dev", 1, 0, 'i' }, { "smac", 1, 0, 'm' }, { "dmac", 1, 0, 'M' },
		{ "src", 1, 0, 's' }, { "dst", 1, 0, 'd' }, { "sport", 1, 0, 'p' },
		{ "dport", 1, 0, 'P' }, { "secs", 1, 0, 't' }, { "count", 1, 0, 'n' },
		{ "size", 1, 0, 'l' }, { 0 }
	};
	struct ethhdr *eth = (void *)g->pkt;
	struct iphdr *ip = (void *)(eth + 1);
	int c;

	g->size = 60;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i': g->ifindex = if_nametoindex(optarg); if (!g->ifindex) { perror(optarg); exit(1); } break;
		case 'm': if (parse_mac(optarg, eth->h_source)) usage(); break;
		case 'M': if (parse_mac(optarg, eth->h_dest)) usage(); break;
		case 's': if (inet_pton(AF_INET, optarg, &ip->saddr) != 1) usage(); break;
		case 'd': if (inet_pton(AF_INET, optarg, &ip->daddr) != 1) usage(); break;
		case 'p': if (parse_range(optarg, &g->sport_lo, &g->sport_n)) usage(); break;
		case 'P': if (parse_range(optarg, &g->dport_lo, &g->dport_n)) usage(); break;
		case 't': g->secs = atof(optarg); break;
		case 'n': g->count = strtoull(optarg, NULL, 0); break;
		case 'l': g->size = atoi(optarg); break;
		default: usage();
		}
	}
	if (!g->ifindex || !g->sport_n || !g->dport_n || g->secs <= 0 || !g->count || !ip->saddr || !ip->daddr ||
	    g->size < sizeof(*eth) + sizeof(*ip) + sizeof(struct udphdr) || g->size > 1514)
		usage();
}

/* The rest of the frame's headers and payload. Returns the UDP checksum's
 * base: pseudo-header (addresses, protocol, length) + header without ports
 * + payload, which the program completes for each port pair. */
static __u32 build_frame(struct gen *g)
{
	struct ethhdr *eth = (void *)g->pkt;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *uh = (void *)(ip + 1);
	__u32 sum;

	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->frag_off = htons(0x4000); /* DF */
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons(g->size - sizeof(*eth));
	sum = sum16(ip, sizeof(*ip), 0);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip->check = ~sum;
	uh->len = htons(g->size - sizeof(*eth) - sizeof(*ip));
	memset(uh + 1, 'A', g->size - sizeof(*eth) - sizeof(*ip) - sizeof(*uh));
	sum = sum16(&ip->saddr, 8, 0) + htons(IPPROTO_UDP) + uh->len;
	return sum16(uh, g->size - sizeof(*eth) - sizeof(*ip), sum);
}

int main(int argc, char **argv)
{
	static struct gen g;
	unsigned long long sent = 0;
	struct xdp_gen_bpf *skel;
	double t0, t1;
	__u32 sum;
	int err;

	parse_args(argc, argv, &g);
	sum = build_frame(&g);
	skel = xdp_gen_bpf__open();
	if (!skel) {
		fprintf(stderr, "xdp_gen: cannot open the BPF object: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->gen_ifindex = g.ifindex;
	skel->rodata->sport_lo = g.sport_lo;
	skel->rodata->sport_n = g.sport_n;
	skel->rodata->dport_lo = g.dport_lo;
	skel->rodata->dport_n = g.dport_n;
	skel->rodata->csum_base = sum;
	err = xdp_gen_bpf__load(skel);
	if (err) {
		fprintf(stderr, "xdp_gen: cannot load the BPF program: %s\n", strerror(-err));
		xdp_gen_bpf__destroy(skel);
		return 1;
	}
	memcpy(skel->bss->hdr, g.pkt, sizeof(skel->bss->hdr));

	t0 = now();
	t1 = t0;
	while (sent < g.count && t1 - t0 < g.secs) {
		LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = g.pkt, .data_size_in = g.size,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

		run.repeat = g.count - sent < CHUNK ? g.count - sent : CHUNK;
		err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.gen_xdp), &run);
		t1 = now();
		if (err) {
			fprintf(stderr, "xdp_gen: BPF_PROG_RUN: %s\n", strerror(errno));
			break;
		}
		sent += run.repeat;
	}
	/* the program's own count: what it really handed to the redirect */
	sent = skel->bss->sent;
	printf("packets %llu secs %.3f mpps %.4f\n", sent, t1 - t0, sent / (t1 - t0) / 1e6);
	xdp_gen_bpf__destroy(skel);
	return err ? 1 : 0;
}
