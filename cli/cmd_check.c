// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The check command: would a client's connection to PROTO LISTEN work here, and if not, what to fix. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include "cli.h"
#include "describe.h"

/* Exit codes: 0 the mapping works, 1 a point failed, 2 bad input, 3 the check could not run. */
#define EXIT_CHECK_ERROR 3

struct check_cfg {
	const char *proto, *listen, *from;
};

static const struct opt check_opts[] = {
	{ "PROTO", OPT_STRING, offsetof(struct check_cfg, proto), OPT_POS | OPT_REQ, .help = "tcp or udp" },
	{ "LISTEN", OPT_STRING, offsetof(struct check_cfg, listen), OPT_POS | OPT_REQ,
	  .help = "[ADDR]:PORT as a client connects to it (\":PORT\": the address of the\n"
		  "interface it comes in by), IPv6 as [ADDR6]:PORT" },
	{ "--from", OPT_STRING, offsetof(struct check_cfg, from), .metavar = "ADDR[:PORT]",
	  .help = "the client (default: a host on the ingress interface's network, port 43210);\n"
		  "IPv6 as [ADDR6]:PORT; an address of this host checks a local client" },
	{ .type = OPT_END },
};

/* ---- one point ---- */

enum { PT_CHECK, PT_STATUS, PT_TEXT, PT_FIX, PT_LINE };

static void point_get(const void *obj, size_t which, struct out_val *v)
{
	const struct pr_check_point *p = obj;

	switch (which) {
	case PT_CHECK: out_str(v, "%s", p->what); break;
	case PT_STATUS: out_str(v, "%s", pr_check_status_name(p->status)); break;
	case PT_TEXT: out_str(v, "%s", p->text); break;
	case PT_FIX:
		out_str(v, "%s", p->fix);
		v->absent = !p->fix[0];
		break;
	case PT_LINE: {
		static const char *const st[] = { "ok", "note", "WARN", "FAIL" };

		out_str(v, "%-5s %-11s %s\n", st[p->status], p->what, p->text);
		break;
	}
	}
}

static const struct out_field point_fields[] = {
	[PT_CHECK] = { "check", point_get, .arg = PT_CHECK },
	[PT_STATUS] = { "status", point_get, .arg = PT_STATUS },
	[PT_TEXT] = { "text", point_get, .arg = PT_TEXT },
	[PT_FIX] = { "fix", point_get, .arg = PT_FIX },
	[PT_LINE] = { "line", point_get, .arg = PT_LINE, .flags = OUT_F_TEXT },
};
static const struct out_desc point_desc = OUT_DESC(point_fields);
static const struct out_col point_view[] = {
	{ PT_LINE, .fmt = NULL }, { PT_FIX, .fmt = "                  fix: %s\n" }, OUT_COLS_END,
};

/* ---- the route towards the target ---- */

enum { RT_DEV, RT_GW, RT_SRC, RT_LOCAL, RT_NEIGH, RT_MAC, RT_LINE };

static void route_get(const void *obj, size_t which, struct out_val *v)
{
	const struct pr_check_result *r = obj;
	char a[PR_ADDR_TEXT_LEN];

	switch (which) {
	case RT_DEV: out_str(v, "%s", r->route_dev); break;
	case RT_GW:
		pr_fmt_addr(a, sizeof(a), r->family, &r->route_gw, false);
		out_str(v, "%s", a);
		v->absent = !r->route_has_gw;
		break;
	case RT_SRC:
		pr_fmt_addr(a, sizeof(a), r->family, &r->route_src, false);
		out_str(v, "%s", a);
		v->absent = !r->route_has_src;
		break;
	case RT_LOCAL: out_bool(v, r->route_local); break;
	case RT_NEIGH:
		out_str(v, "%s", r->neigh_state);
		v->absent = r->route_local;
		break;
	case RT_MAC: {
		const __u8 *m = r->neigh_mac;

		out_str(v, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
		v->absent = !r->neigh_has_mac;
		break;
	}
	case RT_LINE:
		if (r->route_local) {
			out_str(v, "route: local (this host's own address)\n");
			break;
		}
		pr_fmt_addr(a, sizeof(a), r->family, &r->route_gw, false);
		out_str(v, "route: dev %s%s%s, neighbour %s\n", r->route_dev, r->route_has_gw ? " via " : "",
			r->route_has_gw ? a : "", r->neigh_state);
		break;
	}
}

static const struct out_field route_fields[] = {
	[RT_DEV] = { "dev", route_get, .arg = RT_DEV },
	[RT_GW] = { "gateway", route_get, .arg = RT_GW },
	[RT_SRC] = { "source", route_get, .arg = RT_SRC },
	[RT_LOCAL] = { "local", route_get, .arg = RT_LOCAL },
	[RT_NEIGH] = { "neighbour", route_get, .arg = RT_NEIGH },
	[RT_MAC] = { "mac", route_get, .arg = RT_MAC },
	[RT_LINE] = { "line", route_get, .arg = RT_LINE, .flags = OUT_F_TEXT },
};
static const struct out_desc route_desc = OUT_DESC(route_fields);
static const struct out_col route_view[] = { { RT_LINE, .fmt = NULL }, OUT_COLS_END };

/* ---- the check ---- */

enum { CK_PROTO, CK_LISTEN, CK_FROM, CK_FROM_ASSUMED, CK_IFACE, CK_ATTACHED, CK_MODE, CK_LOCAL, CK_PROG, CK_VERDICT,
       CK_XLATED, CK_SRC, CK_DST, CK_EGRESS, CK_REASONS, CK_RULE, CK_ROUTE, CK_POINTS, CK_WORKS, CK_HEAD, CK_VLINE,
       CK_RESULT };

static void ep(char *buf, size_t len, const struct pr_check_result *r, const struct pr_check_ep *e)
{
	fmt_ep(buf, len, r->family, &e->addr, htons(e->port), false);
}

static void check_get(const void *obj, size_t which, struct out_val *v)
{
	const struct pr_check_result *r = obj;
	char a[PR_EP_TEXT_LEN], b[PR_EP_TEXT_LEN];
	size_t fails = 0;

	switch (which) {
	case CK_PROTO: out_str(v, "%s", pr_proto_name(r->proto)); break;
	case CK_LISTEN: ep(a, sizeof(a), r, &r->dst); out_str(v, "%s", a); v->absent = !r->dst.port; break;
	case CK_FROM: ep(a, sizeof(a), r, &r->src); out_str(v, "%s", a); v->absent = !r->src.port; break;
	case CK_IFACE: out_str(v, "%s", r->ifname); v->absent = !r->ifname[0]; break;
	case CK_MODE: out_str(v, "%s", pr_mode_name(r->attached ? r->mode : PR_MODE_NONE)); break;
	case CK_PROG: out_str(v, "%s", r->prog); v->absent = !r->ran; break;
	case CK_VERDICT: out_str(v, "%s", r->verdict); v->absent = !r->verdict[0]; break;
	case CK_SRC: ep(a, sizeof(a), r, &r->out_src); out_str(v, "%s", a); v->absent = !r->translated; break;
	case CK_DST: ep(a, sizeof(a), r, &r->out_dst); out_str(v, "%s", a); v->absent = !r->translated; break;
	case CK_EGRESS: out_str(v, "%s", r->out_ifname); v->absent = !r->out_ifname[0]; break;
	case CK_REASONS:
		v->type = OUT_LIST;
		for (size_t i = 0; i < r->nreasons; i++)
			out_list_add(v, r->reasons[i]);
		v->absent = !r->ran;
		break;
	case CK_RULE: out_obj(v, &rule_desc, &r->rule); v->absent = !r->rule_found; break;
	case CK_ROUTE: out_obj(v, &route_desc, r); v->absent = !r->route_found; break;
	case CK_POINTS: out_array(v, &point_desc, r->points, r->npoints, sizeof(r->points[0])); break;
	case CK_HEAD:
		ep(a, sizeof(a), r, &r->dst);
		ep(b, sizeof(b), r, &r->src);
		if (!r->ifname[0])
			out_str(v, "check %s: no ingress interface\n", pr_proto_name(r->proto));
		else if (r->local_client)
			out_str(v, "check %s %s from %s (a local client)\n", pr_proto_name(r->proto), a, b);
		else
			out_str(v, "check %s %s from %s%s, in by %s (%s)\n", pr_proto_name(r->proto), r->dst.port ? a : "?",
				r->src.port ? b : "?", r->src_assumed ? " (assumed)" : "", r->ifname,
				r->attached ? pr_mode_name(r->mode) : "not attached");
		break;
	case CK_VLINE:
		if (!r->verdict[0])
			break;
		ep(a, sizeof(a), r, &r->out_src);
		ep(b, sizeof(b), r, &r->out_dst);
		if (r->translated)
			out_str(v, "verdict: %s (%s), rewritten %s -> %s%s%s\n", r->verdict, r->ran ? r->prog : "socket hooks",
				a, b, r->out_ifname[0] ? ", out " : "", r->out_ifname);
		else
			out_str(v, "verdict: %s (%s), not rewritten%s%s\n", r->verdict, r->prog, r->nreasons ? ": " : "",
				r->nreasons ? r->reasons[0] : "");
		break;
	case CK_RESULT:
		for (size_t i = 0; i < r->npoints; i++)
			fails += r->points[i].status == PR_CHECK_FAIL;
		if (r->works)
			out_str(v, "result: works\n");
		else
			out_str(v, "result: FAILS (%zu failing point%s)\n", fails, fails == 1 ? "" : "s");
		break;
	}
}

#define CKB(key, member) { key, out_get_bool, .arg = offsetof(struct pr_check_result, member) }
static const struct out_field check_fields[] = {
	[CK_PROTO] = { "proto", check_get, .arg = CK_PROTO },
	[CK_LISTEN] = { "listen", check_get, .arg = CK_LISTEN },
	[CK_FROM] = { "from", check_get, .arg = CK_FROM },
	[CK_FROM_ASSUMED] = CKB("from_assumed", src_assumed),
	[CK_IFACE] = { "interface", check_get, .arg = CK_IFACE },
	[CK_ATTACHED] = CKB("attached", attached),
	[CK_MODE] = { "mode", check_get, .arg = CK_MODE },
	[CK_LOCAL] = CKB("local_client", local_client),
	[CK_PROG] = { "program", check_get, .arg = CK_PROG },
	[CK_VERDICT] = { "verdict", check_get, .arg = CK_VERDICT },
	[CK_XLATED] = CKB("translated", translated),
	[CK_SRC] = { "source", check_get, .arg = CK_SRC },
	[CK_DST] = { "destination", check_get, .arg = CK_DST },
	[CK_EGRESS] = { "egress", check_get, .arg = CK_EGRESS },
	[CK_REASONS] = { "reasons", check_get, .arg = CK_REASONS },
	[CK_RULE] = { "rule", check_get, .arg = CK_RULE },
	[CK_ROUTE] = { "route", check_get, .arg = CK_ROUTE },
	[CK_POINTS] = { "points", check_get, .arg = CK_POINTS },
	[CK_WORKS] = CKB("works", works),
	[CK_HEAD] = { "head", check_get, .arg = CK_HEAD, .flags = OUT_F_TEXT },
	[CK_VLINE] = { "vline", check_get, .arg = CK_VLINE, .flags = OUT_F_TEXT },
	[CK_RESULT] = { "result", check_get, .arg = CK_RESULT, .flags = OUT_F_TEXT },
};
static const struct out_desc check_desc = OUT_DESC(check_fields);
static const struct out_col check_view[] = {
	{ CK_HEAD, .fmt = NULL },
	{ CK_VLINE, .flags = OUT_C_SKIP_EMPTY },
	{ CK_RULE, .fmt = "rule: %s\n", .view = rule_sentence },
	{ CK_ROUTE, .view = route_view },
	{ CK_POINTS, .view = point_view },
	{ CK_RESULT, .fmt = NULL },
	OUT_COLS_END,
};

static int do_check(const void *cfg, struct pr_ctx *c)
{
	const struct check_cfg *a = cfg;
	char perr[PR_PARSE_ERR_LEN];
	struct pr_check_req q;
	static struct pr_check_result r;

	if (pr_check_parse(a->proto, a->listen, a->from, &q, perr, sizeof(perr)))
		return out_err(EXIT_USAGE, "%s", perr);
	if (!c)
		return out_err(EXIT_FAIL, "no maps in %s: no rule and no interface yet (portredir add, portredir attach)",
			       cli_pin_dir());
	if (pr_check(c, &q, &r))
		return out_err(EXIT_CHECK_ERROR, "%s", c->err);
	out_print(&check_desc, &r, check_view);
	return r.works ? EXIT_OK : EXIT_FAIL;
}

const struct cmd cmd_check = {
	"check", do_check, check_opts, sizeof(struct check_cfg), CMD_MAPS_READ,
	"Answers \"would a client's connection to PROTO LISTEN work?\": builds the packet the\n"
	"client sends (a TCP SYN, or a UDP datagram), runs it through a private copy of the\n"
	"programs of the interface it comes in by (BPF_PROG_TEST_RUN; the live conntrack,\n"
	"counters and source NAT ports are not touched), and reports the verdict, the\n"
	"rewritten addresses, the route and neighbour towards the target, and every host\n"
	"setting in the way: forwarding, rp_filter, interfaces not attached, generic XDP,\n"
	"the allowlist, a local socket on the port, an nftables DNAT rule on it. Each\n"
	"failing point comes with its fix. Exit 0: it works; 1: a point failed; 2: bad\n"
	"input; 3: the check could not run.",
};
