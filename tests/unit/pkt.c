// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Test packet builder and from-scratch checksum checks, for the unit tests and the fuzzer's seeds. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <linux/if_ether.h>
#include <linux/icmp.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include "csum_ref.h"
#include "pkt.h"

static const unsigned char DMAC[6] = { 2, 0, 0, 0, 0, 1 }, SMAC[6] = { 2, 0, 0, 0, 0, 2 };

void pkt_copy(struct pkt *dst, const struct pkt *src)
{
	memcpy(dst, src, sizeof(*dst));
}

struct iphdr *pkt_ip4(struct pkt *p) { return (void *)(p->b + ETH_HLEN); }
struct ipv6hdr *pkt_ip6(struct pkt *p) { return (void *)(p->b + ETH_HLEN); }
bool pkt_is_ip6(const struct pkt *p) { return p->b[12] == 0x86 && p->b[13] == 0xdd; }

__u16 pkt_ip4_csum(const struct iphdr *ip)
{
	return ~fold(sum16(ip, ip->ihl * 4, 0)) & 0xffff;
}

bool pkt_ip4_csum_ok(struct pkt *p)
{
	struct iphdr *ip = pkt_ip4(p);

	return fold(sum16(ip, ip->ihl * 4, 0)) == 0xffff;
}

/* The L4 protocol and the length of the L4 segment. */
static __u8 l4_proto(struct pkt *p, __u32 *len)
{
	if (pkt_is_ip6(p)) {
		struct ipv6hdr *ip6 = pkt_ip6(p);
		__u8 *h = (__u8 *)(ip6 + 1), nh = ip6->nexthdr;

		while (nh == 0 || nh == 60 || nh == 43 || nh == 44) {
			nh = h[0];
			h += nh == 44 ? 8 : (h[1] + 1) * 8;
		}
		*len = ETH_HLEN + 40 + ntohs(ip6->payload_len) - pkt_l4_off(p);
		return nh;
	}
	*len = ntohs(pkt_ip4(p)->tot_len) - pkt_ip4(p)->ihl * 4;
	return pkt_ip4(p)->protocol;
}

int pkt_l4_off(struct pkt *p)
{
	if (pkt_is_ip6(p)) {
		__u8 *h = (__u8 *)(pkt_ip6(p) + 1), nh = pkt_ip6(p)->nexthdr;
		int off = ETH_HLEN + 40;

		while (nh == 0 || nh == 60 || nh == 43 || nh == 44) {
			int len = nh == 44 ? 8 : (h[1] + 1) * 8;

			nh = h[0];
			h += len;
			off += len;
		}
		return off;
	}
	return ETH_HLEN + pkt_ip4(p)->ihl * 4;
}

void *pkt_l4(struct pkt *p) { return p->b + pkt_l4_off(p); }
__u16 pkt_sport(struct pkt *p) { return ntohs(((__be16 *)pkt_l4(p))[0]); }
__u16 pkt_dport(struct pkt *p) { return ntohs(((__be16 *)pkt_l4(p))[1]); }

/* Pseudo-header sum; ICMP (IPv4) has none. */
static __u32 pseudo_sum(struct pkt *p, __u8 proto, __u32 len)
{
	__u32 s;

	if (pkt_is_ip6(p)) {
		s = sum16(&pkt_ip6(p)->saddr, 16, 0);
		s = sum16(&pkt_ip6(p)->daddr, 16, s);
		return s + (len >> 16) + (len & 0xffff) + proto;
	}
	if (proto == IPPROTO_ICMP)
		return 0;
	s = sum16(&pkt_ip4(p)->saddr, 4, 0);
	s = sum16(&pkt_ip4(p)->daddr, 4, s);
	return s + proto + len;
}

static int csum_off(__u8 proto)
{
	return proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;
}

__u16 pkt_l4_csum_field(struct pkt *p)
{
	__u32 len;
	__u8 proto = l4_proto(p, &len);

	return ntohs(*(__be16 *)((__u8 *)pkt_l4(p) + csum_off(proto)));
}

bool pkt_l4_csum_ok(struct pkt *p)
{
	__u32 len;
	__u8 proto = l4_proto(p, &len);

	if (!pkt_is_ip6(p) && proto == IPPROTO_UDP && pkt_l4_csum_field(p) == 0)
		return true;
	return fold(sum16(pkt_l4(p), len, pseudo_sum(p, proto, len))) == 0xffff;
}

/* Write the checksum of the finished L4 segment (or the partial seed). */
static void l4_csum_fill(struct pkt *p, const struct pkt_spec *s)
{
	__u32 len;
	__u8 proto = l4_proto(p, &len);
	__be16 *field = (__be16 *)((__u8 *)pkt_l4(p) + csum_off(proto));
	__u16 c;

	*field = 0;
	if (s && s->partial_csum) {
		*field = htons(fold(pseudo_sum(p, proto, len)));
		return;
	}
	if (s && proto == IPPROTO_UDP && s->udp_zero_csum)
		return;
	c = ~fold(sum16(pkt_l4(p), len, pseudo_sum(p, proto, len))) & 0xffff;
	/* RFC 768: a computed 0 is sent as 0xffff, since 0 means "none" */
	*field = htons(proto == IPPROTO_UDP && c == 0 ? 0xffff : c);
}

__u16 pkt_l4_pseudo_seed(struct pkt *p)
{
	__u32 len;
	__u8 proto = l4_proto(p, &len);

	return fold(pseudo_sum(p, proto, len));
}

void pkt_csum_refill(struct pkt *p)
{
	if (!pkt_is_ip6(p)) {
		pkt_ip4(p)->check = 0;
		pkt_ip4(p)->check = htons(pkt_ip4_csum(pkt_ip4(p)));
	}
	l4_csum_fill(p, NULL);
}

static void eth_init(struct pkt *p, __u16 proto, const struct pkt_spec *s)
{
	struct ethhdr *eth = (void *)p->b;

	memset(p, 0, sizeof(*p));
	memcpy(eth->h_dest, s && s->dmac ? s->dmac : DMAC, 6);
	memcpy(eth->h_source, s && s->smac ? s->smac : SMAC, 6);
	eth->h_proto = htons(proto);
}

/* Returns the length of the extension headers written at h. */
static int ext6_write(__u8 *h, __u8 *nexthdr, __u8 proto, enum pkt_ext6 ext)
{
	*nexthdr = proto;
	if (ext == EXT_HBH_DST) {
		*nexthdr = 0;
		h[0] = 60; h[1] = 0; h[2] = 1; h[3] = 4;          /* hop-by-hop, PadN */
		h[8] = proto; h[9] = 1; h[10] = 1; h[11] = 12;    /* destination options, 16 bytes */
		return 24;
	}
	if (ext == EXT_ROUTING_LEFT) {
		*nexthdr = 43;
		h[0] = proto; h[1] = 2; h[2] = 4; h[3] = 1;
		return 24;
	}
	if (ext == EXT_FRAG_FIRST) {
		*nexthdr = 44;
		h[0] = proto; h[3] = 1;                           /* offset 0, M set */
		memcpy(h + 4, "\x00\x00\x12\x34", 4);
		return 8;
	}
	return 0;
}

/* The IP header for s with an L4 segment of l4len; returns the L4 offset. */
static int ip_write(struct pkt *p, const struct pkt_spec *s, int l4len)
{
	if (strchr(s->src, ':')) {
		struct ipv6hdr *ip6 = pkt_ip6(p);
		int elen;

		eth_init(p, ETH_P_IPV6, s);
		ip6->version = 6;
		ip6->hop_limit = s->ttl ? s->ttl : 64;
		inet_pton(AF_INET6, s->src, &ip6->saddr);
		inet_pton(AF_INET6, s->dst, &ip6->daddr);
		elen = ext6_write((__u8 *)(ip6 + 1), &ip6->nexthdr, s->proto, s->ext6);
		ip6->payload_len = htons(elen + l4len);
		return ETH_HLEN + 40 + elen;
	}
	struct iphdr *ip = pkt_ip4(p);

	eth_init(p, ETH_P_IP, s);
	ip->version = 4;
	ip->ihl = 5 + s->ip_opt_words;
	ip->tos = s->tos;
	ip->ttl = s->ttl ? s->ttl : 64;
	ip->protocol = s->proto;
	ip->id = htons(0x1234);
	ip->frag_off = htons(s->frag_off ? s->frag_off : 0x4000 /* DF */);
	inet_pton(AF_INET, s->src, &ip->saddr);
	inet_pton(AF_INET, s->dst, &ip->daddr);
	for (int i = 0; i < s->ip_opt_words * 4; i++)
		((__u8 *)(ip + 1))[i] = i == s->ip_opt_words * 4 - 1 ? 0 /* EOL */ : 1 /* NOP */;
	ip->tot_len = htons(ip->ihl * 4 + l4len);
	ip->check = htons(pkt_ip4_csum(ip));
	return ETH_HLEN + ip->ihl * 4;
}

void pkt_build(struct pkt *p, const struct pkt_spec *s)
{
	bool v6 = strchr(s->src, ':');
	int l4hdr = s->proto == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr);
	int l4len = l4hdr + s->payload, off = ip_write(p, s, l4len);
	__u8 *l4 = p->b + off;

	((__be16 *)l4)[0] = htons(s->sport);
	((__be16 *)l4)[1] = htons(s->dport);
	if (s->proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)l4;

		th->seq = htonl(v6 ? 0 : 1000);
		th->doff = 5;
		l4[13] = s->tcp_flags;
		th->window = htons(v6 ? 0 : 64240);
	} else {
		((struct udphdr *)l4)->len = htons(l4len);
	}
	for (int i = 0; i < s->payload; i++)
		l4[l4hdr + i] = v6 ? (__u8)(i * 5 + 1) : (__u8)(i * 7 + 3);
	p->len = off + l4len;
	l4_csum_fill(p, s);
}

void pkt_icmp(struct pkt *p, const char *src, const char *dst, __u8 type, __u8 code, __u32 rest,
	      const struct pkt *q, int qlen)
{
	struct pkt_spec s = { .src = src, .dst = dst };
	bool v6 = strchr(src, ':');
	int off;
	__u8 *ic;

	s.proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	off = ip_write(p, &s, 8 + qlen);
	if (!v6) {
		/* an error as a router sends it: no DF, id 0 */
		pkt_ip4(p)->id = 0;
		pkt_ip4(p)->frag_off = 0;
		pkt_ip4(p)->check = 0;
		pkt_ip4(p)->check = htons(pkt_ip4_csum(pkt_ip4(p)));
	}
	ic = p->b + off;
	ic[0] = type;
	ic[1] = code;
	*(__be32 *)(ic + 4) = htonl(rest);
	memcpy(ic + 8, q->b + ETH_HLEN, qlen);
	p->len = off + 8 + qlen;
	l4_csum_fill(p, NULL);
}

int pkt_fragment4(const struct pkt *d, int chunk, struct pkt *f, int max)
{
	const struct iphdr *dip = (const void *)(d->b + ETH_HLEN);
	int hl = dip->ihl * 4, total = ntohs(dip->tot_len) - hl, n = 0;

	for (int off = 0; off < total && n < max; off += chunk, n++) {
		int len = total - off < chunk ? total - off : chunk;
		struct iphdr *ip;

		memset(&f[n], 0, sizeof(f[n]));
		memcpy(f[n].b, d->b, ETH_HLEN + hl);
		memcpy(f[n].b + ETH_HLEN + hl, d->b + ETH_HLEN + hl + off, len);
		ip = pkt_ip4(&f[n]);
		ip->frag_off = htons((off / 8) | (off + len < total ? 0x2000 : 0));
		ip->tot_len = htons(hl + len);
		ip->check = 0;
		ip->check = htons(pkt_ip4_csum(ip));
		f[n].len = ETH_HLEN + hl + len;
	}
	return n;
}

int pkt_reassemble4(const struct pkt *f, int n, struct pkt *whole)
{
	int hl, len = 0;

	pkt_copy(whole, &f[0]);
	hl = pkt_ip4(whole)->ihl * 4;
	for (int i = 0; i < n; i++) {
		const struct iphdr *fi = (const void *)(f[i].b + ETH_HLEN);
		int plen = ntohs(fi->tot_len) - fi->ihl * 4, off = (ntohs(fi->frag_off) & 0x1fff) * 8;

		if (ETH_HLEN + hl + off + plen > PKT_MAX)
			return -EINVAL;
		memcpy(whole->b + ETH_HLEN + hl + off, f[i].b + ETH_HLEN + fi->ihl * 4, plen);
		if (off + plen > len)
			len = off + plen;
	}
	pkt_ip4(whole)->frag_off = 0;
	pkt_ip4(whole)->tot_len = htons(hl + len);
	pkt_ip4(whole)->check = 0;
	pkt_ip4(whole)->check = htons(pkt_ip4_csum(pkt_ip4(whole)));
	whole->len = ETH_HLEN + hl + len;
	return 0;
}
