/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Structs and constants shared by the BPF datapath and userspace: the only place map layouts live. */
#ifndef PORTREDIR_H
#define PORTREDIR_H

/* The BPF side gets __u32 and friends from vmlinux.h and includes no UAPI
 * header (it builds with -nostdinc); userspace takes them from the UAPI. */
#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Bump when any pinned map's key, value or size changes; the loader refuses a pin dir of another version. */
#define PR_SCHEMA_VERSION 5
#define PR_MAGIC 0x50524452 /* "PRDR" */

/* Rule ids are 1..max_rules; id 0 is never used. max_rules is chosen when the
 * maps are created (attach --max-rules), which sizes pr_rmeta, pr_rstats
 * (max_rules + 1 slots), pr_rules (2 x max_rules, at least PR_RULE_ENTRIES)
 * and pr_allow (max_rules, at least PR_ALLOW_ENTRIES). The map definitions
 * carry the defaults. */
#define PR_DEFAULT_MAX_RULES 131072
#define PR_MAX_RULES_LIMIT 4194304
#define PR_RULE_ENTRIES 262144 /* lookup entries: one per listen address, proto and port */
#define PR_ALLOW_MAX 16        /* source CIDRs a rule may allow */
#define PR_ALLOW_ENTRIES 65536
#define PR_CT_ENTRIES 262144   /* conntrack entries; each flow takes two */
#define PR_IFACES 256          /* attachments recorded for status */
#define PR_PEERS 65536         /* pr_peer slots: ifindexes below this can take the peer fast path */
#define PR_NAME_LEN 32

/* Address in network order. IPv4 uses v4 and leaves the other 12 bytes zero,
 * so one key layout serves both families. */
union pr_addr {
	__be32 v4;
	__be32 v6[4];
	__u8 b[16];
};

enum pr_family { PR_AF_INET = 4, PR_AF_INET6 = 6 };

/* Rule lookup key: exact (addr, proto, port), or addr all-zero for "any
 * address"; port 0 is the DMZ rule that takes every port with no rule. A
 * port range has one key per port. */
struct pr_rule_key {
	union pr_addr addr;
	__be16 port;
	__u8 proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family; /* enum pr_family */
};
_Static_assert(sizeof(struct pr_rule_key) == 20, "pr_rule_key layout");

/* What a rule rewrites to, for one listen port. */
struct pr_rule {
	union pr_addr target;
	__be16 target_port; /* already offset for this port of a range */
	__u16 flags;        /* PR_RULE_F_* */
	__u32 id;           /* index into pr_rstats and pr_rmeta */
};

#define PR_RULE_F_ALLOW (1u << 0)     /* new flows need a source in pr_allow */
#define PR_RULE_F_DENY_DROP (1u << 1) /* denied packets are dropped, else passed */
#define PR_RULE_F_KEEP_PORT (1u << 2) /* DMZ: keep the destination port */
#define PR_RULE_F_SNAT (1u << 3)      /* full NAT: new flows also get a source from pr_rnat[id] */
#define PR_RULE_F_HAIRPIN_OFF (1u << 4) /* --hairpin off: never source-NAT a hairpin flow */
_Static_assert(sizeof(struct pr_rule) == 24, "pr_rule layout");

struct pr_cidr {
	union pr_addr addr;
	__u8 family;
	__u8 len;
	__u8 pad[2];
};

/* Source NAT of a rule (--snat ADDR or --masquerade, --snat-ports LO-HI),
 * in pr_rnat by rule id; read only when a new flow of a PR_RULE_F_SNAT rule
 * opens. The range also bounds the ports a hairpin flow gets. */
enum pr_snat_mode { PR_SNAT_NONE = 0, PR_SNAT_ADDR = 1, PR_SNAT_MASQ = 2 };

struct pr_rule_nat {
	union pr_addr addr; /* PR_SNAT_ADDR: the new source; unused with PR_SNAT_MASQ */
	__u16 port_lo;      /* host order, inclusive; the loader always sets a range */
	__u16 port_hi;
	__u8 mode;          /* enum pr_snat_mode */
	__u8 family;        /* of addr */
	__u8 pad[2];
};
_Static_assert(sizeof(struct pr_rule_nat) == 24, "pr_rule_nat layout");

/* The change journal in pr_rnat's slot 0 (no rule has id 0, and the
 * datapath reads pr_rnat only by a rule's id): BUSY from a commit's first
 * write to its last, so a change that did not finish (killed, or failed
 * midway) is seen by the next one, which then reconciles the datapath maps
 * with the records (docs/design.md, "Interrupted changes"). New maps start
 * CLEAN; a slot of zeros (maps from before the journal) counts as BUSY. The last 8
 * bytes stay zero, so the slot reads as a pr_rule_nat of mode none.
 * Userspace only. */
#define PR_JOURNAL_MAGIC 0x50524a4e /* "PRJN" */
enum pr_journal_state { PR_JOURNAL_CLEAN = 1, PR_JOURNAL_BUSY = 2 };
struct pr_journal {
	__u32 magic;
	__u32 state;      /* enum pr_journal_state */
	__u64 generation; /* commits begun in this pin dir */
	__u8 zero[8];
};
_Static_assert(sizeof(struct pr_journal) == sizeof(struct pr_rule_nat), "pr_journal fills one pr_rnat slot");
#define PR_JOURNAL_SLOT 0

/* Control-plane view of a rule, keyed by rule id; the datapath never reads it. */
struct pr_rule_meta {
	char name[PR_NAME_LEN];
	struct pr_rule_key key;   /* first port (0 for DMZ); proto 0 means tcp and udp */
	struct pr_rule rule;      /* target of the first port */
	__u64 created_ns;         /* CLOCK_REALTIME at add or replace */
	__u16 port_last;          /* host order; equals the first port for one port */
	__u16 target_port_last;   /* host order; 0 when the range maps onto one port */
	__u16 allow_count;
	__u16 cflags;             /* PR_META_F_*: the control plane's own */
	struct pr_cidr allow[PR_ALLOW_MAX];
	struct pr_rule_nat nat;   /* as written to pr_rnat; mode PR_SNAT_NONE for DNAT only */
};
#define PR_META_F_SNAT_PORTS (1u << 0) /* --snat-ports was given (else nat's range is the default) */
_Static_assert(sizeof(struct pr_rule_meta) == 440, "pr_rule_meta layout");

/* Source allowlist, an LPM trie: (rule id, family) fixed, then the prefix. */
struct pr_allow_key {
	__u32 prefixlen; /* 64 + CIDR length */
	__u32 rule_id;
	__u8 family;
	__u8 pad[3];
	union pr_addr addr;
};
#define PR_ALLOW_FIXED_BITS 64

/* Per-rule counters, per CPU. Forward (client to listen) and reply directions apart. */
struct pr_rule_stats {
	__u64 pkts_orig;
	__u64 bytes_orig;
	__u64 pkts_reply;
	__u64 bytes_reply;
	__u64 flows;
	__u64 denied; /* new flows refused by the allowlist */
	__u64 snat_exhausted; /* new flows refused: no free source port in the rule's range */
};

/* Conntrack key: the 5-tuple exactly as the packet carries it when it reaches us. */
struct pr_ct_key {
	union pr_addr saddr;
	union pr_addr daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};
_Static_assert(sizeof(struct pr_ct_key) == 40, "pr_ct_key layout");

enum pr_ct_dir {
	PR_DIR_ORIG = 1,  /* client -> listen: rewrite destination to nat_addr:nat_port */
	PR_DIR_REPLY = 2, /* target -> client: rewrite source to nat_addr:nat_port */
};

enum pr_ct_state {
	PR_CT_SYN_SENT = 1,    /* TCP: SYN seen, no reply yet */
	PR_CT_ESTABLISHED = 2, /* TCP: both directions seen */
	PR_CT_HALF_CLOSED = 3, /* TCP: FIN seen in one direction */
	PR_CT_CLOSING = 4,     /* TCP: FIN both ways, or RST */
	PR_CT_UDP = 5,         /* UDP: no reply yet */
	PR_CT_UDP_REPLIED = 6, /* UDP: reply seen */
	PR_CT_STATE_MAX,
};

/* Default timeouts in seconds by enum pr_ct_state; the datapath's pr_timeout[]
 * and the loader's view of expiry both start from these. */
#define PR_CT_TIMEOUTS_INIT                 \
	{                                   \
		[PR_CT_SYN_SENT] = 60,      \
		[PR_CT_ESTABLISHED] = 21600, \
		[PR_CT_HALF_CLOSED] = 120,  \
		[PR_CT_CLOSING] = 10,       \
		[PR_CT_UDP] = 30,           \
		[PR_CT_UDP_REPLIED] = 180,  \
	}

/* Conntrack value. Each flow has two entries, one per direction, so either
 * direction finds its translation in one lookup. State is copied to the peer
 * entry whenever it changes.
 *
 * Every entry has one rewrite (nat_addr:nat_port): ORIG's new destination
 * (the target), REPLY's new source (the listen address). A full-NAT flow
 * (PR_CT_F_NAT2: --snat, --masquerade, hairpin, or a source port remapped
 * to resolve a tuple clash) has a second one (nat2_addr:nat2_port): ORIG's
 * new source (the address and port allocated for the flow), REPLY's new
 * destination (the client's own address and port). */
#define PR_CT_F_NAT2 (1u << 0)
/* TCP close tracking (docs/design.md, "Full NAT", port reuse): the FIN that
 * closed the flow (the second) came from the reply side; the flow is over,
 * by a RST or by the ACK of that last FIN, so a new flow's SYN may take its
 * tuple, as Linux NAT reuses a conntrack in TIME_WAIT or CLOSE. */
#define PR_CT_F_LAST_FIN_REPLY (1u << 1)
#define PR_CT_F_CLOSED (1u << 2)
#define PR_CT_F_TCP_CLOSE (PR_CT_F_LAST_FIN_REPLY | PR_CT_F_CLOSED)

struct pr_ct_val {
	union pr_addr nat_addr;
	union pr_addr nat2_addr; /* with PR_CT_F_NAT2 only */
	__u64 last_seen; /* bpf_ktime_get_ns(), refreshed at most once a second */
	__be16 nat_port;
	__be16 nat2_port;
	__u8 dir;   /* enum pr_ct_dir */
	__u8 state; /* enum pr_ct_state */
	__u8 fin_orig;
	__u8 fin_reply;
	__u32 rule_id;
	/* Route cache for this direction's translated packets, so most skip
	 * bpf_fib_lookup: written by the datapath, refreshed once a second. */
	__u16 nh_len;     /* largest IP length the route was proven for (MTU) */
	__u8 flags;       /* PR_CT_F_* */
	__u8 pad;
	__u32 nh_ifindex; /* egress device; 0: nothing cached */
	__u32 nh_iif;     /* the ingress device it was looked up from */
	__u8 nh_dmac[6];
	__u8 nh_smac[6];
	__u32 pad2;
	__u64 nh_until;   /* coarse ns after which it is looked up again */
};
_Static_assert(sizeof(struct pr_ct_val) == 88, "pr_ct_val layout");

/* Fragment tracking: a datagram's later fragments carry no ports, so the
 * first fragment records what it was translated to, keyed by what all its
 * fragments share. */
#define PR_FRAG_ENTRIES 8192
#define PR_FRAG_TIMEOUT_S 30

struct pr_frag_key {
	union pr_addr saddr;
	union pr_addr daddr;
	__be32 id; /* IPv4: the 16-bit IP id; room for IPv6's 32-bit one */
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};
_Static_assert(sizeof(struct pr_frag_key) == 40, "pr_frag_key layout");

struct pr_frag_val {
	union pr_addr new_addr;  /* new destination (ORIG) or source (REPLY) */
	union pr_addr new2_addr; /* with PR_CT_F_NAT2: new source (ORIG) or destination (REPLY) */
	__u64 last_seen;
	__u32 rule_id;
	__u8 dir;   /* enum pr_ct_dir */
	__u8 flags; /* PR_CT_F_* of the flow */
	__u8 pad[2];
};
_Static_assert(sizeof(struct pr_frag_val) == 48, "pr_frag_val layout");

/* An interface's own addresses, by ifindex (pr_ifaddr): the source that
 * --masquerade (the egress interface's) and hairpin (the ingress
 * interface's) give a flow. The loader writes them for every attached
 * interface at attach, and refreshes them on every attach and apply. */
struct pr_ifaddr {
	__be32 v4;
	__u8 has_v4;
	__u8 has_v6;
	__u8 pad[2];
	union pr_addr v6;
};
_Static_assert(sizeof(struct pr_ifaddr) == 24, "pr_ifaddr layout");

/* A veth whose peer is in another namespace (pr_peer, keyed by the veth's
 * ifindex): the peer's MAC, which a packet routed there must be addressed
 * to before TC delivers it into the peer. The MAC is what makes an entry
 * safe where one pin dir serves several namespaces: an ifindex another
 * namespace reuses for another device has other neighbours. */
struct pr_peer {
	__u8 mac[6];
	__u8 set;    /* 1: a veth with its peer elsewhere; 0: an empty slot */
	__u8 pad;
};
_Static_assert(sizeof(struct pr_peer) == 8, "pr_peer layout");

/* A veth XDP may redirect into (pr_vxmit, keyed by the veth's ifindex):
 * the kernel says its far end can take XDP frames (NETDEV_XDP_ACT_NDO_XMIT,
 * set while the peer has an XDP program or GRO, Linux 6.3). The loader arms
 * a slot with its namespace and the netdev netlink family's answer at
 * attach and apply; the tracepoint programs (bpf/vxmit.bpf.c) turn `ok`
 * off at the first frame the kernel refuses there (docs/design.md, "XDP
 * into a veth"). */
struct pr_vxmit {
	__u64 netns_ino; /* the veth's network namespace (inode); 0: an empty slot */
	__u32 ok;        /* 1: the far end had NAPI when asked, and no frame was refused since */
	__u32 failed;    /* 1: the kernel refused a frame since the loader asked */
};
_Static_assert(sizeof(struct pr_vxmit) == 16, "pr_vxmit layout");

/* Global counters by reason, per CPU: one list gives the enum and the names
 * the CLI prints and `stats -j` emits as keys, so the two cannot drift. The
 * order is the pinned pr_gstats layout: append only. X(ID, NAME) */
#define PR_REASONS(X)                                                                                      \
	X(PR_R_XLATE_FWD, "xlate_forward")             /* forward packets translated */                   \
	X(PR_R_XLATE_REPLY, "xlate_reply")             /* reply packets translated */                     \
	X(PR_R_REDIRECT, "redirect")                   /* translated and sent straight to the egress       \
							* device (XDP_REDIRECT or bpf_redirect) */        \
	X(PR_R_PASS_NOMATCH, "pass_nomatch")           /* TCP/UDP with no flow and no rule */             \
	X(PR_R_PASS_NOT_IP, "pass_not_ip")             /* neither IPv4 nor IPv6 (ARP, VLAN-tagged, ...) */ \
	X(PR_R_PASS_NOT_L4, "pass_not_tcp_udp")        /* IP but not TCP, UDP or ICMP */                  \
	X(PR_R_PASS_FRAGMENT, "pass_fragment")         /* fragment of no translated datagram: passed       \
							* untouched */                                    \
	X(PR_R_PASS_MALFORMED, "pass_malformed")       /* truncated or inconsistent headers */            \
	X(PR_R_PASS_CSUM_PUNT, "pass_partial_csum_to_tc") /* XDP could not tell a partial checksum        \
							   * apart: left to TC */                         \
	X(PR_R_PASS_NO_META, "pass_no_xdp_meta")       /* XDP could not mark the packet: left to TC */    \
	X(PR_R_PASS_TCP_RST, "pass_tcp_rst_no_flow")   /* TCP RST with no flow: nothing to open */        \
	X(PR_R_PASS_CT_FAIL, "pass_ct_insert_failed")  /* conntrack insert failed: passed untranslated */ \
	X(PR_R_DROP_REWRITE, "drop_rewrite_failed")    /* a TC rewrite helper failed mid-packet */        \
	X(PR_R_XLATE_ICMP, "xlate_icmp_error")         /* ICMP errors about a translated flow */          \
	X(PR_R_PASS_ICMP, "pass_icmp")                 /* ICMP echo, other ICMP, or errors about no flow   \
							* of ours */                                      \
	X(PR_R_XLATE_FRAG, "xlate_fragment")           /* fragments of translated datagrams */            \
	X(PR_R_PASS_DENIED, "pass_denied_source")      /* source not in a rule's allowlist: passed */     \
	X(PR_R_DROP_DENIED, "drop_denied_source")      /* source not in a rule's allowlist: dropped */    \
	X(PR_R_PASS_LOCAL_SOCKET, "pass_dmz_local_socket") /* a DMZ rule matched, but a local socket      \
							    * owns the packet */                          \
	X(PR_R_PASS_REPLY_EGRESS, "pass_reply_to_egress") /* a reply that cannot go straight out: left    \
							   * for the egress hook to translate */      \
	X(PR_R_DROP_SNAT_EXHAUSTED, "drop_snat_exhausted") /* new flow dropped: no free source port      \
							    * (full NAT, hairpin or a tuple clash) */     \
	X(PR_R_XLATE_PORT_REMAP, "xlate_port_remapped") /* new flows whose source port was changed so    \
							 * their reply tuple clashes with no live flow */ \
	X(PR_R_DROP_SNAT_NO_ADDR, "drop_snat_no_address") /* new flow dropped: masquerade or hairpin     \
							   * found no address for its interface */    \
	X(PR_R_DROP_NAT2_NO_ROUTE, "drop_nat2_no_route") /* a full-NAT packet ingress cannot send out     \
							  * itself (no route, TTL, MTU): the stack would   \
							  * take it for a martian */                     \
	/* local clients */                                                                                \
	X(PR_R_XLATE_SOCK, "xlate_local_socket")       /* a local connect or send translated at the socket */ \
	X(PR_R_PASS_LOOPBACK, "pass_loopback_dst")     /* a packet from outside to a loopback address:       \
							* loopback rules serve local clients only */  \
	/* path MTU of full-NAT flows */                                                                   \
	X(PR_R_DROP_TOO_BIG_ICMP, "drop_too_big_icmp_sent") /* a full-NAT packet too big for its egress:  \
							     * dropped, and ICMP frag-needed or packet-too-big \
							     * sent back to its sender */              \
	/* containers behind veth */                                                                       \
	X(PR_R_REDIRECT_PEER, "redirect_peer")         /* of the redirects, those TC ingress delivered into   \
							* a veth's peer in another namespace directly \
							* (bpf_redirect_peer) */                        \
	X(PR_R_XLATE_PORT_REUSE, "xlate_port_reused")  /* new TCP flows given the source port of a flow  \
							* that is over (RST, or its last FIN acked) */  \
	/* XDP into a veth */                                                                              \
	X(PR_R_REDIRECT_VETH, "redirect_xdp_veth")     /* of the redirects, those XDP sent into a veth    \
							* whose far end takes XDP frames (pr_vxmit) */  \
	X(PR_R_DROP_VETH_REFUSED, "drop_xdp_veth_refused") /* of those, frames the kernel refused: the     \
							    * far end had just lost NAPI; each turns the veth \
							    * off for XDP (bpf/vxmit.bpf.c) */

#define PR_REASON_ENUM(id, name) id,
enum pr_reason {
	PR_REASONS(PR_REASON_ENUM)
	PR_R_MAX,
};
#undef PR_REASON_ENUM
/* pr_gstats has fixed room, so new reasons do not change the pinned map. */
#define PR_GSTATS_SLOTS 64
/* Table events, counted in pr_gstats's last slots (apart from the packet
 * reasons above, which grow from slot 0): a live flow's entry found evicted
 * by the LRU (the flow's other entry saw a packet and the peer was gone;
 * see docs/design.md, "Conntrack"). */
#define PR_G_CT_EVICTED (PR_GSTATS_SLOTS - 1)
_Static_assert(PR_R_MAX <= PR_G_CT_EVICTED, "pr_gstats too small");

/* Interface attachment record, keyed by (netns inode, ifindex); for status only. */
struct pr_iface_key {
	__u64 netns_ino;
	__u32 ifindex;
	__u32 pad;
};

enum pr_mode { PR_MODE_NONE = 0, PR_MODE_NATIVE, PR_MODE_GENERIC, PR_MODE_TC };

struct pr_iface {
	char name[16];
	__u32 mode;         /* enum pr_mode */
	__u32 flags;        /* PR_IF_* */
	__u32 xdp_prog_id;
	__u32 tc_in_prog_id;
	__u32 tc_eg_prog_id;
	__u32 pad;
	__u64 attached_ns;  /* CLOCK_REALTIME */
};

#define PR_IF_OWN_CLSACT (1u << 0) /* we created the clsact qdisc, so detach may remove it */
#define PR_IF_XDP_TX (1u << 1)     /* egress added to the redirect devmap */
#define PR_IF_VIA_STACK (1u << 2)  /* translated packets take the stack's forward path (attach --via-stack) */
#define PR_IF_AUTO (1u << 3)       /* the operator asked for --mode auto (mode holds what auto chose); records
				    * written before this bit existed lack it and read as the mode asked for */
#define PR_IF_THREADED_OK (1u << 4) /* native XDP on a veth with threaded NAPI was asked for (--allow-threaded-napi) */

/* Schema record in pr_info[0]. */
struct pr_info {
	__u32 magic;
	__u32 schema;
};

/* XDP -> TC ingress handoff in the packet metadata area: TC skips packets XDP finished. */
#define PR_META_DONE 0x50524f4b /* "PROK" */

/* TC filter identity, so attach replaces and detach removes only ours. */
#define PR_TC_HANDLE 0x5052
#define PR_TC_PRIO 0x5052

/* ---- Local clients (issue 11 part 1): socket hooks on the cgroup2 root ----
 * Kept apart so the schema work can merge around it. The cgroup sock_addr
 * programs (bpf/sock.bpf.c) translate the connects and sends of processes in
 * one network namespace; these maps are theirs. */

/* A local address of a network namespace that has the socket hooks: a
 * connect to (address, port) takes a ":PORT" rule only when the address is
 * loopback or listed here. The loader fills it on attach, add and apply. */
struct pr_local_key {
	__u64 netns_cookie; /* SO_NETNS_COOKIE of the namespace */
	union pr_addr addr;
	__u8 family;        /* enum pr_family */
	__u8 pad[7];
};
_Static_assert(sizeof(struct pr_local_key) == 32, "pr_local_key layout");
#define PR_LOCAL_ADDRS 4096

/* What a socket connected or sent to before translation, keyed by the
 * socket and the target it was translated to: recvmsg and getpeername turn
 * the target back into the address the program asked for. */
struct pr_sock_rev_key {
	__u64 cookie;       /* bpf_get_socket_cookie() */
	union pr_addr addr; /* the target */
	__be16 port;
	__u8 proto;
	__u8 family;
	__u8 pad[4];
};
_Static_assert(sizeof(struct pr_sock_rev_key) == 32, "pr_sock_rev_key layout");

struct pr_sock_rev_val {
	union pr_addr addr; /* what the socket asked for */
	__be16 port;
	__u8 pad[2];
	__u32 rule_id;
};
_Static_assert(sizeof(struct pr_sock_rev_val) == 24, "pr_sock_rev_val layout");
#define PR_SOCK_REV_ENTRIES 65536

/* Socket hooks of one network namespace, keyed by its cookie; userspace only. */
struct pr_local_ns {
	char cgroup[112];   /* the cgroup2 directory they are attached to */
	__u32 flags;        /* PR_LOCAL_F_* */
	__u32 pad;
	__u64 attached_ns;  /* CLOCK_REALTIME */
};
_Static_assert(sizeof(struct pr_local_ns) == 128, "pr_local_ns layout");
#define PR_LOCAL_F_EXPLICIT (1u << 0) /* attach --local asked for them: they stay without interfaces */
#define PR_LOCAL_NS 256
/* ---- end of local clients ---- */

/* ---- Monitor (issue 12 part 3): events on a ring buffer while a monitor runs ----
 * Kept apart so the other branches merge around it. The datapath emits an
 * event when a flow opens, is denied by an allowlist, is refused (no source
 * port, no address) or finds a live entry evicted, and only while
 * pr_mon_ctl's lease is in the future: with no monitor, one array lookup on
 * those paths, nothing per packet of an established flow. */
enum pr_mon_type {
	PR_MON_NEW = 1,     /* a flow opened: its rule, client, listen, target and source */
	PR_MON_DENIED = 2,  /* a new flow the rule's allowlist refused (reason: pass or drop) */
	PR_MON_REFUSED = 3, /* a new flow that could not open (reason: no port, no address, insert) */
	PR_MON_EVICTED = 4, /* a live flow's entry found evicted by the LRU (and made again) */
	PR_MON_TYPE_MAX,
};
#define PR_MON_MASK(t) (1u << (t))
#define PR_MON_ALL (PR_MON_MASK(PR_MON_NEW) | PR_MON_MASK(PR_MON_DENIED) | PR_MON_MASK(PR_MON_REFUSED) | \
		    PR_MON_MASK(PR_MON_EVICTED))

/* pr_mon_ctl[0]: the monitor's lease and its filters, written by the monitor
 * only. The datapath emits nothing once lease_until has passed, so a killed
 * monitor costs nothing after at most PR_MON_LEASE_NS. */
struct pr_mon_ctl {
	__u64 lease_until;  /* CLOCK_MONOTONIC ns; 0 or past: no monitor */
	__u64 interval_ns;  /* the rate limit: one event per interval per CPU (GCRA) ... */
	__u64 tolerance_ns; /* ... after a burst: (burst - 1) x interval */
	union pr_addr addr; /* family != 0: only events with an address in addr/mask */
	union pr_addr mask;
	__u32 rule_id;      /* 0: every rule */
	__u32 events;       /* PR_MON_MASK() of the types wanted */
	__u32 owner;        /* the monitor's pid, for the message refusing a second one */
	__u8 family;        /* enum pr_family of addr; 0: no address filter */
	__u8 pad[3];
};
_Static_assert(sizeof(struct pr_mon_ctl) == 72, "pr_mon_ctl layout");
#define PR_MON_LEASE_NS 2000000000ULL   /* the monitor renews it every second */
#define PR_MON_RING_BYTES (256 * 1024)  /* pr_mon_ring: about 2,700 events */

/* One event on pr_mon_ring; ports in network order. */
#define PR_MON_F_TARGET (1u << 0) /* target is known */
#define PR_MON_F_SOURCE (1u << 1) /* source (what the target sees) is known */
#define PR_MON_F_NAT2 (1u << 2)   /* the flow has a second rewrite (full NAT or a remapped port) */
#define PR_MON_F_LOCAL (1u << 3)  /* a local client's connect or send (the socket hooks): no client address yet */
struct pr_mon_event {
	__u64 ts_ns;          /* bpf_ktime_get_coarse_ns() */
	union pr_addr client; /* the flow's client ... */
	union pr_addr listen; /* ... the address it sent to ... */
	union pr_addr target; /* ... where the rule sends it ... */
	union pr_addr source; /* ... and the source the target sees */
	__be16 client_port, listen_port, target_port, source_port;
	__u32 rule_id;
	__u32 ifindex;        /* the device the packet came in on; 0 when unknown */
	__u16 reason;         /* enum pr_reason: why denied or refused; 0 otherwise */
	__u8 type;            /* enum pr_mon_type */
	__u8 proto;
	__u8 family;
	__u8 flags;           /* PR_MON_F_* */
	__u8 state;           /* enum pr_ct_state of an evicted flow */
	__u8 pad;
};
_Static_assert(sizeof(struct pr_mon_event) == 96, "pr_mon_event layout");

/* pr_mon_cpu[0], per CPU: the rate limit's theoretical arrival time and what
 * the datapath did with the events that passed the filters. */
struct pr_mon_cpu {
	__u64 tat;     /* GCRA: the next event is due at this coarse ns */
	__u64 emitted; /* put on the ring */
	__u64 dropped; /* over the rate limit */
	__u64 lost;    /* the ring was full */
};
_Static_assert(sizeof(struct pr_mon_cpu) == 32, "pr_mon_cpu layout");
/* ---- end of monitor ---- */

#endif /* PORTREDIR_H */
