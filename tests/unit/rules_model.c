// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Rule model tests: stored fields, overlap, a rule file's self-check, spans, allowlist diff, ids, sizing and capacity, reason names, and the reconciliation of rules with the datapath maps. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include "rules_test.h"

void t_fields(void)
{
	struct pr_rule_meta m = must_parse("any :1000-1010 192.0.2.10:2000-2010");
	struct pr_rule r;
	union pr_addr a = {};

	EXPECT_INT(m.key.proto, 0);
	EXPECT_INT(m.key.family, PR_AF_INET);
	EXPECT_INT(ntohs(m.key.port), 1000);
	EXPECT_INT(m.port_last, 1010);
	EXPECT_INT(ntohs(m.rule.target_port), 2000);
	EXPECT_INT(m.target_port_last, 2010);
	EXPECT_INT(m.rule.flags, PR_RULE_F_DENY_DROP); /* inert without an allowlist */
	EXPECT_INT(pr_rule_span(&m), 22);
	pr_rule_entry(&m, 1005, &r);
	EXPECT_INT(ntohs(r.target_port), 2005);
	ktap_result("model: a range maps port for port, one entry a port and protocol");

	m = must_parse("tcp :1000-1010 192.0.2.10:80");
	pr_rule_entry(&m, 1005, &r);
	EXPECT_INT(m.target_port_last, 0);
	EXPECT_INT(ntohs(r.target_port), 80);
	EXPECT_INT(pr_rule_span(&m), 11);
	ktap_result("model: a range onto one port");

	m = must_parse("tcp :* 192.0.2.10");
	EXPECT_INT(m.key.port, 0);
	EXPECT_INT(m.port_last, 0);
	EXPECT_INT(m.rule.target_port, 0);
	EXPECT_INT(m.rule.flags, PR_RULE_F_KEEP_PORT | PR_RULE_F_DENY_DROP);
	EXPECT_INT(pr_rule_span(&m), 1);
	ktap_result("model: a DMZ is port 0, one entry, keeping each packet's port");

	m = must_parse("udp :53 192.0.2.10:53 --allow 198.51.100.0/24");
	EXPECT_INT(m.rule.flags, PR_RULE_F_ALLOW | PR_RULE_F_DENY_DROP);
	EXPECT_INT(m.allow_count, 1);
	m = must_parse("udp :53 192.0.2.10:53 --allow 198.51.100.0/24 --deny-action pass");
	EXPECT_INT(m.rule.flags, PR_RULE_F_ALLOW);
	ktap_result("model: an allowlist drops other sources unless --deny-action pass");

	m = must_parse("tcp [::]:443 [2001:db8::2]:8443");
	inet_pton(AF_INET6, "2001:db8::2", a.b);
	EXPECT_INT(m.key.family, PR_AF_INET6);
	EXPECT_INT(memcmp(&m.rule.target, &a, sizeof(a)), 0);
	memset(&a, 0, sizeof(a));
	EXPECT_INT(memcmp(&m.key.addr, &a, sizeof(a)), 0);
	ktap_result("model: IPv6 addresses fill all 16 bytes, any is all zero");
}

void t_overlap(void)
{
	static const struct { const char *a, *b; bool overlap; } pairs[] = {
		{ "tcp :80-90 192.0.2.1:80", "tcp :90 192.0.2.2:1", true },
		{ "tcp :80-90 192.0.2.1:80", "tcp :91-100 192.0.2.2:1", false },
		{ "tcp :80-90 192.0.2.1:80", "udp :85 192.0.2.2:1", false },
		{ "any :85 192.0.2.1:80", "udp :80-90 192.0.2.2:1", true },
		{ "tcp :80 192.0.2.1:80", "tcp 192.0.2.5:80 192.0.2.2:1", false },
		{ "tcp :80 192.0.2.1:80", "tcp [::]:80 [2001:db8::1]:1", false },
		{ "tcp :* 192.0.2.1", "tcp :* 192.0.2.2", true },
		{ "tcp :* 192.0.2.1", "tcp :1-65535 192.0.2.2:*", false },
		{ "tcp [2001:db8::1]:1-9 [2001:db8::2]:1-9", "any [2001:db8::1]:9 [2001:db8::3]:1", true },
	};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct pr_rule_meta a = must_parse(pairs[i].a), b = must_parse(pairs[i].b);

		EXPECT_INT(pr_listens_overlap(&a, &b), pairs[i].overlap);
		EXPECT_INT(pr_listens_overlap(&b, &a), pairs[i].overlap);
		ktap_result("overlap: '%s' and '%s': %s", pairs[i].a, pairs[i].b, pairs[i].overlap ? "yes" : "no");
	}
	{
		struct pr_rule_meta a = must_parse("tcp :80-90 192.0.2.1:80"), b = must_parse("tcp :80-90 192.0.2.9:1 --name x");
		struct pr_rule_meta c = must_parse("tcp :80-91 192.0.2.1:80"), d = must_parse("tcp :80-90 192.0.2.1:80");

		EXPECT_TRUE(pr_same_listen(&a, &b));
		EXPECT_TRUE(!pr_same_listen(&a, &c));
		EXPECT_TRUE(pr_meta_same(&a, &d));
		EXPECT_TRUE(!pr_meta_same(&a, &b));
		d.rule.id = 7;
		d.created_ns = 1;
		EXPECT_TRUE(pr_meta_same(&a, &d));
		ktap_result("same listen and same rule (id and creation time aside)");
	}
}

void t_ruleset_check(void)
{
	static const struct { const char *file, *msg; unsigned int line; } sets[] = {
		{ "tcp :80 192.0.2.1:80\ntcp :80 192.0.2.2:80\n", "listen 'tcp :80' is already on line 1", 2 },
		{ "tcp :80-90 192.0.2.1:80\nany :85 192.0.2.2:80\n", "listen 'any :85' overlaps 'tcp :80-90' on line 1", 2 },
		{ "tcp :50 192.0.2.1:80\n\ntcp :1-100 192.0.2.2:80\n", "listen 'tcp :1-100' overlaps 'tcp :50' on line 1", 3 },
		{ "tcp :1-100 192.0.2.1:1\ntcp :200 192.0.2.1:1\ntcp :2-3 192.0.2.1:1\ntcp :99 192.0.2.1:1\n",
		  "listen 'tcp :2-3' overlaps 'tcp :1-100' on line 1", 3 },
		{ "tcp :* 192.0.2.1\nany :* 192.0.2.2\n", "listen 'any :*' overlaps 'tcp :*' on line 1", 2 },
		{ "tcp :1 192.0.2.1:1 --name a\ntcp :2 192.0.2.1:2 --name a\n", "name 'a' is taken by line 1", 2 },
		{ "tcp :80 192.0.2.1:80\nudp :80 192.0.2.1:80\ntcp [::]:80 [2001:db8::1]:80\ntcp 192.0.2.7:80 192.0.2.1:81\n"
		  "tcp :* 192.0.2.1\nudp :* 192.0.2.1\ntcp :81-90 192.0.2.1:1-10\n", NULL, 0 },
	};

	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		char err[ERRLEN] = "";
		struct pr_ruleset rs;
		unsigned int line = 0;

		EXPECT_INT(read_text(sets[i].file, &rs, &line, err), 0);
		EXPECT_INT(pr_ruleset_check(&rs, &line, err, sizeof(err)), sets[i].msg ? -EINVAL : 0);
		EXPECT_INT(line, sets[i].line);
		EXPECT_HAS(err, sets[i].msg ? sets[i].msg : "");
		EXPECT_INT(rs.checked, !sets[i].msg);
		pr_ruleset_free(&rs);
		ktap_result("rule file check: %s", sets[i].msg ? sets[i].msg : "tcp/udp, IPv4/IPv6, an address and any, DMZs per protocol coexist");
	}
}

void t_spans(void)
{
	struct pr_rule_meta m[3] = { must_parse("tcp :80-90 192.0.2.1:80"), must_parse("any :200 192.0.2.1:80"),
				     must_parse("udp [::]:53 [2001:db8::1]:53") };
	const struct pr_rule_meta *pm[3] = { &m[0], &m[1], &m[2] };
	static const struct { __u8 family, proto; __u16 port; bool hit; } keys[] = {
		{ 4, IPPROTO_TCP, 85, true },  { 4, IPPROTO_UDP, 85, false }, { 4, IPPROTO_TCP, 80, true },
		{ 4, IPPROTO_TCP, 90, true },  { 4, IPPROTO_TCP, 79, false }, { 4, IPPROTO_TCP, 91, false },
		{ 4, IPPROTO_TCP, 200, true }, { 4, IPPROTO_UDP, 200, true }, { 6, IPPROTO_UDP, 53, true },
		{ 4, IPPROTO_UDP, 53, false }, { 6, IPPROTO_TCP, 53, false },
	};
	struct pr_span *v = NULL;
	size_t n = 0;

	EXPECT_INT(pr_spans_build(pm, 3, &v, &n), 0);
	EXPECT_INT(n, 4);
	for (size_t i = 0; v && i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct pr_rule_key k = { .family = keys[i].family, .proto = keys[i].proto, .port = htons(keys[i].port) };

		if (pr_spans_cover(v, n, &k) != keys[i].hit)
			EXPECT_FAIL_("key IPv%u proto %u port %u: expected %s", k.family, k.proto, keys[i].port,
				     keys[i].hit ? "covered" : "not covered");
	}
	free(v);
	ktap_result("spans: a sorted interval index finds a key's rule without expanding ranges");
}

void t_allow_diff(void)
{
	struct pr_rule_meta m = must_parse("tcp :1 192.0.2.1:1 --allow 198.51.100.1 --allow 198.51.100.2 --allow 198.51.100.3");
	struct pr_rule_meta old = must_parse("tcp :1 192.0.2.1:1 --allow 198.51.100.2 --allow 203.0.113.0/24");
	__u8 idx[PR_ALLOW_MAX] = {};

	EXPECT_INT(pr_allow_diff(&m, &old, idx), 2);
	EXPECT_INT(idx[0], 0);
	EXPECT_INT(idx[1], 2);
	EXPECT_INT(pr_allow_diff(&m, NULL, NULL), 3);
	EXPECT_INT(pr_allow_diff(&m, &m, NULL), 0);
	EXPECT_INT(pr_allow_diff(&old, &m, idx), 1);
	EXPECT_INT(idx[0], 1);
	ktap_result("allowlist diff: the sources one rule has and another has not");
}

void t_ids(void)
{
	struct pr_ids ids;
	__u32 id = 0;

	EXPECT_INT(pr_ids_init(&ids, 4), 0);
	pr_ids_mark(&ids, 1, true);
	pr_ids_mark(&ids, 3, true);
	pr_ids_mark(&ids, 99, true); /* beyond the capacity: ignored */
	EXPECT_INT(pr_ids_next(&ids, &id), 0);
	EXPECT_INT(id, 2);
	EXPECT_INT(pr_ids_next(&ids, &id), 0);
	EXPECT_INT(id, 4);
	EXPECT_INT(pr_ids_next(&ids, &id), -ENOSPC);
	pr_ids_mark(&ids, 3, false);
	EXPECT_INT(pr_ids_next(&ids, &id), 0);
	EXPECT_INT(id, 3);
	pr_ids_free(&ids);
	ktap_result("ids: lowest free first, never 0, -ENOSPC when full, a freed id comes back");
}

void t_sizing(void)
{
	static const struct { __u32 max_rules, entries, sources; } sz[] = {
		{ 4, PR_RULE_ENTRIES, PR_ALLOW_ENTRIES },
		{ PR_DEFAULT_MAX_RULES, 262144, 131072 },
		{ 1000000, 2000000, 1000000 },
		{ PR_MAX_RULES_LIMIT, 2 * PR_MAX_RULES_LIMIT, PR_MAX_RULES_LIMIT },
	};
	static const struct { const char *line; size_t span; } spans[] = {
		{ "tcp :80 192.0.2.1:80", 1 }, { "any :80 192.0.2.1:80", 2 }, { "tcp :* 192.0.2.1", 1 },
		{ "any :1000-1009 192.0.2.1:*", 20 }, { "any :1-65535 192.0.2.1:*", 131070 },
	};
	struct pr_caps k;

	for (size_t i = 0; i < sizeof(sz) / sizeof(sz[0]); i++) {
		pr_caps_for(sz[i].max_rules, &k);
		EXPECT_INT(k.rules, sz[i].max_rules);
		EXPECT_INT(k.entries, sz[i].entries);
		EXPECT_INT(k.sources, sz[i].sources);
		ktap_result("sizing: maps for %u rules hold %u lookup entries and %u sources", sz[i].max_rules,
			    sz[i].entries, sz[i].sources);
	}
	for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
		struct pr_rule_meta m = must_parse(spans[i].line);

		EXPECT_INT(pr_rule_span(&m), spans[i].span);
		ktap_result("sizing: '%s' takes %zu lookup entries", spans[i].line, spans[i].span);
	}
}

void t_caps_check(void)
{
	const struct pr_caps k = { .rules = 4, .entries = 10, .sources = 2 };
	struct pr_rule_meta m = must_parse("any :1-5 192.0.2.1:* --allow 198.51.100.1 --allow 198.51.100.2");
	struct pr_usage u = { 4, 10, 2 };
	struct pr_caps got, want;
	struct pr_ctx c;
	char err[ERRLEN] = "";

	EXPECT_INT(pr_caps_check(&k, &u, err, sizeof(err)), 0);
	EXPECT_STR(err, "");
	u = (struct pr_usage){ 5, 11, 3 };
	EXPECT_INT(pr_caps_check(&k, &u, err, sizeof(err)), -ENOSPC);
	EXPECT_STR(err, "rule table is full: the maps hold 4 rules (attach --max-rules sets the capacity when the maps are created)");
	u.rules = 4;
	EXPECT_INT(pr_caps_check(&k, &u, err, sizeof(err)), -ENOSPC);
	EXPECT_STR(err, "rule lookup table is full: the rules need 11 entries, pr_rules holds 10 (one a listen port and protocol)");
	u.entries = 10;
	EXPECT_INT(pr_caps_check(&k, &u, err, sizeof(err)), -ENOSPC);
	EXPECT_STR(err, "allowlist table is full: the rules have 3 sources, pr_allow holds 2");
	EXPECT_INT(pr_caps_check(&k, &u, NULL, 0), -ENOSPC);
	ktap_result("capacity: at the limit fits, one past it names the full table and its size");

	u = (struct pr_usage){};
	pr_usage_add(&u, &m);
	EXPECT_INT(u.rules, 1);
	EXPECT_INT(u.entries, 10);
	EXPECT_INT(u.sources, 2);
	pr_usage_sub(&u, &m);
	EXPECT_INT(u.rules + u.entries + u.sources, 0);
	ktap_result("capacity: a rule uses one id, an entry a port and protocol, a source a prefix");

	memset(&c, 0, sizeof(c));
	c.fd_rmeta = -1;
	pr_caps_of(&c, &got);
	pr_caps_for(PR_DEFAULT_MAX_RULES, &want);
	EXPECT_INT(memcmp(&got, &want, sizeof(got)), 0);
	c.fd_rmeta = 3; /* open maps: their own sizes */
	c.max_rules = 7;
	c.rule_entries_max = 8;
	c.allow_entries_max = 9;
	pr_caps_of(&c, &got);
	EXPECT_INT(got.rules * 100 + got.entries * 10 + got.sources, 789);
	ktap_result("capacity: with no maps (a dry run), the maps a default attach creates");
}

/* A dry run against no maps: apply's plan, with the capacity of a default attach. */
static int dry_run(const char *text, struct pr_ctx *c, struct pr_apply_result *r)
{
	struct pr_apply_opts o = { .dry_run = true };
	struct pr_ruleset rs;
	unsigned int line;
	int ret;

	memset(c, 0, sizeof(*c));
	c->lock_fd = c->fd_rules = c->fd_rmeta = c->fd_rstats = c->fd_gstats = c->fd_ct = -1;
	c->fd_tx = c->fd_ifaces = c->fd_info = c->fd_allow = c->fd_frag = c->fd_rnat = c->fd_ifaddr = -1;
	memset(r, 0, sizeof(*r));
	ret = read_text(text, &rs, &line, c->err);
	if (ret) {
		EXPECT_FAIL_("the rule file does not parse at line %u: %s", line, c->err);
		return ret;
	}
	ret = pr_apply(c, &rs, &o, r);
	pr_apply_free(r);
	pr_ruleset_free(&rs);
	return ret;
}

/* n lines of fmt, given the index twice as (address byte, port). */
static char *lines(size_t n, const char *fmt)
{
	size_t cap = n * 600 + 1, len = 0;
	char *s = malloc(cap);

	for (size_t i = 0; s && i < n; i++)
		len += snprintf(s + len, cap - len, fmt, (unsigned int)(i / 65535 + 1), (unsigned int)(i % 65535 + 1));
	return s;
}

void t_dry_run_capacity(void)
{
	static const char allow16[] = " --allow 198.51.100.0/32 --allow 198.51.100.1/32 --allow 198.51.100.2/32"
		" --allow 198.51.100.3/32 --allow 198.51.100.4/32 --allow 198.51.100.5/32 --allow 198.51.100.6/32"
		" --allow 198.51.100.7/32 --allow 198.51.100.8/32 --allow 198.51.100.9/32 --allow 198.51.100.10/32"
		" --allow 198.51.100.11/32 --allow 198.51.100.12/32 --allow 198.51.100.13/32 --allow 198.51.100.14/32"
		" --allow 198.51.100.15/32\n";
	char fmt[sizeof(allow16) + 64];
	struct pr_apply_result r;
	struct pr_ctx c;
	char *text;

	text = lines(PR_DEFAULT_MAX_RULES, "tcp 192.0.2.%u:%u 203.0.113.1:80\n");
	EXPECT_INT(text ? dry_run(text, &c, &r) : -ENOMEM, 0);
	EXPECT_INT(r.added, PR_DEFAULT_MAX_RULES);
	EXPECT_INT(r.deleted_first, 0);
	free(text);
	ktap_result("dry run: %u rules fit the maps a default attach creates", PR_DEFAULT_MAX_RULES);

	text = lines(PR_DEFAULT_MAX_RULES + 1, "tcp 192.0.2.%u:%u 203.0.113.1:80\n");
	EXPECT_INT(text ? dry_run(text, &c, &r) : -ENOMEM, -ENOSPC);
	EXPECT_INT(r.bad_line, PR_DEFAULT_MAX_RULES + 1);
	EXPECT_STR(c.err, "rule table is full: the maps hold 131072 rules (attach --max-rules sets the capacity when the maps are created)");
	free(text);
	ktap_result("dry run: one rule more fails at its line, stating the capacity");

	EXPECT_INT(dry_run("any :1-65535 203.0.113.1:*\nany [::]:1-65535 [2001:db8::1]:*\n"
			   "any 192.0.2.1:1-65535 203.0.113.1:*\n", &c, &r), -ENOSPC);
	EXPECT_INT(r.bad_line, 3);
	EXPECT_STR(c.err, "rule lookup table is full: the rules need 393210 entries, pr_rules holds 262144 (one a listen port and protocol)");
	ktap_result("dry run: lookup entries are counted a port and protocol");

	snprintf(fmt, sizeof(fmt), "tcp 192.0.2.%%u:%%u 203.0.113.1:80%s", allow16);
	text = lines(PR_DEFAULT_MAX_RULES / PR_ALLOW_MAX + 1, fmt);
	EXPECT_INT(text ? dry_run(text, &c, &r) : -ENOMEM, -ENOSPC);
	EXPECT_INT(r.bad_line, PR_DEFAULT_MAX_RULES / PR_ALLOW_MAX + 1);
	EXPECT_STR(c.err, "allowlist table is full: the rules have 131088 sources, pr_allow holds 131072");
	free(text);
	ktap_result("dry run: sources are counted a prefix");
}

void t_reason_names(void)
{
	/* what `stats` prints and `stats -j` emits as keys, in the pinned order */
	static const char *const want[] = {
		"xlate_forward", "xlate_reply", "redirect", "pass_nomatch", "pass_not_ip", "pass_not_tcp_udp",
		"pass_fragment", "pass_malformed", "pass_partial_csum_to_tc", "pass_no_xdp_meta",
		"pass_tcp_rst_no_flow", "pass_ct_insert_failed", "drop_rewrite_failed", "xlate_icmp_error",
		"pass_icmp", "xlate_fragment", "pass_denied_source", "drop_denied_source", "pass_dmz_local_socket",
		"pass_reply_to_egress", "drop_snat_exhausted", "xlate_port_remapped", "drop_snat_no_address", "drop_nat2_no_route",
		"xlate_local_socket", "pass_loopback_dst", "drop_too_big_icmp_sent", "redirect_peer", "xlate_port_reused",
		"redirect_xdp_veth", "drop_xdp_veth_refused",
	};

	EXPECT_INT(PR_R_MAX, sizeof(want) / sizeof(want[0]));
	for (unsigned int r = 0; r < PR_R_MAX && r < sizeof(want) / sizeof(want[0]); r++)
		EXPECT_STR(pr_reason_name(r), want[r]);
	EXPECT_INT(PR_R_XLATE_FWD, 0);
	EXPECT_INT(PR_R_PASS_LOCAL_SOCKET, 18);
	EXPECT_INT(PR_R_PASS_REPLY_EGRESS, 19);
	EXPECT_STR(pr_reason_name(PR_R_MAX), "unknown");
	ktap_result("reason names: every reason has its name, in the pinned order");
}

/* The conntrack warning of status: live entries at PR_CT_WARN_PCT (90) percent of the table. */
void t_ct_near_full(void)
{
	struct pr_ct_fill f = { .max = 262144 };

	f.live = 235929; /* 89.99...% */
	EXPECT_TRUE(!pr_ct_near_full(&f));
	f.live = 235930; /* 90.0002% */
	EXPECT_TRUE(pr_ct_near_full(&f));
	f.live = 0, f.entries = f.max; /* full of expired entries: the LRU reclaims those first */
	EXPECT_TRUE(!pr_ct_near_full(&f));
	f = (struct pr_ct_fill){ 0 };
	EXPECT_TRUE(!pr_ct_near_full(&f));
	ktap_result("conntrack near full: from 90%% of the table live, not below, not for expired entries or no table");
}

/* The datapath maps as a clean commit of m[0..n) leaves them, into d (room for extra entries and sources). */
static void dp_of(const struct pr_rule_meta *m, size_t n, struct pr_dp *d, size_t extra)
{
	size_t ne = extra, ns = extra;

	for (size_t i = 0; i < n; i++) {
		ne += pr_rule_span(&m[i]);
		ns += m[i].allow_count;
	}
	memset(d, 0, sizeof(*d));
	d->keys = calloc(ne + 1, sizeof(*d->keys));
	d->vals = calloc(ne + 1, sizeof(*d->vals));
	d->src = calloc(ns + 1, sizeof(*d->src));
	d->nnat = 16;
	d->nat = calloc(d->nnat, sizeof(*d->nat));
	for (size_t i = 0; i < n; i++) {
		__u8 protos[2];
		int np = pr_rule_protos(m[i].key.proto, protos);

		for (int j = 0; j < np; j++)
			for (__u32 p = ntohs(m[i].key.port); p <= m[i].port_last; p++) {
				d->keys[d->nentries] = m[i].key;
				d->keys[d->nentries].proto = protos[j];
				d->keys[d->nentries].port = htons(p);
				pr_rule_entry(&m[i], p, &d->vals[d->nentries++]);
			}
		for (int j = 0; j < m[i].allow_count; j++) {
			struct pr_allow_key *k = &d->src[d->nsrc++];

			k->prefixlen = PR_ALLOW_FIXED_BITS + m[i].allow[j].len;
			k->rule_id = m[i].rule.id;
			k->family = m[i].allow[j].family;
			k->addr = m[i].allow[j].addr;
		}
		d->nat[m[i].rule.id] = m[i].nat;
	}
}

void t_reconcile(void)
{
	struct pr_rule_meta m[3] = {
		must_parse("tcp :8080 192.0.2.10:80 --name web"),
		must_parse("any :9000-9001 192.0.2.11:7000-7001 --allow 198.51.100.0/24 --allow 198.51.100.0/24"),
		must_parse("udp :53 192.0.2.12:53 --snat 203.0.113.1"),
	};
	const struct pr_rule_meta *want[3] = { &m[0], &m[1], &m[2] };
	struct pr_ctx c = { .max_rules = 15 };
	struct pr_recon r;
	struct pr_dp d;

	for (int i = 0; i < 3; i++)
		m[i].rule.id = i + 1;
	dp_of(m, 3, &d, 2);
	EXPECT_INT(pr_recon_plan(&c, want, 3, NULL, 0, &d, NULL, &r), 0);
	EXPECT_INT(pr_drift_any(&r.drift), 0);
	EXPECT_INT(r.bad[0] + r.bad[1] + r.bad[2], 0);
	EXPECT_INT(r.ngone_keys + r.ngone_src + r.ngone_ids, 0);
	pr_recon_free(&r);
	ktap_result("reconcile: maps a clean commit left agree (a CIDR given twice is one source)");

	/* web's entry points at the old target, one of rng's four is gone, dns's
	 * pr_rnat slot was not written, and a half-made rule (id 9) left an
	 * entry and a source */
	d.vals[0].target_port = htons(81);
	d.keys[2] = d.keys[--d.nentries];
	d.vals[2] = d.vals[d.nentries];
	memset(&d.nat[3], 0, sizeof(d.nat[3]));
	d.keys[d.nentries] = m[0].key;
	d.keys[d.nentries].port = htons(8081);
	d.vals[d.nentries] = m[0].rule;
	d.vals[d.nentries++].id = 9;
	d.src[d.nsrc] = d.src[0];
	d.src[d.nsrc++].rule_id = 9;
	EXPECT_INT(pr_recon_plan(&c, want, 3, NULL, 0, &d, NULL, &r), 0);
	EXPECT_INT(r.drift.rules, 3);
	EXPECT_INT(r.drift.entries_wrong, 1);
	EXPECT_INT(r.drift.entries_missing, 1);
	EXPECT_INT(r.drift.nat_wrong, 1);
	EXPECT_INT(r.drift.entries_stray, 1);
	EXPECT_INT(r.drift.sources_stray, 1);
	EXPECT_INT(r.drift.sources_missing, 0);
	EXPECT_INT(r.bad[0] && r.bad[1] && r.bad[2], 1);
	EXPECT_INT(r.ngone_keys, 1);
	EXPECT_INT(ntohs(r.gone_keys[0].port), 8081);
	EXPECT_INT(r.ngone_src, 1);
	EXPECT_INT(r.ngone_ids, 1);
	EXPECT_INT(r.gone_ids[0], 9);
	pr_recon_free(&r);
	ktap_result("reconcile: an entry pointing elsewhere, a missing one, a wrong pr_rnat slot and a half-made rule, counted");

	/* the same maps against a change that deletes web and writes dns anyway:
	 * web's entry goes but is not stray, dns's state is not drift */
	{
		const struct pr_rule_meta *keep[2] = { &m[1], &m[2] }, *old[1] = { &m[0] };
		__u8 fresh[2] = { 0, 1 };

		EXPECT_INT(pr_recon_plan(&c, keep, 2, old, 1, &d, fresh, &r), 0);
		EXPECT_INT(r.drift.rules, 1);
		EXPECT_INT(r.drift.nat_wrong, 0);
		EXPECT_INT(r.drift.entries_stray, 1);
		EXPECT_INT(r.ngone_keys, 2);
		EXPECT_INT(r.ngone_ids, 1);
		pr_recon_free(&r);
	}
	ktap_result("reconcile: what a deleted rule explains is not stray, what the change writes anyway is not drift");
	pr_dp_free(&d);
}
