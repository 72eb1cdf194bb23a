// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The portredir command: parse arguments, call the library, print text or JSON. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <jansson.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "libportredir.h"

#ifndef PR_VERSION
#define PR_VERSION "0.1.0"
#endif

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static const char *pin_dir;
static int json_out, verbose;
static const char *cmd_name = "portredir";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: portredir [--pin-dir DIR] [-j|--json] [-v] COMMAND ...\n"
		"  attach IFACE [--mode auto|native|generic|tc] [--via-stack] [--max-rules N]\n"
		"  detach IFACE | detach --all    --all: every interface; rules and flows stay\n"
		"  status                         interfaces, modes, program ids, map fill levels\n"
		"  add PROTO LISTEN TARGET [--name NAME] [--replace] [--allow CIDR]... [--deny-action pass|drop]\n"
		"  del PROTO LISTEN [--keep-flows] | del --name NAME [--keep-flows]\n"
		"  apply FILE|- [--dry-run] [--keep-flows]   make the rules (and interfaces) equal FILE\n"
		"  save                           the live interfaces and rules, in apply's file format\n"
		"  list                           rules, one a line\n"
		"  stats                          per-rule packets/bytes/flows, global counters\n"
		"  conntrack list | conntrack flush\n"
		"PROTO:  tcp | udp | any\n"
		"LISTEN: [ADDR]:PORT | [ADDR]:LO-HI | [ADDR]:*   (\":8080\" = any address; IPv6 as [ADDR6]:PORT)\n"
		"TARGET: ADDR:PORT | ADDR:LO-HI | ADDR (keep the port)\n"
		"The pin dir defaults to $PORTREDIR_PIN_DIR, else %s.\n"
		"Exit status: 0 success, 1 failure, 2 bad usage or input.\n",
		PR_DEFAULT_PIN_DIR);
}

/* One-line error naming the command; returns the exit code to use. */
static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "portredir: %s: ", cmd_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s)
		puts(s);
	free(s);
	json_decref(j);
}

static const char *proto_name(__u8 p)
{
	return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : p == 0 ? "any" : "?";
}

/* ---- formatting ---- */

static void fmt_addr(char *buf, size_t len, __u8 family, const union pr_addr *a, bool any_blank)
{
	bool any = (a->v6[0] | a->v6[1] | a->v6[2] | a->v6[3]) == 0;
	char ip[INET6_ADDRSTRLEN] = "";

	if (family == PR_AF_INET6) {
		inet_ntop(AF_INET6, a->b, ip, sizeof(ip));
		snprintf(buf, len, "[%s]", ip);
		return;
	}
	if (!any || !any_blank)
		inet_ntop(AF_INET, &a->v4, ip, sizeof(ip));
	snprintf(buf, len, "%s", ip);
}

/* "ADDR:PORT" or "[ADDR6]:PORT"; an unspecified address prints as ":PORT"
 * (IPv4) or "[::]:PORT" (IPv6) when any_blank. */
static void fmt_ep(char *buf, size_t len, __u8 family, const union pr_addr *a, __be16 port, bool any_blank)
{
	char ip[INET6_ADDRSTRLEN + 2];

	fmt_addr(ip, sizeof(ip), family, a, any_blank);
	snprintf(buf, len, "%s:%u", ip, ntohs(port));
}

/* "ADDR:*" for port 0, "ADDR:LO" when hi is 0 or lo, else "ADDR:LO-HI". */
static void fmt_ports(char *buf, size_t len, const char *ip, __u16 lo, __u16 hi)
{
	if (!lo)
		snprintf(buf, len, "%s:*", ip);
	else if (!hi || hi == lo)
		snprintf(buf, len, "%s:%u", ip, lo);
	else
		snprintf(buf, len, "%s:%u-%u", ip, lo, hi);
}

static void fmt_listen(char *buf, size_t len, const struct pr_rule_meta *m)
{
	char ip[INET6_ADDRSTRLEN + 2];

	fmt_addr(ip, sizeof(ip), m->key.family, &m->key.addr, true);
	fmt_ports(buf, len, ip, ntohs(m->key.port), m->port_last);
}

static void fmt_target(char *buf, size_t len, const struct pr_rule_meta *m)
{
	char ip[INET6_ADDRSTRLEN + 2];

	fmt_addr(ip, sizeof(ip), m->key.family, &m->rule.target, false);
	fmt_ports(buf, len, ip, ntohs(m->rule.target_port), m->target_port_last);
}

static void fmt_cidr(char *buf, size_t len, const struct pr_cidr *c)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(c->family == PR_AF_INET ? AF_INET : AF_INET6, c->addr.b, ip, sizeof(ip));
	snprintf(buf, len, "%s/%u", ip, c->len);
}

static json_t *rule_json(const struct pr_rule_meta *m)
{
	char l[80], t[80], cidr[64];
	json_t *j, *allow;

	fmt_listen(l, sizeof(l), m);
	fmt_target(t, sizeof(t), m);
	j = json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)m->rule.id, "name", m->name,
		      "proto", proto_name(m->key.proto), "listen", l, "target", t);
	if (m->allow_count) {
		allow = json_array();
		for (int i = 0; i < m->allow_count; i++) {
			fmt_cidr(cidr, sizeof(cidr), &m->allow[i]);
			json_array_append_new(allow, json_string(cidr));
		}
		json_object_set_new(j, "allow", allow);
		json_object_set_new(j, "deny_action",
				    json_string(m->rule.flags & PR_RULE_F_DENY_DROP ? "drop" : "pass"));
	}
	return j;
}

/* " allow A,B deny drop" or "" */
static void fmt_allow(char *buf, size_t len, const struct pr_rule_meta *m)
{
	size_t n = 0;
	char cidr[64];

	buf[0] = 0;
	for (int i = 0; i < m->allow_count && n < len; i++) {
		fmt_cidr(cidr, sizeof(cidr), &m->allow[i]);
		n += snprintf(buf + n, len - n, "%s%s", i ? "," : " allow ", cidr);
	}
	if (m->allow_count && n < len)
		snprintf(buf + n, len - n, " deny %s", m->rule.flags & PR_RULE_F_DENY_DROP ? "drop" : "pass");
}

static void rule_text(const struct pr_rule_meta *m, char *buf, size_t len)
{
	char l[80], t[80], a[PR_ALLOW_MAX * 48];

	fmt_listen(l, sizeof(l), m);
	fmt_target(t, sizeof(t), m);
	fmt_allow(a, sizeof(a), m);
	snprintf(buf, len, "%s %s -> %s%s%s%s", proto_name(m->key.proto), l, t,
		 m->name[0] ? " name " : "", m->name, a);
}

/* ---- opening ---- */

/* Open the pinned maps. Returns 0, 1 when there are none yet (read-only
 * commands then show an empty state), or an exit code > 1 on failure. */
static int open_maps_sized(struct pr_ctx *c, bool create, __u32 max_rules)
{
	int err = pr_open(c, pin_dir, create ? PR_OPEN_CREATE : 0, max_rules);

	if (err == -ENOENT && !create)
		return 1;
	if (err)
		return fail(EXIT_FAIL, "%s", c->err) + 1; /* never 1 */
	return 0;
}

static int open_maps(struct pr_ctx *c, bool create)
{
	return open_maps_sized(c, create, 0);
}

#define OPEN_OR_RETURN(c, create, empty_action)            \
	do {                                                \
		int _o = open_maps(c, create);               \
		if (_o == 1) {                               \
			empty_action;                        \
		} else if (_o) {                             \
			return EXIT_FAIL;                    \
		}                                            \
	} while (0)

/* Reject extra words and unknown options for commands without options. */
static int no_more_args(int argc, char **argv, int from)
{
	if (from < argc)
		return fail(EXIT_USAGE, "unexpected argument '%s'", argv[from]);
	return 0;
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	return false;
}

/* ---- commands ---- */

static int cmd_attach(int argc, char **argv)
{
	char perr[PR_PARSE_ERR_LEN];
	struct pr_iface_spec spec;
	enum pr_mode_req req;
	struct pr_attach_result res;
	__u32 flags;
	const char *ifname;
	__u32 max_rules;
	struct pr_ctx c;
	int err;

	if (wants_help(argc, argv)) {
		printf("Usage: portredir attach IFACE [--mode auto|native|generic|tc] [--via-stack] [--max-rules N]\n"
		       "auto picks TC on veth (XDP there costs GSO) and native XDP elsewhere,\n"
		       "falling back to generic XDP when the driver has no native support.\n"
		       "Translated packets arriving on IFACE go straight to their egress device when\n"
		       "the route and neighbour are known, past the stack's forward path (netfilter\n"
		       "forward and postrouting hooks, rp_filter); --via-stack hands them to the\n"
		       "stack instead, so the host's firewall sees them, at the stack's cost.\n"
		       "--max-rules N sizes the rule maps when this attach creates them (default %u,\n"
		       "at most %u); per-rule counters take (N + 1) x %zu bytes x possible CPUs.\n",
		       PR_DEFAULT_MAX_RULES, PR_MAX_RULES_LIMIT, sizeof(struct pr_rule_stats));
		return EXIT_OK;
	}
	if (pr_iface_parse(argc - 1, argv + 1, &spec, perr, sizeof(perr)))
		return fail(EXIT_USAGE, "%s", perr);
	ifname = spec.name;
	req = spec.req;
	flags = spec.flags;
	max_rules = spec.max_rules;
	if (!if_nametoindex(ifname))
		return fail(EXIT_USAGE, "unknown interface '%s'", ifname);
	if (open_maps_sized(&c, true, max_rules))
		return EXIT_FAIL;
	err = pr_attach(&c, ifname, req, flags, &res);
	if (err) {
		fail(EXIT_FAIL, "%s", c.err);
		pr_close(&c);
		return EXIT_FAIL;
	}
	if (json_out) {
		print_json(json_pack("{s:s, s:s, s:b, s:b, s:s}", "interface", ifname, "mode",
				     pr_mode_name(res.mode), "already", res.already, "fell_back",
				     res.fell_back, "why", res.why));
	} else {
		if (res.fell_back)
			fprintf(stderr, "portredir: attach: %s\n", res.why);
		printf("%s %s in %s mode%s%s\n", res.already ? "already attached to" : "attached to", ifname,
		       pr_mode_name(res.mode), res.why[0] && !res.fell_back ? ": " : "",
		       res.fell_back ? "" : res.why);
	}
	pr_close(&c);
	return EXIT_OK;
}

/* detach --all: every interface of this namespace; the maps stay. */
static int detach_all(void)
{
	struct pr_iface_status *v = NULL;
	size_t n = 0;
	struct pr_ctx c;
	json_t *arr;
	int rc = EXIT_OK;

	OPEN_OR_RETURN(&c, false, goto print);
	if (pr_detach_all(&c, &v, &n)) {
		rc = fail(EXIT_FAIL, "%s", c.err);
	}
	pr_close(&c);
print:
	arr = json_out ? json_array() : NULL;
	for (size_t i = 0; i < n; i++) {
		if (json_out)
			json_array_append_new(arr, json_pack("{s:s, s:b, s:b}", "interface", v[i].rec.name,
							     "detached", 1, "gone", !v[i].present));
		else if (v[i].present)
			printf("detached from %s\n", v[i].rec.name);
		else
			printf("forgot %s (interface gone)\n", v[i].rec.name);
	}
	if (json_out)
		print_json(arr);
	else if (!n && rc == EXIT_OK)
		printf("no interface attached in this network namespace\n");
	free(v);
	return rc;
}

static int cmd_detach(int argc, char **argv)
{
	struct pr_ctx c;

	if (wants_help(argc, argv)) {
		puts("Usage: portredir detach IFACE | detach --all\n"
		     "Removes portredir's XDP and TC programs, and the clsact qdisc if portredir added it\n"
		     "and nothing else uses it. --all does so for every interface attached in this network\n"
		     "namespace (exit 0 when there is none). The pinned maps stay: rules, counters and\n"
		     "live flows' conntrack entries, so attaching again resumes them.");
		return EXIT_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "--all") == 0) {
		if (no_more_args(argc, argv, 2))
			return EXIT_USAGE;
		return detach_all();
	}
	if (argc >= 3 && strcmp(argv[2], "--all") == 0)
		return fail(EXIT_USAGE, "give either IFACE or --all, not both ('%s')", argv[1]);
	if (argc < 2)
		return fail(EXIT_USAGE, "missing IFACE (or --all)");
	if (argv[1][0] == '-')
		return fail(EXIT_USAGE, "unknown option '%s'", argv[1]);
	if (no_more_args(argc, argv, 2))
		return EXIT_USAGE;
	if (!if_nametoindex(argv[1]))
		return fail(EXIT_USAGE, "unknown interface '%s'", argv[1]);
	OPEN_OR_RETURN(&c, false, return fail(EXIT_FAIL, "portredir is not attached to '%s'", argv[1]));
	if (pr_detach(&c, argv[1])) {
		fail(EXIT_FAIL, "%s", c.err);
		pr_close(&c);
		return EXIT_FAIL;
	}
	if (json_out)
		print_json(json_pack("{s:s, s:b}", "interface", argv[1], "detached", 1));
	else
		printf("detached from %s\n", argv[1]);
	pr_close(&c);
	return EXIT_OK;
}

static int cmd_status(int argc, char **argv)
{
	struct pr_iface_status *ifs = NULL;
	struct pr_fill fill = {};
	size_t n = 0;
	struct pr_ctx c;
	bool have = true;
	json_t *j, *arr;

	if (wants_help(argc, argv)) {
		puts("Usage: portredir status\nShows attached interfaces in this network namespace, their modes and program ids, and map fill levels.");
		return EXIT_OK;
	}
	if (no_more_args(argc, argv, 1))
		return EXIT_USAGE;
	OPEN_OR_RETURN(&c, false, have = false);
	if (have && (pr_iface_list(&c, &ifs, &n) || pr_map_fill(&c, &fill))) {
		fail(EXIT_FAIL, "%s", c.err);
		pr_close(&c);
		return EXIT_FAIL;
	}
	if (json_out) {
		arr = json_array();
		for (size_t i = 0; i < n; i++) {
			const struct pr_iface_status *s = &ifs[i];
			bool ok = s->present && s->live_tc_in_id && s->live_tc_eg_id &&
				  (s->rec.mode == PR_MODE_TC || s->live_xdp_id);

			json_array_append_new(arr, json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:s, s:b, s:b}",
				"interface", s->rec.name, "ifindex", (json_int_t)s->ifindex,
				"mode", pr_mode_name(s->rec.mode), "xdp_prog_id", (json_int_t)s->live_xdp_id,
				"tc_ingress_prog_id", (json_int_t)s->live_tc_in_id,
				"tc_egress_prog_id", (json_int_t)s->live_tc_eg_id,
				"forward", (s->rec.flags & PR_IF_VIA_STACK) ? "stack" : "direct",
				"xdp_redirect", (s->rec.flags & PR_IF_XDP_TX) != 0, "ok", ok));
		}
		j = json_pack("{s:s, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}", "pin_dir",
			      have ? c.pin_dir : (pin_dir ? pin_dir : PR_DEFAULT_PIN_DIR), "interfaces", arr,
			      "maps", "rules", (json_int_t)fill.rules, "rules_max", (json_int_t)fill.rules_max,
			      "rule_entries", (json_int_t)fill.rule_entries,
			      "rule_entries_max", (json_int_t)fill.rule_entries_max,
			      "allow_entries_max", (json_int_t)fill.allow_entries_max,
			      "rule_counters_bytes", (json_int_t)fill.rstats_bytes, "possible_cpus", (json_int_t)fill.ncpus,
			      "flows", (json_int_t)fill.flows, "conntrack_entries", (json_int_t)fill.ct_entries,
			      "conntrack_max", (json_int_t)fill.ct_max);
		print_json(j);
	} else {
		printf("pin dir: %s%s\n", have ? c.pin_dir : (pin_dir ? pin_dir : PR_DEFAULT_PIN_DIR),
		       have ? "" : " (no maps yet)");
		printf("interfaces:%s\n", n ? "" : " none attached in this network namespace");
		for (size_t i = 0; i < n; i++) {
			const struct pr_iface_status *s = &ifs[i];
			bool ok = s->present && s->live_tc_in_id && s->live_tc_eg_id &&
				  (s->rec.mode == PR_MODE_TC || s->live_xdp_id);

			printf("  %-15s ifindex %-4u mode %-7s xdp %-5u tc-ingress %-5u tc-egress %-5u forward %s%s %s\n",
			       s->rec.name, s->ifindex, pr_mode_name(s->rec.mode), s->live_xdp_id,
			       s->live_tc_in_id, s->live_tc_eg_id,
			       (s->rec.flags & PR_IF_VIA_STACK) ? "stack" : "direct",
			       (s->rec.flags & PR_IF_XDP_TX) ? " xdp-tx" : "",
			       ok ? "ok" : !s->present ? "GONE (interface removed)" : "BROKEN (programs missing; attach again)");
		}
		printf("maps: rules %zu/%zu, lookup entries %zu/%zu, flows %zu, conntrack entries %zu/%zu\n",
		       fill.rules, fill.rules_max, fill.rule_entries, fill.rule_entries_max, fill.flows,
		       fill.ct_entries, fill.ct_max);
		if (have)
			printf("capacity: %zu rules, set when the maps were created (attach --max-rules); "
			       "per-rule counters take %.1f MiB (%zu x %zu B x %d possible CPUs)\n",
			       fill.rules_max, fill.rstats_bytes / 1048576.0, fill.rules_max + 1,
			       sizeof(struct pr_rule_stats), fill.ncpus);
	}
	free(ifs);
	if (have)
		pr_close(&c);
	return EXIT_OK;
}

static int cmd_add(int argc, char **argv)
{
	struct pr_rule_meta out, conflict;
	char txt[1024], perr[PR_PARSE_ERR_LEN];
	struct pr_rule_spec s;
	bool replace = false;
	struct pr_ctx c;
	int rc, err;

	if (wants_help(argc, argv)) {
		puts("Usage: portredir add PROTO LISTEN TARGET [--name NAME] [--replace]\n"
		     "                     [--allow CIDR]... [--deny-action pass|drop]\n"
		     "  PROTO   tcp, udp or any (both)\n"
		     "  LISTEN  [ADDR]:PORT, [ADDR]:LO-HI (a range), or [ADDR]:* (DMZ: every port no\n"
		     "          other rule takes); \":...\" is any address, IPv6 as [ADDR6]:...\n"
		     "  TARGET  ADDR:PORT (a range maps onto one port), ADDR:LO-HI (port for port,\n"
		     "          same length), or ADDR / ADDR:* (keep each packet's port)\n"
		     "  --allow CIDR          only these sources are redirected (repeatable, at most 16)\n"
		     "  --deny-action ACTION  what happens to other sources: drop (default) or pass\n"
		     "  --replace             swap the target of the rule with this exact listen (or add\n"
		     "                        it); live flows keep the old target");
		return EXIT_OK;
	}
	if (pr_spec_parse(argc - 1, argv + 1, &s, &replace, perr, sizeof(perr)))
		return fail(EXIT_USAGE, "%s", perr);

	OPEN_OR_RETURN(&c, true, (void)0);
	err = pr_rule_add(&c, &s, replace, &out, &conflict);
	if (err == -EEXIST) {
		bool same_listen = memcmp(&conflict.key, &s.key, sizeof(s.key)) == 0 &&
				   conflict.port_last == s.port_last;

		rule_text(&conflict, txt, sizeof(txt));
		rc = fail(EXIT_FAIL, "%s: rule %u (%s)%s", c.err, conflict.rule.id, txt,
			  same_listen && !replace ? "; use --replace to change its target" : "");
	} else if (err) {
		rc = fail(EXIT_FAIL, "%s", c.err);
	} else {
		rc = EXIT_OK;
		if (json_out) {
			print_json(rule_json(&out));
		} else {
			rule_text(&out, txt, sizeof(txt));
			printf("rule %u: %s\n", out.rule.id, txt);
		}
	}
	pr_close(&c);
	return rc;
}

static int cmd_del(int argc, char **argv)
{
	struct pr_rule_spec s = {};
	struct pr_rule_meta m;
	const char *name = NULL, *pos[2];
	bool keep = false;
	int npos = 0, rc, err;
	size_t flushed = 0;
	struct pr_ctx c;
	char txt[1024], perr[PR_PARSE_ERR_LEN];

	if (wants_help(argc, argv)) {
		puts("Usage: portredir del PROTO LISTEN [--keep-flows] | del --name NAME [--keep-flows]\n"
		     "LISTEN is the rule's whole listen as listed (a range as LO-HI, a DMZ as :*).\n"
		     "Live flows of the rule are dropped from conntrack (so they stop being redirected)\n"
		     "unless --keep-flows is given.");
		return EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--keep-flows") == 0) {
			keep = true;
		} else if (strcmp(argv[i], "--name") == 0) {
			if (i + 1 >= argc)
				return fail(EXIT_USAGE, "--name needs a value");
			name = argv[++i];
			if (pr_name_check(name, perr, sizeof(perr)))
				return fail(EXIT_USAGE, "%s", perr);
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return fail(EXIT_USAGE, "unknown option '%s'", argv[i]);
		} else if (npos < 2) {
			pos[npos++] = argv[i];
		} else {
			return fail(EXIT_USAGE, "unexpected argument '%s'", argv[i]);
		}
	}
	if (name && npos)
		return fail(EXIT_USAGE, "give either PROTO LISTEN or --name, not both ('%s')", pos[0]);
	if (!name) {
		if (npos < 2)
			return fail(EXIT_USAGE, "missing %s (usage: del PROTO LISTEN | del --name NAME)",
				    npos ? "LISTEN" : "PROTO");
		if (pr_spec_parse_listen(pos[0], pos[1], &s, perr, sizeof(perr)))
			return fail(EXIT_USAGE, "%s", perr);
	}
	OPEN_OR_RETURN(&c, false,
		       return name ? fail(EXIT_FAIL, "no rule named '%s'", name) :
				     fail(EXIT_FAIL, "no rule for %s %s", pos[0], pos[1]));
	err = pr_rule_del(&c, name ? NULL : &s, name, keep, &m, &flushed);
	if (err == -ENOTUNIQ) {
		rc = fail(EXIT_USAGE, "'%s' is ambiguous: %s; write 0.0.0.0%s or [::]%s", pos[1], c.err, pos[1],
			  pos[1]);
	} else if (err == -EINVAL) {
		rule_text(&m, txt, sizeof(txt));
		rc = fail(EXIT_FAIL, "%s %s is part of rule %u (%s): delete it by that listen or --name",
			  pos[0], pos[1], m.rule.id, txt);
	} else if (err) {
		if (name)
			rc = fail(EXIT_FAIL, "%s", c.err);
		else
			rc = fail(EXIT_FAIL, "%s: %s %s", c.err, pos[0], pos[1]);
	} else {
		rc = EXIT_OK;
		if (json_out) {
			json_t *j = rule_json(&m);

			json_object_set_new(j, "flows_flushed", json_integer(flushed));
			print_json(j);
		} else {
			rule_text(&m, txt, sizeof(txt));
			printf("deleted rule %u: %s (%zu conntrack entries removed)\n", m.rule.id, txt, flushed);
		}
	}
	pr_close(&c);
	return rc;
}

static const char *const change_verb[] = {
	[PR_CHANGE_ADD] = "add", [PR_CHANGE_REPLACE] = "replace", [PR_CHANGE_DELETE] = "delete",
};

static void print_change(const struct pr_change *ch)
{
	char a[1024], b[1024];

	rule_text(ch->rule, a, sizeof(a));
	switch (ch->kind) {
	case PR_CHANGE_ADD:
		printf("add     rule %u (line %u): %s\n", ch->rule->rule.id, ch->line, a);
		break;
	case PR_CHANGE_REPLACE:
		rule_text(ch->old, b, sizeof(b));
		printf("replace rule %u (line %u): %s\n          was: %s\n", ch->rule->rule.id, ch->line, a, b);
		break;
	case PR_CHANGE_DELETE:
		printf("delete  rule %u: %s\n", ch->rule->rule.id, a);
		break;
	}
}

static json_t *change_json(const struct pr_change *ch)
{
	json_t *j = json_pack("{s:s, s:o}", "action", change_verb[ch->kind], "rule", rule_json(ch->rule));

	if (ch->line)
		json_object_set_new(j, "line", json_integer(ch->line));
	if (ch->old)
		json_object_set_new(j, "old", rule_json(ch->old));
	return j;
}

static const char *const if_verb[] = {
	[PR_IFACE_ATTACH] = "attach", [PR_IFACE_CHANGE] = "change", [PR_IFACE_DETACH] = "detach",
};

static const char *req_name(enum pr_mode_req r)
{
	return r == PR_REQ_NATIVE ? "native" : r == PR_REQ_GENERIC ? "generic" : r == PR_REQ_TC ? "tc" : "auto";
}

/* "tc, forward direct" for a record, "auto, forward stack" for a request */
static void if_how(char *buf, size_t len, const char *mode, bool auto_req, bool via)
{
	snprintf(buf, len, "%s%s%s, forward %s", auto_req ? "auto" : mode, auto_req && strcmp(mode, "none") ? " -> " : "",
		 auto_req && strcmp(mode, "none") ? mode : "", via ? "stack" : "direct");
}

static void print_if_change(const struct pr_iface_change *ch, bool dry)
{
	char was[96], now[96], line[24] = "";
	bool via = ch->want.flags & PR_ATTACH_VIA_STACK;

	if (ch->line)
		snprintf(line, sizeof(line), " (line %u)", ch->line);
	if_how(was, sizeof(was), pr_mode_name(ch->old.mode), ch->old.flags & PR_IF_AUTO, ch->old.flags & PR_IF_VIA_STACK);
	if_how(now, sizeof(now), ch->done ? pr_mode_name(ch->res.mode) : "none", ch->want.req == PR_REQ_AUTO, via);
	if (ch->want.req != PR_REQ_AUTO)
		if_how(now, sizeof(now), req_name(ch->want.req), false, via);
	switch (ch->kind) {
	case PR_IFACE_ATTACH:
		printf("%s interface %s%s: %s\n", dry ? "attach " : "attached", ch->want.name, line, now);
		break;
	case PR_IFACE_CHANGE:
		printf("%s interface %s%s: %s (was %s)%s\n", dry ? "change " : "changed", ch->want.name, line, now, was,
		       ch->record_only ? "; programs untouched, only the request is recorded" : "");
		break;
	case PR_IFACE_DETACH:
		printf("%s interface %.16s: was %s%s\n", dry ? "detach " : "detached", ch->old.name, was,
		       ch->gone ? " (interface gone: record dropped)" : "");
		break;
	}
	if (ch->done && ch->res.fell_back)
		fprintf(stderr, "portredir: apply: %s\n", ch->res.why);
}

static json_t *if_change_json(const struct pr_iface_change *ch)
{
	json_t *j = json_pack("{s:s, s:s, s:b}", "action", if_verb[ch->kind], "interface",
			      ch->kind == PR_IFACE_DETACH ? ch->old.name : ch->want.name, "done", ch->done);

	if (ch->line)
		json_object_set_new(j, "line", json_integer(ch->line));
	if (ch->kind != PR_IFACE_DETACH) {
		json_object_set_new(j, "mode", json_string(req_name(ch->want.req)));
		json_object_set_new(j, "forward", json_string(ch->want.flags & PR_ATTACH_VIA_STACK ? "stack" : "direct"));
		if (ch->done)
			json_object_set_new(j, "attached_mode", json_string(pr_mode_name(ch->res.mode)));
		if (ch->record_only)
			json_object_set_new(j, "record_only", json_true());
	}
	if (ch->kind != PR_IFACE_ATTACH)
		json_object_set_new(j, "old", json_pack("{s:s, s:s, s:s}", "mode",
			(ch->old.flags & PR_IF_AUTO) ? "auto" : pr_mode_name(ch->old.mode),
			"attached_mode", pr_mode_name(ch->old.mode),
			"forward", (ch->old.flags & PR_IF_VIA_STACK) ? "stack" : "direct"));
	if (ch->gone)
		json_object_set_new(j, "gone", json_true());
	return j;
}

static int cmd_apply(int argc, char **argv)
{
	struct pr_apply_opts o = {};
	struct pr_apply_result r = {};
	struct pr_ruleset rs;
	char perr[PR_PARSE_ERR_LEN];
	const char *file = NULL, *shown;
	unsigned int line = 0;
	bool have = true;
	struct pr_ctx c;
	FILE *f;
	int err, rc;

	if (wants_help(argc, argv)) {
		puts("Usage: portredir apply FILE|- [--dry-run] [--keep-flows]\n"
		     "Makes the rule table equal FILE (- reads stdin): one rule a line, written as\n"
		     "add's arguments (PROTO LISTEN TARGET [--name NAME] [--allow CIDR]...\n"
		     "[--deny-action pass|drop]); blank lines and # comments are skipped.\n"
		     "  a rule identical to a live one is left alone (same id, counters and flows);\n"
		     "  a rule with a live rule's exact listen replaces it as add --replace does\n"
		     "  (live flows keep the old target); live rules not in FILE are deleted as del\n"
		     "  does (their flows are flushed unless --keep-flows).\n"
		     "Lines 'interface IFACE [--mode auto|native|generic|tc] [--via-stack] [--max-rules N]'\n"
		     "make the interfaces attached in this network namespace exactly those: after the\n"
		     "rules, changed ones are changed in place (no packet meets a bare interface), new\n"
		     "ones attached, the others detached. A file without interface lines leaves the\n"
		     "interfaces alone. /etc/portredir.conf is such a file (see portredir save).\n"
		     "The whole file is checked first: a bad line prints FILE:LINE and changes nothing.\n"
		     "  --dry-run     print what would be added, replaced, deleted, attached, changed\n"
		     "                and detached; change nothing\n"
		     "  --keep-flows  let the flows of deleted rules drain");
		return EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0)
			o.dry_run = true;
		else if (strcmp(argv[i], "--keep-flows") == 0)
			o.keep_flows = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return fail(EXIT_USAGE, "unknown option '%s'", argv[i]);
		else if (!file)
			file = argv[i];
		else
			return fail(EXIT_USAGE, "unexpected argument '%s'", argv[i]);
	}
	if (!file)
		return fail(EXIT_USAGE, "missing FILE (a rule file, or - for stdin)");
	shown = strcmp(file, "-") ? file : "<stdin>";
	f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	if (!f)
		return fail(EXIT_USAGE, "cannot open '%s': %s", file, strerror(errno));
	err = pr_ruleset_read(f, &rs, &line, perr, sizeof(perr));
	if (f != stdin)
		fclose(f);
	if (!err)
		err = pr_ruleset_check(&rs, &line, perr, sizeof(perr));
	if (err) {
		rc = err == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
		if (line)
			fail(rc, "%s:%u: %s", shown, line, perr);
		else
			fail(rc, "%s: %s", shown, perr);
		pr_ruleset_free(&rs);
		return rc;
	}

	/* Existing maps are checked against the file's --max-rules (a line
	 * error); absent ones are created with it. A dry run creates nothing:
	 * against no maps it plans from an empty table. */
	rc = open_maps(&c, false);
	if (rc == 1 && !o.dry_run)
		rc = open_maps_sized(&c, true, rs.max_rules);
	if (rc == 1) {
		have = false;
	} else if (rc) {
		pr_ruleset_free(&rs);
		return EXIT_FAIL;
	}
	err = pr_apply(&c, &rs, &o, &r);
	if (err) {
		rc = err == -EINVAL && !r.rules_done ? EXIT_USAGE : EXIT_FAIL;
		for (size_t i = 0; !json_out && i < r.nif_changes && r.if_changes[i].done; i++)
			print_if_change(&r.if_changes[i], false);
		if (r.bad_line)
			fail(rc, "%s:%u: %s", shown, r.bad_line, c.err);
		else
			fail(rc, "%s: %s", shown, c.err);
		goto out;
	}
	rc = EXIT_OK;
	if (r.deleted_first && !json_out)
		fprintf(stderr, "portredir: apply: the maps cannot hold the old and the new rules at once, so the %s deleted rules %s first\n",
			o.dry_run ? "would be" : "were", o.dry_run ? "go" : "went");
	if (json_out) {
		json_t *j = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:b}", "dry_run", o.dry_run,
				      "added", (json_int_t)r.added, "replaced", (json_int_t)r.replaced,
				      "deleted", (json_int_t)r.deleted, "unchanged", (json_int_t)r.unchanged,
				      "flows_flushed", (json_int_t)r.flows_flushed, "deleted_first", r.deleted_first);

		if (o.dry_run || verbose) {
			json_t *arr = json_array();

			for (size_t i = 0; i < r.nchanges; i++)
				json_array_append_new(arr, change_json(&r.changes[i]));
			json_object_set_new(j, "changes", arr);
		}
		if (r.ifaces) {
			json_t *arr = json_array();

			for (size_t i = 0; i < r.nif_changes; i++)
				json_array_append_new(arr, if_change_json(&r.if_changes[i]));
			json_object_set_new(j, "interfaces", json_pack("{s:I, s:I, s:I, s:I, s:o}",
				"attached", (json_int_t)r.if_attached, "changed", (json_int_t)r.if_changed,
				"detached", (json_int_t)r.if_detached, "unchanged", (json_int_t)r.if_unchanged,
				"changes", arr));
		}
		print_json(j);
	} else {
		for (size_t i = 0; (o.dry_run || verbose) && i < r.nchanges; i++)
			print_change(&r.changes[i]);
		for (size_t i = 0; i < r.nif_changes; i++)
			print_if_change(&r.if_changes[i], o.dry_run);
		if (o.dry_run)
			printf("dry run, nothing changed: would add %zu, replace %zu, delete %zu; unchanged %zu\n",
			       r.added, r.replaced, r.deleted, r.unchanged);
		else
			printf("added %zu, replaced %zu, deleted %zu, unchanged %zu (%zu conntrack entries removed)\n",
			       r.added, r.replaced, r.deleted, r.unchanged, r.flows_flushed);
		if (r.ifaces)
			printf("interfaces: %s %zu, %s %zu, %s %zu, unchanged %zu\n",
			       o.dry_run ? "would attach" : "attached", r.if_attached,
			       o.dry_run ? "change" : "changed", r.if_changed,
			       o.dry_run ? "detach" : "detached", r.if_detached, r.if_unchanged);
	}
out:
	pr_apply_free(&r);
	pr_ruleset_free(&rs);
	if (have)
		pr_close(&c);
	return rc;
}

static int cmp_attached(const void *x, const void *y)
{
	const struct pr_iface_status *a = x, *b = y;

	if (a->rec.attached_ns != b->rec.attached_ns)
		return a->rec.attached_ns < b->rec.attached_ns ? -1 : 1;
	return strncmp(a->rec.name, b->rec.name, sizeof(a->rec.name));
}

static int cmd_save(int argc, char **argv)
{
	struct pr_iface_status *ifs = NULL;
	struct pr_rule_meta *v = NULL;
	size_t n = 0, nr = 0;
	char line[PR_LINE_LEN], perr[PR_PARSE_ERR_LEN];
	bool first = true;
	struct pr_ctx c;
	int rc = EXIT_OK;

	if (wants_help(argc, argv)) {
		puts("Usage: portredir save\n"
		     "Prints the live state in the config file format apply reads: the interfaces\n"
		     "attached in this network namespace (in the order they were attached), then the\n"
		     "rules by id. 'portredir save > f; portredir apply f' changes nothing, and\n"
		     "'portredir save | diff - /etc/portredir.conf' shows drift. An interface attached\n"
		     "with --mode auto is saved without --mode; --max-rules is saved (on the first\n"
		     "interface line) when the maps' capacity is not the default. No JSON (-j): use\n"
		     "-j status and -j list.");
		return EXIT_OK;
	}
	if (no_more_args(argc, argv, 1))
		return EXIT_USAGE;
	if (json_out)
		return fail(EXIT_USAGE, "-j: save prints the config file format only (-j status and -j list give JSON)");
	OPEN_OR_RETURN(&c, false, return EXIT_OK); /* no maps: nothing attached, no rules */
	if (pr_iface_list(&c, &ifs, &n) || pr_rule_list(&c, &v, &nr)) {
		rc = fail(EXIT_FAIL, "%s", c.err);
		goto out;
	}
	qsort(ifs, n, sizeof(*ifs), cmp_attached);
	for (size_t i = 0; i < n; i++) {
		const struct pr_iface_status *st = &ifs[i];
		bool ok = st->present && st->live_tc_in_id && st->live_tc_eg_id &&
			  (st->rec.mode == PR_MODE_TC || st->live_xdp_id);

		if (!st->present) {
			fprintf(stderr, "portredir: save: left out %.16s: the interface is gone (detach --all drops its record)\n",
				st->rec.name);
			continue;
		}
		if (!ok)
			fprintf(stderr, "portredir: save: %.16s has programs missing; apply attaches it again\n", st->rec.name);
		if (pr_iface_line(&st->rec, first && c.max_rules != PR_DEFAULT_MAX_RULES ? c.max_rules : 0, line,
				  sizeof(line), perr, sizeof(perr))) {
			rc = fail(EXIT_FAIL, "%s", perr);
			goto out;
		}
		puts(line);
		first = false;
	}
	for (size_t i = 0; i < nr; i++) {
		if (pr_rule_line(&v[i], line, sizeof(line))) {
			rc = fail(EXIT_FAIL, "cannot write rule %u", v[i].rule.id);
			goto out;
		}
		puts(line);
	}
	if (first && n == 0 && c.max_rules != PR_DEFAULT_MAX_RULES)
		fprintf(stderr, "portredir: save: the maps hold %u rules, which only an interface line can say; none is attached\n",
			c.max_rules);
out:
	free(ifs);
	free(v);
	pr_close(&c);
	return rc;
}

static int cmd_list(int argc, char **argv)
{
	struct pr_rule_meta *v = NULL;
	size_t n = 0;
	struct pr_ctx c;
	bool have = true;
	char l[80], t[80];

	if (wants_help(argc, argv)) {
		puts("Usage: portredir list\nOne rule a line: ID NAME PROTO LISTEN TARGET (JSON array with -j).");
		return EXIT_OK;
	}
	if (no_more_args(argc, argv, 1))
		return EXIT_USAGE;
	OPEN_OR_RETURN(&c, false, have = false);
	if (have && pr_rule_list(&c, &v, &n)) {
		fail(EXIT_FAIL, "%s", c.err);
		pr_close(&c);
		return EXIT_FAIL;
	}
	if (json_out) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, rule_json(&v[i]));
		print_json(arr);
	} else {
		for (size_t i = 0; i < n; i++) {
			char a[PR_ALLOW_MAX * 48];

			fmt_listen(l, sizeof(l), &v[i]);
			fmt_target(t, sizeof(t), &v[i]);
			fmt_allow(a, sizeof(a), &v[i]);
			printf("%-5u %-16s %-4s %-24s %s%s\n", v[i].rule.id, v[i].name[0] ? v[i].name : "-",
			       proto_name(v[i].key.proto), l, t, a);
		}
	}
	free(v);
	if (have)
		pr_close(&c);
	return EXIT_OK;
}

static int cmd_stats(int argc, char **argv)
{
	struct pr_rule_meta *v = NULL;
	struct pr_rule_stats st;
	__u64 g[PR_R_MAX] = {};
	size_t n = 0;
	struct pr_ctx c;
	bool have = true;
	char l[80], t[80];
	json_t *rules = NULL, *glob = NULL;

	if (wants_help(argc, argv)) {
		puts("Usage: portredir stats\nPer rule: flows, packets and bytes in (client to target) and out (replies);\nthen global counters by reason.");
		return EXIT_OK;
	}
	if (no_more_args(argc, argv, 1))
		return EXIT_USAGE;
	OPEN_OR_RETURN(&c, false, have = false);
	if (have && (pr_rule_list(&c, &v, &n) || pr_global_stats(&c, g))) {
		fail(EXIT_FAIL, "%s", c.err);
		pr_close(&c);
		return EXIT_FAIL;
	}
	if (json_out) {
		rules = json_array();
		glob = json_object();
	} else {
		printf("%-5s %-16s %-4s %-24s %-24s %8s %10s %12s %10s %12s %8s\n", "ID", "NAME", "PROTO",
		       "LISTEN", "TARGET", "FLOWS", "PKTS_IN", "BYTES_IN", "PKTS_OUT", "BYTES_OUT", "DENIED");
	}
	for (size_t i = 0; i < n; i++) {
		if (pr_rule_stats(&c, v[i].rule.id, &st))
			memset(&st, 0, sizeof(st));
		if (json_out) {
			json_t *j = rule_json(&v[i]);

			json_object_set_new(j, "flows", json_integer(st.flows));
			json_object_set_new(j, "packets_in", json_integer(st.pkts_orig));
			json_object_set_new(j, "bytes_in", json_integer(st.bytes_orig));
			json_object_set_new(j, "packets_out", json_integer(st.pkts_reply));
			json_object_set_new(j, "bytes_out", json_integer(st.bytes_reply));
			json_object_set_new(j, "denied", json_integer(st.denied));
			json_array_append_new(rules, j);
			continue;
		}
		fmt_listen(l, sizeof(l), &v[i]);
		fmt_target(t, sizeof(t), &v[i]);
		printf("%-5u %-16s %-4s %-24s %-24s %8llu %10llu %12llu %10llu %12llu %8llu\n", v[i].rule.id,
		       v[i].name[0] ? v[i].name : "-", proto_name(v[i].key.proto), l, t,
		       (unsigned long long)st.flows, (unsigned long long)st.pkts_orig,
		       (unsigned long long)st.bytes_orig, (unsigned long long)st.pkts_reply,
		       (unsigned long long)st.bytes_reply, (unsigned long long)st.denied);
	}
	if (!json_out)
		printf("global:\n");
	for (unsigned int r = 0; r < PR_R_MAX; r++) {
		if (json_out)
			json_object_set_new(glob, pr_reason_name(r), json_integer(g[r]));
		else
			printf("  %-26s %llu\n", pr_reason_name(r), (unsigned long long)g[r]);
	}
	if (json_out)
		print_json(json_pack("{s:o, s:o}", "rules", rules, "global", glob));
	free(v);
	if (have)
		pr_close(&c);
	return EXIT_OK;
}

static int cmd_conntrack(int argc, char **argv)
{
	struct pr_ct_entry *v = NULL;
	size_t n = 0, flushed = 0;
	struct pr_ctx c;
	bool have = true;

	if (wants_help(argc, argv) || argc < 2) {
		if (argc < 2)
			return fail(EXIT_USAGE, "missing subcommand (list or flush)");
		puts("Usage: portredir conntrack list | conntrack flush\n"
		     "list shows one line a flow: client, listen, target, state, age, seconds left, rule.");
		return EXIT_OK;
	}
	if (strcmp(argv[1], "list") && strcmp(argv[1], "flush"))
		return fail(EXIT_USAGE, "unknown subcommand '%s' (expected list or flush)", argv[1]);
	if (no_more_args(argc, argv, 2))
		return EXIT_USAGE;
	OPEN_OR_RETURN(&c, false, have = false);
	if (strcmp(argv[1], "flush") == 0) {
		if (have && pr_ct_flush(&c, 0, &flushed)) {
			fail(EXIT_FAIL, "%s", c.err);
			pr_close(&c);
			return EXIT_FAIL;
		}
		if (json_out)
			print_json(json_pack("{s:I}", "flushed", (json_int_t)flushed));
		else
			printf("flushed %zu conntrack entries\n", flushed);
		if (have)
			pr_close(&c);
		return EXIT_OK;
	}
	if (have && pr_ct_list(&c, &v, &n)) {
		fail(EXIT_FAIL, "%s", c.err);
		pr_close(&c);
		return EXIT_FAIL;
	}
	json_t *arr = json_out ? json_array() : NULL;

	if (!json_out)
		printf("%-4s %-22s %-22s %-22s %-12s %7s %8s %5s\n", "PROTO", "CLIENT", "LISTEN", "TARGET",
		       "STATE", "AGE_S", "LEFT_S", "RULE");
	for (size_t i = 0; i < n; i++) {
		const struct pr_ct_entry *e = &v[i];
		char cl[64], li[64], ta[64];
		unsigned long age = e->age_ns / 1000000000ULL;
		long left = e->expired ? 0 : (long)pr_ct_timeout(e->val.state) - (long)age;

		/* one line a flow: the forward entry carries client, listen and target */
		if (e->val.dir != PR_DIR_ORIG)
			continue;
		fmt_ep(cl, sizeof(cl), e->key.family, &e->key.saddr, e->key.sport, false);
		fmt_ep(li, sizeof(li), e->key.family, &e->key.daddr, e->key.dport, false);
		fmt_ep(ta, sizeof(ta), e->key.family, &e->val.nat_addr, e->val.nat_port, false);
		if (json_out)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:b, s:I}",
				"proto", proto_name(e->key.proto), "client", cl, "listen", li, "target", ta,
				"state", pr_ct_state_name(e->val.state), "age_s", (json_int_t)age,
				"left_s", (json_int_t)left, "expired", e->expired, "rule", (json_int_t)e->val.rule_id));
		else
			printf("%-4s %-22s %-22s %-22s %-12s %7lu %8ld %5u\n", proto_name(e->key.proto), cl, li, ta,
			       e->expired ? "EXPIRED" : pr_ct_state_name(e->val.state), age, left, e->val.rule_id);
	}
	if (json_out)
		print_json(arr);
	free(v);
	if (have)
		pr_close(&c);
	return EXIT_OK;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "attach", cmd_attach }, { "detach", cmd_detach }, { "status", cmd_status },
	{ "add", cmd_add },	  { "del", cmd_del },	    { "list", cmd_list },
	{ "stats", cmd_stats },	  { "conntrack", cmd_conntrack }, { "apply", cmd_apply },
	{ "save", cmd_save },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin-dir", required_argument, NULL, 'p' }, { "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },	     { "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },	     {}
	};
	bool version = false;
	int opt;

	/* '+' stops at the command so its own options reach it */
	while ((opt = getopt_long(argc, argv, "+jvVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'p': pin_dir = optarg; break;
		case 'j': json_out = 1; break;
		case 'v': verbose = 1; break;
		case 'V': version = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (version) {
		/* the schema of the maps this binary creates, and the only one it opens */
		if (json_out)
			print_json(json_pack("{s:s, s:i}", "version", PR_VERSION, "map_schema", PR_SCHEMA_VERSION));
		else
			printf("portredir %s (map schema %d)\n", PR_VERSION, PR_SCHEMA_VERSION);
		return EXIT_OK;
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	pr_set_verbose(verbose);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[optind], cmds[i].name) == 0) {
			cmd_name = cmds[i].name;
			return cmds[i].fn(argc - optind, argv + optind);
		}
	}
	fprintf(stderr, "portredir: unknown command '%s' (see portredir --help)\n", argv[optind]);
	return EXIT_USAGE;
}
