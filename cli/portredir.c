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

#define PR_VERSION "0.1.0"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static const char *pin_dir;
static int json_out, verbose;
static const char *cmd_name = "portredir";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: portredir [--pin-dir DIR] [-j|--json] [-v] COMMAND ...\n"
		"  attach IFACE [--mode auto|native|generic|tc] [--via-stack] [--max-rules N]\n"
		"  detach IFACE\n"
		"  status                         interfaces, modes, program ids, map fill levels\n"
		"  add PROTO LISTEN TARGET [--name NAME] [--replace] [--allow CIDR]... [--deny-action pass|drop]\n"
		"  del PROTO LISTEN [--keep-flows] | del --name NAME [--keep-flows]\n"
		"  apply FILE|- [--dry-run] [--keep-flows]   make the rules equal FILE (add's syntax, a rule a line)\n"
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

/* ---- formatting ---- */

/* "ADDR:PORT" or "[ADDR6]:PORT"; an unspecified address prints as ":PORT"
 * (IPv4) or "[::]:PORT" (IPv6) when any_blank. */
static void fmt_ep(char *buf, size_t len, __u8 family, const union pr_addr *a, __be16 port, bool any_blank)
{
	char ip[PR_ADDR_TEXT_LEN];

	pr_fmt_addr(ip, sizeof(ip), family, a, any_blank);
	snprintf(buf, len, "%s:%u", ip, ntohs(port));
}

static json_t *rule_json(const struct pr_rule_meta *m)
{
	char l[80], t[80], cidr[64];
	json_t *j, *allow;

	pr_fmt_listen(l, sizeof(l), m);
	pr_fmt_target(t, sizeof(t), m);
	j = json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)m->rule.id, "name", m->name,
		      "proto", pr_proto_name(m->key.proto), "listen", l, "target", t);
	if (m->allow_count) {
		allow = json_array();
		for (int i = 0; i < m->allow_count; i++) {
			pr_fmt_cidr(cidr, sizeof(cidr), &m->allow[i]);
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
		pr_fmt_cidr(cidr, sizeof(cidr), &m->allow[i]);
		n += snprintf(buf + n, len - n, "%s%s", i ? "," : " allow ", cidr);
	}
	if (m->allow_count && n < len)
		snprintf(buf + n, len - n, " deny %s", m->rule.flags & PR_RULE_F_DENY_DROP ? "drop" : "pass");
}

static void rule_text(const struct pr_rule_meta *m, char *buf, size_t len)
{
	char l[80], t[80], a[PR_ALLOW_MAX * 48];

	pr_fmt_listen(l, sizeof(l), m);
	pr_fmt_target(t, sizeof(t), m);
	fmt_allow(a, sizeof(a), m);
	snprintf(buf, len, "%s %s -> %s%s%s%s", pr_proto_name(m->key.proto), l, t,
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
	enum pr_mode_req req = PR_REQ_AUTO;
	struct pr_attach_result res;
	__u32 flags = 0;
	const char *ifname = NULL;
	__u32 max_rules = 0;
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
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--max-rules") == 0 || strncmp(argv[i], "--max-rules=", 12) == 0) {
			const char *v = argv[i][11] == '=' ? argv[i] + 12 : (i + 1 < argc ? argv[++i] : NULL);
			unsigned long n = 0;
			const char *p;

			if (!v)
				return fail(EXIT_USAGE, "--max-rules needs a number (1-%u)", PR_MAX_RULES_LIMIT);
			for (p = v; *p >= '0' && *p <= '9' && n <= PR_MAX_RULES_LIMIT; p++)
				n = n * 10 + (*p - '0');
			if (!*v || *p || n < 1 || n > PR_MAX_RULES_LIMIT)
				return fail(EXIT_USAGE, "bad --max-rules '%s' (expected 1-%u)", v, PR_MAX_RULES_LIMIT);
			max_rules = n;
		} else if (strcmp(argv[i], "--mode") == 0 || strncmp(argv[i], "--mode=", 7) == 0) {
			const char *m = argv[i][6] == '=' ? argv[i] + 7 : (i + 1 < argc ? argv[++i] : NULL);

			if (!m)
				return fail(EXIT_USAGE, "--mode needs a value (auto, native, generic or tc)");
			if (strcmp(m, "auto") == 0) req = PR_REQ_AUTO;
			else if (strcmp(m, "native") == 0) req = PR_REQ_NATIVE;
			else if (strcmp(m, "generic") == 0) req = PR_REQ_GENERIC;
			else if (strcmp(m, "tc") == 0) req = PR_REQ_TC;
			else return fail(EXIT_USAGE, "unknown mode '%s' (expected auto, native, generic or tc)", m);
		} else if (strcmp(argv[i], "--via-stack") == 0) {
			flags |= PR_ATTACH_VIA_STACK;
		} else if (argv[i][0] == '-') {
			return fail(EXIT_USAGE, "unknown option '%s'", argv[i]);
		} else if (!ifname) {
			ifname = argv[i];
		} else {
			return fail(EXIT_USAGE, "unexpected argument '%s'", argv[i]);
		}
	}
	if (!ifname)
		return fail(EXIT_USAGE, "missing IFACE");
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

static int cmd_detach(int argc, char **argv)
{
	struct pr_ctx c;

	if (wants_help(argc, argv)) {
		puts("Usage: portredir detach IFACE\nRemoves portredir's XDP and TC programs, and the clsact qdisc if portredir added it and nothing else uses it.");
		return EXIT_OK;
	}
	if (argc < 2)
		return fail(EXIT_USAGE, "missing IFACE");
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
		     "The whole file is checked first: a bad line prints FILE:LINE and changes nothing.\n"
		     "  --dry-run     print what would be added, replaced and deleted; change nothing\n"
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

	/* a dry run creates nothing: against no maps it plans from an empty table */
	rc = open_maps(&c, !o.dry_run);
	if (rc == 1) {
		have = false;
	} else if (rc) {
		pr_ruleset_free(&rs);
		return EXIT_FAIL;
	}
	err = pr_apply(&c, &rs, &o, &r);
	if (err) {
		rc = err == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
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
		print_json(j);
	} else {
		for (size_t i = 0; (o.dry_run || verbose) && i < r.nchanges; i++)
			print_change(&r.changes[i]);
		if (o.dry_run)
			printf("dry run, nothing changed: would add %zu, replace %zu, delete %zu; unchanged %zu\n",
			       r.added, r.replaced, r.deleted, r.unchanged);
		else
			printf("added %zu, replaced %zu, deleted %zu, unchanged %zu (%zu conntrack entries removed)\n",
			       r.added, r.replaced, r.deleted, r.unchanged, r.flows_flushed);
	}
out:
	pr_apply_free(&r);
	pr_ruleset_free(&rs);
	if (have)
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

			pr_fmt_listen(l, sizeof(l), &v[i]);
			pr_fmt_target(t, sizeof(t), &v[i]);
			fmt_allow(a, sizeof(a), &v[i]);
			printf("%-5u %-16s %-4s %-24s %s%s\n", v[i].rule.id, v[i].name[0] ? v[i].name : "-",
			       pr_proto_name(v[i].key.proto), l, t, a);
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
		pr_fmt_listen(l, sizeof(l), &v[i]);
		pr_fmt_target(t, sizeof(t), &v[i]);
		printf("%-5u %-16s %-4s %-24s %-24s %8llu %10llu %12llu %10llu %12llu %8llu\n", v[i].rule.id,
		       v[i].name[0] ? v[i].name : "-", pr_proto_name(v[i].key.proto), l, t,
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
				"proto", pr_proto_name(e->key.proto), "client", cl, "listen", li, "target", ta,
				"state", pr_ct_state_name(e->val.state), "age_s", (json_int_t)age,
				"left_s", (json_int_t)left, "expired", e->expired, "rule", (json_int_t)e->val.rule_id));
		else
			printf("%-4s %-22s %-22s %-22s %-12s %7lu %8ld %5u\n", pr_proto_name(e->key.proto), cl, li, ta,
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
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin-dir", required_argument, NULL, 'p' }, { "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },	     { "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },	     {}
	};
	int opt;

	/* '+' stops at the command so its own options reach it */
	while ((opt = getopt_long(argc, argv, "+jvVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'p': pin_dir = optarg; break;
		case 'j': json_out = 1; break;
		case 'v': verbose = 1; break;
		case 'V': printf("portredir %s (schema %d)\n", PR_VERSION, PR_SCHEMA_VERSION); return EXIT_OK;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
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
