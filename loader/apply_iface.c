// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* apply's interface half: the attach, change and detach each interface line asks for, planned against the attached set before anything changes, then made after the rules. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include "libportredir.h"
#include "internal.h"

/* The change interface line s asks for, appended to r (its ifindex to
 * if_index) unless the live attachment there, which matched marks, is
 * already what s asks for. */
static int plan_line(struct pr_ctx *c, const struct pr_iface_spec *s, const struct pr_iface_status *live,
		     size_t nlive, __u8 *matched, struct pr_apply_result *r, __u32 *if_index)
{
	struct pr_iface_change *ch = &r->if_changes[r->nif_changes];
	const struct pr_iface_status *have = NULL;
	__u32 idx = if_nametoindex(s->name);

	if (!idx) {
		r->bad_line = s->line;
		return pr_errf(c, -EINVAL, "unknown interface '%s'", s->name);
	}
	for (size_t j = 0; j < nlive && !have; j++) {
		if (live[j].ifindex == idx) {
			have = &live[j];
			matched[j] = 1;
		}
	}
	if (have && pr_iface_live(have) && !have->other_build && strncmp(have->rec.name, s->name, sizeof(have->rec.name)) == 0 &&
	    pr_iface_satisfies(&have->rec, s->req, s->flags, pr_auto_mode(s->name))) {
		if (!(have->rec.flags & PR_IF_AUTO) == (s->req != PR_REQ_AUTO)) {
			r->if_unchanged++;
			return 0;
		}
		ch->record_only = true; /* what auto picks, asked for by name, or the reverse */
	}
	ch->kind = have ? PR_IFACE_CHANGE : PR_IFACE_ATTACH;
	ch->line = s->line;
	ch->want = *s;
	if (have)
		ch->old = have->rec;
	if_index[r->nif_changes++] = idx;
	if (have)
		r->if_changed++;
	else
		r->if_attached++;
	return 0;
}

/* The `local` line against what serves local clients now: attach --local
 * when the file has it and they are not served for their own sake (or run
 * another build's hooks), detach --local when it has not and they are. */
static int plan_local(struct pr_ctx *c, const struct pr_ruleset *rs, struct pr_apply_result *r)
{
	struct pr_local_status st = {};
	int err = 0;

	r->local_line = rs->local_line;
	if (c->fd_ifaces >= 0)
		err = pr_local_status(c, &st);
	if (err)
		return err;
	if (rs->local_line && !(st.explicit_local && st.attached && !st.other_build))
		r->local_change = PR_LOCAL_SERVE;
	else if (!rs->local_line && st.explicit_local)
		r->local_change = PR_LOCAL_UNSERVE;
	return 0;
}

int pr_apply_plan_ifaces(struct pr_ctx *c, struct pr_ruleset *rs, struct pr_apply_result *r, __u32 **if_index)
{
	struct pr_iface_status *live = NULL;
	size_t nlive = 0;
	__u8 *matched = NULL;
	int err = 0;

	if (!rs->nifaces && !rs->local_line)
		return 0;
	r->ifaces = true;
	if (rs->max_rules && c->fd_rmeta >= 0 && rs->max_rules != c->max_rules) {
		r->bad_line = rs->max_rules_line;
		return pr_errf(c, -EINVAL,
			       "--max-rules '%u' does not match the maps in %s, which hold %u rules (a pinned map cannot be resized: detach every interface, remove %s and apply again)",
			       rs->max_rules, c->pin_dir, c->max_rules, c->pin_dir);
	}
	err = plan_local(c, rs, r);
	if (!err && c->fd_ifaces >= 0)
		err = pr_iface_list(c, &live, &nlive);
	if (err)
		return err;
	matched = calloc(nlive + 1, 1);
	r->if_changes = calloc(rs->nifaces + nlive + 1, sizeof(*r->if_changes));
	*if_index = calloc(rs->nifaces + nlive + 1, sizeof(**if_index));
	if (!matched || !r->if_changes || !*if_index) {
		err = pr_errf(c, -ENOMEM, "out of memory planning %zu interfaces", rs->nifaces);
		goto out;
	}
	for (size_t i = 0; i < rs->nifaces && !err; i++)
		err = plan_line(c, &rs->ifaces[i], live, nlive, matched, r, *if_index);
	if (err)
		goto out;
	for (size_t j = 0; j < nlive; j++) {
		struct pr_iface_change *ch = &r->if_changes[r->nif_changes];

		if (matched[j])
			continue;
		ch->kind = PR_IFACE_DETACH;
		ch->old = live[j].rec;
		ch->gone = !live[j].present;
		(*if_index)[r->nif_changes++] = live[j].ifindex;
		r->if_detached++;
	}
out:
	free(live);
	free(matched);
	return err;
}

/* The local line's change, before the interfaces (so detaching them all
 * never takes hooks the file keeps) or after them (so the hooks go only
 * when no interface is left to keep them). */
static int commit_local(struct pr_ctx *c, struct pr_apply_result *r, bool first)
{
	size_t ifaces;
	bool already;
	int err;

	if (r->local_change == PR_LOCAL_KEEP || first != (r->local_change == PR_LOCAL_SERVE))
		return 0;
	if (r->local_change == PR_LOCAL_SERVE)
		err = pr_local_attach(c, true, &already);
	else
		err = pr_local_detach(c, &r->local_removed, &ifaces);
	if (err == -ENOENT && r->local_change == PR_LOCAL_UNSERVE)
		err = 0; /* gone already */
	if (err) {
		char why[PR_ERR_LEN];

		snprintf(why, sizeof(why), "%s", c->err);
		r->bad_line = r->local_line;
		return pr_errf(c, err, "the rules are applied, but local clients: %.400s", why);
	}
	r->local_done = true;
	return 0;
}

/* The local line's attach, then attaches and changes in file order, then
 * detaches, then the local line's detach: a failed attach leaves an
 * interface too many rather than one too few. Stops at the first failure,
 * which names the interface and its line. */
int pr_apply_commit_ifaces(struct pr_ctx *c, struct pr_apply_result *r, const __u32 *if_index)
{
	int err = commit_local(c, r, true);

	if (err)
		return err;
	for (size_t i = 0; i < r->nif_changes; i++) {
		struct pr_iface_change *ch = &r->if_changes[i];

		if (ch->kind == PR_IFACE_DETACH) {
			err = pr_detach_index(c, if_index[i]);
		} else {
			err = pr_attach(c, ch->want.name, ch->want.req, ch->want.flags | PR_ATTACH_CHANGE, &ch->res);
			if (err) {
				char why[PR_ERR_LEN];

				snprintf(why, sizeof(why), "%s", c->err);
				r->bad_line = ch->line;
				return pr_errf(c, err, "the rules are applied, but interface %s: %.400s", ch->want.name, why);
			}
		}
		if (err)
			return err;
		ch->done = true;
	}
	return commit_local(c, r, false);
}
