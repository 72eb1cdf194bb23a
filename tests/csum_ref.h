/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Reference Internet checksum arithmetic for tests and benchmarks: computed from scratch, never incrementally. */
#ifndef PR_CSUM_REF_H
#define PR_CSUM_REF_H

#include <stddef.h>
#include <linux/types.h>

/* Add the big-endian 16-bit words of data to s (an odd last byte is padded). */
static inline __u32 sum16(const void *data, size_t len, __u32 s)
{
	const unsigned char *p = data;

	for (; len > 1; len -= 2, p += 2)
		s += (p[0] << 8) | p[1];
	if (len)
		s += p[0] << 8;
	return s;
}

/* Fold to 16 bits, not complemented. */
static inline __u16 fold(__u32 s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

#endif
