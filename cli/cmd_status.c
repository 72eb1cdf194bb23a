// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The status command: attached interfaces and map fill levels, with the interface and fill objects it prints. */
#include <stddef.h>
#include <stdlib.h>
#include "cli.h"
#include "drift.h"

/* ---- status ---- */

enum { IF_NAME, IF_INDEX, IF_MODE, IF_XDP, IF_TC_IN, IF_TC_EG, IF_FORWARD, IF_XDP_TX, IF_OK, IF_BUILD, IF_STATE,
       IF_NAPI };

static void iface_get(const void *obj, size_t which, struct out_val *v)
{
	const struct pr_iface_status *s = obj;

	switch (which) {
	case IF_NAME: out_str(v, "%s", s->rec.name); break;
	case IF_MODE: out_str(v, "%s", pr_mode_name(s->rec.mode)); break;
	case IF_FORWARD: out_str(v, "%s", (s->rec.flags & PR_IF_VIA_STACK) ? "stack" : "direct"); break;
	case IF_XDP_TX: out_bool(v, (s->rec.flags & PR_IF_XDP_TX) != 0); break;
	case IF_OK: out_bool(v, pr_iface_live(s)); break;
	case IF_NAPI: out_bool(v, true); v->absent = !s->napi_threaded; break;
	case IF_BUILD:
		out_str(v, "%s", s->other_build ? "other" : "this");
		v->absent = !pr_iface_live(s);
		break;
	case IF_STATE:
		out_str(v, "%s", !pr_iface_live(s) ? (!s->present ? "GONE (interface removed)" :
						   "BROKEN (programs missing; attach again)") :
				 s->other_build ? "ok, running another build's programs (attach again to replace them)" :
				 s->napi_threaded && !(s->rec.flags & PR_IF_THREADED_OK) ? "ok, but warning: its NAPI is threaded now, and native XDP on this veth "
						    "drops what its ring cannot hold (attach --mode tc, or write 0 to threaded)" :
						  "ok");
		break;
	}
}

static const struct out_field iface_fields[] = {
	[IF_NAME] = { "interface", iface_get, .arg = IF_NAME },
	[IF_INDEX] = { "ifindex", out_get_u32, .arg = offsetof(struct pr_iface_status, ifindex) },
	[IF_MODE] = { "mode", iface_get, .arg = IF_MODE },
	[IF_XDP] = { "xdp_prog_id", out_get_u32, .arg = offsetof(struct pr_iface_status, live_xdp_id) },
	[IF_TC_IN] = { "tc_ingress_prog_id", out_get_u32, .arg = offsetof(struct pr_iface_status, live_tc_in_id) },
	[IF_TC_EG] = { "tc_egress_prog_id", out_get_u32, .arg = offsetof(struct pr_iface_status, live_tc_eg_id) },
	[IF_FORWARD] = { "forward", iface_get, .arg = IF_FORWARD },
	[IF_XDP_TX] = { "xdp_redirect", iface_get, .arg = IF_XDP_TX },
	[IF_OK] = { "ok", iface_get, .arg = IF_OK },
	[IF_BUILD] = { "build", iface_get, .arg = IF_BUILD },
	[IF_STATE] = { "state", iface_get, .arg = IF_STATE, .flags = OUT_F_TEXT },
	[IF_NAPI] = { "napi_threaded", iface_get, .arg = IF_NAPI },
};
static const struct out_desc iface_desc = OUT_DESC(iface_fields);
static const struct out_col iface_view[] = {
	{ IF_NAME, .fmt = "  %-15s " },	 { IF_INDEX, .fmt = "ifindex %-4s " },     { IF_MODE, .fmt = "mode %-7s " },
	{ IF_XDP, .fmt = "xdp %-5s " },	 { IF_TC_IN, .fmt = "tc-ingress %-5s " }, { IF_TC_EG, .fmt = "tc-egress %-5s " },
	{ IF_FORWARD, .fmt = "forward %s" }, { IF_XDP_TX, .fmt = " xdp-tx" },	    { IF_STATE, .fmt = " %s\n" },
	OUT_COLS_END,
};

enum { FI_RULES, FI_RULES_MAX, FI_ENTRIES, FI_ENTRIES_MAX, FI_ALLOW_MAX, FI_COUNTER_BYTES, FI_CPUS, FI_FLOWS,
       FI_CT, FI_CT_MAX, FI_COUNTER_MIB, FI_SLOTS, FI_SLOT_BYTES, FI_RNAT_BYTES, FI_RNAT_MIB, FI_RNAT_SLOT,
       FI_CT_LIVE, FI_CT_EVICTED, FI_CT_PCT, FI_CT_FULL, FI_CT_WARN };

/* Live entries as a share of the table, in whole percent (rounded down). */
static unsigned int ct_pct(const struct pr_ct_fill *f)
{
	return f->max ? (unsigned int)(f->live * 100 / f->max) : 0;
}

static void fill_get(const void *obj, size_t which, struct out_val *v)
{
	const struct pr_fill *f = obj;

	switch (which) {
	case FI_CPUS: out_int(v, f->ncpus); break;
	case FI_COUNTER_MIB: out_str(v, "%.1f", f->rstats_bytes / 1048576.0); break;
	case FI_SLOTS: out_uint(v, f->rules_max + 1); break;
	case FI_SLOT_BYTES: out_uint(v, sizeof(struct pr_rule_stats)); break;
	case FI_RNAT_MIB: out_str(v, "%.1f", f->rnat_bytes / 1048576.0); break;
	case FI_RNAT_SLOT: out_uint(v, sizeof(struct pr_rule_nat)); break;
	case FI_CT_PCT: out_uint(v, ct_pct(&f->ct)); break;
	case FI_CT_FULL: out_bool(v, pr_ct_near_full(&f->ct)); break;
	case FI_CT_WARN:
		if (pr_ct_near_full(&f->ct))
			out_str(v, "warning: conntrack is %u%% full (%zu of %zu entries live, warned from %d%%): "
				"new flows now evict live ones (counted as evicted)\n",
				ct_pct(&f->ct), f->ct.live, f->ct.max, PR_CT_WARN_PCT);
		break;
	}
}

#define FILL(key, member) { key, out_get_size, .arg = offsetof(struct pr_fill, member) }
static const struct out_field fill_fields[] = {
	[FI_RULES] = FILL("rules", rules),
	[FI_RULES_MAX] = FILL("rules_max", rules_max),
	[FI_ENTRIES] = FILL("rule_entries", rule_entries),
	[FI_ENTRIES_MAX] = FILL("rule_entries_max", rule_entries_max),
	[FI_ALLOW_MAX] = FILL("allow_entries_max", allow_entries_max),
	[FI_COUNTER_BYTES] = FILL("rule_counters_bytes", rstats_bytes),
	[FI_RNAT_BYTES] = FILL("rule_nat_bytes", rnat_bytes),
	[FI_CPUS] = { "possible_cpus", fill_get, .arg = FI_CPUS },
	[FI_FLOWS] = FILL("flows", flows),
	[FI_CT] = FILL("conntrack_entries", ct_entries),
	[FI_CT_MAX] = FILL("conntrack_max", ct_max),
	[FI_COUNTER_MIB] = { "counters_mib", fill_get, .arg = FI_COUNTER_MIB, .flags = OUT_F_TEXT },
	[FI_SLOTS] = { "counter_slots", fill_get, .arg = FI_SLOTS, .flags = OUT_F_TEXT },
	[FI_SLOT_BYTES] = { "counter_bytes", fill_get, .arg = FI_SLOT_BYTES, .flags = OUT_F_TEXT },
	[FI_RNAT_MIB] = { "rnat_mib", fill_get, .arg = FI_RNAT_MIB, .flags = OUT_F_TEXT },
	[FI_RNAT_SLOT] = { "rnat_slot_bytes", fill_get, .arg = FI_RNAT_SLOT, .flags = OUT_F_TEXT },
	[FI_CT_LIVE] = FILL("conntrack_live", ct.live),
	[FI_CT_EVICTED] = { "conntrack_evicted", out_get_u64, .arg = offsetof(struct pr_fill, ct.evicted) },
	[FI_CT_PCT] = { "conntrack_live_pct", fill_get, .arg = FI_CT_PCT },
	[FI_CT_FULL] = { "conntrack_near_full", fill_get, .arg = FI_CT_FULL },
	[FI_CT_WARN] = { "conntrack_warning", fill_get, .arg = FI_CT_WARN, .flags = OUT_F_TEXT },
};
static const struct out_desc fill_desc = OUT_DESC(fill_fields);
static const struct out_col fill_view[] = {
	{ FI_RULES, .fmt = "maps: rules %s" }, { FI_RULES_MAX, .fmt = "/%s" }, { FI_ENTRIES, .fmt = ", lookup entries %s" },
	{ FI_ENTRIES_MAX, .fmt = "/%s" },	 { FI_FLOWS, .fmt = ", flows %s" }, { FI_CT, .fmt = ", conntrack entries %s" },
	{ FI_CT_MAX, .fmt = "/%s" },		 { FI_CT_LIVE, .fmt = " (%s live, " }, { FI_CT_PCT, .fmt = "%s%% full)" },
	{ FI_CT_EVICTED, .fmt = ", live entries evicted %s\n" }, { FI_CT_WARN, .fmt = "%s", .flags = OUT_C_SKIP_EMPTY },
	OUT_COLS_END,
};
static const struct out_col capacity_view[] = {
	{ FI_RULES_MAX, .fmt = "capacity: %s rules, set when the maps were created (attach --max-rules); " },
	{ FI_COUNTER_MIB, .fmt = "per-rule counters take %s MiB " }, { FI_SLOTS, .fmt = "(%s x " }, { FI_SLOT_BYTES, .fmt = "%s B x " },
	{ FI_CPUS, .fmt = "%s possible CPUs); " }, { FI_RNAT_MIB, .fmt = "rules' source NAT %s MiB " },
	{ FI_SLOTS, .fmt = "(%s x " }, { FI_RNAT_SLOT, .fmt = "%s B)\n" }, OUT_COLS_END,
};

/* Local clients: the socket hooks of this namespace. */
enum { LH_HOOK, LH_LINK, LH_PROG };
static const struct out_field hook_fields[] = {
	[LH_HOOK] = { "hook", out_get_cstr, .arg = offsetof(struct pr_local_hook, hook) },
	[LH_LINK] = { "link_id", out_get_u32, .arg = offsetof(struct pr_local_hook, link_id) },
	[LH_PROG] = { "prog_id", out_get_u32, .arg = offsetof(struct pr_local_hook, prog_id) },
};
static const struct out_desc hook_desc = OUT_DESC(hook_fields);
static const struct out_col hook_view[] = {
	{ LH_HOOK, .fmt = "  %-15s " }, { LH_LINK, .fmt = "link %-5s " }, { LH_PROG, .fmt = "prog %s\n" }, OUT_COLS_END,
};

enum { LO_ATTACHED, LO_EXPLICIT, LO_CGROUP, LO_COOKIE, LO_ADDRS, LO_HOOKS, LO_BUILD, LO_STATE, LO_WHY };

static void local_get(const void *obj, size_t which, struct out_val *v)
{
	const struct pr_local_status *l = obj;

	switch (which) {
	case LO_CGROUP: out_str(v, "%s", l->cgroup); break;
	case LO_HOOKS: out_array(v, &hook_desc, l->hooks, l->nhooks, sizeof(l->hooks[0])); break;
	case LO_BUILD:
		out_str(v, "%s", l->other_build ? "other" : "this");
		v->absent = !l->attached;
		break;
	case LO_STATE:
		out_str(v, "%s", l->attached && l->other_build ? "another build's programs (attach again to replace them), attached to cgroup " :
			l->attached ? "attached to cgroup " : l->nhooks || l->recorded ?
			"BROKEN (hooks missing; attach again) on cgroup " : "none in this network namespace");
		break;
	case LO_WHY:
		out_str(v, "%s", !l->attached ? "" : l->explicit_local ? " (attach --local)" : " (with the interfaces)");
		break;
	}
}

static const struct out_field local_fields[] = {
	[LO_ATTACHED] = { "attached", out_get_bool, .arg = offsetof(struct pr_local_status, attached) },
	[LO_EXPLICIT] = { "explicit", out_get_bool, .arg = offsetof(struct pr_local_status, explicit_local) },
	[LO_CGROUP] = { "cgroup", local_get, .arg = LO_CGROUP },
	[LO_COOKIE] = { "netns_cookie", out_get_u64, .arg = offsetof(struct pr_local_status, netns_cookie) },
	[LO_ADDRS] = { "local_addresses", out_get_size, .arg = offsetof(struct pr_local_status, addrs) },
	[LO_HOOKS] = { "hooks", local_get, .arg = LO_HOOKS },
	[LO_BUILD] = { "build", local_get, .arg = LO_BUILD },
	[LO_STATE] = { "state", local_get, .arg = LO_STATE, .flags = OUT_F_TEXT },
	[LO_WHY] = { "why", local_get, .arg = LO_WHY, .flags = OUT_F_TEXT },
};
static const struct out_desc local_desc = OUT_DESC(local_fields);
static const struct out_col local_view[] = {
	{ LO_STATE, .fmt = "local clients: %s" }, { LO_CGROUP, .fmt = "%s", .flags = OUT_C_SKIP_EMPTY }, { LO_WHY, .fmt = "%s" },
	OUT_LITERAL("\n"), { LO_HOOKS, .view = hook_view }, OUT_COLS_END,
};

/* ---- whether the rule tables agree (issue 12 part 1) ---- */

enum { TB_DRIFT, TB_BUSY, TB_UNFINISHED };

static void tables_get(const void *obj, size_t which, struct out_val *v)
{
	const struct pr_tables_check *t = obj;

	switch (which) {
	case TB_DRIFT:
		out_obj(v, &drift_desc, &t->drift);
		v->absent = !t->checked;
		break;
	case TB_BUSY: out_bool(v, t->busy); break;
	case TB_UNFINISHED: out_bool(v, t->unfinished); break;
	}
}

static const struct out_field tables_fields[] = {
	[TB_DRIFT] = { "drift", tables_get, .arg = TB_DRIFT, .flags = OUT_F_MERGE },
	[TB_BUSY] = { "change_in_progress", tables_get, .arg = TB_BUSY },
	[TB_UNFINISHED] = { "last_change_unfinished", tables_get, .arg = TB_UNFINISHED },
};
static const struct out_desc tables_desc = OUT_DESC(tables_fields);
static const struct out_col tables_view[] = {
	{ TB_DRIFT, .view = drift_status_view },
	{ TB_BUSY, .fmt = "tables: not compared: a change is in progress\n" },
	{ TB_UNFINISHED, .fmt = "last change: did not finish (killed or failed); the next apply, or repair, reconciles\n" },
	OUT_COLS_END,
};

/* ---- XDP into veths (docs/design.md, "XDP into a veth") ---- */

enum { VE_NAME, VE_INDEX, VE_OK, VE_FAILED, VE_KERNEL, VE_STATE };

static void veth_get(const void *obj, size_t which, struct out_val *v)
{
	const struct pr_vxmit_veth *e = obj;

	switch (which) {
	case VE_NAME: out_str(v, "%s", e->name); break;
	case VE_KERNEL:
		out_bool(v, e->kernel == 1);
		v->absent = e->kernel < 0;
		break;
	case VE_STATE:
		out_str(v, "%s", e->ok && e->kernel == 0 ? "yes, until its next frame is refused: its far end has lost its XDP program or GRO" :
			e->ok ? "yes: its far end has an XDP program or GRO" :
			e->kernel == 1 ? (e->failed ? "no: the kernel refused a frame into it; attach or apply asks again, and its far end has NAPI now" :
				   "no: its far end has NAPI since the last attach or apply, which the next one uses") :
			e->failed ? "no: the kernel refused a frame into it (its far end lost NAPI); the stack" :
				    "no: its far end has no XDP program and no GRO (the stack)");
		break;
	}
}

static const struct out_field veth_fields[] = {
	[VE_NAME] = { "veth", veth_get, .arg = VE_NAME },
	[VE_INDEX] = { "ifindex", out_get_u32, .arg = offsetof(struct pr_vxmit_veth, ifindex) },
	[VE_OK] = { "xdp_redirect", out_get_bool, .arg = offsetof(struct pr_vxmit_veth, ok) },
	[VE_FAILED] = { "refused", out_get_bool, .arg = offsetof(struct pr_vxmit_veth, failed) },
	[VE_KERNEL] = { "far_end_napi", veth_get, .arg = VE_KERNEL },
	[VE_STATE] = { "state", veth_get, .arg = VE_STATE, .flags = OUT_F_TEXT },
};
static const struct out_desc veth_desc = OUT_DESC(veth_fields);
static const struct out_col veth_view[] = {
	{ VE_NAME, .fmt = "  %-15s " }, { VE_INDEX, .fmt = "ifindex %-4s " }, { VE_STATE, .fmt = "xdp-redirect %s\n" },
	OUT_COLS_END,
};

struct vxmit_out {
	struct pr_vxmit_state st;
	struct pr_vxmit_veth *v;
	size_t n;
};

enum { VX_LIVE, VX_WHY, VX_TEXT, VX_VETHS };

static void vxmit_get(const void *obj, size_t which, struct out_val *v)
{
	const struct vxmit_out *x = obj;

	switch (which) {
	case VX_WHY:
		out_str(v, "%s", x->st.why);
		v->absent = x->st.live;
		break;
	case VX_TEXT:
		out_str(v, "%s", x->st.live ? "where the kernel says the far end takes XDP frames (netdev xdp-features)" : x->st.why);
		break;
	case VX_VETHS: out_array(v, &veth_desc, x->v, x->n, sizeof(*x->v)); break;
	}
}

static const struct out_field vxmit_fields[] = {
	[VX_LIVE] = { "available", out_get_bool, .arg = offsetof(struct vxmit_out, st.live) },
	[VX_WHY] = { "why_not", vxmit_get, .arg = VX_WHY },
	[VX_TEXT] = { "text", vxmit_get, .arg = VX_TEXT, .flags = OUT_F_TEXT },
	[VX_VETHS] = { "veths", vxmit_get, .arg = VX_VETHS },
};
static const struct out_desc vxmit_desc = OUT_DESC(vxmit_fields);
static const struct out_col vxmit_view[] = {
	{ VX_TEXT, .fmt = "xdp into veths: %s\n" }, { VX_VETHS, .view = veth_view }, OUT_COLS_END,
};

struct status_out {
	const char *pin_dir;
	bool have; /* the maps exist */
	struct pr_local_status local;
	struct pr_iface_status *ifs;
	size_t n;
	struct pr_fill fill;
	struct pr_tables_check tables;
	struct vxmit_out vx;
};

enum { ST_PIN, ST_NO_MAPS, ST_NONE, ST_IFACES, ST_LOCAL, ST_MAPS, ST_CAPACITY, ST_TABLES, ST_VXMIT };

static void status_get(const void *obj, size_t which, struct out_val *v)
{
	const struct status_out *s = obj;

	switch (which) {
	case ST_PIN: out_str(v, "%s", s->pin_dir); break;
	case ST_NO_MAPS: out_str(v, "%s", s->have ? "" : " (no maps yet)"); break;
	case ST_NONE: out_str(v, "%s", s->n ? "" : " none attached in this network namespace"); break;
	case ST_IFACES: out_array(v, &iface_desc, s->ifs, s->n, sizeof(*s->ifs)); break;
	case ST_LOCAL:
		out_obj(v, &local_desc, &s->local);
		v->absent = !s->have;
		break;
	case ST_MAPS: out_obj(v, &fill_desc, &s->fill); break;
	case ST_CAPACITY:
		out_obj(v, &fill_desc, &s->fill);
		v->absent = !s->have;
		break;
	case ST_TABLES:
		out_obj(v, &tables_desc, &s->tables);
		v->absent = !s->have;
		break;
	case ST_VXMIT:
		out_obj(v, &vxmit_desc, &s->vx);
		v->absent = !s->have;
		break;
	}
}

static const struct out_field status_fields[] = {
	[ST_PIN] = { "pin_dir", status_get, .arg = ST_PIN },
	[ST_NO_MAPS] = { "no_maps", status_get, .arg = ST_NO_MAPS, .flags = OUT_F_TEXT },
	[ST_NONE] = { "none_attached", status_get, .arg = ST_NONE, .flags = OUT_F_TEXT },
	[ST_IFACES] = { "interfaces", status_get, .arg = ST_IFACES },
	[ST_LOCAL] = { "local_clients", status_get, .arg = ST_LOCAL },
	[ST_MAPS] = { "maps", status_get, .arg = ST_MAPS },
	[ST_CAPACITY] = { "capacity", status_get, .arg = ST_CAPACITY, .flags = OUT_F_TEXT },
	[ST_TABLES] = { "tables", status_get, .arg = ST_TABLES },
	[ST_VXMIT] = { "xdp_into_veths", status_get, .arg = ST_VXMIT },
};
static const struct out_desc status_desc = OUT_DESC(status_fields);
static const struct out_col status_view[] = {
	{ ST_PIN, .fmt = "pin dir: %s" }, { ST_NO_MAPS, .fmt = "%s\n" }, { ST_NONE, .fmt = "interfaces:%s\n" },
	{ ST_IFACES, .view = iface_view }, { ST_VXMIT, .view = vxmit_view }, { ST_LOCAL, .view = local_view }, { ST_MAPS, .view = fill_view }, { ST_CAPACITY, .view = capacity_view },
	{ ST_TABLES, .view = tables_view }, OUT_COLS_END,
};

static int do_status(const void *cfg, struct pr_ctx *c)
{
	struct status_out s = { .pin_dir = c ? c->pin_dir : cli_pin_dir(), .have = c != NULL };
	int rc = EXIT_OK;

	if (c && (pr_iface_list(c, &s.ifs, &s.n) || pr_local_status(c, &s.local) || pr_map_fill(c, &s.fill) ||
		  pr_tables_check(c, &s.tables) || pr_vxmit_list(c, &s.vx.st, &s.vx.v, &s.vx.n)))
		rc = cli_fail(c);
	else
		out_print(&status_desc, &s, status_view);
	free(s.ifs);
	free(s.vx.v);
	return rc;
}

const struct cmd cmd_status = {
	"status", do_status, params_none, 0, CMD_MAPS_READ,
	"Shows attached interfaces in this network namespace, their modes and program ids,\n"
	"the veths XDP may redirect into (those whose far end has an XDP program or GRO),\n"
	"the socket hooks for local clients (cgroup, hooks, link ids), map fill levels, and\n"
	"whether the datapath maps agree with the rule records (what disagrees, counted;\n"
	"portredir repair fixes it).",
};
