// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Source NAT option tests: what a rule stores (pr_rule_nat, flags), the default port range, identity in apply, and the interface addresses masquerade takes. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include "rules_test.h"

/* The default range of this host, as a rule without --snat-ports gets it. */
static void host_default(__u16 *lo, __u16 *hi)
{
	__u16 llo, lhi;

	pr_local_port_range(&llo, &lhi);
	if (pr_snat_default_ports(llo, lhi, lo, hi)) {
		*lo = 1024;
		*hi = 65535;
	}
}

void t_nat_fields(void)
{
	struct pr_rule_meta m;
	__u32 a4;
	__u16 lo, hi;

	host_default(&lo, &hi);
	m = must_parse("tcp :80 192.0.2.10:80");
	EXPECT_INT(m.nat.mode, PR_SNAT_NONE);
	EXPECT_INT(m.rule.flags & (PR_RULE_F_SNAT | PR_RULE_F_HAIRPIN_OFF), 0);
	EXPECT_INT(m.nat.port_lo, lo);
	EXPECT_INT(m.nat.port_hi, hi);
	EXPECT_INT(m.nat.family, PR_AF_INET);
	EXPECT_INT(m.cflags, 0);
	EXPECT_TRUE(!pr_rule_shows_snat_ports(&m));
	ktap_result("nat: a DNAT-only rule has mode none and the host's default range (%u-%u)", lo, hi);

	m = must_parse("tcp :80 192.0.2.10:80 --masquerade");
	EXPECT_INT(m.nat.mode, PR_SNAT_MASQ);
	EXPECT_INT(m.rule.flags & PR_RULE_F_SNAT, PR_RULE_F_SNAT);
	EXPECT_INT(m.nat.port_lo, lo);
	EXPECT_INT(m.nat.port_hi, hi);
	EXPECT_TRUE(pr_rule_shows_snat_ports(&m));
	ktap_result("nat: --masquerade sets the SNAT flag, mode masq and the default range");

	m = must_parse("tcp :80 192.0.2.10:80 --snat 198.51.100.1 --snat-ports 40000-40999 --hairpin off");
	inet_pton(AF_INET, "198.51.100.1", &a4);
	EXPECT_INT(m.nat.mode, PR_SNAT_ADDR);
	EXPECT_INT(m.nat.addr.v4, a4);
	EXPECT_INT(m.nat.addr.v6[1] | m.nat.addr.v6[2] | m.nat.addr.v6[3], 0);
	EXPECT_INT(m.nat.port_lo, 40000);
	EXPECT_INT(m.nat.port_hi, 40999);
	EXPECT_INT(m.cflags, PR_META_F_SNAT_PORTS);
	EXPECT_INT(m.rule.flags & (PR_RULE_F_SNAT | PR_RULE_F_HAIRPIN_OFF), PR_RULE_F_SNAT | PR_RULE_F_HAIRPIN_OFF);
	ktap_result("nat: --snat ADDR --snat-ports LO-HI --hairpin off are stored as given");

	m = must_parse("tcp :80 192.0.2.10:80 --snat-ports 7000-7010");
	EXPECT_INT(m.rule.flags & PR_RULE_F_SNAT, 0);
	EXPECT_INT(m.nat.port_lo * 100000 + m.nat.port_hi, 7000 * 100000 + 7010);
	EXPECT_TRUE(pr_rule_shows_snat_ports(&m));
	ktap_result("nat: --snat-ports alone keeps DNAT and the range, and is shown");
}

void t_snat_default(void)
{
	static const struct { __u16 llo, lhi; int ret; __u16 lo, hi; } v[] = {
		{ 32768, 60999, 0, 61000, 65535 }, /* Linux's default */
		{ 1024, 60000, 0, 60001, 65535 },
		{ 40000, 65534, 0, 65535, 65535 },
		{ 2000, 65535, 0, 1024, 1999 },	   /* nothing above: below, from 1024 */
		{ 1025, 65535, 0, 1024, 1024 },
		{ 1024, 65535, -ENOSPC, 0, 0 },
		{ 1, 65535, -ENOSPC, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		__u16 lo = 0, hi = 0;

		EXPECT_INT(pr_snat_default_ports(v[i].llo, v[i].lhi, &lo, &hi), v[i].ret);
		if (!v[i].ret) {
			EXPECT_INT(lo, v[i].lo);
			EXPECT_INT(hi, v[i].hi);
		}
		ktap_result("default --snat-ports for ip_local_port_range %u-%u: %s", v[i].llo, v[i].lhi,
			    v[i].ret ? "no room" : "outside it");
	}
}

/* apply leaves a rule alone only when pr_meta_same says so: every NAT field counts. */
void t_nat_identity(void)
{
	static const struct { const char *a, *b; bool same; } v[] = {
		{ "tcp :80 192.0.2.10:80 --masquerade", "tcp :80 192.0.2.10:80 --masquerade", true },
		{ "tcp :80 192.0.2.10:80", "tcp :80 192.0.2.10:80 --masquerade", false },
		{ "tcp :80 192.0.2.10:80 --masquerade", "tcp :80 192.0.2.10:80 --snat 198.51.100.1", false },
		{ "tcp :80 192.0.2.10:80 --snat 198.51.100.1", "tcp :80 192.0.2.10:80 --snat 198.51.100.2", false },
		{ "tcp :80 192.0.2.10:80 --masquerade --snat-ports 40000-40999",
		  "tcp :80 192.0.2.10:80 --masquerade --snat-ports 40000-41000", false },
		{ "tcp :80 192.0.2.10:80", "tcp :80 192.0.2.10:80 --hairpin off", false },
		{ "tcp :80 192.0.2.10:80", "tcp :80 192.0.2.10:80 --hairpin auto", true },
		{ "tcp :80 192.0.2.10:80 --hairpin off --masquerade", "tcp :80 192.0.2.10:80 --masquerade --hairpin off", true },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct pr_rule_meta a = must_parse(v[i].a), b = must_parse(v[i].b);

		EXPECT_INT(pr_meta_same(&a, &b), v[i].same);
		ktap_result("identity: '%s' %s '%s'", v[i].a, v[i].same ? "is" : "is not", v[i].b);
	}
	{
		/* a given range equal to the default is still a change: save writes it from then on */
		struct pr_rule_meta a = must_parse("tcp :80 192.0.2.10:80"), b;
		char line[PR_LINE_LEN];

		snprintf(line, sizeof(line), "tcp :80 192.0.2.10:80 --snat-ports %u-%u", a.nat.port_lo, a.nat.port_hi);
		b = must_parse(line);
		EXPECT_INT(pr_meta_same(&a, &b), false);
		EXPECT_INT(memcmp(&a.nat, &b.nat, sizeof(a.nat)), 0);
		ktap_result("identity: giving the default range explicitly is a replace (it is saved from then on)");
	}
}

/* One fake getifaddrs entry. */
struct fake_if {
	struct ifaddrs ifa;
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} addr;
};

static void fake(struct fake_if *f, struct fake_if *next, const char *name, const char *ip)
{
	memset(f, 0, sizeof(*f));
	f->ifa.ifa_name = (char *)name;
	f->ifa.ifa_next = next ? &next->ifa : NULL;
	f->ifa.ifa_addr = &f->addr.sa;
	if (inet_pton(AF_INET, ip, &f->addr.in.sin_addr) == 1) {
		f->addr.in.sin_family = AF_INET;
	} else {
		f->addr.in6.sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &f->addr.in6.sin6_addr);
	}
}

void t_ifaddr_pick(void)
{
	static const char *const list[][2] = {
		{ "rs", "127.0.0.2" },	   { "rc", "198.51.100.1" }, { "rs", "169.254.3.4" }, { "rs", "224.0.0.5" },
		{ "rs", "fe80::1" },	   { "rs", "::1" },	     { "rs", "203.0.113.1" }, { "rs", "203.0.113.9" },
		{ "rs", "2001:db8:1::1" }, { "rs", "2001:db8:1::2" },
	};
	enum { N = sizeof(list) / sizeof(list[0]) };
	struct fake_if f[N];
	struct pr_ifaddr a;
	__u8 want6[16];
	__u32 want4;

	for (int i = N - 1; i >= 0; i--)
		fake(&f[i], i + 1 < N ? &f[i + 1] : NULL, list[i][0], list[i][1]);
	pr_ifaddr_of(&f[0].ifa, "rs", &a);
	inet_pton(AF_INET, "203.0.113.1", &want4);
	inet_pton(AF_INET6, "2001:db8:1::1", want6);
	EXPECT_INT(a.has_v4, 1);
	EXPECT_INT(a.v4, want4);
	EXPECT_INT(a.has_v6, 1);
	EXPECT_INT(memcmp(a.v6.b, want6, 16), 0);
	ktap_result("ifaddr: the first global IPv4 and IPv6 of the interface, past loopback, link-local, multicast");

	pr_ifaddr_of(&f[0].ifa, "rx", &a);
	EXPECT_INT(a.has_v4 + a.has_v6, 0);
	EXPECT_INT(a.v4, 0);
	pr_ifaddr_of(&f[0].ifa, "rc", &a);
	EXPECT_INT(a.has_v4 * 10 + a.has_v6, 10);
	ktap_result("ifaddr: an interface without addresses, or without IPv6, says so");
}
