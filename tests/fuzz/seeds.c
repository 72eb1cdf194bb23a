// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The datapath fuzzer's rule set, flow openers and seed corpus, built with the unit tests' packet builder. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/icmp.h>
#include <linux/in.h>
#include "pkt.h"
#include "seeds.h"

const char *const FUZZ_RULES[FUZZ_NRULES] = {
	"tcp :8080 203.0.113.2:80",
	"udp " FUZZ_LISTEN4 ":5353 203.0.113.2:53",
	"tcp [" FUZZ_LISTEN6 "]:8443 [2001:db8:2::2]:443",
	"udp :5300 [2001:db8:2::2]:53",
	"tcp " FUZZ_LISTEN4 ":7100-7199 203.0.113.3:7000-7099",
	"tcp 198.51.100.7:* 203.0.113.4",
	"udp :7000 203.0.113.5:7000 --allow 198.51.100.0/30 --deny-action drop",
	/* full NAT: the range holds the clients' port 40000, which is kept */
	"tcp :8090 203.0.113.6:80 --snat 198.51.100.9 --snat-ports 39990-40009",
	"udp [" FUZZ_LISTEN6 "]:5390 [2001:db8:2::6]:53 --snat 2001:db8:1::9 --snat-ports 39990-40009",
};

/* Each flow: the client's first packet and where the rule sends it, and
 * for full NAT the source it gets (the client's port is kept). */
struct flow_spec {
	struct pkt_spec fwd;
	const char *target;
	__u16 tport;
	const char *snat;
};

#define C4 .src = "198.51.100.2", .sport = 40000
#define C6 .src = "2001:db8:1::2", .sport = 40000
static const struct flow_spec FLOWS[] = {
	{ { C4, .dst = FUZZ_LISTEN4, .dport = 8080, .proto = IPPROTO_TCP, .tcp_flags = TCP_SYN }, "203.0.113.2", 80 },
	{ { C4, .dst = FUZZ_LISTEN4, .dport = 5353, .proto = IPPROTO_UDP, .payload = 12 }, "203.0.113.2", 53 },
	{ { C6, .dst = FUZZ_LISTEN6, .dport = 8443, .proto = IPPROTO_TCP, .tcp_flags = TCP_SYN }, "2001:db8:2::2", 443 },
	{ { C6, .dst = FUZZ_LISTEN6, .dport = 5300, .proto = IPPROTO_UDP, .payload = 12 }, "2001:db8:2::2", 53 },
	{ { C4, .dst = FUZZ_LISTEN4, .dport = 7150, .proto = IPPROTO_TCP, .tcp_flags = TCP_SYN }, "203.0.113.3", 7050 },
	{ { C4, .dst = "198.51.100.7", .dport = 9999, .proto = IPPROTO_TCP, .tcp_flags = TCP_SYN }, "203.0.113.4", 9999 },
	{ { C4, .dst = FUZZ_LISTEN4, .dport = 7000, .proto = IPPROTO_UDP, .payload = 12 }, "203.0.113.5", 7000 },
	{ { C4, .dst = FUZZ_LISTEN4, .dport = 5353, .proto = IPPROTO_UDP, .payload = 12, .udp_zero_csum = true },
	  "203.0.113.2", 53 },
	{ { C4, .dst = FUZZ_LISTEN4, .dport = 8090, .proto = IPPROTO_TCP, .tcp_flags = TCP_SYN }, "203.0.113.6", 80,
	  "198.51.100.9" },
	{ { C6, .dst = FUZZ_LISTEN6, .dport = 5390, .proto = IPPROTO_UDP, .payload = 12 }, "2001:db8:2::6", 53,
	  "2001:db8:1::9" },
};
#define NFLOWS (sizeof(FLOWS) / sizeof(FLOWS[0]))

static struct fuzz_opener OPENERS[NFLOWS];

const struct fuzz_opener *fuzz_opener(__u8 sel)
{
	unsigned int k = sel & 0x0f;
	struct pkt p;

	if (!k || k > NFLOWS)
		return NULL;
	if (!OPENERS[k - 1].len) {
		pkt_build(&p, &FLOWS[k - 1].fwd);
		memcpy(OPENERS[k - 1].pkt, p.b, p.len);
		OPENERS[k - 1].len = p.len;
	}
	return &OPENERS[k - 1];
}

static int write_seed(const char *dir, int *n, __u8 sel, const struct pkt *p)
{
	char path[512];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/seed-%03d", dir, (*n)++);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	ok = fputc(sel, f) != EOF && fwrite(p->b, 1, p->len, f) == p->len;
	return fclose(f) || !ok ? -EIO : 0;
}

/* Port unreachable: ICMP type and code, or ICMPv6's. */
#define UNREACH(src) strchr(src, ':') ? 1 : ICMP_DEST_UNREACH, strchr(src, ':') ? 4 : ICMP_PORT_UNREACH

/* For flow k: its first packet, later data, the reply, and ICMP errors both ways. */
static int flow_seeds(const char *dir, int *n, unsigned int k)
{
	const struct flow_spec *fl = &FLOWS[k];
	struct pkt_spec s = fl->fwd, t = fl->fwd, r, rc;
	struct pkt p, fwd_t, rep_c;
	const char *seen = fl->snat ? fl->snat : s.src; /* the client as the target sees it */
	int err = 0;

	pkt_build(&p, &s);
	err |= write_seed(dir, n, 0, &p);
	s.tcp_flags = s.proto == IPPROTO_TCP ? TCP_ACK | TCP_PSH : 0;
	s.payload = 100;
	pkt_build(&p, &s);
	err |= write_seed(dir, n, k + 1, &p);
	/* the reply from the target, and as the client sees it */
	r = (struct pkt_spec){ .src = fl->target, .dst = seen, .sport = fl->tport, .dport = s.sport,
			       .proto = s.proto, .tcp_flags = TCP_SYN | TCP_ACK, .payload = 20,
			       .udp_zero_csum = s.udp_zero_csum };
	pkt_build(&p, &r);
	err |= write_seed(dir, n, k + 1, &p);
	rc = r;
	rc.src = s.dst;
	rc.dst = s.src;
	rc.sport = s.dport;
	pkt_build(&rep_c, &rc);
	/* the forward packet as the target got it, quoted back by the target */
	t.src = seen;
	t.dst = fl->target;
	t.dport = fl->tport;
	pkt_build(&fwd_t, &t);
	pkt_icmp(&p, fl->target, seen, UNREACH(s.src), 0, &fwd_t, fwd_t.len - 14 < 48 ? fwd_t.len - 14 : 48);
	err |= write_seed(dir, n, k + 1, &p);
	/* the reply as the client got it, quoted back by the client */
	pkt_icmp(&p, s.src, s.dst, UNREACH(s.src), 0, &rep_c, rep_c.len - 14 < 48 ? rep_c.len - 14 : 48);
	err |= write_seed(dir, n, k + 1, &p);
	return err;
}

int fuzz_write_seeds(const char *dir)
{
	struct pkt_spec big = FLOWS[1].fwd, v6 = FLOWS[3].fwd, miss = FLOWS[0].fwd;
	struct pkt d, f[4], p;
	int n = 0, err = 0;

	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	for (unsigned int k = 0; k < NFLOWS; k++)
		err |= flow_seeds(dir, &n, k);
	/* a fragmented datagram: its first and a later fragment */
	big.payload = 1800;
	pkt_build(&d, &big);
	for (int i = 0, nf = pkt_fragment4(&d, 1480, f, 4); i < nf; i++)
		err |= write_seed(dir, &n, 0, &f[i]);
	v6.ext6 = EXT_HBH_DST;
	pkt_build(&p, &v6);
	err |= write_seed(dir, &n, 0, &p);
	v6.ext6 = EXT_FRAG_FIRST;
	pkt_build(&p, &v6);
	err |= write_seed(dir, &n, 0, &p);
	miss.dport = 8081;
	pkt_build(&p, &miss);
	err |= write_seed(dir, &n, 0, &p);
	pkt_build(&d, &FLOWS[0].fwd);
	pkt_icmp(&p, "198.51.100.2", FUZZ_LISTEN4, ICMP_ECHO, 0, 0x00010001, &d, 20);
	err |= write_seed(dir, &n, 0, &p);
	return err ? -EIO : 0;
}
