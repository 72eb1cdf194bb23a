// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit cases: the packet portredir check builds (loader/check_run.c) is complete, and XDP finishes it as it would a real client's. */
#include <arpa/inet.h>
#include <string.h>
#include "cases.h"
#include "check.h"

static const unsigned char CHECK_DMAC[6] = { 0x02, 0, 0, 0, 0, 0x0a }, CHECK_SMAC[6] = { 0x02, 0, 0, 0, 0, 0x0b };

/* The check's packet from CLIENT(6):CPORT to LISTEN(6):port into p. */
static bool check_pkt(struct pkt *p, bool v6, __u8 proto, __u16 port)
{
	struct pr_check_result r = { .family = v6 ? PR_AF_INET6 : PR_AF_INET, .proto = proto };
	int af = v6 ? AF_INET6 : AF_INET, len;

	inet_pton(af, v6 ? CLIENT6 : CLIENT, r.src.addr.b);
	inet_pton(af, v6 ? LISTEN6 : LISTEN, r.dst.addr.b);
	r.src.port = CPORT;
	r.dst.port = port;
	memset(p, 0, sizeof(*p));
	len = pr_check_packet(&r, CHECK_DMAC, CHECK_SMAC, p->b, sizeof(p->b));
	if (!ASSERT_TRUE(len > 0, "pr_check_packet"))
		return false;
	p->len = (__u32)len;
	return true;
}

/* TCP and UDP, IPv4 and IPv6: every checksum verifies from scratch, and
 * XDP translates the packet itself (marked done), so a check of an XDP
 * interface tests XDP's path, not the one it leaves partial checksums to. */
static void check_packet_xdp(struct fx *f, const void *arg)
{
	static const struct { bool v6; __u8 proto; __u16 port, tport; } v[] = {
		{ false, IPPROTO_TCP, 8080, 80 }, { false, IPPROTO_UDP, 5353, 53 },
		{ true, IPPROTO_TCP, 8080, 80 },  { true, IPPROTO_UDP, 5353, 53 },
	};
	struct pkt in, out;

	fx_base_rules(f);
	fx_rule(f, "tcp", NULL, 8080, TARGET6, 80, false);
	fx_rule(f, "udp", NULL, 5353, TARGET6, 53, false);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *what = v[i].proto == IPPROTO_TCP ? (v[i].v6 ? "tcp6" : "tcp") : (v[i].v6 ? "udp6" : "udp");

		if (!check_pkt(&in, v[i].v6, v[i].proto, v[i].port))
			return;
		ASSERT_CSUMS_OK(&in, what);
		ASSERT_EQ(pkt_sport(&in), CPORT, what);
		ASSERT_EQ(pkt_dport(&in), v[i].port, what);
		ASSERT_EQ(fx_run(f, fx_xdp(f), &in, &out, 0), XDP_PASS, what);
		ASSERT_EQ_HEX(f->meta, PR_META_DONE, what);
		ASSERT_EQ(pkt_dport(&out), v[i].tport, what);
		ASSERT_CSUMS_OK(&out, what);
	}
	TEST_LINE("check's packets (TCP SYN, UDP; IPv4, IPv6) verify, and XDP translates them itself");
}

const struct pr_case cases_check[] = {
	CASE(check_packet_xdp, "the packet portredir check builds is complete and XDP finishes it"),
};
const size_t cases_check_n = CASES_COUNT(cases_check);
