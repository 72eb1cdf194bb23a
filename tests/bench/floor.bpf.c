// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Benchmark case 4's floor contender (bench_datapath): the cheapest program that forwards a flow, one hash lookup of its 5-tuple and a redirect, for XDP and TC. portredir's per-packet figures are reported as ratios to it, so they hold on any machine. */
#include "../../bpf/lib/kernel.h"
#include "portredir.h"

/* The flow's 5-tuple, as portredir's conntrack key (same size, same hash work). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct pr_ct_key);
	__type(value, __u32); /* the egress ifindex */
} floor_flows SEC(".maps");

/* The egress ifindex of the IPv4 TCP or UDP packet in [data, end), or 0. */
static __always_inline __u32 floor_lookup(void *data, void *end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct pr_ct_key k;
	__be16 *ports;
	__u32 *out;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5)
		return 0;
	ports = (void *)(ip + 1);
	if ((void *)(ports + 2) > end || (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP))
		return 0;
	__builtin_memset(&k, 0, sizeof(k));
	k.saddr.v4 = ip->saddr;
	k.daddr.v4 = ip->daddr;
	k.sport = ports[0];
	k.dport = ports[1];
	k.proto = ip->protocol;
	k.family = PR_AF_INET;
	out = bpf_map_lookup_elem(&floor_flows, &k);
	return out ? *out : 0;
}

SEC("xdp")
int floor_xdp(struct xdp_md *ctx)
{
	__u32 ifindex = floor_lookup((void *)(long)ctx->data, (void *)(long)ctx->data_end);

	return ifindex ? bpf_redirect(ifindex, 0) : XDP_PASS;
}

SEC("tc")
int floor_tc(struct __sk_buff *ctx)
{
	__u32 ifindex = floor_lookup((void *)(long)ctx->data, (void *)(long)ctx->data_end);

	return ifindex ? bpf_redirect(ifindex, 0) : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
