// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The counters as Prometheus's text exposition format (version 0.0.4), for stats --prometheus and the exporter's /metrics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "prometheus.h"

/* A label value as the format wants it: backslash, double quote and
 * newline escaped; everything else as it is (the format is UTF-8). */
static void put_label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '"')
			fputs("\\\"", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* HELP and TYPE, which open a family; all its samples follow at once. */
static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A rule's label: its name, else its id; an unnamed rule whose id is some
 * other rule's name (names may be all digits) is "#ID", so no two rules
 * share a series. */
struct rule_label {
	char v[PR_NAME_LEN + 12];
};

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int rule_labels(const struct pr_rule_meta *rules, size_t n, struct rule_label *out)
{
	const char **names = calloc(n + 1, sizeof(*names));
	size_t nn = 0;

	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (rules[i].name[0])
			names[nn++] = rules[i].name;
	qsort(names, nn, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n; i++) {
		char id[12];
		const char *key = id;

		if (rules[i].name[0]) {
			snprintf(out[i].v, sizeof(out[i].v), "%.*s", PR_NAME_LEN, rules[i].name);
			continue;
		}
		snprintf(id, sizeof(id), "%u", rules[i].rule.id);
		if (nn && bsearch(&key, names, nn, sizeof(*names), cmp_name))
			snprintf(out[i].v, sizeof(out[i].v), "#%u", rules[i].rule.id);
		else
			snprintf(out[i].v, sizeof(out[i].v), "%s", id);
	}
	free(names);
	return 0;
}

/* One sample: NAME{rule="...",direction="..."} VALUE, the labels given. */
static void sample(FILE *f, const char *name, const char *rule, const char *dir, const char *reason,
		   unsigned long long value)
{
	const char *sep = "{";

	fputs(name, f);
	if (rule) {
		fprintf(f, "%srule=\"", sep);
		put_label(f, rule);
		fputc('"', f);
		sep = ",";
	}
	if (dir) {
		fprintf(f, "%sdirection=\"", sep);
		put_label(f, dir);
		fputc('"', f);
		sep = ",";
	}
	if (reason) {
		fprintf(f, "%sreason=\"", sep);
		put_label(f, reason);
		fputc('"', f);
		sep = ",";
	}
	fprintf(f, "%s %llu\n", *sep == ',' ? "}" : "", value);
}

/* The per-rule counters of rule i of n, one family at a time. */
enum { RF_FLOWS, RF_PACKETS, RF_BYTES, RF_DENIED, RF_EXHAUSTED };
static const struct {
	const char *name, *help;
	bool dir;
} rule_families[] = {
	[RF_FLOWS] = { "portredir_rule_flows_total", "New flows the rule translated.", false },
	[RF_PACKETS] = { "portredir_rule_packets_total",
			 "Packets the rule translated, by direction: in (client to target) and out (replies).", true },
	[RF_BYTES] = { "portredir_rule_bytes_total", "Bytes the rule translated, by direction, as packets_total.", true },
	[RF_DENIED] = { "portredir_rule_denied_total", "New flows the rule's allowlist refused.", false },
	[RF_EXHAUSTED] = { "portredir_rule_snat_exhausted_total",
			   "New flows of the rule refused for want of a free source port.", false },
};

static void rule_family(FILE *f, int which, const struct rule_label *labels, const struct pr_rule_stats *st, size_t n)
{
	const char *name = rule_families[which].name;

	family(f, name, "counter", rule_families[which].help);
	for (size_t i = 0; i < n; i++) {
		const char *r = labels[i].v;

		switch (which) {
		case RF_FLOWS: sample(f, name, r, NULL, NULL, st[i].flows); break;
		case RF_PACKETS:
			sample(f, name, r, "in", NULL, st[i].pkts_orig);
			sample(f, name, r, "out", NULL, st[i].pkts_reply);
			break;
		case RF_BYTES:
			sample(f, name, r, "in", NULL, st[i].bytes_orig);
			sample(f, name, r, "out", NULL, st[i].bytes_reply);
			break;
		case RF_DENIED: sample(f, name, r, NULL, NULL, st[i].denied); break;
		case RF_EXHAUSTED: sample(f, name, r, NULL, NULL, st[i].snat_exhausted); break;
		}
	}
}

int prom_write(FILE *f, struct pr_ctx *c, char *err, size_t len)
{
	struct pr_rule_meta *rules = NULL;
	struct rule_label *labels = NULL;
	struct pr_rule_stats *st = NULL;
	struct pr_ct_fill ct = { .max = PR_CT_ENTRIES };
	struct pr_mon_counts mon = {};
	__u64 g[PR_R_MAX] = {};
	size_t n = 0;
	int ret = 0;

	if (c && (pr_rule_list(c, &rules, &n) || pr_global_stats(c, g) || pr_ct_fill(c, &ct) ||
		  pr_monitor_counts(c, &mon))) {
		snprintf(err, len, "%s", c->err);
		ret = -EIO;
		goto out;
	}
	labels = calloc(n + 1, sizeof(*labels));
	st = calloc(n + 1, sizeof(*st));
	if (!labels || !st || rule_labels(rules, n, labels)) {
		snprintf(err, len, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (pr_rule_stats(c, rules[i].rule.id, &st[i]))
			memset(&st[i], 0, sizeof(st[i])); /* deleted meanwhile: as stats shows it */
	for (int i = RF_FLOWS; i <= RF_EXHAUSTED; i++)
		rule_family(f, i, labels, st, n);
	family(f, "portredir_packets_total", "counter",
	       "Datapath verdicts by reason, as portredir stats counts them: packets, and for "
	       "xlate_local_socket the local connects and sends translated.");
	for (unsigned int r = 0; r < PR_R_MAX; r++)
		sample(f, "portredir_packets_total", NULL, NULL, pr_reason_name(r), g[r]);
	const struct {
		const char *name, *type, *help;
		unsigned long long v;
	} singles[] = { /* the families of one sample without labels */
		{ "portredir_rules", "gauge", "Rules in the table.", n },
		{ "portredir_rules_limit", "gauge", "Rules the maps hold (attach --max-rules).",
		  c ? c->max_rules : PR_DEFAULT_MAX_RULES },
		{ "portredir_conntrack_entries", "gauge",
		  "Conntrack entries in the table, expired ones included (a flow has two).", ct.entries },
		{ "portredir_conntrack_live_entries", "gauge", "Conntrack entries not expired.", ct.live },
		{ "portredir_conntrack_flows", "gauge", "Live flows (their forward entries).", ct.flows },
		{ "portredir_conntrack_entries_limit", "gauge", "Entries the conntrack table holds.", ct.max },
		{ "portredir_conntrack_evictions_total", "counter",
		  "Live conntrack entries the table evicted, counted when their flow sent again.", ct.evicted },
		{ "portredir_monitor_events_total", "counter",
		  "Events the datapath put on the monitor's ring buffer (portredir monitor).", mon.emitted },
		{ "portredir_monitor_dropped_total", "counter", "Monitor events the kernel dropped over the monitor's --rate.",
		  mon.dropped },
		{ "portredir_monitor_lost_total", "counter", "Monitor events lost because the ring buffer was full.",
		  mon.lost },
		{ "portredir_monitor_running", "gauge", "1 while a monitor holds the lease, else 0.", mon.running },
	};
	for (size_t i = 0; i < sizeof(singles) / sizeof(singles[0]); i++) {
		family(f, singles[i].name, singles[i].type, singles[i].help);
		sample(f, singles[i].name, NULL, NULL, NULL, singles[i].v);
	}
out:
	free(rules);
	free(labels);
	free(st);
	return ret;
}
