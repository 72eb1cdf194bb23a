// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Tracepoint programs that turn a pr_vxmit slot off at the first frame the kernel refuses to take into that veth, so a stale yes costs one frame, not a black hole (docs/design.md, "XDP into a veth"). */
#include "lib/kernel.h"
#include "lib/maps.h"
#include "lib/stats.h"
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* <linux/bpf.h> 's redirect by ifindex (bpf_redirect()): map type UNSPEC,
 * map id INT_MAX, the target ifindex in index (net/core/filter.c). */
#define PR_REDIRECT_BY_IFINDEX 0x7fffffff

/* ifindex's armed slot in net's namespace (dev's), or NULL: only veths the
 * loader armed for the namespace they are in are touched. */
static __always_inline struct pr_vxmit *vx_slot(const struct net_device *dev, __u32 ifindex)
{
	__u64 ns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	struct pr_vxmit *v;

	if (ifindex >= PR_PEERS)
		return NULL;
	v = bpf_map_lookup_elem(&pr_vxmit, &ifindex);
	return v && v->netns_ino && v->netns_ino == ns ? v : NULL;
}

/* The kernel refused frames XDP sent into an armed veth: no more redirects
 * there until the loader asks the kernel again (attach, apply). */
static __always_inline void vx_refused(struct pr_vxmit *v, __u32 frames)
{
	v->ok = 0;
	v->failed = 1;
	for (__u32 i = 0; i < frames && i < 16; i++) /* a bulk is at most 16 frames (DEV_MAP_BULK_SIZE) */
		pr_count(PR_R_DROP_VETH_REFUSED);
}

/* A redirect refused at enqueue: since 6.3 __xdp_enqueue() checks the
 * target's NETDEV_XDP_ACT_NDO_XMIT, which veth clears before it takes its
 * peer's NAPI down, so this is where a removed XDP program or GRO shows
 * first. dev is the ingress device: the target is in its namespace. */
SEC("tp_btf/xdp_redirect_err")
int BPF_PROG(pr_vx_redir_err, const struct net_device *dev, const struct bpf_prog *xdp, const void *tgt, int err,
	     enum bpf_map_type map_type, __u32 map_id, __u32 index)
{
	struct pr_vxmit *v;

	if (map_type != BPF_MAP_TYPE_UNSPEC || map_id != PR_REDIRECT_BY_IFINDEX)
		return 0;
	v = vx_slot(dev, index);
	if (v && v->ok)
		vx_refused(v, 1);
	return 0;
}

/* A bulk the target's ndo_xdp_xmit refused whole (veth_xdp_xmit()'s
 * -ENXIO: its far end has no NAPI although xdp_features said so, as after
 * GRO was switched off while the peer was down, which veth does not
 * report). */
SEC("tp_btf/xdp_devmap_xmit")
int BPF_PROG(pr_vx_xmit_err, const struct net_device *from_dev, const struct net_device *to_dev, int sent,
	     int drops, int err)
{
	struct pr_vxmit *v;

	if (err >= 0)
		return 0;
	v = vx_slot(to_dev, BPF_CORE_READ(to_dev, ifindex));
	if (v && v->ok)
		vx_refused(v, drops > 0 ? drops : 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
