/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Incremental one's-complement checksum updates (RFC 1624) for XDP, where no skb helpers exist. */
#ifndef PR_CSUM_H
#define PR_CSUM_H

#include <linux/types.h>

/* All values are 16-bit words exactly as they sit in the packet; one's-complement
 * sums do not care about byte order as long as every word is read the same way. */
static __always_inline __u16 pr_csum_add16(__u16 a, __u16 b)
{
	__u32 s = (__u32)a + b;

	return (s & 0xffff) + (s >> 16);
}

/* Fold a 32-bit accumulation of 16-bit words into 16 bits (not complemented). */
static __always_inline __u16 pr_csum_fold32(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return s;
}

/* HC' = ~(~HC + ~m + m') for a 16-bit field change from -> to. */
static __always_inline void pr_csum_replace2(__u16 *sum, __u16 from, __u16 to)
{
	__u16 c = ~*sum;

	c = pr_csum_add16(c, ~from);
	c = pr_csum_add16(c, to);
	*sum = ~c;
}

static __always_inline void pr_csum_replace4(__u16 *sum, __u32 from, __u32 to)
{
	pr_csum_replace2(sum, (__u16)from, (__u16)to);
	pr_csum_replace2(sum, (__u16)(from >> 16), (__u16)(to >> 16));
}

/* Non-complemented pseudo-header sum for IPv4, as the stack leaves it in the
 * L4 checksum field of a CHECKSUM_PARTIAL packet. */
static __always_inline __u16 pr_pseudo4(__u32 saddr, __u32 daddr, __u8 proto, __u16 l4_len)
{
	__u32 s = 0;

	s += (__u16)saddr + (saddr >> 16);
	s += (__u16)daddr + (daddr >> 16);
	s += bpf_htons(proto);
	s += bpf_htons(l4_len);
	return pr_csum_fold32(s);
}

/* True when check may be a CHECKSUM_PARTIAL seed rather than a full checksum.
 * A partial packet always carries exactly the pseudo-header sum; a complete one
 * matches it by chance 1 time in 65536. XDP cannot see ip_summed, so it leaves
 * every such packet to TC, whose helpers know which case they are in. */
static __always_inline int pr_csum_maybe_partial(__u16 check, __u16 pseudo)
{
	if (check == pseudo)
		return 1;
	/* 0x0000 and 0xffff are the same value in one's complement */
	return (check == 0 || check == 0xffff) && (pseudo == 0 || pseudo == 0xffff);
}

#endif
