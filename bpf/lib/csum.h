/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Incremental one's-complement checksum updates (RFC 1624) for XDP, where no skb helpers exist. */
#ifndef PR_CSUM_H
#define PR_CSUM_H

#include "kernel.h"
#include "portredir.h"

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

/* Add d, a folded one's-complement change (pr_csum_delta*()), to the
 * checksum at sum: RFC 1624's HC' = ~(~HC + d). */
static __always_inline void pr_csum_apply(__u16 *sum, __u16 d)
{
	*sum = ~pr_csum_add16(~*sum, d);
}

/* The change ~m + m' of a 16-bit field from -> to, for pr_csum_apply(). */
static __always_inline __u16 pr_csum_delta16(__u16 from, __u16 to)
{
	return pr_csum_add16(~from, to);
}

/* The change of an address from -> to (alen 4 or 16 bytes; IPv4 in the
 * first word), folded once for every checksum that covers it. */
static __always_inline __u16 pr_csum_delta_addr(const union pr_addr *from, const union pr_addr *to,
						__u8 alen)
{
	__u32 s = 0;

	for (int i = 0; i < 4; i++) {
		__u32 f = ~from->v6[i], t = to->v6[i];

		if (i * 4 >= alen)
			break;
		s += (f & 0xffff) + (f >> 16) + (t & 0xffff) + (t >> 16);
	}
	return pr_csum_fold32(s);
}

/* An address change in a checksum that covers it (the L4 pseudo header, or
 * ICMPv6). alen is 4 or 16; IPv4 addresses sit in the first word. */
static __always_inline void pr_csum_replace_addr(__u16 *sum, const union pr_addr *from,
						 const union pr_addr *to, __u8 alen)
{
	for (int i = 0; i < 4; i++) {
		if (i * 4 >= alen)
			break;
		pr_csum_replace4(sum, from->v6[i], to->v6[i]);
	}
}

/* Non-complemented pseudo-header sum (IPv4 or IPv6, addresses zero-padded
 * to 16 bytes), as the stack leaves it in the L4 checksum field of a
 * CHECKSUM_PARTIAL packet. */
static __always_inline __u16 pr_pseudo(const union pr_addr *saddr, const union pr_addr *daddr,
				       __u8 proto, __u16 l4_len)
{
	const __u16 *a = (const __u16 *)saddr, *b = (const __u16 *)daddr;
	__u32 s = 0;

	for (int i = 0; i < 8; i++)
		s += a[i] + b[i];
	s += bpf_htons(proto);
	s += bpf_htons(l4_len);
	return pr_csum_fold32(s);
}

/* One's-complement values are equal when they name the same number:
 * 0x0000 and 0xffff are both zero. */
static __always_inline bool pr_csum_same(__u16 a, __u16 b)
{
	return a == b || ((a == 0 || a == 0xffff) && (b == 0 || b == 0xffff));
}

/* True when check may be a CHECKSUM_PARTIAL seed rather than a full checksum.
 * A partial packet always carries exactly the pseudo-header sum; a complete one
 * matches it by chance 1 time in 65536. XDP cannot see ip_summed, so it leaves
 * every such packet to TC, whose helpers know which case they are in. */
static __always_inline int pr_csum_maybe_partial(__u16 check, __u16 pseudo)
{
	return pr_csum_same(check, pseudo);
}

#endif
