// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The monitor command: the datapath's events (new, denied, refused and evicted flows) as a live stream, one line an event, until a signal or --count. */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "describe.h"

struct monitor_cfg {
	const char *rule, *event, *addr, *rate, *burst, *count;
};

static const char *const event_names[PR_MON_TYPE_MAX] = {
	[PR_MON_NEW] = "new", [PR_MON_DENIED] = "denied", [PR_MON_REFUSED] = "refused", [PR_MON_EVICTED] = "evicted",
};

/* "new,denied,...": the mask of the types named; -EINVAL naming a bad one. */
static int parse_events(const char *tok, __u32 *mask, char *err, size_t len)
{
	char buf[128], *save = NULL;

	*mask = 0;
	if (strlen(tok) >= sizeof(buf) || !*tok) {
		snprintf(err, len, "bad --event '%s' (expected a list of new, denied, refused, evicted)", tok);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", tok);
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		int t;

		for (t = 1; t < PR_MON_TYPE_MAX && strcmp(w, event_names[t]); t++)
			;
		if (t == PR_MON_TYPE_MAX && strchr(tok, ',')) {
			snprintf(err, len, "bad --event '%s' in '%s' (expected new, denied, refused or evicted)", w, tok);
			return -EINVAL;
		}
		if (t == PR_MON_TYPE_MAX) {
			snprintf(err, len, "bad --event '%s' (expected new, denied, refused or evicted)", w);
			return -EINVAL;
		}
		*mask |= PR_MON_MASK(t);
	}
	if (!*mask) {
		snprintf(err, len, "bad --event '%s' (expected a list of new, denied, refused, evicted)", tok);
		return -EINVAL;
	}
	return 0;
}

static int check_events(const char *tok, char *err, size_t len)
{
	__u32 mask;

	return parse_events(tok, &mask, err, len);
}

static int check_addr(const char *tok, char *err, size_t len)
{
	struct pr_cidr c;

	return pr_cidr_parse("--addr", tok, &c, err, len);
}

/* A whole number from 1 to max. */
static int parse_num(const char *what, const char *tok, unsigned long max, __u32 *out, char *err, size_t len)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(tok, &end, 10);
	if (!*tok || *end || errno || v < 1 || v > max || *tok == '-' || *tok == '+') {
		snprintf(err, len, "bad %s '%s' (1-%lu)", what, tok, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

#define RATE_MAX 1000000
#define BURST_MAX 100000
static int check_rate(const char *tok, char *err, size_t len)
{
	__u32 v;

	return parse_num("--rate", tok, RATE_MAX, &v, err, len);
}

static int check_burst(const char *tok, char *err, size_t len)
{
	__u32 v;

	return parse_num("--burst", tok, BURST_MAX, &v, err, len);
}

static int check_count(const char *tok, char *err, size_t len)
{
	__u32 v;

	return parse_num("--count", tok, UINT_MAX, &v, err, len);
}

static const struct opt monitor_opts[] = {
	{ "--rule", OPT_STRING, offsetof(struct monitor_cfg, rule), .metavar = "NAME|ID",
	  .help = "only the events of this rule" },
	{ "--event", OPT_STRING, offsetof(struct monitor_cfg, event), .metavar = "TYPE[,TYPE]...",
	  .check = check_events, .help = "only these: new, denied, refused, evicted (default all)" },
	{ "--addr", OPT_STRING, offsetof(struct monitor_cfg, addr), .metavar = "ADDR[/LEN]", .check = check_addr,
	  .help = "only events with a client, listen, target or source address\nin this network" },
	{ "--rate", OPT_STRING, offsetof(struct monitor_cfg, rate), .metavar = "N", .check = check_rate,
	  .help = "at most N events a second on each CPU (default " STR(PR_MON_RATE_DEFAULT)
		  "); the kernel\ndrops and counts the rest" },
	{ "--burst", OPT_STRING, offsetof(struct monitor_cfg, burst), .metavar = "N", .check = check_burst,
	  .help = "events a CPU may emit at once above --rate (default " STR(PR_MON_BURST_DEFAULT) ")" },
	{ "--count", OPT_STRING, offsetof(struct monitor_cfg, count), .metavar = "N", .check = check_count,
	  .help = "stop after N events" },
	{ .type = OPT_END },
};

/* ---- the lines ---- */

/* An event as printed; kind "dropped" lines carry only the counts. */
struct mon_line {
	const struct pr_mon_event *e;
	__u64 realtime_ns;
	const char *rule_name;   /* NULL when the rule has none (or is gone) */
	__u64 dropped, lost;     /* a "dropped" line: since the last one */
};

enum { ML_TIME, ML_EVENT, ML_PROTO, ML_LOCAL, ML_CLIENT, ML_LISTEN, ML_TARGET, ML_SOURCE, ML_FULL_NAT, ML_RULE,
       ML_RULE_NAME, ML_REASON, ML_STATE, ML_IFACE, ML_DROPPED, ML_LOST };

/* Whether line l has a value for field which (the others are left out). */
static bool line_has(const struct mon_line *l, size_t which)
{
	const struct pr_mon_event *e = l->e;

	if (!e) /* a "dropped" line */
		return which == ML_TIME || which == ML_EVENT || which == ML_DROPPED || which == ML_LOST;
	switch (which) {
	case ML_LOCAL: return e->flags & PR_MON_F_LOCAL; /* a local client's connect: no address yet */
	case ML_CLIENT: return !(e->flags & PR_MON_F_LOCAL);
	case ML_TARGET: return e->flags & PR_MON_F_TARGET;
	case ML_SOURCE:
	case ML_FULL_NAT: return e->flags & PR_MON_F_SOURCE;
	case ML_RULE_NAME: return l->rule_name && *l->rule_name;
	case ML_REASON: return e->reason;
	case ML_STATE: return e->type == PR_MON_EVICTED;
	case ML_IFACE: return e->ifindex;
	case ML_DROPPED:
	case ML_LOST: return false;
	default: return true;
	}
}

static void line_get(const void *obj, size_t which, struct out_val *v)
{
	const struct mon_line *l = obj;
	const struct pr_mon_event *e = l->e;
	char name[IF_NAMESIZE];
	struct tm tm;
	time_t secs;

	if (!line_has(l, which)) {
		v->absent = true;
		return;
	}
	switch (which) {
	case ML_TIME:
		secs = l->realtime_ns / 1000000000ULL;
		gmtime_r(&secs, &tm);
		out_str(v, "%04d-%02d-%02dT%02d:%02d:%02d.%06lluZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			tm.tm_hour, tm.tm_min, tm.tm_sec, (l->realtime_ns % 1000000000ULL) / 1000);
		break;
	case ML_EVENT:
		out_str(v, "%s", !e ? "dropped" : e->type < PR_MON_TYPE_MAX && event_names[e->type] ?
				   event_names[e->type] : "unknown");
		break;
	case ML_PROTO: out_str(v, "%s", pr_proto_name(e->proto)); break;
	case ML_LOCAL: out_bool(v, true); break;
	case ML_CLIENT: fmt_ep(v->s, sizeof(v->s), e->family, &e->client, e->client_port, false); break;
	case ML_LISTEN: fmt_ep(v->s, sizeof(v->s), e->family, &e->listen, e->listen_port, false); break;
	case ML_TARGET: fmt_ep(v->s, sizeof(v->s), e->family, &e->target, e->target_port, false); break;
	case ML_SOURCE: fmt_ep(v->s, sizeof(v->s), e->family, &e->source, e->source_port, false); break;
	case ML_FULL_NAT: out_bool(v, (e->flags & PR_MON_F_NAT2) != 0); break;
	case ML_RULE: out_uint(v, e->rule_id); break;
	case ML_RULE_NAME: out_str(v, "%s", l->rule_name); break;
	case ML_REASON: out_str(v, "%s", pr_reason_name(e->reason)); break;
	case ML_STATE: out_str(v, "%s", pr_ct_state_name(e->state)); break;
	case ML_IFACE:
		if (if_indextoname(e->ifindex, name))
			out_str(v, "%s", name);
		else
			out_str(v, "%u", e->ifindex); /* another namespace's device */
		break;
	case ML_DROPPED: out_uint(v, l->dropped); break;
	case ML_LOST: out_uint(v, l->lost); break;
	}
}

#define ML(key, id) [id] = { key, line_get, .arg = id }
static const struct out_field line_fields[] = {
	ML("time", ML_TIME),	     ML("event", ML_EVENT),	ML("proto", ML_PROTO),
	ML("local", ML_LOCAL),	     ML("client", ML_CLIENT),     ML("listen", ML_LISTEN),	ML("target", ML_TARGET),
	ML("source", ML_SOURCE),     ML("full_nat", ML_FULL_NAT), ML("rule", ML_RULE),
	ML("rule_name", ML_RULE_NAME), ML("reason", ML_REASON), ML("state", ML_STATE),
	ML("iface", ML_IFACE),	     ML("dropped", ML_DROPPED), ML("lost", ML_LOST),
};
static const struct out_desc line_desc = OUT_DESC(line_fields);
/* 2026-12-03T09:41:02.123456Z new tcp 198.51.100.2:40212 -> 198.51.100.1:8080 => 203.0.113.2:80 as ... rule 3 web on rc */
static const struct out_col line_view[] = {
	{ ML_TIME, .fmt = "%s " },	      { ML_EVENT, .fmt = "%-7s " },	     { ML_PROTO, .fmt = "%s " },
	{ ML_LOCAL, .fmt = "local" },   { ML_CLIENT, .fmt = "%s" },	      { ML_LISTEN, .fmt = " -> %s" },	     { ML_TARGET, .fmt = " => %s" },
	{ ML_SOURCE, .fmt = " from %s" },    { ML_RULE, .fmt = " rule %s" },	     { ML_RULE_NAME, .fmt = " (%s)" },
	{ ML_REASON, .fmt = " reason %s" },  { ML_STATE, .fmt = " state %s" },     { ML_IFACE, .fmt = " on %s" },
	{ ML_DROPPED, .fmt = "%s events over --rate" }, { ML_LOST, .fmt = ", %s lost (ring full)" },
	OUT_LITERAL("\n"),	      OUT_COLS_END,
};

/* ---- the stream ---- */

struct mon_state {
	struct pr_rule_meta *rules; /* by id, for names; read again for an id not seen */
	size_t nrules;
	struct pr_ctx *c;
	__u64 seen, count;
	__u64 dropped, lost;        /* as last reported */
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static const char *rule_name_of(struct mon_state *st, __u32 id, bool reread)
{
	for (size_t i = 0; i < st->nrules; i++)
		if (st->rules[i].rule.id == id)
			return st->rules[i].name;
	if (!reread)
		return NULL;
	/* a rule added since the monitor started */
	free(st->rules);
	st->rules = NULL;
	st->nrules = 0;
	if (pr_rule_list(st->c, &st->rules, &st->nrules))
		return NULL;
	return rule_name_of(st, id, false);
}

static int on_event(const struct pr_mon_event *e, __u64 realtime_ns, void *arg)
{
	struct mon_state *st = arg;
	struct mon_line l = { .e = e, .realtime_ns = realtime_ns, .rule_name = rule_name_of(st, e->rule_id, true) };

	if (out_print_line(&line_desc, &l, line_view))
		return -EPIPE;
	st->seen++;
	return st->count && st->seen >= st->count ? 1 : 0;
}

/* A "dropped" line when the kernel dropped or lost events since the last one. */
static int report_drops(struct pr_monitor *m, struct mon_state *st)
{
	struct pr_mon_counts n;
	struct mon_line l = { .e = NULL };
	struct timespec now;

	if (pr_monitor_session(m, &n))
		return 0;
	if (n.dropped == st->dropped && n.lost == st->lost)
		return 0;
	clock_gettime(CLOCK_REALTIME, &now);
	l.realtime_ns = (__u64)now.tv_sec * 1000000000ULL + now.tv_nsec;
	l.dropped = n.dropped - st->dropped;
	l.lost = n.lost - st->lost;
	st->dropped = n.dropped;
	st->lost = n.lost;
	return out_print_line(&line_desc, &l, line_view) ? -EPIPE : 0;
}

/* The rule --rule names (a name, else an id) into *id. */
static int rule_id_of(struct mon_state *st, const char *tok, __u32 *id)
{
	char *end;
	unsigned long v;

	for (size_t i = 0; i < st->nrules; i++)
		if (strcmp(st->rules[i].name, tok) == 0) {
			*id = st->rules[i].rule.id;
			return 0;
		}
	errno = 0;
	v = strtoul(tok, &end, 10);
	if (*tok >= '0' && *tok <= '9' && !*end && !errno)
		for (size_t i = 0; i < st->nrules; i++)
			if (st->rules[i].rule.id == v) {
				*id = v;
				return 0;
			}
	return -ENOENT;
}

static int do_monitor(const void *cfg, struct pr_ctx *c)
{
	const struct monitor_cfg *a = cfg;
	struct sigaction sa = { .sa_handler = on_signal };
	struct mon_state st = { .c = c };
	struct pr_mon_opts o = {};
	struct pr_monitor *m = NULL;
	char err[PR_PARSE_ERR_LEN];
	struct pr_mon_counts end;
	__u32 count = 0;
	int rc = EXIT_OK, n = 0;

	if (!c)
		return out_err(EXIT_FAIL, "no portredir maps in %s: attach an interface first", cli_pin_dir());
	/* checked already by the table: these only convert */
	if (a->event)
		parse_events(a->event, &o.events, err, sizeof(err));
	if (a->addr)
		pr_cidr_parse("--addr", a->addr, &o.addr, err, sizeof(err));
	if (a->rate)
		parse_num("--rate", a->rate, RATE_MAX, &o.rate, err, sizeof(err));
	if (a->burst)
		parse_num("--burst", a->burst, BURST_MAX, &o.burst, err, sizeof(err));
	if (a->count)
		parse_num("--count", a->count, UINT_MAX, &count, err, sizeof(err));
	st.count = count;
	if (pr_rule_list(c, &st.rules, &st.nrules))
		return cli_fail(c);
	if (a->rule && rule_id_of(&st, a->rule, &o.rule_id)) {
		free(st.rules);
		return out_err(EXIT_USAGE, "no rule '%s' (--rule takes a rule's name or id)", a->rule);
	}
	/* no SA_RESTART: a signal ends the wait for events at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	if (pr_monitor_start(c, &o, on_event, &st, &m)) {
		free(st.rules);
		return cli_fail(c);
	}
	out_note("monitoring %s (Ctrl-C ends)", c->pin_dir);
	while (!stopping) {
		n = pr_monitor_poll(m, -1);
		if (n == -EPIPE)
			break; /* stdout is gone: nobody reads */
		if (n == -EINTR)
			continue;
		if (st.count && st.seen >= st.count)
			break; /* --count reached */
		if (n < 0) {
			rc = cli_fail(c);
			break;
		}
		if (report_drops(m, &st))
			break;
	}
	/* the drops since the last report, so the lines add up to the session's */
	if (n != -EPIPE && report_drops(m, &st) == 0 && rc == EXIT_OK && !pr_monitor_session(m, &end))
		out_note("%llu events, %llu dropped by --rate, %llu lost (ring full)", (unsigned long long)st.seen,
			 (unsigned long long)end.dropped, (unsigned long long)end.lost);
	pr_monitor_stop(m);
	free(st.rules);
	return rc;
}

const struct cmd cmd_monitor = {
	"monitor", do_monitor, monitor_opts, sizeof(struct monitor_cfg), CMD_MAPS_READ,
	"A live stream of the datapath's events, one line each: a flow opened (rule,\n"
	"client, listen, target, and the source the target sees), denied by an\n"
	"allowlist, refused (no free source port, no address), or a live flow's\n"
	"entry found evicted. Filtered and rate-limited in the kernel; a line says\n"
	"what the limit dropped. With -j one JSON object a line. One monitor at a\n"
	"time per pin dir; nothing is emitted while none runs.",
};
