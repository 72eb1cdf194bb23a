// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Benchmark case 1 helpers (tests/bench/pps.sh), loaded with bpftool:
 *   fwd_xdp    the bare forwarder: MACs rewritten, XDP_REDIRECT through a devmap
 *              to one fixed port, no parsing and no lookups (the limit of the path);
 *   drop_xdp   the router dropping everything at its earliest point (generator alone);
 *   count_tc   the server's counter: TC ingress on s0 counts UDP by class and drops
 *              it, so no socket, ICMP or reply work ever loads the server or router.
 * Configuration sits in the one-entry array fwd_cfg (the verifier inlines that
 * lookup: no helper call), counters in the per-CPU array fwd_cnt. */
#include "../../bpf/lib/kernel.h"

struct fwd_cfg {
	__u8 dmac[ETH_ALEN]; /* fwd_xdp: the server's s0 */
	__u8 smac[ETH_ALEN]; /* fwd_xdp: the router's rs */
	__be32 daddr;        /* count_tc: a translated packet's destination... */
	__u16 port_lo;       /* ...and port range, host order */
	__u16 port_hi;
};

enum {
	CNT_FWD,      /* fwd_xdp: frames handed to the redirect */
	CNT_DROP,     /* drop_xdp: frames dropped */
	CNT_XLATED,   /* count_tc: UDP to daddr:port_lo-port_hi (delivered, translated) */
	CNT_OTHER,    /* count_tc: any other UDP (untranslated, e.g. the bare forwarder's) */
	CNT_CSUM0,    /* count_tc: of the CNT_XLATED ones, UDP checksum field 0 */
	CNT_SLOTS,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fwd_cfg);
} fwd_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} fwd_cnt SEC(".maps");

/* key 0 -> the egress port (the router's rs) */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} fwd_tx SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&fwd_cnt, &slot);

	if (v)
		*v += 1;
}

SEC("xdp")
int fwd_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 zero = 0;
	struct fwd_cfg *cfg;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	cfg = bpf_map_lookup_elem(&fwd_cfg, &zero);
	if (!cfg)
		return XDP_DROP;
	__builtin_memcpy(eth->h_dest, cfg->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, cfg->smac, ETH_ALEN);
	count(CNT_FWD);
	return bpf_redirect_map(&fwd_tx, 0, XDP_DROP);
}

SEC("xdp")
int drop_xdp(struct xdp_md *ctx)
{
	count(CNT_DROP);
	return XDP_DROP;
}

SEC("tc")
int count_tc(struct __sk_buff *skb)
{
	/* Ethernet, IPv4 without options, UDP: what the generator sends. Read
	 * with a helper, not direct access: trafgen's skbs keep all but the
	 * Ethernet header in page fragments all the way to the server. */
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		struct udphdr uh;
	} __attribute__((packed)) h;
	struct fwd_cfg *cfg;
	__u32 zero = 0;
	__u16 port;

	if (bpf_skb_load_bytes(skb, 0, &h, sizeof(h)) || h.eth.h_proto != bpf_htons(ETH_P_IP) ||
	    h.ip.protocol != IPPROTO_UDP || h.ip.ihl != 5)
		return TC_ACT_OK; /* ARP, neighbour and anything else: to the stack */
	cfg = bpf_map_lookup_elem(&fwd_cfg, &zero);
	if (!cfg)
		return TC_ACT_SHOT;
	port = bpf_ntohs(h.uh.dest);
	if (h.ip.daddr == cfg->daddr && port >= cfg->port_lo && port <= cfg->port_hi) {
		count(CNT_XLATED);
		if (!h.uh.check)
			count(CNT_CSUM0);
	} else {
		count(CNT_OTHER);
	}
	return TC_ACT_SHOT;
}

/* The same count at XDP on s0: cheaper for frames redirected from XDP (no skb
 * is ever built), dearer for skbs (veth copies each into a page first). */
SEC("xdp")
int count_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *uh = (void *)(ip + 1);
	struct fwd_cfg *cfg;
	__u32 zero = 0;
	__u16 port;

	if ((void *)(uh + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return XDP_PASS;
	cfg = bpf_map_lookup_elem(&fwd_cfg, &zero);
	if (!cfg)
		return XDP_DROP;
	port = bpf_ntohs(uh->dest);
	if (ip->daddr == cfg->daddr && port >= cfg->port_lo && port <= cfg->port_hi) {
		count(CNT_XLATED);
		if (!uh->check)
			count(CNT_CSUM0);
	} else {
		count(CNT_OTHER);
	}
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
