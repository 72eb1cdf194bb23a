// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The counter and flow commands: stats (per-rule and global counters) and conntrack list and flush, with the objects they print. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "describe.h"
#include "prometheus.h"

/* ---- stats ---- */

/* A rule and its counters. */
struct stats_row {
	const struct pr_rule_meta *m;
	struct pr_rule_stats st;
};

enum { SR_RULE, SR_FLOWS, SR_PKTS_IN, SR_BYTES_IN, SR_PKTS_OUT, SR_BYTES_OUT, SR_DENIED, SR_EXHAUSTED };

static void row_rule(const void *obj, size_t arg, struct out_val *v)
{
	out_obj(v, &rule_desc, ((const struct stats_row *)obj)->m);
}

#define ROW_COUNTER(key, member) { key, out_get_u64, .arg = offsetof(struct stats_row, st.member) }
static const struct out_field row_fields[] = {
	[SR_RULE] = { "rule", row_rule, .arg = 0, .flags = OUT_F_MERGE },
	[SR_FLOWS] = ROW_COUNTER("flows", flows),
	[SR_PKTS_IN] = ROW_COUNTER("packets_in", pkts_orig),
	[SR_BYTES_IN] = ROW_COUNTER("bytes_in", bytes_orig),
	[SR_PKTS_OUT] = ROW_COUNTER("packets_out", pkts_reply),
	[SR_BYTES_OUT] = ROW_COUNTER("bytes_out", bytes_reply),
	[SR_DENIED] = ROW_COUNTER("denied", denied),
	[SR_EXHAUSTED] = ROW_COUNTER("snat_exhausted", snat_exhausted),
};
static const struct out_desc row_desc = OUT_DESC(row_fields);
static const struct out_col row_rule_view[] = {
	{ RULE_ID, "%-7s ", .head = "ID" },		{ RULE_NAME, "%-16s ", .head = "NAME", .empty = "-" },
	{ RULE_PROTO, "%-4s ", .head = "PROTO" },	{ RULE_LISTEN, "%-24s ", .head = "LISTEN" },
	{ RULE_TARGET, "%-24s ", .head = "TARGET" }, OUT_COLS_END,
};
static const struct out_col row_view[] = {
	{ SR_RULE, .view = row_rule_view },	  { SR_FLOWS, "%8s ", .head = "FLOWS" },
	{ SR_PKTS_IN, "%10s ", .head = "PKTS_IN" },	  { SR_BYTES_IN, "%12s ", .head = "BYTES_IN" },
	{ SR_PKTS_OUT, "%10s ", .head = "PKTS_OUT" },	  { SR_BYTES_OUT, "%12s ", .head = "BYTES_OUT" },
	{ SR_DENIED, "%8s ", .head = "DENIED" },	  { SR_EXHAUSTED, "%9s\n", .head = "EXHAUSTED" },
	OUT_COLS_END,
};

/* A global counter: JSON makes the list an object keyed by name. */
struct counter {
	const char *name;
	__u64 value;
};

static const struct out_field counter_fields[] = {
	{ "name", out_get_cstr, .arg = offsetof(struct counter, name) },
	{ "value", out_get_u64, .arg = offsetof(struct counter, value) },
};
static const struct out_desc counter_desc = OUT_DESC(counter_fields);
static const struct out_col counter_view[] = { { 0, .fmt = "  %-26s " }, { 1, .fmt = "%s\n" }, OUT_COLS_END };

/* The conntrack table's fill and evictions (struct pr_ct_fill). */
#define CT_FIELD(key, member) { key, out_get_size, .arg = offsetof(struct pr_ct_fill, member) }
static const struct out_field ct_fields[] = {
	CT_FIELD("entries", entries),
	CT_FIELD("max", max),
	CT_FIELD("live", live),
	CT_FIELD("flows", flows),
	{ "evicted", out_get_u64, .arg = offsetof(struct pr_ct_fill, evicted) },
};
static const struct out_desc ct_desc = OUT_DESC(ct_fields);
static const struct out_col ct_view[] = {
	{ 0, .fmt = "conntrack: entries %s" }, { 1, .fmt = "/%s" }, { 2, .fmt = ", live %s" },
	{ 3, .fmt = ", flows %s" }, { 4, .fmt = ", live entries evicted %s\n" }, OUT_COLS_END,
};

/* The monitor's events (struct pr_mon_counts): whether one runs, and what
 * the datapath emitted, dropped over --rate and lost to a full ring. */
static void mon_running(const void *obj, size_t arg, struct out_val *v)
{
	const struct pr_mon_counts *m = obj;

	if (arg == 0)
		out_bool(v, m->running);
	else if (m->running)
		out_uint(v, m->pid);
	else
		v->absent = true;
}

static const struct out_field mon_fields[] = {
	{ "running", mon_running, .arg = 0 },
	{ "pid", mon_running, .arg = 1 },
	{ "emitted", out_get_u64, .arg = offsetof(struct pr_mon_counts, emitted) },
	{ "dropped", out_get_u64, .arg = offsetof(struct pr_mon_counts, dropped) },
	{ "lost", out_get_u64, .arg = offsetof(struct pr_mon_counts, lost) },
};
static const struct out_desc mon_desc = OUT_DESC(mon_fields);
static const struct out_col mon_view[] = {
	OUT_LITERAL("monitor:"), { 1, .fmt = " running (pid %s)," }, { 2, .fmt = " events emitted %s" },
	{ 3, .fmt = ", dropped by --rate %s" }, { 4, .fmt = ", lost (ring full) %s\n" }, OUT_COLS_END,
};

struct stats_out {
	struct stats_row *rows;
	size_t n;
	struct counter global[PR_R_MAX];
	struct pr_ct_fill ct;
	struct pr_mon_counts mon;
};

static void stats_get(const void *obj, size_t which, struct out_val *v)
{
	const struct stats_out *s = obj;

	if (which == 0)
		out_array(v, &row_desc, s->rows, s->n, sizeof(*s->rows));
	else if (which == 1)
		out_map(v, &counter_desc, s->global, PR_R_MAX, sizeof(s->global[0]));
	else if (which == 2)
		out_obj(v, &ct_desc, &s->ct);
	else
		out_obj(v, &mon_desc, &s->mon);
}

static const struct out_field stats_fields[] = {
	{ "rules", stats_get, .arg = 0 },
	{ "global", stats_get, .arg = 1 },
	{ "conntrack", stats_get, .arg = 2 },
	{ "monitor", stats_get, .arg = 3 },
};
static const struct out_desc stats_desc = OUT_DESC(stats_fields);
static const struct out_col stats_view[] = {
	{ 0, .view = row_view, .flags = OUT_C_HEADER }, { 1, "global:\n", .view = counter_view },
	{ 2, .view = ct_view }, { 3, .view = mon_view }, OUT_COLS_END,
};

/* Rules, counters and the conntrack fill into s; with no maps (c NULL)
 * every counter is 0. Returns 0, -1 (c->err says why) or -ENOMEM. */
static int stats_read(struct pr_ctx *c, struct stats_out *s, struct pr_rule_meta **rules)
{
	__u64 g[PR_R_MAX] = {};
	size_t n = 0;

	if (c && (pr_rule_list(c, rules, &n) || pr_global_stats(c, g) || pr_ct_fill(c, &s->ct) ||
		  pr_monitor_counts(c, &s->mon)))
		return -1;
	if (!c)
		s->ct.max = PR_CT_ENTRIES;
	s->rows = calloc(n ? n : 1, sizeof(*s->rows));
	if (!s->rows)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		s->rows[i].m = &(*rules)[i];
		if (pr_rule_stats(c, (*rules)[i].rule.id, &s->rows[i].st))
			memset(&s->rows[i].st, 0, sizeof(s->rows[i].st));
	}
	s->n = n;
	for (unsigned int r = 0; r < PR_R_MAX; r++)
		s->global[r] = (struct counter){ pr_reason_name(r), g[r] };
	return 0;
}

struct stats_cfg {
	bool prometheus;
};

static const struct opt stats_opts[] = {
	{ "--prometheus", OPT_FLAG, offsetof(struct stats_cfg, prometheus),
	  .help = "the Prometheus text format instead (for node_exporter's\ntextfile collector)" },
	{ .type = OPT_END },
};

/* The whole exposition or nothing: a failed read prints no half of it. */
static int stats_prometheus(struct pr_ctx *c)
{
	char *buf = NULL, err[PR_ERR_LEN] = "";
	size_t len = 0;
	FILE *f;
	int ret;

	if (out_json())
		return out_err(EXIT_USAGE, "--prometheus does not go with -j");
	f = open_memstream(&buf, &len);
	if (!f)
		return out_err(EXIT_FAIL, "out of memory");
	ret = prom_write(f, c, err, sizeof(err));
	fclose(f);
	if (!ret)
		fwrite(buf, 1, len, stdout);
	free(buf);
	return ret ? out_err(EXIT_FAIL, "%s", err) : EXIT_OK;
}

static int do_stats(const void *cfg, struct pr_ctx *c)
{
	const struct stats_cfg *a = cfg;
	struct pr_rule_meta *rules = NULL;
	struct stats_out s = {};
	int rc = EXIT_OK, err;

	if (a->prometheus)
		return stats_prometheus(c);

	err = stats_read(c, &s, &rules);
	if (err)
		rc = err == -ENOMEM ? out_err(EXIT_FAIL, "out of memory") : cli_fail(c);
	else
		out_print(&stats_desc, &s, stats_view);
	free(s.rows);
	free(rules);
	return rc;
}

const struct cmd cmd_stats = {
	"stats", do_stats, stats_opts, sizeof(struct stats_cfg), CMD_MAPS_READ,
	"Per rule: flows, packets and bytes in (client to target) and out (replies), new\n"
	"flows refused by the allowlist (DENIED) and for want of a free source port\n"
	"(EXHAUSTED); then global counters by reason, the conntrack table's fill\n"
	"and live entries evicted, and the monitor's events: emitted, dropped by its\n"
	"--rate, lost to a full ring.",
};

/* ---- conntrack ---- */

enum { CT_LIST, CT_FLUSH };

struct conntrack_cfg {
	int sub;
};

static const struct opt_choice ct_subs[] = { { "list", CT_LIST }, { "flush", CT_FLUSH }, {} };

static const struct opt conntrack_opts[] = {
	{ "subcommand", OPT_ENUM, offsetof(struct conntrack_cfg, sub), OPT_POS | OPT_REQ, .choices = ct_subs,
	  .help = "list: one line a flow: client, listen, target, the source the\n"
		  "target sees (the client, or a full-NAT flow's new source), state, age,\n"
		  "seconds left, rule; flush: delete every entry" },
	{ .type = OPT_END },
};

/* A flow, as its forward entry (struct pr_ct_entry) holds it. */
enum { FL_PROTO, FL_CLIENT, FL_LISTEN, FL_TARGET, FL_SOURCE, FL_FULL_NAT, FL_STATE, FL_AGE, FL_LEFT, FL_EXPIRED,
       FL_RULE, FL_SHOWN };

static void flow_get(const void *obj, size_t which, struct out_val *v)
{
	const struct pr_ct_entry *e = obj;
	unsigned long age = e->age_ns / 1000000000ULL;

	switch (which) {
	case FL_PROTO: out_str(v, "%s", pr_proto_name(e->key.proto)); break;
	case FL_CLIENT: fmt_ep(v->s, sizeof(v->s), e->key.family, &e->key.saddr, e->key.sport, false); break;
	case FL_LISTEN: fmt_ep(v->s, sizeof(v->s), e->key.family, &e->key.daddr, e->key.dport, false); break;
	case FL_TARGET: fmt_ep(v->s, sizeof(v->s), e->key.family, &e->val.nat_addr, e->val.nat_port, false); break;
	case FL_SOURCE: /* what the target sees: the client itself, or a full-NAT flow's new source */
		if (e->val.flags & PR_CT_F_NAT2)
			fmt_ep(v->s, sizeof(v->s), e->key.family, &e->val.nat2_addr, e->val.nat2_port, false);
		else
			fmt_ep(v->s, sizeof(v->s), e->key.family, &e->key.saddr, e->key.sport, false);
		break;
	case FL_FULL_NAT: out_bool(v, (e->val.flags & PR_CT_F_NAT2) != 0); break;
	case FL_STATE: out_str(v, "%s", pr_ct_state_name(e->val.state)); break;
	case FL_AGE: out_uint(v, age); break;
	case FL_LEFT: out_int(v, e->expired ? 0 : (long)pr_ct_timeout(e->val.state) - (long)age); break;
	case FL_EXPIRED: out_bool(v, e->expired); break;
	case FL_RULE: out_uint(v, e->val.rule_id); break;
	case FL_SHOWN: out_str(v, "%s", e->expired ? "EXPIRED" : pr_ct_state_name(e->val.state)); break;
	}
}

static const struct out_field flow_fields[] = {
	[FL_PROTO] = { "proto", flow_get, .arg = FL_PROTO },
	[FL_CLIENT] = { "client", flow_get, .arg = FL_CLIENT },
	[FL_LISTEN] = { "listen", flow_get, .arg = FL_LISTEN },
	[FL_TARGET] = { "target", flow_get, .arg = FL_TARGET },
	[FL_SOURCE] = { "source", flow_get, .arg = FL_SOURCE },
	[FL_FULL_NAT] = { "full_nat", flow_get, .arg = FL_FULL_NAT },
	[FL_STATE] = { "state", flow_get, .arg = FL_STATE },
	[FL_AGE] = { "age_s", flow_get, .arg = FL_AGE },
	[FL_LEFT] = { "left_s", flow_get, .arg = FL_LEFT },
	[FL_EXPIRED] = { "expired", flow_get, .arg = FL_EXPIRED },
	[FL_RULE] = { "rule", flow_get, .arg = FL_RULE },
	[FL_SHOWN] = { "shown_state", flow_get, .arg = FL_SHOWN, .flags = OUT_F_TEXT },
};
static const struct out_desc flow_desc = OUT_DESC(flow_fields);
static const struct out_col flow_view[] = {
	{ FL_PROTO, "%-4s ", .head = "PROTO" },	   { FL_CLIENT, "%-22s ", .head = "CLIENT" }, { FL_LISTEN, "%-22s ", .head = "LISTEN" },
	{ FL_TARGET, "%-22s ", .head = "TARGET" }, { FL_SOURCE, "%-22s ", .head = "SOURCE" },
	{ FL_SHOWN, "%-12s ", .head = "STATE" },   { FL_AGE, "%7s ", .head = "AGE_S" },
	{ FL_LEFT, "%8s ", .head = "LEFT_S" },	   { FL_RULE, "%5s\n", .head = "RULE" },      OUT_COLS_END,
};

static const struct out_field flushed_fields[] = { { "flushed", out_get_size, .arg = 0 } };
static const struct out_desc flushed_desc = OUT_DESC(flushed_fields);
static const struct out_col flushed_view[] = { { 0, .fmt = "flushed %s conntrack entries\n" }, OUT_COLS_END };

static int ct_list(struct pr_ctx *c)
{
	struct pr_ct_entry *v = NULL;
	size_t n = 0, flows = 0;

	if (c && pr_ct_list(c, &v, &n))
		return cli_fail(c);
	/* one line a flow: the forward entry carries client, listen and target */
	for (size_t i = 0; i < n; i++)
		if (v[i].val.dir == PR_DIR_ORIG)
			v[flows++] = v[i];
	out_print_list(&flow_desc, v, flows, sizeof(*v), flow_view, true, NULL);
	free(v);
	return EXIT_OK;
}

static int do_conntrack(const void *cfg, struct pr_ctx *c)
{
	const struct conntrack_cfg *a = cfg;
	size_t flushed = 0;

	if (a->sub == CT_LIST)
		return ct_list(c);
	if (c && pr_ct_flush(c, 0, &flushed))
		return cli_fail(c);
	out_print(&flushed_desc, &flushed, flushed_view);
	return EXIT_OK;
}

const struct cmd cmd_conntrack = {
	"conntrack", do_conntrack, conntrack_opts, sizeof(struct conntrack_cfg), CMD_MAPS_READ,
	"Lists or flushes portredir's connection tracking table.",
};
