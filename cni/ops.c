// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The CNI commands on portredir's maps: ADD publishes a container's port mappings as rules and attaches the host's interfaces, DEL, CHECK, GC and STATUS. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cni.h"

static void print_prev(const struct cni_req *r)
{
	json_dumpf(r->prev, stdout, JSON_COMPACT);
	putchar('\n');
}

/* The index of ifname's entry in st, or nst when it has none. */
static size_t iface_at(const struct pr_iface_status *st, size_t nst, const char *ifname)
{
	size_t j;

	for (j = 0; j < nst && strcmp(st[j].rec.name, ifname); j++)
		;
	return j;
}

/* A refused ADD names who holds the port: the container, when it is one of
 * this network's, and the rule. */
static int port_taken(struct cni_req *r, const struct pr_ctx *c, const struct cni_want *w, const struct pr_rule_meta *cf,
		      struct cni_err *e)
{
	char id[PR_NAME_LEN], line[PR_LINE_LEN], who[96] = "";

	cni_rule_owner(r, cf->name, id, sizeof(id));
	if (*id)
		snprintf(who, sizeof(who), "container %s of network %s, ", id, r->name);
	else if (cni_starts(cf->name, "cni-"))
		snprintf(who, sizeof(who), "a container of another network, ");
	if (pr_rule_line(cf, line, sizeof(line)))
		snprintf(line, sizeof(line), "?");
	return cni_errf(e, CNI_E_PORT_TAKEN, -EEXIST, "hostPort already taken",
			"hostPort %u/%s (%s) is taken by %srule %u: %s", w->map->host_port, w->map->proto, w->text, who,
			cf->rule.id, line);
}

/* ADD's attaches: each interface of the network (st, nst: the attachments
 * before), with the network's record on those this plugin attached. */
static int attach_ifaces(struct cni_req *r, struct pr_ctx *c, char (*ifs)[PR_IFNAME_LEN], size_t nif,
			 const struct pr_iface_status *st, size_t nst, struct cni_err *e)
{
	struct pr_attach_result res;
	size_t i, j;
	int err;

	for (i = 0; i < nif; i++) {
		enum pr_mode_req mode = r->mode;

		j = iface_at(st, nst, ifs[i]);
		/* auto on a bridge is tc: generic XDP there would only add a load
		 * (native fails first) to what TC ingress sees anyway; an interface
		 * attached already is taken in whatever mode it has */
		if (j < nst && st[j].present)
			mode = PR_REQ_AUTO;
		else if (mode == PR_REQ_AUTO && cni_is_bridge(ifs[i]))
			mode = PR_REQ_TC;
		memset(&res, 0, sizeof(res));
		err = pr_attach(c, ifs[i], mode, 0, &res);
		if (err)
			return cni_errf(e, CNI_E_DATAPATH, err, "cannot attach portredir", "%s", c->err);
		/* an interface attached before, by anyone but this plugin, stays the operator's */
		if (!res.already || cni_claimed(c, ifs[i])) {
			err = cni_claim(c, ifs[i], r->name);
			if (err)
				return cni_errf(e, CNI_E_DATAPATH, err, "cannot record an attachment", "%s/cni/if/%s: %s",
						c->pin_dir, ifs[i], strerror(-err));
		}
	}
	return 0;
}

/* ADD's rules; a port another rule holds is named (port_taken). */
static int add_rules(struct cni_req *r, struct pr_ctx *c, const struct cni_want *w, size_t nw, struct cni_err *e)
{
	struct pr_rule_meta out, conflict;
	size_t i;
	int err;

	for (i = 0; i < nw; i++) {
		err = pr_rule_add(c, &w[i].spec, false, &out, &conflict);
		if (err == -EEXIST)
			return port_taken(r, c, &w[i], &conflict, e);
		if (err)
			return cni_errf(e, CNI_E_DATAPATH, err, "cannot add a rule", "%s: %s", w[i].text, c->err);
	}
	return 0;
}

int cni_add(struct cni_req *r, struct cni_err *e)
{
	char (*ifs)[PR_IFNAME_LEN] = NULL;
	struct pr_iface_status *st = NULL;
	struct cni_want *w = NULL;
	size_t nw = 0, nif = 0, nst = 0;
	struct pr_ctx c;
	int err;

	if (!r->prev)
		return cni_errf(e, CNI_E_CONFIG, -EINVAL, "must be called as a chained plugin",
				"prevResult is missing: portredir publishes the address an earlier plugin (bridge) gave the container");
	if (!r->nmaps) {
		print_prev(r);
		return 0;
	}
	if ((err = cni_want_rules(r, &w, &nw, e)) || (err = cni_want_ifaces(r, &ifs, &nif, e)))
		goto out;
	if ((err = cni_open_locked(r, &c, true, e)))
		goto out;
	/* a repeated ADD (no DEL between) starts again from nothing */
	if ((err = cni_del_rules(r, &c, r->owner, NULL, NULL, e)))
		goto close;
	if ((err = pr_iface_list(&c, &st, &nst))) {
		cni_errf(e, CNI_E_DATAPATH, err, "cannot list attachments", "%s", c.err);
		goto close;
	}
	if ((err = attach_ifaces(r, &c, ifs, nif, st, nst, e)) || (err = add_rules(r, &c, w, nw, e)))
		goto undo;
	print_prev(r);
	goto close;
undo:
	/* nothing of this ADD stays: its rules go, and the interfaces when the network has no other */
	cni_del_rules(r, &c, r->owner, NULL, NULL, e);
	cni_settle(r, &c, e);
close:
	pr_close(&c);
out:
	free(st);
	free(ifs);
	free(w);
	return err;
}

int cni_del(struct cni_req *r, struct cni_err *e)
{
	struct pr_ctx c;
	int err;

	/* nothing was ever published under this pin dir: nothing to remove */
	err = cni_open_locked(r, &c, false, e);
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	err = cni_del_rules(r, &c, r->owner, NULL, NULL, e);
	if (!err)
		err = cni_settle(r, &c, e);
	pr_close(&c);
	return err;
}

/* Whether a live rule is the one wanted: same listen, target and options. */
static bool same_rule(const struct pr_rule_meta *m, const struct pr_rule_spec *s)
{
	return !memcmp(&m->key, &s->key, sizeof(m->key)) && m->port_last == s->port_last &&
	       !memcmp(&m->rule.target, &s->target, sizeof(s->target)) && m->rule.target_port == s->target_port &&
	       !(m->rule.flags & PR_RULE_F_HAIRPIN_OFF) == !s->hairpin_off && m->nat.mode == s->nat.mode &&
	       m->allow_count == 0;
}

int cni_check(struct cni_req *r, struct cni_err *e)
{
	char (*ifs)[PR_IFNAME_LEN] = NULL, line[PR_LINE_LEN];
	struct pr_iface_status *st = NULL;
	struct pr_rule_meta *v = NULL;
	struct cni_want *w = NULL;
	size_t i, j, nw = 0, nif = 0, n = 0, nst = 0, mine = 0;
	struct pr_ctx c;
	int err;

	if (!r->prev)
		return cni_errf(e, CNI_E_CONFIG, -EINVAL, "prevResult is missing", "CHECK needs the prevResult of the ADD");
	if (!r->nmaps)
		return 0;
	if ((err = cni_want_rules(r, &w, &nw, e)) || (err = cni_want_ifaces(r, &ifs, &nif, e)))
		goto out;
	err = cni_open_locked(r, &c, false, e);
	if (err == -ENOENT)
		err = cni_errf(e, CNI_E_CHECK, err, "container's ports are not published", "no portredir maps in %s",
			       cni_pin_dir(r));
	if (err)
		goto out;
	if (!(v = cni_rules(&c, &n, e))) {
		err = -EIO;
		goto close;
	}
	for (i = 0; i < nw && !err; i++) {
		for (j = 0; j < n && strcmp(v[j].name, w[i].name); j++)
			;
		if (j == n) {
			err = cni_errf(e, CNI_E_CHECK, -ENOENT, "a published port is missing", "rule %s (%s) is missing",
				       w[i].name, w[i].text);
		} else if (!same_rule(&v[j], &w[i].spec)) {
			if (pr_rule_line(&v[j], line, sizeof(line)))
				snprintf(line, sizeof(line), "?");
			err = cni_errf(e, CNI_E_CHECK, -EINVAL, "a published port differs", "rule %s is '%s', not '%s'",
				       w[i].name, line, w[i].text);
		}
	}
	for (j = 0; j < n; j++)
		mine += cni_starts(v[j].name, r->owner);
	if (!err && mine != nw)
		err = cni_errf(e, CNI_E_CHECK, -EINVAL, "unexpected published ports",
			       "the container has %zu rules, its mappings make %zu", mine, nw);
	if (!err && (err = pr_iface_list(&c, &st, &nst)))
		cni_errf(e, CNI_E_DATAPATH, err, "cannot list attachments", "%s", c.err);
	for (i = 0; i < nif && !err; i++) {
		j = iface_at(st, nst, ifs[i]);
		if (j == nst || !pr_iface_live(&st[j]))
			err = cni_errf(e, CNI_E_CHECK, -ENOLINK, "an interface is not attached",
				       "portredir is %s on %s", j == nst ? "not attached" : "missing programs", ifs[i]);
	}
close:
	free(st);
	free(v);
	pr_close(&c);
out:
	free(ifs);
	free(w);
	return err;
}

/* GC keeps a rule whose container id (its first 12 characters) is one of
 * cni.dev/valid-attachments. */
static bool gc_keep(const struct cni_req *r, const char *rule)
{
	char id[PR_NAME_LEN];
	json_t *a;
	size_t i;

	cni_rule_owner(r, rule, id, sizeof(id));
	if (!*id)
		return true; /* not a name this plugin gives: not ours to remove */
	json_array_foreach(r->valid, i, a) {
		const char *cid = json_string_value(json_object_get(a, "containerID"));
		char short_id[CNI_ID_SHORT + 1];

		if (!cid)
			continue;
		snprintf(short_id, sizeof(short_id), "%s", cid);
		if (!strcmp(short_id, id))
			return true;
	}
	return false;
}

int cni_gc(struct cni_req *r, struct cni_err *e)
{
	struct pr_ctx c;
	int err, err2;

	if (!r->valid)
		return cni_errf(e, CNI_E_CONFIG, -EINVAL, "cni.dev/valid-attachments is missing",
				"GC needs the list of valid attachments; without it nothing is removed");
	err = cni_open_locked(r, &c, false, e);
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	/* as much as possible: the interfaces are settled even after a failed delete */
	err = cni_del_rules(r, &c, r->prefix, gc_keep, NULL, e);
	err2 = cni_settle(r, &c, e);
	pr_close(&c);
	return err ? err : err2;
}

int cni_status(struct cni_req *r, struct cni_err *e)
{
	char (*ifs)[PR_IFNAME_LEN] = NULL;
	struct pr_iface_status *st = NULL;
	struct pr_local_status ls;
	size_t i, j, nif = 0, nst = 0;
	struct pr_ctx c;
	int err;

	err = pr_open(&c, cni_pin_dir(r), 0, 0);
	if (err == -ENOENT)
		return 0; /* nothing attached yet: the first ADD creates the maps and attaches */
	if (err)
		return cni_errf(e, CNI_E_UNAVAIL, err, "portredir's maps cannot be opened", "%s", c.err);
	if ((err = cni_claimed_list(&c, &ifs, &nif)) || (err = pr_iface_list(&c, &st, &nst))) {
		cni_errf(e, CNI_E_UNAVAIL, err, "cannot read portredir's attachments", "%s", *c.err ? c.err : strerror(-err));
		goto out;
	}
	for (i = 0; i < nif && !err; i++) {
		j = iface_at(st, nst, ifs[i]);
		if (j == nst && !cni_claim_held(&c, ifs[i]))
			continue; /* an empty record of an interface released but kept for others' rules */
		if (j == nst)
			err = cni_errf(e, CNI_E_LIMITED, -ENOLINK, "the datapath is not attached",
				       "interface %s: portredir is not attached; published ports do not work there", ifs[i]);
		else if (!pr_iface_live(&st[j]))
			err = cni_errf(e, CNI_E_LIMITED, -ENOLINK, "the datapath is not attached",
				       "interface %s: %s; published ports do not work there", ifs[i],
				       st[j].present ? "portredir's programs are missing" : "the interface is gone");
	}
	if (!err && nst) {
		err = pr_local_status(&c, &ls);
		if (err)
			cni_errf(e, CNI_E_UNAVAIL, err, "cannot read the local-client hooks", "%s", c.err);
		else if (!ls.attached)
			err = cni_errf(e, CNI_E_LIMITED, -ENOLINK, "the local-client hooks are missing",
				       "the host's own connections to published ports are not translated");
	}
out:
	free(st);
	free(ifs);
	pr_close(&c);
	return err;
}
