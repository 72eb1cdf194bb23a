// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* BPF unit tests: crafted packets through the XDP and TC programs with BPF_PROG_TEST_RUN, checksums recomputed from scratch. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/icmp.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "libportredir.h"
#include "csum_ref.h"
#include "tc.skel.h"
#include "xdp.skel.h"

static int tap_n, tap_fail;
static struct pr_ctx ctx;
static struct xdp_bpf *xskel;
static struct tc_bpf *tskel;

#define CLIENT "198.51.100.2"
#define LISTEN "198.51.100.1"
#define TARGET "203.0.113.2"
#define TARGET2 "203.0.113.3"

static void tap(int ok, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!ok)
		tap_fail++;
	printf("%sok %d - ", ok ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* ---- packets ---- */

struct pkt_spec {
	const char *src, *dst;
	__u16 sport, dport;
	__u8 proto;
	__u8 tcp_flags;
	__u8 ttl, tos;
	int ip_opt_words;    /* 32-bit words of IP options (NOPs then EOL) */
	int payload;         /* bytes */
	bool udp_zero_csum;  /* UDP without a checksum */
	bool partial_csum;   /* L4 checksum field holds the pseudo-header seed */
	__u16 frag_off;      /* host order, flags and offset */
};

struct pkt {
	unsigned char b[4096];
	__u32 len;
};

/* From scratch, in host order: the one's complement of the sum. */
static __u16 ip_csum(const struct iphdr *ip)
{
	return ~fold(sum16(ip, ip->ihl * 4, 0)) & 0xffff;
}

static __u32 pseudo_sum(const struct iphdr *ip, __u16 l4len)
{
	__u32 s = sum16(&ip->saddr, 4, 0);

	s = sum16(&ip->daddr, 4, s);
	return s + ip->protocol + l4len;
}

/* Full L4 checksum over pseudo header and segment, with the field as it is. */
static __u16 l4_verify_sum(const struct iphdr *ip)
{
	__u16 l4len = ntohs(ip->tot_len) - ip->ihl * 4;

	return fold(sum16((const char *)ip + ip->ihl * 4, l4len, pseudo_sum(ip, l4len)));
}

/* Zero p and write the test's Ethernet header for ethertype proto. */
static void eth_init(struct pkt *p, __u16 proto)
{
	struct ethhdr *eth = (void *)p->b;

	memset(p, 0, sizeof(*p));
	memcpy(eth->h_dest, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(eth->h_source, "\x02\x00\x00\x00\x00\x02", 6);
	eth->h_proto = htons(proto);
}

static struct iphdr *iph(struct pkt *p) { return (void *)(p->b + ETH_HLEN); }
static void *l4h(struct pkt *p) { return (char *)iph(p) + iph(p)->ihl * 4; }

static void build(struct pkt *p, const struct pkt_spec *s)
{
	struct iphdr *ip = iph(p);
	int l4hdr = s->proto == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr);
	__u16 l4len = l4hdr + s->payload;
	unsigned char *l4;

	eth_init(p, ETH_P_IP);
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
		((unsigned char *)(ip + 1))[i] = i == s->ip_opt_words * 4 - 1 ? 0 /* EOL */ : 1 /* NOP */;
	ip->tot_len = htons(ip->ihl * 4 + l4len);
	ip->check = htons(ip_csum(ip));
	l4 = l4h(p);
	if (s->proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)l4;

		th->source = htons(s->sport);
		th->dest = htons(s->dport);
		th->seq = htonl(1000);
		th->doff = 5;
		l4[13] = s->tcp_flags;
		th->window = htons(64240);
	} else {
		struct udphdr *uh = (void *)l4;

		uh->source = htons(s->sport);
		uh->dest = htons(s->dport);
		uh->len = htons(l4len);
	}
	for (int i = 0; i < s->payload; i++)
		l4[l4hdr + i] = (unsigned char)(i * 7 + 3);
	p->len = ETH_HLEN + ip->ihl * 4 + l4len;

	__u16 *csum = s->proto == IPPROTO_TCP ? &((struct tcphdr *)l4)->check : &((struct udphdr *)l4)->check;
	if (s->partial_csum)
		*csum = htons(fold(pseudo_sum(ip, l4len)));
	else if (!(s->proto == IPPROTO_UDP && s->udp_zero_csum))
		*csum = htons(~fold(sum16(l4, l4len, pseudo_sum(ip, l4len))) & 0xffff);
}

static __u16 l4_csum_field(struct pkt *p)
{
	unsigned char *l4 = l4h(p);

	return iph(p)->protocol == IPPROTO_TCP ? ntohs(((struct tcphdr *)l4)->check) :
						 ntohs(((struct udphdr *)l4)->check);
}

/* Both checksums valid when recomputed from scratch (UDP 0 = none is valid). */
static bool csums_ok(struct pkt *p)
{
	struct iphdr *ip = iph(p);

	if (fold(sum16(ip, ip->ihl * 4, 0)) != 0xffff)
		return false;
	if (ip->protocol == IPPROTO_UDP && l4_csum_field(p) == 0)
		return true;
	return l4_verify_sum(ip) == 0xffff;
}

static bool addr_is(__be32 a, const char *s)
{
	__be32 b;

	inet_pton(AF_INET, s, &b);
	return a == b;
}

/* ---- running ---- */

/* Metadata XDP left in front of the last packet it ran on (0 if none). */
static __u32 last_meta;

static int run_prog(struct bpf_program *prog, struct pkt *in, struct pkt *out, __u32 ingress_ifindex)
{
	bool is_xdp = bpf_program__type(prog) == BPF_PROG_TYPE_XDP;
	struct xdp_md xctx = { .data_end = in->len, .ingress_ifindex = ingress_ifindex };
	struct __sk_buff sctx = { .ifindex = ingress_ifindex, .ingress_ifindex = ingress_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->b, .data_size_in = in->len, .data_out = out->b,
		    .data_size_out = sizeof(out->b), .repeat = 1);
	int err;

	if (ingress_ifindex && is_xdp) {
		o.ctx_in = &xctx;
		o.ctx_size_in = sizeof(xctx);
	} else if (ingress_ifindex) {
		o.ctx_in = &sctx;
		o.ctx_size_in = sizeof(sctx);
	}
	memset(out, 0, sizeof(*out));
	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &o);
	if (err) {
		diag("test_run failed: %s", strerror(-err));
		return -1;
	}
	out->len = o.data_size_out;
	last_meta = 0;
	/* XDP test runs return the metadata area in front of the packet */
	if (is_xdp && out->len >= in->len + sizeof(__u32)) {
		__u32 ml = out->len - in->len;

		memcpy(&last_meta, out->b, sizeof(__u32));
		memmove(out->b, out->b + ml, in->len);
		out->len = in->len;
	}
	return o.retval;
}

#define XDP_PROG xskel->progs.pr_xdp
#define TC_IN tskel->progs.pr_tc_ingress
#define TC_EG tskel->progs.pr_tc_egress

static __u32 rule_add(const char *proto, const char *listen, __u16 lport, const char *target,
		      __u16 tport, bool replace)
{
	struct pr_rule_spec s = {};
	struct pr_rule_meta out, conflict;

	/* the target's family decides the rule's */
	int af = strchr(target, ':') ? AF_INET6 : AF_INET;

	s.key.proto = strcmp(proto, "tcp") ? IPPROTO_UDP : IPPROTO_TCP;
	s.key.family = af == AF_INET ? PR_AF_INET : PR_AF_INET6;
	s.key.port = htons(lport);
	s.port_last = lport;
	if (listen)
		inet_pton(af, listen, s.key.addr.b);
	inet_pton(af, target, s.target.b);
	s.target_port = htons(tport);
	if (pr_rule_add(&ctx, &s, replace, &out, &conflict)) {
		diag("rule add failed: %s", ctx.err);
		return 0;
	}
	return out.rule.id;
}

static __u64 gstat(unsigned int reason)
{
	__u64 g[PR_R_MAX];

	pr_global_stats(&ctx, g);
	return g[reason];
}

/* Expect the translated packet: only the named fields changed, checksums valid. */
static bool only_changed(struct pkt *in, struct pkt *out, const char *new_src, __u16 new_sport,
			 const char *new_dst, __u16 new_dport)
{
	struct pkt want = *in;
	struct iphdr *ip = iph(&want);
	__be16 *ports = l4h(&want);
	unsigned char *l4c;

	if (new_src)
		inet_pton(AF_INET, new_src, &ip->saddr);
	if (new_dst)
		inet_pton(AF_INET, new_dst, &ip->daddr);
	if (new_sport)
		ports[0] = htons(new_sport);
	if (new_dport)
		ports[1] = htons(new_dport);
	/* checksum fields are checked by csums_ok(); copy them to compare the rest */
	ip->check = iph(out)->check;
	l4c = (unsigned char *)ports + (ip->protocol == IPPROTO_TCP ? 16 : 6);
	memcpy(l4c, (unsigned char *)l4h(out) + (ip->protocol == IPPROTO_TCP ? 16 : 6), 2);
	return out->len == in->len && memcmp(want.b, out->b, in->len) == 0 && csums_ok(out);
}

static bool unchanged(struct pkt *in, struct pkt *out)
{
	return out->len == in->len && memcmp(in->b, out->b, in->len) == 0;
}

/* ---- cases ---- */

static const struct pkt_spec SYN = { .src = CLIENT, .dst = LISTEN, .sport = 40001, .dport = 8080,
				     .proto = IPPROTO_TCP, .tcp_flags = 0x02, .payload = 0 };

static void test_tcp_syn_and_reply(struct bpf_program *fwd, struct bpf_program *rev, int pass,
				   const char *hook, __u16 sport)
{
	struct pkt in, out;
	struct pkt_spec s = SYN;
	int rc;

	s.sport = sport;
	build(&in, &s);
	rc = run_prog(fwd, &in, &out, 0);
	tap(rc == pass && only_changed(&in, &out, NULL, 0, TARGET, 80) &&
		    (pass != XDP_PASS || last_meta == PR_META_DONE),
	    "%s: TCP SYN to a rule is rewritten to the target with valid checksums%s", hook,
	    pass == XDP_PASS ? " and marked done for TC" : "");

	struct pkt_spec r = { .src = TARGET, .dst = CLIENT, .sport = 80, .dport = sport,
			      .proto = IPPROTO_TCP, .tcp_flags = 0x12, .payload = 0 };
	build(&in, &r);
	if (pass == XDP_PASS) {
		/* no route out of this namespace: XDP leaves the reply to the
		 * egress hook, since the stack would drop it as martian */
		__u64 before = gstat(PR_R_PASS_REPLY_EGRESS);

		rc = run_prog(fwd, &in, &out, 0);
		tap(rc == XDP_PASS && unchanged(&in, &out) && last_meta == PR_META_DONE &&
			    gstat(PR_R_PASS_REPLY_EGRESS) == before + 1,
		    "%s: a reply with no direct way out is left untranslated, marked done, for the egress hook",
		    hook);
		rev = TC_EG;
	}
	rc = run_prog(rev, &in, &out, 0);
	tap(rc == (rev == TC_EG ? TC_ACT_OK : pass) && only_changed(&in, &out, LISTEN, 8080, NULL, 0),
	    "%s: reply from the target is reverse-translated to the listen address", rev == TC_EG ? "tc egress" : hook);

	/* data after the handshake, with payload, keeps flowing to the target */
	s.tcp_flags = 0x18;
	s.payload = 333;
	build(&in, &s);
	rc = run_prog(fwd, &in, &out, 0);
	tap(rc == pass && only_changed(&in, &out, NULL, 0, TARGET, 80),
	    "%s: established data segment (odd payload length) follows its flow", hook);
}

static void test_replace_keeps_flow(void)
{
	struct pkt in, out;
	struct pkt_spec s = SYN;
	bool ok;

	s.sport = 40100;
	build(&in, &s);
	run_prog(XDP_PROG, &in, &out, 0);
	rule_add("tcp", NULL, 8080, TARGET2, 81, true);

	s.tcp_flags = 0x10;
	s.payload = 10;
	build(&in, &s);
	ok = run_prog(XDP_PROG, &in, &out, 0) == XDP_PASS && only_changed(&in, &out, NULL, 0, TARGET, 80);
	tap(ok, "established flow keeps its old target after --replace");

	s.sport = 40101;
	s.tcp_flags = 0x02;
	s.payload = 0;
	build(&in, &s);
	ok = run_prog(XDP_PROG, &in, &out, 0) == XDP_PASS && only_changed(&in, &out, NULL, 0, TARGET2, 81);
	tap(ok, "new flow after --replace takes the new target");

	s.sport = 40102;
	build(&in, &s);
	ok = run_prog(TC_IN, &in, &out, 0) == TC_ACT_OK && only_changed(&in, &out, NULL, 0, TARGET2, 81);
	tap(ok, "tc ingress: new flow after --replace takes the new target");
	rule_add("tcp", NULL, 8080, TARGET, 80, true);
}

static void test_untouched(void)
{
	static const struct {
		const char *desc;
		struct pkt_spec s;
		int cut;          /* truncate the buffer to this many bytes */
		int mangle;       /* 1 ihl<5, 2 doff<5, 3 udp len too big, 4 tot_len too big */
		unsigned int reason;
	} cases[] = {
		{ "non-matching port", { .src = CLIENT, .dst = LISTEN, .sport = 40200, .dport = 9999, .proto = IPPROTO_TCP, .tcp_flags = 0x02 }, 0, 0, PR_R_PASS_NOMATCH },
		{ "non-matching address for an address rule", { .src = CLIENT, .dst = "198.51.100.9", .sport = 40200, .dport = 8443, .proto = IPPROTO_TCP, .tcp_flags = 0x02 }, 0, 0, PR_R_PASS_NOMATCH },
		{ "truncated IPv4 header", { .src = CLIENT, .dst = LISTEN, .sport = 40201, .dport = 8080, .proto = IPPROTO_TCP, .tcp_flags = 0x02 }, ETH_HLEN + 12, 0, PR_R_PASS_MALFORMED },
		{ "truncated TCP header", { .src = CLIENT, .dst = LISTEN, .sport = 40201, .dport = 8080, .proto = IPPROTO_TCP, .tcp_flags = 0x02 }, ETH_HLEN + 20 + 10, 0, PR_R_PASS_MALFORMED },
		{ "truncated UDP header", { .src = CLIENT, .dst = LISTEN, .sport = 40201, .dport = 5353, .proto = IPPROTO_UDP }, ETH_HLEN + 20 + 4, 0, PR_R_PASS_MALFORMED },
		{ "IPv4 ihl below 5", { .src = CLIENT, .dst = LISTEN, .sport = 40202, .dport = 8080, .proto = IPPROTO_TCP, .tcp_flags = 0x02 }, 0, 1, PR_R_PASS_MALFORMED },
		{ "TCP data offset below 5", { .src = CLIENT, .dst = LISTEN, .sport = 40203, .dport = 8080, .proto = IPPROTO_TCP, .tcp_flags = 0x02 }, 0, 2, PR_R_PASS_MALFORMED },
		{ "UDP length beyond the IP payload", { .src = CLIENT, .dst = LISTEN, .sport = 40204, .dport = 5353, .proto = IPPROTO_UDP, .tcp_flags = 0, .ttl = 0, .tos = 0, .ip_opt_words = 0, .payload = 8 }, 0, 3, PR_R_PASS_MALFORMED },
		{ "IPv4 total length beyond the frame", { .src = CLIENT, .dst = LISTEN, .sport = 40205, .dport = 8080, .proto = IPPROTO_TCP, .tcp_flags = 0x02, .ttl = 0, .tos = 0, .ip_opt_words = 0, .payload = 8 }, 0, 4, PR_R_PASS_MALFORMED },
		{ "first IPv4 fragment whose UDP length fits in it", { .src = CLIENT, .dst = LISTEN, .sport = 40206, .dport = 5353, .proto = IPPROTO_UDP, .tcp_flags = 0, .ttl = 0, .tos = 0, .ip_opt_words = 0, .payload = 8, .frag_off = 0x2000 }, 0, 0, PR_R_PASS_MALFORMED },
		{ "later IPv4 fragment of no translated datagram", { .src = CLIENT, .dst = LISTEN, .sport = 40206, .dport = 5353, .proto = IPPROTO_UDP, .tcp_flags = 0, .ttl = 0, .tos = 0, .ip_opt_words = 0, .payload = 8, .frag_off = 0x0100 }, 0, 0, PR_R_PASS_FRAGMENT },
		{ "VLAN-tagged frame (passed to the stack)", { .src = CLIENT, .dst = LISTEN, .sport = 40208, .dport = 8080, .proto = IPPROTO_TCP, .tcp_flags = 0x02 }, 0, 5, PR_R_PASS_NOT_IP },
		{ "TCP RST without a flow", { .src = CLIENT, .dst = LISTEN, .sport = 40207, .dport = 8080, .proto = IPPROTO_TCP, .tcp_flags = 0x04 }, 0, 0, PR_R_PASS_TCP_RST },
		{ "ICMP-like other protocol", { .src = CLIENT, .dst = LISTEN, .sport = 0, .dport = 0, .proto = 47 /* GRE */ }, 0, 0, PR_R_PASS_NOT_L4 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt in, out;
		struct pkt_spec s = cases[i].s;
		struct iphdr *ip;
		__u64 before = gstat(cases[i].reason);
		int rx, rt;

		if (s.proto != IPPROTO_TCP && s.proto != IPPROTO_UDP) {
			s.proto = IPPROTO_UDP;
			build(&in, &s);
			iph(&in)->protocol = 47;
		} else {
			build(&in, &s);
		}
		ip = iph(&in);
		switch (cases[i].mangle) {
		case 1: ip->ihl = 4; break;
		case 2: ((struct tcphdr *)l4h(&in))->doff = 4; break;
		case 3: ((struct udphdr *)l4h(&in))->len = htons(200); break;
		case 4: ip->tot_len = htons(ntohs(ip->tot_len) + 100); break;
		case 5: /* insert an 802.1Q tag: the IPv4 packet sits behind it untouched */
			memmove(in.b + 16, in.b + 12, in.len - 12);
			in.b[12] = 0x81; in.b[13] = 0x00; in.b[14] = 0x00; in.b[15] = 0x07;
			in.len += 4;
			break;
		}
		if (cases[i].cut)
			in.len = cases[i].cut;
		rx = run_prog(XDP_PROG, &in, &out, 0);
		if (rx < 0)
			diag("xdp refused to run it");
		/* an unknown later fragment is left unmarked for TC, which counts it */
		bool okx = rx == XDP_PASS && unchanged(&in, &out) &&
			   (cases[i].reason == PR_R_PASS_FRAGMENT ? last_meta == 0 :
								    gstat(cases[i].reason) == before + 1);
		rt = run_prog(TC_IN, &in, &out, 0);
		bool okt = rt == TC_ACT_OK && unchanged(&in, &out);
		if (rt < 0 && in.len < ETH_HLEN + sizeof(struct iphdr)) {
			diag("the kernel's TC test_run refuses IPv4 frames shorter than an IP header; XDP only");
			okt = true;
		}
		tap(okx && okt, "%s: passed untouched by XDP and TC (reason %s)", cases[i].desc,
		    pr_reason_name(cases[i].reason));
	}
}

static void test_udp(void)
{
	struct pkt in, out;
	struct pkt_spec s = { .src = CLIENT, .dst = LISTEN, .sport = 5000, .dport = 5353,
			      .proto = IPPROTO_UDP, .payload = 31 };
	int rc;

	build(&in, &s);
	rc = run_prog(XDP_PROG, &in, &out, 0);
	tap(rc == XDP_PASS && only_changed(&in, &out, NULL, 0, TARGET, 53) && l4_csum_field(&out) != 0,
	    "xdp: UDP with a checksum is rewritten with a valid checksum");

	s.sport = 5001;
	s.udp_zero_csum = true;
	build(&in, &s);
	rc = run_prog(XDP_PROG, &in, &out, 0);
	tap(rc == XDP_PASS && only_changed(&in, &out, NULL, 0, TARGET, 53) && l4_csum_field(&out) == 0,
	    "xdp: UDP with a zero checksum is rewritten and keeps checksum 0");

	s.sport = 5002;
	build(&in, &s);
	rc = run_prog(TC_IN, &in, &out, 0);
	tap(rc == TC_ACT_OK && only_changed(&in, &out, NULL, 0, TARGET, 53) && l4_csum_field(&out) == 0,
	    "tc: UDP with a zero checksum is rewritten and keeps checksum 0");

	struct pkt_spec r = { .src = TARGET, .dst = CLIENT, .sport = 53, .dport = 5002,
			      .proto = IPPROTO_UDP, .payload = 64 };
	build(&in, &r);
	rc = run_prog(TC_EG, &in, &out, 0);
	tap(rc == TC_ACT_OK && only_changed(&in, &out, LISTEN, 5353, NULL, 0),
	    "tc egress: UDP reply is reverse-translated with a valid checksum");
}

static void test_ip_options_ttl_tos(void)
{
	struct pkt in, out;
	struct pkt_spec s = SYN;
	int rc;

	s.sport = 40300;
	s.ttl = 7;
	s.tos = 0xb8;
	s.ip_opt_words = 3;
	s.payload = 100;
	build(&in, &s);
	rc = run_prog(XDP_PROG, &in, &out, 0);
	tap(rc == XDP_PASS && only_changed(&in, &out, NULL, 0, TARGET, 80) && iph(&out)->ttl == 7 &&
		    iph(&out)->tos == 0xb8 && iph(&out)->ihl == 8,
	    "xdp: IPv4 options, TTL and TOS kept while the L4 header behind options is rewritten");
	s.sport = 40301;
	build(&in, &s);
	rc = run_prog(TC_IN, &in, &out, 0);
	tap(rc == TC_ACT_OK && only_changed(&in, &out, NULL, 0, TARGET, 80) && iph(&out)->ttl == 7,
	    "tc: IPv4 options, TTL and TOS kept while the L4 header behind options is rewritten");
}

static void test_partial_punt(void)
{
	struct pkt in, out;
	struct pkt_spec s = SYN;
	__u64 before = gstat(PR_R_PASS_CSUM_PUNT);
	int rc;

	s.sport = 40400;
	s.partial_csum = true;
	s.payload = 20;
	build(&in, &s);
	rc = run_prog(XDP_PROG, &in, &out, 0);
	tap(rc == XDP_PASS && unchanged(&in, &out) && gstat(PR_R_PASS_CSUM_PUNT) == before + 1 &&
		    last_meta == 0,
	    "xdp: a CHECKSUM_PARTIAL-looking segment is left untouched and unmarked, for TC");
}

static void test_expired_entry(void)
{
	struct pr_ct_key k = { .sport = htons(40500), .dport = htons(8080), .proto = IPPROTO_TCP,
			       .family = PR_AF_INET };
	struct pr_ct_val v = { .nat_port = htons(99), .dir = PR_DIR_ORIG, .state = PR_CT_ESTABLISHED,
			       .rule_id = 1 };
	struct timespec ts;
	struct pr_ct_val got;
	struct pkt in, out;
	struct pkt_spec s = SYN;
	bool ok;

	inet_pton(AF_INET, CLIENT, &k.saddr.v4);
	inet_pton(AF_INET, LISTEN, &k.daddr.v4);
	inet_pton(AF_INET, "203.0.113.99", &v.nat_addr.v4);
	/* last seen one second past the established timeout (bpf_ktime_get_ns is
	 * CLOCK_MONOTONIC; unsigned wrap keeps the difference exact on young boots) */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	v.last_seen = ((__u64)ts.tv_sec - pr_ct_timeout(PR_CT_ESTABLISHED) - 1) * 1000000000ULL + ts.tv_nsec;
	bpf_map_update_elem(ctx.fd_ct, &k, &v, BPF_ANY);
	s.sport = 40500;
	s.tcp_flags = 0x10;
	s.payload = 5;
	build(&in, &s);
	ok = run_prog(XDP_PROG, &in, &out, 0) == XDP_PASS && only_changed(&in, &out, NULL, 0, TARGET, 80);
	if (!ok)
		diag("packet not rewritten to the rule's target");
	ok = ok && bpf_map_lookup_elem(ctx.fd_ct, &k, &got) == 0 && got.last_seen != v.last_seen &&
	     addr_is(got.nat_addr.v4, TARGET);
	tap(ok, "expired conntrack entry is treated as absent: the flow is created anew from the rules");

	/* the same entry, fresh, wins over the rule */
	v.last_seen = got.last_seen;
	bpf_map_update_elem(ctx.fd_ct, &k, &v, BPF_ANY);
	ok = run_prog(XDP_PROG, &in, &out, 0) == XDP_PASS &&
	     only_changed(&in, &out, NULL, 0, "203.0.113.99", 99);
	tap(ok, "a live conntrack entry wins over the rule table");
}

static void test_tcp_states(void)
{
	struct pr_ct_key k = { .sport = htons(40600), .dport = htons(8080), .proto = IPPROTO_TCP,
			       .family = PR_AF_INET };
	struct pr_ct_val v;
	struct pkt in, out;
	struct pkt_spec s = SYN, r = { .src = TARGET, .dst = CLIENT, .sport = 80, .dport = 40600,
				       .proto = IPPROTO_TCP };
	bool ok = true;

	inet_pton(AF_INET, CLIENT, &k.saddr.v4);
	inet_pton(AF_INET, LISTEN, &k.daddr.v4);
	s.sport = 40600;
	build(&in, &s);
	run_prog(XDP_PROG, &in, &out, 0);
	ok &= bpf_map_lookup_elem(ctx.fd_ct, &k, &v) == 0 && v.state == PR_CT_SYN_SENT;
	r.tcp_flags = 0x12;
	build(&in, &r);
	run_prog(TC_EG, &in, &out, 0);
	ok &= bpf_map_lookup_elem(ctx.fd_ct, &k, &v) == 0 && v.state == PR_CT_ESTABLISHED;
	s.tcp_flags = 0x11; /* FIN|ACK */
	build(&in, &s);
	run_prog(XDP_PROG, &in, &out, 0);
	ok &= bpf_map_lookup_elem(ctx.fd_ct, &k, &v) == 0 && v.state == PR_CT_HALF_CLOSED;
	r.tcp_flags = 0x11;
	build(&in, &r);
	run_prog(TC_EG, &in, &out, 0);
	ok &= bpf_map_lookup_elem(ctx.fd_ct, &k, &v) == 0 && v.state == PR_CT_CLOSING;
	tap(ok, "TCP state follows SYN, SYN-ACK, FIN, FIN across both entries (last %s)",
	    pr_ct_state_name(v.state));

	/* a new SYN on the closing flow is a new connection and takes the current rule */
	rule_add("tcp", NULL, 8080, TARGET2, 81, true);
	s.tcp_flags = 0x02;
	build(&in, &s);
	ok = run_prog(XDP_PROG, &in, &out, 0) == XDP_PASS && only_changed(&in, &out, NULL, 0, TARGET2, 81);
	tap(ok, "a new SYN on a CLOSING flow opens a new connection with the current rule");
	rule_add("tcp", NULL, 8080, TARGET, 80, true);

	k.sport = htons(40601);
	s.sport = 40601;
	s.tcp_flags = 0x02;
	build(&in, &s);
	run_prog(XDP_PROG, &in, &out, 0);
	s.tcp_flags = 0x04;
	build(&in, &s);
	ok = run_prog(XDP_PROG, &in, &out, 0) == XDP_PASS && only_changed(&in, &out, NULL, 0, TARGET, 80);
	ok &= bpf_map_lookup_elem(ctx.fd_ct, &k, &v) == 0 && v.state == PR_CT_CLOSING;
	tap(ok, "RST on a flow is translated and moves it to CLOSING");
}

static void test_counters(__u32 id)
{
	struct pr_rule_stats st;

	pr_rule_stats(&ctx, id, &st);
	tap(st.flows > 0 && st.pkts_orig >= st.flows && st.pkts_reply > 0 && st.bytes_orig > 0,
	    "per-rule counters count flows, packets and bytes both ways (flows %llu in %llu out %llu)",
	    (unsigned long long)st.flows, (unsigned long long)st.pkts_orig,
	    (unsigned long long)st.pkts_reply);
}

/* An ICMP error from osrc to odst quoting the first qlen bytes of q's IP packet. */
static void build_icmp(struct pkt *p, const char *osrc, const char *odst, __u8 type, __u8 code,
		       __u32 rest, const struct pkt *q, int qlen)
{
	struct iphdr *ip = iph(p);
	struct icmphdr *ic;

	eth_init(p, ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_ICMP;
	inet_pton(AF_INET, osrc, &ip->saddr);
	inet_pton(AF_INET, odst, &ip->daddr);
	ip->tot_len = htons(20 + sizeof(*ic) + qlen);
	ip->check = htons(ip_csum(ip));
	ic = (void *)(ip + 1);
	ic->type = type;
	ic->code = code;
	ic->un.gateway = htonl(rest);
	memcpy(ic + 1, q->b + ETH_HLEN, qlen);
	ic->checksum = htons(~fold(sum16(ic, sizeof(*ic) + qlen, 0)) & 0xffff);
	p->len = ETH_HLEN + ntohs(ip->tot_len);
}

static bool icmp_csums_ok(struct pkt *p)
{
	struct iphdr *ip = iph(p);

	return fold(sum16(ip, 20, 0)) == 0xffff &&
	       fold(sum16((char *)ip + 20, ntohs(ip->tot_len) - 20, 0)) == 0xffff;
}

static const unsigned char *quoted(struct pkt *p) { return p->b + ETH_HLEN + 20 + 8; }

static void test_icmp(void)
{
	struct pkt c0, c1, r0, r1, in, out, want_q;
	struct pkt_spec s = SYN, r;
	const int qlen = 20 + 28; /* IP header and 28 bytes of TCP, checksum included */
	__u64 before;
	bool ok;

	/* a flow: c0 is what the client sent, c1 what the server got */
	s.sport = 40800;
	s.tcp_flags = 0x18;
	s.payload = 1400;
	build(&c0, &s);
	run_prog(XDP_PROG, &c0, &c1, 0);
	r = (struct pkt_spec){ .src = TARGET, .dst = CLIENT, .sport = 80, .dport = 40800,
			       .proto = IPPROTO_TCP, .tcp_flags = 0x10, .payload = 700 };
	build(&r0, &r);
	run_prog(TC_EG, &r0, &r1, 0);

	/* 1: the target says c1 was too big; the client must see c0 quoted, from the listen address */
	build_icmp(&in, TARGET, CLIENT, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1280, &c1, qlen);
	/* ingress leaves it: from the listen address it would be martian to the stack */
	before = gstat(PR_R_PASS_REPLY_EGRESS);
	ok = run_prog(XDP_PROG, &in, &out, 0) == XDP_PASS && unchanged(&in, &out) && last_meta == PR_META_DONE &&
	     run_prog(TC_IN, &in, &out, 0) == TC_ACT_OK && unchanged(&in, &out) &&
	     gstat(PR_R_PASS_REPLY_EGRESS) == before + 2;
	tap(ok, "xdp and tc ingress leave an error on its way to the client untouched, for the egress hook");
	before = gstat(PR_R_XLATE_ICMP);
	ok = run_prog(TC_EG, &in, &out, 0) == TC_ACT_OK && icmp_csums_ok(&out) &&
	     memcmp(quoted(&out), c0.b + ETH_HLEN, qlen) == 0 && addr_is(iph(&out)->saddr, LISTEN) &&
	     addr_is(iph(&out)->daddr, CLIENT) && gstat(PR_R_XLATE_ICMP) == before + 1;
	tap(ok, "tc egress: frag-needed from the target quotes the client's own packet byte for byte, from the listen address");

	/* 3: the router itself (another source) sends frag-needed about c1 out of the client side */
	build_icmp(&in, "203.0.113.1", CLIENT, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1280, &c1, qlen);
	ok = run_prog(TC_EG, &in, &out, 0) == TC_ACT_OK && icmp_csums_ok(&out) &&
	     memcmp(quoted(&out), c0.b + ETH_HLEN, qlen) == 0 && addr_is(iph(&out)->saddr, "203.0.113.1");
	tap(ok, "tc egress: a locally generated frag-needed is translated, its own source kept");

	/* only the 8 bytes RFC 792 promises: ports translated, no checksum to fix */
	build_icmp(&in, TARGET, CLIENT, ICMP_TIME_EXCEEDED, 0, 0, &c1, 28);
	ok = run_prog(TC_EG, &in, &out, 0) == TC_ACT_OK && icmp_csums_ok(&out) &&
	     memcmp(quoted(&out), c0.b + ETH_HLEN, 28) == 0;
	tap(ok, "tc egress: time-exceeded quoting only 8 bytes of TCP is translated");

	/* 2: the client answers the reply r1 with port-unreachable; the target must see r0 */
	build_icmp(&in, CLIENT, LISTEN, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, &r1, qlen);
	ok = run_prog(XDP_PROG, &in, &out, 0) == XDP_PASS && icmp_csums_ok(&out) &&
	     memcmp(quoted(&out), r0.b + ETH_HLEN, qlen) == 0 && addr_is(iph(&out)->daddr, TARGET);
	tap(ok, "xdp: an error from the client about a reply reaches the target quoting its own packet");
	ok = run_prog(TC_EG, &in, &out, 0) == TC_ACT_OK && unchanged(&in, &out);
	tap(ok, "tc egress: errors about forward-direction entries are not translated there");

	/* UDP quoted without a checksum keeps none */
	struct pkt u0, u1;
	struct pkt_spec us = { .src = CLIENT, .dst = LISTEN, .sport = 5100, .dport = 5353,
			       .proto = IPPROTO_UDP, .payload = 40, .udp_zero_csum = true };
	build(&u0, &us);
	run_prog(XDP_PROG, &u0, &u1, 0);
	build_icmp(&in, TARGET, CLIENT, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, &u1, 28);
	ok = run_prog(TC_EG, &in, &out, 0) == TC_ACT_OK && icmp_csums_ok(&out) &&
	     memcmp(quoted(&out), u0.b + ETH_HLEN, 28) == 0;
	tap(ok, "tc egress: port-unreachable quoting UDP without a checksum is translated, checksum stays 0");

	/* not ours: echo, and errors about unknown flows */
	memcpy(&want_q, &c1, sizeof(c1));
	((__be16 *)((char *)iph(&want_q) + 20))[0] = htons(1);
	build_icmp(&in, TARGET, CLIENT, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, &want_q, qlen);
	before = gstat(PR_R_PASS_ICMP);
	ok = run_prog(XDP_PROG, &in, &out, 0) == XDP_PASS && unchanged(&in, &out) &&
	     gstat(PR_R_PASS_ICMP) == before + 1;
	tap(ok, "xdp: an error about a flow we do not track is passed untouched");
	build_icmp(&in, CLIENT, LISTEN, ICMP_ECHO, 0, 0x00010001, &c0, 56);
	ok = run_prog(XDP_PROG, &in, &out, 0) == XDP_PASS && unchanged(&in, &out) &&
	     run_prog(TC_IN, &in, &out, 0) == TC_ACT_OK && unchanged(&in, &out);
	tap(ok, "ICMP echo to a listen address is passed untouched by XDP and TC");
}

/* Split datagram d (one unfragmented IPv4 packet) into fragments of at most
 * chunk payload bytes (a multiple of 8). Returns the count. */
static int fragment(const struct pkt *d, int chunk, struct pkt *f, int max)
{
	const struct iphdr *dip = (const void *)(d->b + ETH_HLEN);
	int hl = dip->ihl * 4, total = ntohs(dip->tot_len) - hl, n = 0;

	for (int off = 0; off < total && n < max; off += chunk, n++) {
		int len = total - off < chunk ? total - off : chunk;
		struct iphdr *ip;

		memcpy(f[n].b, d->b, ETH_HLEN + hl);
		memcpy(f[n].b + ETH_HLEN + hl, d->b + ETH_HLEN + hl + off, len);
		ip = iph(&f[n]);
		ip->frag_off = htons((off / 8) | (off + len < total ? 0x2000 : 0));
		ip->tot_len = htons(hl + len);
		ip->check = 0;
		ip->check = htons(ip_csum(ip));
		f[n].len = ETH_HLEN + hl + len;
	}
	return n;
}

/* Reassemble fragments f[0..n) and verify IP and L4 checksums of the whole. */
static bool reassembled_ok(struct pkt *f, int n, const char *dst, const char *src, __u16 sport, __u16 dport)
{
	struct pkt whole = f[0];
	struct iphdr *ip = iph(&whole);
	int hl = ip->ihl * 4, len = 0;
	__be16 *ports;

	for (int i = 0; i < n; i++) {
		struct iphdr *fi = iph(&f[i]);
		int plen = ntohs(fi->tot_len) - fi->ihl * 4, off = (ntohs(fi->frag_off) & 0x1fff) * 8;

		if (fold(sum16(fi, fi->ihl * 4, 0)) != 0xffff)
			return false;
		if ((dst && !addr_is(fi->daddr, dst)) || (src && !addr_is(fi->saddr, src)))
			return false;
		memcpy(whole.b + ETH_HLEN + hl + off, f[i].b + ETH_HLEN + fi->ihl * 4, plen);
		if (off + plen > len)
			len = off + plen;
	}
	ip->frag_off = 0;
	ip->tot_len = htons(hl + len);
	ports = l4h(&whole);
	return ntohs(ports[0]) == sport && ntohs(ports[1]) == dport && l4_verify_sum(ip) == 0xffff;
}

static void test_fragments(void)
{
	struct pkt d, f[4], o[4];
	struct pkt_spec s = { .src = CLIENT, .dst = LISTEN, .sport = 5200, .dport = 5353,
			      .proto = IPPROTO_UDP, .payload = 3000 };
	__u64 before = gstat(PR_R_XLATE_FRAG);
	int n, ok;

	build(&d, &s);
	n = fragment(&d, 1480, f, 4);
	ok = n == 3;
	for (int i = 0; i < n; i++)
		ok &= run_prog(XDP_PROG, &f[i], &o[i], 0) == XDP_PASS && last_meta == PR_META_DONE;
	tap(ok && reassembled_ok(o, n, TARGET, CLIENT, 5200, 53) && gstat(PR_R_XLATE_FRAG) == before + 3,
	    "xdp: a 3000-byte UDP datagram in 3 fragments is translated; reassembled, its checksum is valid");

	s.sport = 5201;
	build(&d, &s);
	n = fragment(&d, 1480, f, 4);
	ok = n == 3;
	for (int i = 0; i < n; i++)
		ok &= run_prog(TC_IN, &f[i], &o[i], 0) == TC_ACT_OK;
	tap(ok && reassembled_ok(o, n, TARGET, CLIENT, 5201, 53),
	    "tc ingress: the same fragmented datagram is translated");

	/* the target's fragmented reply, seen on egress */
	struct pkt_spec r = { .src = TARGET, .dst = CLIENT, .sport = 53, .dport = 5201,
			      .proto = IPPROTO_UDP, .payload = 2500 };
	build(&d, &r);
	n = fragment(&d, 1480, f, 4);
	ok = n == 2;
	for (int i = 0; i < n; i++)
		ok &= run_prog(TC_EG, &f[i], &o[i], 0) == TC_ACT_OK;
	tap(ok && reassembled_ok(o, n, CLIENT, LISTEN, 5353, 5201),
	    "tc egress: a fragmented reply gets the listen address and port back");
}

/* ---- IPv6 ---- */

#define CLIENT6 "2001:db8:1::2"
#define LISTEN6 "2001:db8:1::1"
#define TARGET6 "2001:db8:2::2"

enum { EXT_NONE, EXT_HBH_DST, EXT_ROUTING_LEFT, EXT_FRAG_FIRST };

static struct ipv6hdr *ip6h(struct pkt *p) { return (void *)(p->b + ETH_HLEN); }

/* Offset of the L4 header from the IPv6 header, walking what build6 writes. */
static int l4off6(struct pkt *p)
{
	__u8 *h = (__u8 *)(ip6h(p) + 1), nh = ip6h(p)->nexthdr;
	int off = 40;

	while (nh == 0 || nh == 60 || nh == 43 || nh == 44) {
		int len = nh == 44 ? 8 : (h[1] + 1) * 8;

		nh = h[0];
		h += len;
		off += len;
	}
	return off;
}

static __u32 pseudo6(struct ipv6hdr *ip6, __u8 proto, __u32 len)
{
	__u32 s = sum16(&ip6->saddr, 16, 0);

	s = sum16(&ip6->daddr, 16, s);
	return s + (len >> 16) + (len & 0xffff) + proto;
}

static bool csum6_ok(struct pkt *p, __u8 proto)
{
	struct ipv6hdr *ip6 = ip6h(p);
	int off = l4off6(p);
	__u32 len = 40 + ntohs(ip6->payload_len) - off;

	return fold(sum16((char *)ip6 + off, len, pseudo6(ip6, proto, len))) == 0xffff;
}

static void build6(struct pkt *p, const char *src, const char *dst, __u16 sport, __u16 dport,
		   __u8 proto, __u8 flags, int payload, int ext)
{
	struct ipv6hdr *ip6 = ip6h(p);
	__u8 *h = (__u8 *)(ip6 + 1), *l4;
	int l4hdr = proto == IPPROTO_TCP ? 20 : 8, elen = 0;
	__u32 l4len = l4hdr + payload;
	__u16 *csum;

	eth_init(p, ETH_P_IPV6);
	ip6->version = 6;
	ip6->hop_limit = 64;
	inet_pton(AF_INET6, src, &ip6->saddr);
	inet_pton(AF_INET6, dst, &ip6->daddr);
	ip6->nexthdr = proto;
	if (ext == EXT_HBH_DST) {
		ip6->nexthdr = 0;               /* hop-by-hop, 8 bytes of PadN */
		h[0] = 60; h[1] = 0; h[2] = 1; h[3] = 4;
		h[8] = proto; h[9] = 1; h[10] = 1; h[11] = 12; /* destination options, 16 bytes */
		elen = 24;
	} else if (ext == EXT_ROUTING_LEFT) {
		ip6->nexthdr = 43;              /* type 0-style header, one segment left */
		h[0] = proto; h[1] = 2; h[2] = 4; h[3] = 1;
		elen = 24;
	} else if (ext == EXT_FRAG_FIRST) {
		ip6->nexthdr = 44;
		h[0] = proto; h[3] = 1;         /* offset 0, M set */
		memcpy(h + 4, "\x00\x00\x12\x34", 4);
		elen = 8;
	}
	ip6->payload_len = htons(elen + l4len);
	l4 = h + elen;
	((__be16 *)l4)[0] = htons(sport);
	((__be16 *)l4)[1] = htons(dport);
	if (proto == IPPROTO_TCP) {
		l4[12] = 5 << 4;
		l4[13] = flags;
		csum = (__u16 *)(l4 + 16);
	} else {
		((__be16 *)l4)[2] = htons(l4len);
		csum = (__u16 *)(l4 + 6);
	}
	for (int i = 0; i < payload; i++)
		l4[l4hdr + i] = (unsigned char)(i * 5 + 1);
	p->len = ETH_HLEN + 40 + elen + l4len;
	*csum = htons(~fold(sum16(l4, l4len, pseudo6(ip6, proto, l4len))) & 0xffff);
}

static bool addr6_is(const struct in6_addr *a, const char *s)
{
	struct in6_addr b;

	inet_pton(AF_INET6, s, &b);
	return memcmp(a, &b, 16) == 0;
}

static void test_ipv6(void)
{
	struct pkt in, out;
	int rc;
	bool ok;

	rule_add("tcp", NULL, 8080, TARGET6, 80, false);
	rule_add("udp", LISTEN6, 5353, TARGET6, 53, false);
	struct bpf_program *fwd[2] = { XDP_PROG, TC_IN };
	const char *name[2] = { "xdp", "tc" };

	for (int h = 0; h < 2; h++) {
		int pass = h ? TC_ACT_OK : XDP_PASS;
		__u16 sport = 41000 + h;

		build6(&in, CLIENT6, LISTEN6, sport, 8080, IPPROTO_TCP, 0x02, 0, EXT_NONE);
		rc = run_prog(fwd[h], &in, &out, 0);
		ok = rc == pass && out.len == in.len && addr6_is(&ip6h(&out)->daddr, TARGET6) &&
		     ntohs(((__be16 *)(ip6h(&out) + 1))[1]) == 80 && csum6_ok(&out, IPPROTO_TCP);
		tap(ok, "%s: IPv6 TCP SYN is rewritten to the IPv6 target with a valid checksum", name[h]);

		build6(&in, TARGET6, CLIENT6, 80, sport, IPPROTO_TCP, 0x12, 40, EXT_NONE);
		rc = run_prog(fwd[h], &in, &out, 0);
		tap(rc == pass && unchanged(&in, &out),
		    "%s: an IPv6 reply with no direct way out is left to the egress hook", name[h]);
		rc = run_prog(TC_EG, &in, &out, 0);
		ok = rc == TC_ACT_OK && addr6_is(&ip6h(&out)->saddr, LISTEN6) &&
		     ntohs(((__be16 *)(ip6h(&out) + 1))[0]) == 8080 && csum6_ok(&out, IPPROTO_TCP);
		tap(ok, "%s: IPv6 reply gets the listen address and port back", name[h]);

		build6(&in, CLIENT6, LISTEN6, 6000 + h, 5353, IPPROTO_UDP, 0, 33, EXT_HBH_DST);
		rc = run_prog(fwd[h], &in, &out, 0);
		ok = rc == pass && addr6_is(&ip6h(&out)->daddr, TARGET6) && csum6_ok(&out, IPPROTO_UDP) &&
		     ntohs(*(__be16 *)((char *)ip6h(&out) + l4off6(&out) + 2)) == 53;
		tap(ok, "%s: IPv6 UDP behind hop-by-hop and destination options is translated", name[h]);

		build6(&in, CLIENT6, LISTEN6, 6100 + h, 5353, IPPROTO_UDP, 0, 33, EXT_ROUTING_LEFT);
		rc = run_prog(fwd[h], &in, &out, 0);
		tap(rc == pass && unchanged(&in, &out),
		    "%s: IPv6 with a routing header with segments left is passed untouched", name[h]);
	}

	/* fragments: a first fragment with a fragment header, then a later one */
	build6(&in, CLIENT6, LISTEN6, 6200, 5353, IPPROTO_UDP, 0, 64, EXT_FRAG_FIRST);
	((__be16 *)((char *)ip6h(&in) + 48))[2] = htons(8 + 64 + 1000); /* UDP length of the whole */
	rc = run_prog(XDP_PROG, &in, &out, 0);
	ok = rc == XDP_PASS && addr6_is(&ip6h(&out)->daddr, TARGET6) &&
	     ntohs(*(__be16 *)((char *)ip6h(&out) + 48 + 2)) == 53;
	struct pkt later = in;
	__u8 *fh = (__u8 *)(ip6h(&later) + 1);
	fh[2] = 0; fh[3] = (72 / 8) << 3; /* offset 72, last */
	rc = run_prog(XDP_PROG, &later, &out, 0);
	ok = ok && rc == XDP_PASS && addr6_is(&ip6h(&out)->daddr, TARGET6) &&
	     memcmp((char *)ip6h(&out) + 40, (char *)ip6h(&later) + 40, later.len - ETH_HLEN - 40) == 0;
	tap(ok, "xdp: IPv6 fragments: the first is translated, a later one follows by fragment id");

	/* ICMPv6 packet-too-big from the target about the forwarded SYN */
	struct pkt c0, c1;
	build6(&c0, CLIENT6, LISTEN6, 41005, 8080, IPPROTO_TCP, 0x18, 1200, EXT_NONE);
	run_prog(XDP_PROG, &c0, &c1, 0);
	memset(&in, 0, sizeof(in));
	memcpy(in.b, c0.b, ETH_HLEN);
	struct ipv6hdr *o6 = ip6h(&in);
	o6->version = 6;
	o6->hop_limit = 64;
	o6->nexthdr = 58;
	inet_pton(AF_INET6, TARGET6, &o6->saddr);
	inet_pton(AF_INET6, CLIENT6, &o6->daddr);
	int qlen = 40 + 28;
	__u8 *ic = (__u8 *)(o6 + 1);
	ic[0] = 2; /* packet too big */
	*(__be32 *)(ic + 4) = htonl(1280);
	memcpy(ic + 8, (char *)ip6h(&c1), qlen);
	o6->payload_len = htons(8 + qlen);
	*(__u16 *)(ic + 2) = htons(~fold(sum16(ic, 8 + qlen, pseudo6(o6, 58, 8 + qlen))) & 0xffff);
	in.len = ETH_HLEN + 40 + 8 + qlen;
	rc = run_prog(XDP_PROG, &in, &out, 0);
	tap(rc == XDP_PASS && unchanged(&in, &out),
	    "xdp: an ICMPv6 error on its way to the client is left to the egress hook");
	rc = run_prog(TC_EG, &in, &out, 0);
	o6 = ip6h(&out);
	ic = (__u8 *)(o6 + 1);
	ok = rc == TC_ACT_OK && addr6_is(&o6->saddr, LISTEN6) &&
	     fold(sum16(ic, 8 + qlen, pseudo6(o6, 58, 8 + qlen))) == 0xffff &&
	     memcmp(ic + 8, (char *)ip6h(&c0), qlen) == 0;
	tap(ok, "tc egress: ICMPv6 packet-too-big quotes the client's own packet byte for byte, from the listen address");
}

/* ---- ranges, allowlists, DMZ ---- */

static int add_spec(struct pr_rule_spec *s, struct pr_rule_meta *out)
{
	struct pr_rule_meta conflict, tmp;

	return pr_rule_add(&ctx, s, false, out ? out : &tmp, &conflict);
}

static bool tcp_to(const char *dst, __u16 dport, __u16 sport, const char *want, __u16 want_port)
{
	struct pkt in, out;
	struct pkt_spec s = SYN;

	s.dst = dst;
	s.dport = dport;
	s.sport = sport;
	build(&in, &s);
	return run_prog(XDP_PROG, &in, &out, 0) == XDP_PASS && only_changed(&in, &out, NULL, 0, want, want_port);
}

static void test_ranges(void)
{
	struct pr_rule_spec s = {};
	struct pr_rule_meta m, conflict;
	bool ok;

	/* every port of one listen address, port for port */
	s.key.proto = IPPROTO_TCP;
	s.key.family = PR_AF_INET;
	inet_pton(AF_INET, "198.51.100.77", &s.key.addr.v4);
	s.key.port = htons(1);
	s.port_last = 65535;
	inet_pton(AF_INET, "203.0.113.9", &s.target.v4);
	s.target_port = htons(1);
	s.target_port_last = 65535;
	ok = add_spec(&s, &m) == 0 && pr_rule_span(&m) == 65535;
	ok = ok && tcp_to("198.51.100.77", 1, 42000, "203.0.113.9", 1) &&
	     tcp_to("198.51.100.77", 32768, 42001, "203.0.113.9", 32768) &&
	     tcp_to("198.51.100.77", 65535, 42002, "203.0.113.9", 65535);
	tap(ok, "a 65,535-port range maps first, middle and last port for port (one hash entry a port)");

	/* an address rule inside it would overlap */
	struct pr_rule_spec o = s;
	o.key.port = htons(443);
	o.port_last = 443;
	o.target_port_last = 0;
	tap(pr_rule_add(&ctx, &o, false, &m, &conflict) == -EEXIST && conflict.port_last == 65535,
	    "a rule overlapping a range is refused, naming the range");
	pr_rule_del(&ctx, &s, NULL, false, NULL, NULL);
	tap(!tcp_to("198.51.100.77", 2000, 42003, "203.0.113.9", 2000),
	    "deleting the range removes all its ports");

	/* a range onto one port */
	s.key.port = htons(7100);
	s.port_last = 7199;
	s.target_port = htons(7000);
	s.target_port_last = 0;
	ok = add_spec(&s, NULL) == 0 && tcp_to("198.51.100.77", 7100, 42004, "203.0.113.9", 7000) &&
	     tcp_to("198.51.100.77", 7199, 42005, "203.0.113.9", 7000);
	tap(ok, "a range whose target is one port maps every port onto it");
	pr_rule_del(&ctx, &s, NULL, false, NULL, NULL);
}

static void test_allowlist(void)
{
	struct pr_rule_spec s = {};
	struct pr_rule_meta m;
	struct pr_rule_stats st;
	struct pkt in, out;
	struct pkt_spec p = { .src = CLIENT, .dst = LISTEN, .sport = 43000, .dport = 7000,
			      .proto = IPPROTO_UDP, .payload = 10 };
	bool ok;

	s.key.proto = IPPROTO_UDP;
	s.key.family = PR_AF_INET;
	s.key.port = htons(7000);
	s.port_last = 7000;
	inet_pton(AF_INET, TARGET, &s.target.v4);
	s.target_port = htons(7000);
	s.allow_count = 1;
	s.allow[0].family = PR_AF_INET;
	s.allow[0].len = 30;
	inet_pton(AF_INET, "198.51.100.0", &s.allow[0].addr.v4);
	s.deny_drop = true;
	add_spec(&s, &m);

	build(&in, &p);
	ok = run_prog(XDP_PROG, &in, &out, 0) == XDP_PASS && only_changed(&in, &out, NULL, 0, TARGET, 7000);
	tap(ok, "allowlist: a source inside the CIDR is redirected");
	p.src = "198.51.100.9";
	build(&in, &p);
	ok = run_prog(XDP_PROG, &in, &out, 0) == XDP_DROP && run_prog(TC_IN, &in, &out, 0) == TC_ACT_SHOT;
	pr_rule_stats(&ctx, m.rule.id, &st);
	tap(ok && st.denied == 2, "allowlist: a source outside is dropped by XDP and TC and counted (denied %llu)",
	    (unsigned long long)st.denied);

	s.deny_drop = false;
	pr_rule_add(&ctx, &s, true, &m, &m);
	ok = run_prog(XDP_PROG, &in, &out, 0) == XDP_PASS && unchanged(&in, &out);
	tap(ok, "allowlist with --deny-action pass: an outside source reaches the stack untouched");
	pr_rule_del(&ctx, &s, NULL, false, NULL, NULL);
}

static void test_dmz(void)
{
	struct pr_rule_spec s = {};
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9998) };
	struct pkt in, out;
	struct pkt_spec p = SYN;
	int fd;
	bool ok;

	s.key.proto = IPPROTO_TCP;
	s.key.family = PR_AF_INET;
	inet_pton(AF_INET, TARGET2, &s.target.v4); /* port 0: keep each packet's port */
	ok = add_spec(&s, NULL) == 0;
	ok = ok && tcp_to(LISTEN, 9999, 44000, TARGET2, 9999) && tcp_to(LISTEN, 8080, 44001, TARGET, 80);
	tap(ok, "DMZ ':*' takes an unmapped port (keeping it) while a specific rule still wins");

	/* a local listener on 9998 in this namespace: the DMZ leaves its traffic alone */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (void *)&sa, sizeof(sa)) || listen(fd, 1)) {
		tap(0, "DMZ: local listener setup: %s", strerror(errno));
	} else {
		__u64 before = gstat(PR_R_PASS_LOCAL_SOCKET);

		p.dport = 9998;
		p.sport = 44002;
		build(&in, &p);
		ok = run_prog(XDP_PROG, &in, &out, 0) == XDP_PASS && unchanged(&in, &out) &&
		     run_prog(TC_IN, &in, &out, 0) == TC_ACT_OK && unchanged(&in, &out) &&
		     gstat(PR_R_PASS_LOCAL_SOCKET) == before + 2;
		tap(ok, "DMZ yields to a local listening socket (the host's own services stay reachable)");
	}
	if (fd >= 0)
		close(fd);
	pr_rule_del(&ctx, &s, NULL, false, NULL, NULL);
	tap(!tcp_to(LISTEN, 9999, 44003, TARGET2, 9999), "deleting the DMZ rule stops it");
}

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		diag("command failed (%d): %s", rc, cmd);
	return rc;
}

/* bpf_fib_lookup + redirect, inside this process's own network namespace. */
static void test_fib_redirect(void)
{
	struct pkt in, out;
	struct pkt_spec s = SYN;
	unsigned char mac[6];
	__u32 in_if, out_if;
	int rc;

	if (sh("ip link add ut_in type veth peer name ut_in_p && ip link add ut_out type veth peer name ut_out_p &&"
	       " ip addr add " LISTEN "/24 dev ut_in && ip addr add 203.0.113.1/24 dev ut_out &&"
	       " ip link set ut_in up && ip link set ut_in_p up && ip link set ut_out up && ip link set ut_out_p up &&"
	       " ip neigh replace " TARGET " lladdr 02:00:00:00:00:99 dev ut_out nud permanent &&"
	       " sysctl -qw net.ipv4.conf.all.forwarding=1")) {
		tap(0, "xdp: fib lookup setup");
		return;
	}
	in_if = if_nametoindex("ut_in");
	out_if = if_nametoindex("ut_out");
	/* sysfs still shows the host's namespace, so ask the kernel directly */
	{
		struct ifreq ifr = {};
		int fd = socket(AF_INET, SOCK_DGRAM, 0);

		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "ut_out");
		if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr)) {
			tap(0, "xdp: read ut_out MAC");
			if (fd >= 0)
				close(fd);
			return;
		}
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
		close(fd);
	}

	s.sport = 40700;
	build(&in, &s);
	rc = run_prog(XDP_PROG, &in, &out, in_if);
	tap(rc == XDP_PASS && only_changed(&in, &out, NULL, 0, TARGET, 80),
	    "xdp: a routable egress that is not in pr_tx gets XDP_PASS with MACs and TTL untouched");

	pr_tx_allow(&ctx, out_if, true);
	s.sport = 40701;
	build(&in, &s);
	__u64 before = gstat(PR_R_REDIRECT);
	rc = run_prog(XDP_PROG, &in, &out, in_if);
	struct pkt want = in;
	iph(&want)->ttl--;
	bool ok = rc == XDP_REDIRECT && memcmp(out.b, "\x02\x00\x00\x00\x00\x99", 6) == 0 &&
		  memcmp(out.b + 6, mac, 6) == 0 && iph(&out)->ttl == 63 && csums_ok(&out) &&
		  addr_is(iph(&out)->daddr, TARGET) && gstat(PR_R_REDIRECT) == before + 1;
	tap(ok, "xdp: fib lookup success redirects with neighbour MACs, TTL-1 and a valid IP checksum");

	s.sport = 40702;
	s.ttl = 1;
	build(&in, &s);
	rc = run_prog(XDP_PROG, &in, &out, in_if);
	tap(rc == XDP_PASS && iph(&out)->ttl == 1 && only_changed(&in, &out, NULL, 0, TARGET, 80),
	    "xdp: TTL 1 is left to the stack (time exceeded) instead of redirected");
	pr_tx_allow(&ctx, out_if, false);

	/* TC needs no devmap: bpf_redirect sends an skb to any device */
	s.sport = 40703;
	s.ttl = 64;
	build(&in, &s);
	before = gstat(PR_R_REDIRECT);
	rc = run_prog(TC_IN, &in, &out, in_if);
	ok = rc == TC_ACT_REDIRECT && memcmp(out.b, "\x02\x00\x00\x00\x00\x99", 6) == 0 &&
	     memcmp(out.b + 6, mac, 6) == 0 && iph(&out)->ttl == 63 && csums_ok(&out) &&
	     addr_is(iph(&out)->daddr, TARGET) && gstat(PR_R_REDIRECT) == before + 1;
	tap(ok, "tc: a translated packet with a route and a neighbour goes straight to the egress device "
		"(bpf_redirect) with neighbour MACs, TTL-1 and valid checksums");

	/* its reply, arriving on ut_out: the client's neighbour is unknown, so
	 * it is left untranslated for the egress hook; once known, it goes
	 * straight back out of ut_in, translated */
	struct pkt_spec r = { .src = TARGET, .dst = CLIENT, .sport = 80, .dport = 40703,
			      .proto = IPPROTO_TCP, .tcp_flags = 0x12, .ttl = 64 };
	build(&in, &r);
	before = gstat(PR_R_PASS_REPLY_EGRESS);
	rc = run_prog(TC_IN, &in, &out, out_if);
	tap(rc == TC_ACT_OK && unchanged(&in, &out) && gstat(PR_R_PASS_REPLY_EGRESS) == before + 1,
	    "tc: a reply with no neighbour yet is left untranslated for the egress hook");
	if (sh("ip neigh replace " CLIENT " lladdr 02:00:00:00:00:98 dev ut_in nud permanent")) {
		tap(0, "tc: client neighbour setup");
		return;
	}
	rc = run_prog(TC_IN, &in, &out, out_if);
	ok = rc == TC_ACT_REDIRECT && memcmp(out.b, "\x02\x00\x00\x00\x00\x98", 6) == 0 &&
	     iph(&out)->ttl == 63 && csums_ok(&out) && addr_is(iph(&out)->saddr, LISTEN) &&
	     ntohs(((struct tcphdr *)l4h(&out))->source) == 8080;
	tap(ok, "tc: with the neighbour known the reply is translated and goes straight back out");

	/* the flow keeps that route for a second without a lookup, then looks again */
	sh("ip neigh del " CLIENT " dev ut_in");
	rc = run_prog(TC_IN, &in, &out, out_if);
	tap(rc == TC_ACT_REDIRECT && memcmp(out.b, "\x02\x00\x00\x00\x00\x98", 6) == 0,
	    "tc: the flow's cached route serves the next packet without a lookup");
	usleep(1100 * 1000);
	rc = run_prog(TC_IN, &in, &out, out_if);
	tap(rc == TC_ACT_OK && unchanged(&in, &out),
	    "tc: after a second the route is looked up again and the neighbour's removal is seen");
}

static int load_progs(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = ctx.pin_dir);
	int err;

	xskel = xdp_bpf__open_opts(&oo);
	tskel = tc_bpf__open_opts(&oo);
	if (!xskel || !tskel)
		return -1;
	if (pr_obj_reuse_maps(&ctx, xskel->obj) || pr_obj_reuse_maps(&ctx, tskel->obj))
		return -1;
	err = xdp_bpf__load(xskel);
	if (!err)
		err = tc_bpf__load(tskel);
	return err;
}

int main(void)
{
	char pin[64];
	__u32 id;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	if (geteuid()) {
		printf("1..0 # SKIP needs root (BPF_PROG_TEST_RUN)\n");
		return 4;
	}
	/* a private network namespace: the fib test's veths never touch the host */
	if (unshare(CLONE_NEWNET)) {
		printf("Bail out! unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 1;
	}
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/pr_unit_%d", getpid());
	pr_set_verbose(getenv("V") && atoi(getenv("V")));
	if (pr_open(&ctx, pin, PR_OPEN_CREATE, 0)) {
		printf("Bail out! %s\n", ctx.err);
		return 1;
	}
	if (load_progs()) {
		printf("Bail out! cannot load the BPF programs (V=1 shows the verifier log)\n");
		goto out;
	}
	/* Everything from here works on fds: take the lock the library wants and
	 * drop the pins, so not even a crash leaves them behind. */
	pr_lock(&ctx);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pin);
		if (system(cmd))
			diag("could not remove %s", pin);
	}
	id = rule_add("tcp", NULL, 8080, TARGET, 80, false);
	rule_add("tcp", "198.51.100.1", 8443, TARGET, 443, false);
	rule_add("udp", NULL, 5353, TARGET, 53, false);
	if (!id) {
		printf("Bail out! cannot add rules\n");
		goto out;
	}
	test_tcp_syn_and_reply(XDP_PROG, XDP_PROG, XDP_PASS, "xdp", 40001);
	test_tcp_syn_and_reply(TC_IN, TC_EG, TC_ACT_OK, "tc", 40002);
	test_replace_keeps_flow();
	test_untouched();
	test_udp();
	test_ip_options_ttl_tos();
	test_partial_punt();
	test_expired_entry();
	test_tcp_states();
	test_counters(id);
	test_icmp();
	test_fragments();
	test_ipv6();
	test_ranges();
	test_allowlist();
	test_fib_redirect();
	test_dmz();
out:
	xdp_bpf__destroy(xskel);
	tc_bpf__destroy(tskel);
	pr_close(&ctx);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pin);
		system(cmd);
	}
	printf("1..%d\n", tap_n);
	printf("# unit: %d passed, %d failed\n", tap_n - tap_fail, tap_fail);
	return tap_fail || !tap_n ? 1 : 0;
}
