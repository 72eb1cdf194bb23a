/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Every map of the datapath, pinned by name so all objects and CLI processes share one set. */
#ifndef PR_MAPS_H
#define PR_MAPS_H

#include "kernel.h"
#include "portredir.h"

/* (listen addr | any, proto, port) -> target. Read on every new flow. The
 * loader sizes this and the id-indexed maps when it creates them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PR_RULE_ENTRIES);
	__type(key, struct pr_rule_key);
	__type(value, struct pr_rule);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pr_rules SEC(".maps");

/* Per-rule source allowlists; read only when a new flow is created. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PR_DEFAULT_MAX_RULES);
	__type(key, struct pr_allow_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pr_allow SEC(".maps");

/* rule id -> name and spec; written and read by userspace only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PR_DEFAULT_MAX_RULES);
	__type(key, __u32);
	__type(value, struct pr_rule_meta);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pr_rmeta SEC(".maps");

/* Source NAT by rule id (struct pr_rule_nat), read when a new flow of a
 * PR_RULE_F_SNAT rule opens; sized with pr_rstats. Written before the
 * rule's pr_rules entries, so a lookup that finds the flag finds this. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PR_DEFAULT_MAX_RULES + 1);
	__type(key, __u32);
	__type(value, struct pr_rule_nat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pr_rnat SEC(".maps");

/* Per-rule counters by rule id, per CPU: preallocated, so it costs
 * (max_rules + 1) x 56 bytes x possible CPUs whatever the rule count. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PR_DEFAULT_MAX_RULES + 1);
	__type(key, __u32);
	__type(value, struct pr_rule_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pr_rstats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PR_GSTATS_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pr_gstats SEC(".maps");

/* Both directions of every flow; LRU so a flood cannot wedge the table. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PR_CT_ENTRIES);
	__type(key, struct pr_ct_key);
	__type(value, struct pr_ct_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pr_ct SEC(".maps");

/* First fragment's translation, for the datagram's later fragments. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PR_FRAG_ENTRIES);
	__type(key, struct pr_frag_key);
	__type(value, struct pr_frag_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pr_frag SEC(".maps");

/* Egress interfaces XDP may redirect to; the loader adds only ones known to
 * take XDP frames. Pinned by the loader itself (pr_reuse_tx), not by name:
 * libbpf 1.1 refuses to reuse a pinned devmap because the kernel adds
 * BPF_F_RDONLY_PROG to its flags. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, PR_IFACES);
	__type(key, __u32);
	__type(value, __u32);
} pr_tx SEC(".maps");

/* veths whose peer is in another namespace (a container's), by ifindex,
 * with the peer's MAC (struct pr_peer): TC ingress delivers a translated
 * packet routed to one, to that MAC, straight into the peer
 * (bpf_redirect_peer). Written by the loader at attach and apply. An array,
 * so the lookup every redirect makes is inlined by the verifier: no helper
 * call on the established path for devices that are not such veths. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PR_PEERS);
	__type(key, __u32);
	__type(value, struct pr_peer);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pr_peer SEC(".maps");

/* veths XDP may redirect into, by ifindex (struct pr_vxmit): armed by the
 * loader from the netdev netlink family's xdp-features at attach and apply,
 * turned off at the first refused frame by the tracepoint programs in
 * bpf/vxmit.bpf.c. An array for the same reason as pr_peer. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PR_PEERS);
	__type(key, __u32);
	__type(value, struct pr_vxmit);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pr_vxmit SEC(".maps");

/* Attached interfaces' own addresses by ifindex (struct pr_ifaddr), for
 * --masquerade and hairpin; written by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PR_IFACES);
	__type(key, __u32);
	__type(value, struct pr_ifaddr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pr_ifaddr SEC(".maps");

/* Attachment records for status; userspace only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PR_IFACES);
	__type(key, struct pr_iface_key);
	__type(value, struct pr_iface);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pr_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pr_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pr_info SEC(".maps");

/* ---- Local clients (issue 11 part 1): the socket hooks' maps ---- */

/* (netns cookie, family, address) -> 1: the local addresses of each network
 * namespace that has the socket hooks, for ":PORT" rules; filled by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PR_LOCAL_ADDRS);
	__type(key, struct pr_local_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pr_local_addr SEC(".maps");

/* (socket cookie, target) -> what the socket asked for: recvmsg and
 * getpeername show that instead of the target. LRU: entries of closed
 * sockets age out, and a cookie is never reused. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PR_SOCK_REV_ENTRIES);
	__type(key, struct pr_sock_rev_key);
	__type(value, struct pr_sock_rev_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pr_sock_rev SEC(".maps");

/* netns cookie -> where its socket hooks are attached; userspace only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PR_LOCAL_NS);
	__type(key, __u64);
	__type(value, struct pr_local_ns);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pr_local_ns SEC(".maps");
/* ---- end of local clients ---- */

/* ---- Monitor (issue 12 part 3): see bpf/lib/monitor.h ---- */

/* Events for portredir monitor; written only while a monitor holds the lease. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PR_MON_RING_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pr_mon_ring SEC(".maps");

/* [0]: the monitor's lease and filters (struct pr_mon_ctl). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pr_mon_ctl);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pr_mon_ctl SEC(".maps");

/* [0] per CPU: the rate limit and the emitted, dropped and lost counts. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pr_mon_cpu);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pr_mon_cpu SEC(".maps");
/* ---- end of monitor ---- */

#endif
