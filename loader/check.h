/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the files of check (check.c, check_run.c, check_host.c) share; not part of the library API. */
#ifndef PR_CHECK_H
#define PR_CHECK_H

#include "libportredir.h"

/* check_run.c */
/* The client's first packet (TCP SYN, or a UDP datagram of 8 bytes) from
 * r->src to r->dst into buf, checksums complete: its length, or -ENOSPC. */
int pr_check_packet(const struct pr_check_result *r, const __u8 dmac[6], const __u8 smac[6], __u8 *buf,
		    size_t size);
/* Run pkt through a private instance of the programs of r's interface
 * (XDP, then TC ingress when XDP leaves it; TC ingress alone in tc mode or
 * unattached) and fill r's verdict, output and reasons. */
int pr_check_run(struct pr_ctx *c, struct pr_check_result *r, const __u8 *pkt, size_t len);

/* check_host.c: the host's view, through rtnetlink, /proc and nft. */
struct pr_route {
	bool found;
	__u8 type;           /* RTN_* */
	__u32 oif;
	bool has_gw, has_src;
	union pr_addr gw, src;
};
/* The route the host would use towards dst (an output lookup, as
 * `ip route get DST`): 0 with rt->found, or 0 with !found when the kernel
 * has none (unreachable), or -errno when netlink failed. */
int pr_route_get(__u8 family, const union pr_addr *dst, struct pr_route *rt);
/* The neighbour entry of addr on ifindex: its NUD state name ("none" when
 * there is no entry) and its MAC when it has one. */
void pr_neigh_get(__u8 family, const union pr_addr *addr, __u32 ifindex, char *state, size_t len, __u8 mac[6],
		  bool *has_mac);
/* An interface's MAC (zeros when it has none). */
void pr_if_mac(const char *ifname, __u8 mac[6]);
/* The first global address of ifname in family, and its prefix length: 0 or -ENOENT. */
int pr_if_addr(const char *ifname, __u8 family, union pr_addr *a, __u8 *plen);
/* The interface that has addr as its own address into ifname (and whether
 * it is loopback): 0 or -ENOENT. */
int pr_addr_owner(__u8 family, const union pr_addr *addr, char *ifname, size_t len);
/* /proc/sys/net/... as an integer, or -1 when it cannot be read. */
int pr_sysctl_int(const char *path);
/* A socket of proto listening (TCP) or bound (UDP) on port at addr or a
 * wildcard address, from /proc/net: 1 with what it is bound to in desc, 0
 * when there is none. */
int pr_local_socket(__u8 proto, __u8 family, const union pr_addr *addr, __u16 port, char *desc, size_t len);
/* nftables rules that DNAT or redirect proto's port (nft -j list ruleset):
 * the count, with the first's description and how to delete it; -ENOENT
 * when nft is not installed, -EIO when its output could not be read. */
int pr_nft_dnat(__u8 proto, __u16 port, char *desc, size_t dlen, char *del, size_t llen);

#endif
