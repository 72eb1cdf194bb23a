// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Benchmark case 1 generator (tests/bench/xdp_gen.c): run with BPF_PROG_RUN and
 * BPF_F_TEST_XDP_LIVE_FRAMES, it stamps the next (source port, destination port)
 * pair and a complete UDP checksum into the template frame and redirects it out
 * of gen_ifindex. The two port counters wrap independently, so coprime range
 * sizes give sport_n * dport_n distinct flows. */
#include "../../bpf/lib/kernel.h"

const volatile __u32 gen_ifindex;
const volatile __u16 sport_lo, sport_n = 1, dport_lo, dport_n = 1;
/* ones'-complement sum of the pseudo-header, the UDP header with zero ports
 * and checksum, and the payload, in memory word order (as csum_partial sums) */
const volatile __u32 csum_base;

/* The program runs on one CPU only (the caller's), so plain counters do. */
__u16 sport_i, dport_i;
/* the frame's headers as built by xdp_gen.c, ports and UDP checksum zero;
 * set after load (a const volatile array would be folded to zeros) */
__u8 hdr[sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr)] __attribute__((aligned(8)));
__u64 sent;

SEC("xdp")
int gen_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct udphdr *uh = data + sizeof(struct ethhdr) + sizeof(struct iphdr);
	__u32 sum;

	if ((void *)(uh + 1) > data_end)
		return XDP_ABORTED;
	/* A page comes back to the live-frames pool with whatever its last
	 * user wrote: a router rewrites the MACs and the TTL in place. So
	 * rewrite every header byte on every run, never incrementally. */
	__builtin_memcpy(data, hdr, sizeof(hdr));
	uh->source = bpf_htons(sport_lo + sport_i);
	uh->dest = bpf_htons(dport_lo + dport_i);
	if (++sport_i >= sport_n)
		sport_i = 0;
	if (++dport_i >= dport_n)
		dport_i = 0;
	sum = csum_base + *(__u16 *)&uh->source + *(__u16 *)&uh->dest;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	uh->check = (__u16)~sum ?: 0xffff;
	sent++;
	return bpf_redirect(gen_ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
