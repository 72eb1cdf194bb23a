/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Kernel types for the datapath: vmlinux.h (BTF of the oldest kernel we support), libbpf's helpers, and the UAPI constants BTF cannot carry. */
#ifndef PR_KERNEL_H
#define PR_KERNEL_H

/* The BPF objects include no libc or UAPI header at all (the Makefile builds
 * them with -nostdinc), so a fresh machine needs no 32-bit glibc stubs.
 * vmlinux.h carries every struct and enum; #defines are not in BTF. */
/* Wire headers (ethhdr, iphdr, ...) have one layout on every kernel: no CO-RE
 * relocations for them, so the code is what the UAPI headers would give. */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* <linux/if_ether.h> */
#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8

/* <linux/pkt_cls.h> */
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7

/* <linux/socket.h> */
#define AF_INET 2
#define AF_INET6 10

/* <linux/icmp.h> */
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12
#define ICMP_FRAG_NEEDED 4 /* code of ICMP_DEST_UNREACH */

/* <linux/icmpv6.h> */
#define ICMPV6_DEST_UNREACH 1
#define ICMPV6_PKT_TOOBIG 2
#define ICMPV6_TIME_EXCEED 3
#define ICMPV6_PARAMPROB 4
#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_ECHO_REPLY 129

/* <linux/bpf.h>: an anonymous enum member of type long, absent from BTF. */
#define BPF_F_CURRENT_NETNS (-1L)

#endif
