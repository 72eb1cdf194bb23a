// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Rule syntax tests: good lines and their canonical form, bad lines and the token each error names, apply-file words, del's listen. */
#include <arpa/inet.h>
#include <errno.h>
#include "rules_test.h"

/* Rule lines and their canonical form (pr_rule_line). */
static const struct { const char *line, *canon; } good[] = {
	{ "tcp :8080 192.0.2.10:80", NULL },
	{ "udp 198.51.100.1:53 192.0.2.10:5353 --name dns", NULL },
	{ "any :1000-1010 192.0.2.10:2000-2010", NULL },
	{ "tcp :1000-1010 192.0.2.10:80", NULL },
	{ "tcp 192.0.2.1:80-80 192.0.2.10:8080", "tcp 192.0.2.1:80 192.0.2.10:8080" },
	{ "tcp :* 192.0.2.10", NULL },
	{ "tcp :* 192.0.2.10:*", "tcp :* 192.0.2.10" },
	{ "tcp :* 192.0.2.10:8080", NULL },
	{ "udp 192.0.2.1:* 192.0.2.10:443", NULL },
	{ "tcp :80-90 192.0.2.10:*", NULL },
	{ "any :1-65535 192.0.2.10:*", NULL },
	{ "tcp [2001:db8::1]:443 [2001:db8::2]:8443", NULL },
	{ "tcp [2001:0db8:0000::1]:80 [2001:db8::2]:80", "tcp [2001:db8::1]:80 [2001:db8::2]:80" },
	{ "udp [::]:53 [2001:db8::53]:53", NULL },
	{ "udp :53 [2001:db8::53]:53", "udp [::]:53 [2001:db8::53]:53" },
	{ "tcp [::]:* [2001:db8::9]", NULL },
	{ "tcp [::]:1-2 [2001:db8::9]:7-8", NULL },
	{ "tcp :22 192.0.2.10:22 --allow 203.0.113.0/24 --allow 198.51.100.7",
	  "tcp :22 192.0.2.10:22 --allow 203.0.113.0/24 --allow 198.51.100.7/32" },
	{ "tcp :22 192.0.2.10:22 --allow 203.0.113.77/24 --deny-action pass",
	  "tcp :22 192.0.2.10:22 --allow 203.0.113.0/24 --deny-action pass" },
	{ "tcp :22 192.0.2.10:22 --deny-action drop --allow 0.0.0.0/0", "tcp :22 192.0.2.10:22 --allow 0.0.0.0/0" },
	{ "tcp [::]:22 [2001:db8::10]:22 --allow 2001:db8:ffff::1/48",
	  "tcp [::]:22 [2001:db8::10]:22 --allow 2001:db8:ffff::/48" },
	{ "tcp :80 192.0.2.10:80 --replace --name web", "tcp :80 192.0.2.10:80 --name web" },
	{ "tcp :80 192.0.2.10:80 --name A-z_0.9", NULL },
	{ "tcp :80 192.0.2.10:80 --masquerade", NULL },
	{ "tcp :80 192.0.2.10:80 --snat 198.51.100.1", NULL },
	{ "tcp :80 192.0.2.10:80 --snat 198.51.100.1 --snat-ports 40000-40999 --hairpin off", NULL },
	{ "tcp :80 192.0.2.10:80 --hairpin auto", "tcp :80 192.0.2.10:80" },
	{ "tcp :80 192.0.2.10:80 --hairpin off", NULL },
	{ "tcp :80 192.0.2.10:80 --snat-ports 5000", NULL },
	{ "tcp :80 192.0.2.10:80 --snat-ports 5000-5000", "tcp :80 192.0.2.10:80 --snat-ports 5000" },
	{ "tcp :80 192.0.2.10:80 --snat-ports 1-65535 --masquerade", "tcp :80 192.0.2.10:80 --masquerade --snat-ports 1-65535" },
	{ "tcp [::]:80 [2001:db8::2]:80 --snat 2001:0db8::0001", "tcp [::]:80 [2001:db8::2]:80 --snat 2001:db8::1" },
	{ "tcp :80 [2001:db8::2]:80 --masquerade", "tcp [::]:80 [2001:db8::2]:80 --masquerade" },
	{ "udp :53 192.0.2.10:53 --hairpin off --masquerade --name dns --allow 198.51.100.0/24 --deny-action pass",
	  "udp :53 192.0.2.10:53 --name dns --allow 198.51.100.0/24 --deny-action pass --masquerade --hairpin off" },
	{ "any :* 192.0.2.50 --masquerade --name dmz", "any :* 192.0.2.50 --name dmz --masquerade" },
};

void t_good_lines(void)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const char *want = good[i].canon ? good[i].canon : good[i].line;
		struct pr_rule_meta m = must_parse(good[i].line), back = {};
		char line[PR_LINE_LEN] = "", again[PR_LINE_LEN] = "", err[ERRLEN] = "";

		EXPECT_INT(pr_rule_line(&m, line, sizeof(line)), 0);
		EXPECT_STR(line, want);
		/* the canonical line, as add's argv, is the same rule and its own canonical form */
		EXPECT_INT(parse_argv(line, &back, err), 0);
		EXPECT_STR(err, "");
		EXPECT_TRUE(pr_meta_same(&m, &back));
		pr_rule_line(&back, again, sizeof(again));
		EXPECT_STR(again, line);
		ktap_result("good: %s", good[i].line);
	}
}

/* Bad rule lines: each message names the bad token (quoted) and says why. */
static const struct { const char *line, *msg; } bad[] = {
	{ "tcpx :80 192.0.2.1:80", "unknown protocol 'tcpx'" },
	{ "tcp :0 192.0.2.1:80", "bad port '0' in ':0'" },
	{ "tcp :65536 192.0.2.1:80", "bad port '65536' in ':65536'" },
	{ "tcp :8o 192.0.2.1:80", "bad port '8o' in ':8o'" },
	{ "tcp :90-80 192.0.2.1:80", "bad port range '90-80' in ':90-80'" },
	{ "tcp :80- 192.0.2.1:80", "missing port in ':80-'" },
	{ "tcp : 192.0.2.1:80", "missing port in ':'" },
	{ "tcp 192.0.2.1 192.0.2.2:80", "missing listen port in '192.0.2.1'" },
	{ "tcp 300.1.1.1:80 192.0.2.1:80", "bad listen address '300.1.1.1' in '300.1.1.1:80'" },
	{ "tcp :80 :80", "target ':80' needs an address" },
	{ "tcp :80 0.0.0.0:80", "target '0.0.0.0:80' needs an address" },
	{ "tcp :80 [::]:80", "target '[::]:80' needs an address" },
	{ "tcp :80 192.0.2.1", "missing target port in '192.0.2.1'" },
	{ "tcp :80-81 192.0.2.1:90-92", "listen ':80-81' has 2 ports, target '192.0.2.1:90-92' has 3" },
	{ "tcp :* 192.0.2.1:90-92", "not the range in '192.0.2.1:90-92'" },
	{ "tcp 192.0.2.1:80 [2001:db8::1]:80", "listen '192.0.2.1:80' is IPv4, target '[2001:db8::1]:80' is IPv6" },
	{ "tcp [2001:db8::1:80 192.0.2.1:80", "bad listen '[2001:db8::1:80' (missing ']')" },
	{ "tcp [2001:db8::1] [2001:db8::2]:80", "missing listen port in '[2001:db8::1]'" },
	{ "tcp [zz::1]:80 [2001:db8::2]:80", "bad listen IPv6 address 'zz::1' in '[zz::1]:80'" },
	{ "tcp 2001:db8::1:80 192.0.2.1:80", "bad listen '2001:db8::1:80' (write IPv6 as [ADDR]:PORT)" },
	{ "tcp :80 192.0.2.1:80 --name", "--name needs a value" },
	{ "tcp :80 192.0.2.1:80 --name a/b", "bad name 'a/b'" },
	{ "tcp :80 192.0.2.1:80 --name abcdefghijklmnopqrstuvwxyz012345", "bad name 'abcdefghijklmnopqrstuvwxyz012345' (1-31" },
	{ "tcp :80 192.0.2.1:80 --allow", "--allow needs a CIDR" },
	{ "tcp :80 192.0.2.1:80 --allow 10.0.0.0/33", "bad --allow prefix length in '10.0.0.0/33' (0-32)" },
	{ "tcp :80 192.0.2.1:80 --allow 10.0.0.0/", "bad --allow prefix length in '10.0.0.0/'" },
	{ "tcp :80 192.0.2.1:80 --allow nothost", "bad --allow address 'nothost'" },
	{ "tcp :80 192.0.2.1:80 --allow 2001:db8::/32", "--allow '2001:db8::/32' is IPv6 but the rule is IPv4" },
	{ "tcp :80 [2001:db8::1]:80 --allow 10.0.0.0/8", "--allow '10.0.0.0/8' is IPv4 but the rule is IPv6" },
	{ "tcp :80 192.0.2.1:80 --allow 192.0.2.1 --allow 192.0.2.2 --allow 192.0.2.3 --allow 192.0.2.4 "
	  "--allow 192.0.2.5 --allow 192.0.2.6 --allow 192.0.2.7 --allow 192.0.2.8 --allow 192.0.2.9 "
	  "--allow 192.0.2.10 --allow 192.0.2.11 --allow 192.0.2.12 --allow 192.0.2.13 --allow 192.0.2.14 "
	  "--allow 192.0.2.15 --allow 192.0.2.16 --allow 192.0.2.17", "too many --allow (at most 16): '192.0.2.17'" },
	{ "tcp :80 192.0.2.1:80 --deny-action", "--deny-action needs pass or drop" },
	{ "tcp :80 192.0.2.1:80 --deny-action maybe", "unknown --deny-action 'maybe'" },
	{ "tcp :80 192.0.2.1:80 --deny-action pass", "--deny-action 'pass' needs --allow" },
	{ "tcp :80 192.0.2.1:80 --bogus", "unknown option '--bogus'" },
	{ "tcp :80 192.0.2.1:80 extra", "unexpected argument 'extra'" },
	{ "tcp :80 192.0.2.1:80 --snat", "--snat needs an address" },
	{ "tcp :80 192.0.2.1:80 --snat 198.51.100.300", "bad --snat address '198.51.100.300'" },
	{ "tcp :80 192.0.2.1:80 --snat 0.0.0.0", "--snat '0.0.0.0' needs an address" },
	{ "tcp :80 192.0.2.1:80 --snat 2001:db8::1", "--snat '2001:db8::1' is IPv6 but the rule is IPv4" },
	{ "tcp [::]:80 [2001:db8::2]:80 --snat 198.51.100.1", "--snat '198.51.100.1' is IPv4 but the rule is IPv6" },
	{ "tcp :80 192.0.2.1:80 --snat [2001:db8::1]", "bad --snat address '[2001:db8::1]'" },
	{ "tcp :80 192.0.2.1:80 --masquerade --snat 198.51.100.1",
	  "--masquerade and --snat '198.51.100.1' exclude each other" },
	{ "tcp :80 192.0.2.1:80 --snat-ports", "--snat-ports needs a range LO-HI" },
	{ "tcp :80 192.0.2.1:80 --snat-ports 0-100", "bad port '0' in '--snat-ports 0-100' (expected 1-65535)" },
	{ "tcp :80 192.0.2.1:80 --snat-ports 2000-1000", "bad port range '2000-1000' in '--snat-ports 2000-1000'" },
	{ "tcp :80 192.0.2.1:80 --snat-ports 1000-70000", "bad port '70000' in '--snat-ports 1000-70000'" },
	{ "tcp :80 192.0.2.1:80 --snat-ports *", "bad port '*' in '--snat-ports *' (expected LO-HI)" },
	{ "tcp :80 192.0.2.1:80 --snat-ports x", "bad port 'x' in '--snat-ports x'" },
	{ "tcp :80 192.0.2.1:80 --hairpin", "--hairpin needs auto or off" },
	{ "tcp :80 192.0.2.1:80 --hairpin on", "unknown --hairpin 'on' (expected auto or off)" },
	{ "tcp :80 192.0.2.1:80 --masq", "unknown option '--masq'" },
	/* an option that takes one value, given twice */
	{ "tcp :80 192.0.2.1:80 --name a --name b", "--name given twice ('a', then 'b')" },
	{ "tcp :80 192.0.2.1:80 --allow 10.0.0.0/8 --deny-action pass --deny-action drop",
	  "--deny-action given twice ('pass', then 'drop')" },
	{ "tcp :80 192.0.2.1:80 --snat 198.51.100.1 --snat 198.51.100.1",
	  "--snat given twice ('198.51.100.1', then '198.51.100.1')" },
	{ "tcp :80 192.0.2.1:80 --snat-ports 1-2 --snat-ports 3-4", "--snat-ports given twice ('1-2', then '3-4')" },
	{ "tcp :80 192.0.2.1:80 --hairpin off --hairpin auto", "--hairpin given twice ('off', then 'auto')" },
	{ "tcp :80", "missing TARGET (expected PROTO LISTEN TARGET)" },
	{ "tcp", "missing LISTEN" },
};

void t_bad_lines(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char file_err[ERRLEN] = "", argv_err[ERRLEN] = "";
		struct pr_ruleset rs;
		struct pr_rule_meta m;
		unsigned int line = 0;

		EXPECT_INT(read_text(bad[i].line, &rs, &line, file_err), -EINVAL);
		EXPECT_INT(line, 1);
		EXPECT_INT(rs.n, 0);
		EXPECT_HAS(file_err, bad[i].msg);
		/* add's arguments go through the same parser */
		EXPECT_INT(parse_argv(bad[i].line, &m, argv_err), -EINVAL);
		EXPECT_STR(argv_err, file_err);
		ktap_result("bad: %s", bad[i].line);
	}
}

void t_file_syntax(void)
{
	static const char nul[] = "tcp :1 192.0.2.1:1\ntcp :2\0 192.0.2.1:2\n";
	char err[ERRLEN] = "", line[PR_LINE_LEN] = "", many[700] = "tcp :1 192.0.2.1:1";
	struct pr_ruleset rs;
	unsigned int bad = 0;

	EXPECT_INT(read_text("# c\n\n  tcp :1 192.0.2.1:1 # trailing\n\t\nudp :2 192.0.2.1:2\r\n", &rs, &bad, err), 0);
	EXPECT_INT(rs.n, 2);
	EXPECT_INT(rs.n == 2 ? rs.src[0].line * 10 + rs.src[1].line : 0, 35);
	EXPECT_STR(rs.n == 2 ? rs.src[1].listen : "", "udp :2");
	pr_ruleset_free(&rs);
	ktap_result("file: blank lines, comments and CRLF are skipped; lines are counted");

	EXPECT_INT(read_text("tcp ':8080' \"192.0.2.10:80\" --name 'web'\n", &rs, &bad, err), 0);
	if (rs.n == 1)
		pr_rule_line(&rs.rules[0], line, sizeof(line));
	EXPECT_STR(line, "tcp :8080 192.0.2.10:80 --name web");
	pr_ruleset_free(&rs);
	ktap_result("file: words may be quoted as in a shell");

	EXPECT_INT(read_text("tcp :1 192.0.2.1:1\n\ntcp ':2 192.0.2.1:2\n", &rs, &bad, err), -EINVAL);
	EXPECT_INT(bad, 3);
	EXPECT_HAS(err, "unterminated quote in '':2 192.0.2.1:2'");
	ktap_result("file: an unterminated quote names the line and the word");

	EXPECT_INT(read_text("tcp ':80'x 192.0.2.1:80\n", &rs, &bad, err), -EINVAL);
	EXPECT_HAS(err, "a quoted word must end at a blank: ':80'");
	ktap_result("file: a quoted word ends at a blank");

	EXPECT_INT(read_file(nul, sizeof(nul) - 1, &rs, &bad, err), -EINVAL);
	EXPECT_INT(bad, 2);
	EXPECT_HAS(err, "NUL byte");
	ktap_result("file: a NUL byte is refused with its line");

	EXPECT_INT(read_text("\xef\xbb\xbftcp :1 192.0.2.1:1\n", &rs, &bad, err), 0);
	EXPECT_INT(rs.n, 1);
	EXPECT_STR(rs.n == 1 ? rs.src[0].listen : "", "tcp :1");
	pr_ruleset_free(&rs);
	EXPECT_INT(read_text("tcp :1 192.0.2.1:1\n\xef\xbb\xbftcp :2 192.0.2.1:2\n", &rs, &bad, err), -EINVAL);
	EXPECT_INT(bad, 2);
	EXPECT_INT(read_file("\xfe\xff\0t\0c", 6, &rs, &bad, err), -EINVAL);
	EXPECT_HAS(err, "UTF-16 (byte-order mark FE FF)");
	ktap_result("file: a UTF-8 byte-order mark opening it is dropped (elsewhere it is a bad word); UTF-16 is refused");

	EXPECT_INT(read_text("interface rc --mode tc --mode=native\n", &rs, &bad, err), -EINVAL);
	EXPECT_HAS(err, "--mode given twice ('tc', then 'native')");
	EXPECT_INT(read_text("interface rc --max-rules 8 --max-rules=9\n", &rs, &bad, err), -EINVAL);
	EXPECT_HAS(err, "--max-rules given twice ('8', then '9')");
	ktap_result("file: an interface line's --mode or --max-rules given twice is refused");

	for (int i = 0; i < 61; i++) /* 64 words */
		strcat(many, " --replace");
	strcat(many, " x");
	EXPECT_INT(read_text(many, &rs, &bad, err), -EINVAL);
	EXPECT_HAS(err, "too many words (at most 64): 'x'");
	ktap_result("file: at most 64 words a line");

	EXPECT_INT(read_text("tcp :1 192.0.2.1:1\ntcp :2 192.0.2.1:2\nudp :3 192.0.2.1\n", &rs, &bad, err), -EINVAL);
	EXPECT_INT(bad, 3);
	EXPECT_INT(rs.n, 0);
	EXPECT_HAS(err, "missing target port in '192.0.2.1'");
	ktap_result("file: the first bad line is named and nothing is kept");
}

void t_del_listen(void)
{
	static const struct { const char *proto, *listen; __u8 family, proto_v; __u16 lo, hi; } ok[] = {
		{ "tcp", ":8080", 0, IPPROTO_TCP, 8080, 8080 },
		{ "udp", "[::]:53", PR_AF_INET6, IPPROTO_UDP, 53, 53 },
		{ "any", "192.0.2.1:1-5", PR_AF_INET, 0, 1, 5 },
		{ "tcp", ":*", 0, IPPROTO_TCP, 0, 0 },
	};
	static const struct { const char *proto, *listen, *msg; } ko[] = {
		{ "tcp", ":x", "bad port 'x' in ':x'" },
		{ "icmp", ":1", "unknown protocol 'icmp'" },
		{ "tcp", "192.0.2.1", "missing listen port in '192.0.2.1'" },
	};
	struct pr_rule_spec s;
	char err[ERRLEN];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		err[0] = 0;
		EXPECT_INT(pr_spec_parse_listen(ok[i].proto, ok[i].listen, &s, err, sizeof(err)), 0);
		EXPECT_STR(err, "");
		EXPECT_INT(s.key.family, ok[i].family);
		EXPECT_INT(s.key.proto, ok[i].proto_v);
		EXPECT_INT(ntohs(s.key.port), ok[i].lo);
		EXPECT_INT(s.port_last, ok[i].hi);
		ktap_result("del listen: %s %s", ok[i].proto, ok[i].listen);
	}
	for (size_t i = 0; i < sizeof(ko) / sizeof(ko[0]); i++) {
		EXPECT_INT(pr_spec_parse_listen(ko[i].proto, ko[i].listen, &s, err, sizeof(err)), -EINVAL);
		EXPECT_HAS(err, ko[i].msg);
		ktap_result("del listen: bad %s %s", ko[i].proto, ko[i].listen);
	}
}


/* The longest rule there is fits PR_LINE_LEN, and a short buffer is -ENOSPC. */
void t_line_fits(void)
{
	char in[2 * PR_LINE_LEN], out[PR_LINE_LEN], small[40], err[ERRLEN] = "";
	struct pr_rule_meta m, back = {};
	int n;

	n = snprintf(in, sizeof(in), "any [ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0]:65534-65535 "
		     "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff1]:65534-65535 --name abcdefghijklmnopqrstuvwxyz01234");
	for (int i = 0; i < PR_ALLOW_MAX; i++)
		n += snprintf(in + n, sizeof(in) - n, " --allow ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff%02x/128", i);
	snprintf(in + n, sizeof(in) - n, " --deny-action pass");
	m = must_parse(in);
	EXPECT_INT(pr_rule_line(&m, out, sizeof(out)), 0);
	EXPECT_STR(out, in);
	EXPECT_INT(parse_line(out, &back, err), 0);
	EXPECT_TRUE(pr_meta_same(&m, &back));
	EXPECT_INT(pr_rule_line(&m, small, sizeof(small)), -ENOSPC);
	EXPECT_INT(pr_rule_line(&m, small, 0), -ENOSPC);
	ktap_result("canonical line: the longest rule fits PR_LINE_LEN (%zu bytes), a short buffer is -ENOSPC",
		    strlen(in));
}
