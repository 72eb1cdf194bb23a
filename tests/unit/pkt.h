/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Test packet builder: Ethernet + IPv4/IPv6 + TCP/UDP/ICMP from a spec, checksums computed from scratch. */
#ifndef PR_PKT_H
#define PR_PKT_H

#include <stdbool.h>
#include <linux/types.h>

struct iphdr;
struct ipv6hdr;

#define PKT_MAX 4096

struct pkt {
	unsigned char b[PKT_MAX];
	__u32 len;
};

/* IPv6 extension headers in front of the L4 header. */
enum pkt_ext6 {
	EXT_NONE,
	EXT_HBH_DST,      /* hop-by-hop (8 bytes) then destination options (16) */
	EXT_ROUTING_LEFT, /* a routing header with one segment left */
	EXT_FRAG_FIRST,   /* a fragment header: offset 0, more fragments, id 0x1234 */
};

/* A TCP or UDP packet. The family follows src: IPv6 when it holds a ':'.
 * Zero fields take defaults: TTL/hop limit 64, DF set, the test MACs. */
struct pkt_spec {
	const char *src, *dst;
	__u16 sport, dport;
	__u8 proto;
	__u8 tcp_flags;
	__u8 ttl, tos;
	int ip_opt_words;    /* IPv4: 32-bit words of options (NOPs then EOL) */
	int payload;         /* bytes, a fixed pattern */
	bool udp_zero_csum;  /* IPv4 UDP without a checksum */
	bool partial_csum;   /* L4 checksum field holds the pseudo-header seed (CHECKSUM_PARTIAL) */
	__u16 frag_off;      /* IPv4, host order, flags and offset; 0: DF only */
	enum pkt_ext6 ext6;
	const unsigned char *dmac, *smac; /* 6 bytes each; NULL: 02:..:01 and 02:..:02 */
};

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* Copy a packet. Use this, not struct assignment: the headers are read
 * through casts of b, which type-based alias analysis does not tie to a
 * struct pkt store (gcc -O2 moved a header read above an assignment). */
void pkt_copy(struct pkt *dst, const struct pkt *src);
/* Zero p and build s into it. */
void pkt_build(struct pkt *p, const struct pkt_spec *s);
/* An ICMP (IPv4) or ICMPv6 error from src to dst quoting the first qlen
 * bytes of q's IP packet; rest is the 32-bit field after the checksum. */
void pkt_icmp(struct pkt *p, const char *src, const char *dst, __u8 type, __u8 code, __u32 rest,
	      const struct pkt *q, int qlen);

/* Recompute p's IPv4 header and L4 checksums from scratch (after a case
 * changed a field, say TCP's doff). */
void pkt_csum_refill(struct pkt *p);

struct iphdr *pkt_ip4(struct pkt *p);
struct ipv6hdr *pkt_ip6(struct pkt *p);
bool pkt_is_ip6(const struct pkt *p);
/* Offset of the L4 header from the start of the frame (IPv6: past the extension headers). */
int pkt_l4_off(struct pkt *p);
void *pkt_l4(struct pkt *p);
__u16 pkt_sport(struct pkt *p);
__u16 pkt_dport(struct pkt *p);
/* The L4 checksum field, host order (TCP or UDP). */
__u16 pkt_l4_csum_field(struct pkt *p);

/* The pseudo-header sum, folded, host order: what a CHECKSUM_PARTIAL
 * packet carries in its L4 checksum field. */
__u16 pkt_l4_pseudo_seed(struct pkt *p);

/* The IPv4 header checksum from scratch, host order. */
__u16 pkt_ip4_csum(const struct iphdr *ip);
bool pkt_ip4_csum_ok(struct pkt *p);
/* The L4 checksum (TCP, UDP, ICMP, ICMPv6) verifies from scratch over the
 * pseudo header and the whole segment; IPv4 UDP checksum 0 (none) passes. */
bool pkt_l4_csum_ok(struct pkt *p);

/* Split the unfragmented IPv4 datagram d into fragments of at most chunk
 * payload bytes (a multiple of 8); returns the count (at most max). */
int pkt_fragment4(const struct pkt *d, int chunk, struct pkt *f, int max);
/* Put IPv4 fragments f[0..n) back into one unfragmented datagram (the
 * header of f[0], offsets cleared); -EINVAL if one does not fit. */
int pkt_reassemble4(const struct pkt *f, int n, struct pkt *whole);

#endif
