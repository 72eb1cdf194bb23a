// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The CNI operations on portredir's maps: ADD publishes a container's port mappings as rules and attaches the host's interfaces, DEL, CHECK, GC and STATUS. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cni.h"

/* ---- the maps, locked ---- */

static const char *pin_dir(const struct cni_req *r)
{
	const char *p = r->pin_dir;

	if (!p || !*p)
		p = getenv("PORTREDIR_PIN_DIR");
	return p && *p ? p : PR_DEFAULT_PIN_DIR;
}

/* mkdir -p, for a pin dir under a bpffs mount. */
static int mkdir_p(const char *path)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(buf, 0700) && errno != EEXIST ? -errno : 0;
}

/* Open the maps with the pin dir's lock held (pr_lock) for the whole
 * operation, so parallel ADDs and DELs of different containers take turns.
 * With create, absent maps are created, under a lock on the pin dir itself
 * taken before they exist: pr_open alone would let two first ADDs both
 * create them, one of them failing. -ENOENT without create when there are
 * no maps (the error is then not recorded in e). */
static int open_locked(const struct cni_req *r, struct pr_ctx *c, bool create, struct cni_err *e)
{
	const char *pin = pin_dir(r);
	int err, fd;

	err = pr_open(c, pin, 0, 0);
	if (err == -ENOENT && create) {
		err = mkdir_p(pin);
		if (err)
			return cni_errf(e, CNI_E_DATAPATH, err, "cannot create the pin dir", "%s: %s", pin, strerror(-err));
		fd = open(pin, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX)) {
			err = -errno;
			if (fd >= 0)
				close(fd);
			return cni_errf(e, CNI_E_DATAPATH, err, "cannot lock the pin dir", "%s: %s", pin, strerror(-err));
		}
		err = pr_open(c, pin, PR_OPEN_CREATE, 0);
		close(fd); /* the maps exist now; pr_lock below takes the same lock for the rest */
	}
	if (err == -ENOENT && !create)
		return err;
	if (!err)
		err = pr_lock(c);
	if (err) {
		cni_errf(e, CNI_E_DATAPATH, err, "cannot open portredir's maps", "%s", c->err);
		pr_close(c);
	}
	return err;
}

/* Every rule, or NULL with the error set. */
static struct pr_rule_meta *rules(struct pr_ctx *c, size_t *n, struct cni_err *e)
{
	struct pr_rule_meta *v = NULL;
	int err = pr_rule_list(c, &v, n);

	if (err) {
		cni_errf(e, CNI_E_DATAPATH, err, "cannot list portredir's rules", "%s", c->err);
		return NULL;
	}
	return v ? v : calloc(1, sizeof(*v));
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Delete every rule whose name starts with prefix (and, for GC, is not
 * kept), flushing its flows. A rule already gone is not an error. */
static int del_rules(struct cni_req *r, struct pr_ctx *c, const char *prefix,
		     bool (*keep)(const struct cni_req *, const char *), size_t *deleted, struct cni_err *e)
{
	struct pr_rule_meta *v, m;
	size_t i, n = 0, flushed;
	int err, ret = 0;

	if (deleted)
		*deleted = 0;
	if (!(v = rules(c, &n, e)))
		return -EIO;
	for (i = 0; i < n; i++) {
		if (!starts(v[i].name, prefix) || (keep && keep(r, v[i].name)))
			continue;
		err = pr_rule_del(c, NULL, v[i].name, false, &m, &flushed);
		if (err && err != -ENOENT)
			ret = cni_errf(e, CNI_E_DATAPATH, err, "cannot delete a rule", "%s: %s", v[i].name, c->err);
		else if (!err && deleted)
			(*deleted)++;
	}
	free(v);
	return ret;
}

/* After rules of the network went: when none is left, the network gives up
 * its interfaces (cni_release), which detaches those no other network holds
 * unless rules outside the CNI networks remain. */
static int settle(struct cni_req *r, struct pr_ctx *c, struct cni_err *e)
{
	struct pr_rule_meta *v;
	bool mine = false, foreign = false;
	size_t i, n = 0;
	int err;

	if (!(v = rules(c, &n, e)))
		return -EIO;
	for (i = 0; i < n; i++) {
		mine |= starts(v[i].name, r->prefix);
		foreign |= !starts(v[i].name, "cni-");
	}
	free(v);
	if (mine)
		return 0;
	err = cni_release(c, r->name, foreign, e);
	return err;
}

/* ---- the rules a container's mappings make ---- */

struct want {
	struct pr_rule_spec spec;
	char name[PR_NAME_LEN];
	char text[160]; /* add's words, for messages */
	const struct cni_mapping *map;
};

/* One rule per mapping and family: both of the container's families for a
 * mapping without hostIP, the hostIP's otherwise. Validated before any
 * change: hostIP local, the container has that family, the words parse. */
static int want_rules(struct cni_req *r, struct want **out, size_t *nout, struct cni_err *e)
{
	struct want *w;
	size_t i, n = 0;

	*out = NULL;
	*nout = 0;
	if (!*r->cip4 && !*r->cip6)
		return cni_errf(e, CNI_E_CONFIG, -EINVAL, "no container address",
				"prevResult has no IP address on interface %s in the container", r->ifname);
	w = calloc(2 * r->nmaps + 1, sizeof(*w));
	if (!w)
		return cni_errf(e, CNI_E_IO, -ENOMEM, "out of memory", "out of memory");
	for (i = 0; i < r->nmaps; i++) {
		const struct cni_mapping *m = &r->maps[i];
		int fam[2], nf = 0, k;

		if (m->host_family) {
			const char *cip = m->host_family == AF_INET ? r->cip4 : r->cip6;

			if (!*cip) {
				free(w);
				return cni_errf(e, CNI_E_CONFIG, -EINVAL, "hostIP of another family",
						"portMappings[%zu]: hostIP %s is IPv%c, and the container has no IPv%c address",
						i, m->host_ip[0] ? m->host_ip : (m->host_family == AF_INET ? "0.0.0.0" : "::"),
						m->host_family == AF_INET ? '4' : '6', m->host_family == AF_INET ? '4' : '6');
			}
			if (*m->host_ip && !cni_addr_is_local(m->host_family, m->host_ip)) {
				free(w);
				return cni_errf(e, CNI_E_HOST_IP, -EADDRNOTAVAIL, "hostIP is not an address of this host",
						"portMappings[%zu]: hostIP %s is not an address of any interface here", i,
						m->host_ip);
			}
			fam[nf++] = m->host_family;
		} else {
			if (*r->cip4)
				fam[nf++] = AF_INET;
			if (*r->cip6)
				fam[nf++] = AF_INET6;
		}
		for (k = 0; k < nf; k++) {
			struct want *x = &w[n];
			char listen[PR_EP_TEXT_LEN], target[PR_EP_TEXT_LEN], perr[PR_PARSE_ERR_LEN];
			char *argv[9];
			int argc = 0;
			bool v6 = fam[k] == AF_INET6;

			if (n >= CNI_MAX_RULES) {
				free(w);
				return cni_errf(e, CNI_E_CONFIG, -E2BIG, "too many port mappings",
						"at most %d rules a container (mappings times families)", CNI_MAX_RULES);
			}
			if (*m->host_ip)
				snprintf(listen, sizeof(listen), v6 ? "[%s]:%u" : "%s:%u", m->host_ip, m->host_port);
			else
				snprintf(listen, sizeof(listen), v6 ? "[::]:%u" : ":%u", m->host_port);
			snprintf(target, sizeof(target), v6 ? "[%s]:%u" : "%s:%u", v6 ? r->cip6 : r->cip4, m->container_port);
			cni_rule_name(r, n + 1, x->name, sizeof(x->name));
			argv[argc++] = (char *)m->proto;
			argv[argc++] = listen;
			argv[argc++] = target;
			argv[argc++] = "--name";
			argv[argc++] = x->name;
			if (r->masq_all) {
				argv[argc++] = "--masquerade";
			} else if (!r->hairpin) {
				argv[argc++] = "--hairpin";
				argv[argc++] = "off";
			}
			argv[argc] = NULL;
			snprintf(x->text, sizeof(x->text), "%s %s %s%s", m->proto, listen, target,
				 r->masq_all ? " --masquerade" : !r->hairpin ? " --hairpin off" : "");
			if (pr_spec_parse(argc, argv, &x->spec, NULL, perr, sizeof(perr))) {
				free(w);
				return cni_errf(e, CNI_E_CONFIG, -EINVAL, "invalid port mapping", "portMappings[%zu]: %s", i,
						perr);
			}
			x->map = m;
			n++;
		}
	}
	*out = w;
	*nout = n;
	return 0;
}

/* The host interfaces for this network: the config's "interfaces", or
 * those carrying the host's default routes and the bridges prevResult
 * names on the host (no sandbox). Each must exist. */
static int want_ifaces(struct cni_req *r, char (**out)[PR_IFNAME_LEN], size_t *n, struct cni_err *e)
{
	json_t *ifs = r->prev ? json_object_get(r->prev, "interfaces") : NULL, *x;
	char (*v)[PR_IFNAME_LEN];
	size_t i, j;
	int err;

	if (r->ifaces_given) {
		v = calloc(r->nifaces + 1, sizeof(*v));
		if (!v)
			return cni_errf(e, CNI_E_IO, -ENOMEM, "out of memory", "out of memory");
		memcpy(v, r->ifaces, r->nifaces * sizeof(*v));
		*n = r->nifaces;
	} else {
		err = cni_default_ifaces(&v, n);
		if (err)
			return cni_errf(e, CNI_E_IO, err, "cannot read the host's routes", "/proc/net/route: %s", strerror(-err));
		json_array_foreach(ifs, i, x) {
			const char *name = json_string_value(json_object_get(x, "name"));
			const char *sandbox = json_string_value(json_object_get(x, "sandbox"));
			char (*nv)[PR_IFNAME_LEN];

			if (!name || (sandbox && *sandbox) || strlen(name) >= PR_IFNAME_LEN || !cni_is_bridge(name))
				continue;
			for (j = 0; j < *n && strcmp(v[j], name); j++)
				;
			if (j < *n)
				continue;
			nv = realloc(v, (*n + 1) * sizeof(*v));
			if (!nv) {
				free(v);
				return cni_errf(e, CNI_E_IO, -ENOMEM, "out of memory", "out of memory");
			}
			v = nv;
			snprintf(v[(*n)++], PR_IFNAME_LEN, "%s", name);
		}
		if (!*n) {
			free(v);
			return cni_errf(e, CNI_E_CONFIG, -ENODEV, "no interface to attach",
					"the host has no default route and prevResult names no bridge: set \"interfaces\"");
		}
	}
	for (i = 0; i < *n; i++)
		if (!if_nametoindex(v[i])) {
			cni_errf(e, CNI_E_CONFIG, -ENODEV, "unknown interface", "interface '%s' does not exist on the host", v[i]);
			free(v);
			return -ENODEV;
		}
	*out = v;
	return 0;
}

static void print_prev(const struct cni_req *r)
{
	json_dumpf(r->prev, stdout, JSON_COMPACT);
	putchar('\n');
}

/* A refused ADD names who holds the port: the container, when it is one of
 * this network's, and the rule. */
static int port_taken(struct cni_req *r, const struct pr_ctx *c, const struct want *w, const struct pr_rule_meta *cf,
		      struct cni_err *e)
{
	char id[PR_NAME_LEN], line[PR_LINE_LEN], who[96] = "";

	cni_rule_owner(r, cf->name, id, sizeof(id));
	if (*id)
		snprintf(who, sizeof(who), "container %s of network %s, ", id, r->name);
	else if (starts(cf->name, "cni-"))
		snprintf(who, sizeof(who), "a container of another network, ");
	if (pr_rule_line(cf, line, sizeof(line)))
		snprintf(line, sizeof(line), "?");
	return cni_errf(e, CNI_E_PORT_TAKEN, -EEXIST, "hostPort already taken",
			"hostPort %u/%s (%s) is taken by %srule %u: %s", w->map->host_port, w->map->proto, w->text, who,
			cf->rule.id, line);
}

int cni_add(struct cni_req *r, struct cni_err *e)
{
	char (*ifs)[PR_IFNAME_LEN] = NULL;
	struct pr_rule_meta out, conflict;
	struct pr_iface_status *st = NULL;
	struct pr_attach_result res;
	struct want *w = NULL;
	size_t i, j, nw = 0, nif = 0, nst = 0;
	struct pr_ctx c;
	int err;

	if (!r->prev)
		return cni_errf(e, CNI_E_CONFIG, -EINVAL, "must be called as a chained plugin",
				"prevResult is missing: portredir publishes the address an earlier plugin (bridge) gave the container");
	if (!r->nmaps) {
		print_prev(r);
		return 0;
	}
	if ((err = want_rules(r, &w, &nw, e)) || (err = want_ifaces(r, &ifs, &nif, e)))
		goto out;
	if ((err = open_locked(r, &c, true, e)))
		goto out;
	/* a repeated ADD (no DEL between) starts again from nothing */
	if ((err = del_rules(r, &c, r->owner, NULL, NULL, e)))
		goto close;
	if ((err = pr_iface_list(&c, &st, &nst))) {
		cni_errf(e, CNI_E_DATAPATH, err, "cannot list attachments", "%s", c.err);
		goto close;
	}
	for (i = 0; i < nif; i++) {
		enum pr_mode_req mode = r->mode;

		for (j = 0; j < nst && strcmp(st[j].rec.name, ifs[i]); j++)
			;
		/* auto on a bridge is tc: generic XDP there would only add a load
		 * (native fails first) to what TC ingress sees anyway; an interface
		 * attached already is taken in whatever mode it has */
		if (j < nst && st[j].present)
			mode = PR_REQ_AUTO;
		else if (mode == PR_REQ_AUTO && cni_is_bridge(ifs[i]))
			mode = PR_REQ_TC;
		memset(&res, 0, sizeof(res));
		err = pr_attach(&c, ifs[i], mode, 0, &res);
		if (err) {
			cni_errf(e, CNI_E_DATAPATH, err, "cannot attach portredir", "%s", c.err);
			goto undo;
		}
		/* an interface attached before, by anyone but this plugin, stays the operator's */
		if (!res.already || cni_claimed(&c, ifs[i])) {
			err = cni_claim(&c, ifs[i], r->name);
			if (err) {
				cni_errf(e, CNI_E_DATAPATH, err, "cannot record an attachment", "%s/cni/if/%s: %s", c.pin_dir,
					 ifs[i], strerror(-err));
				goto undo;
			}
		}
	}
	for (i = 0; i < nw; i++) {
		err = pr_rule_add(&c, &w[i].spec, false, &out, &conflict);
		if (err == -EEXIST) {
			port_taken(r, &c, &w[i], &conflict, e);
			goto undo;
		}
		if (err) {
			cni_errf(e, CNI_E_DATAPATH, err, "cannot add a rule", "%s: %s", w[i].text, c.err);
			goto undo;
		}
	}
	print_prev(r);
	goto close;
undo:
	/* nothing of this ADD stays: its rules go, and the interfaces when the network has no other */
	del_rules(r, &c, r->owner, NULL, NULL, e);
	settle(r, &c, e);
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
	err = open_locked(r, &c, false, e);
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	err = del_rules(r, &c, r->owner, NULL, NULL, e);
	if (!err)
		err = settle(r, &c, e);
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
	struct want *w = NULL;
	size_t i, j, nw = 0, nif = 0, n = 0, nst = 0, mine = 0;
	struct pr_ctx c;
	int err;

	if (!r->prev)
		return cni_errf(e, CNI_E_CONFIG, -EINVAL, "prevResult is missing", "CHECK needs the prevResult of the ADD");
	if (!r->nmaps)
		return 0;
	if ((err = want_rules(r, &w, &nw, e)) || (err = want_ifaces(r, &ifs, &nif, e)))
		goto out;
	err = open_locked(r, &c, false, e);
	if (err == -ENOENT)
		err = cni_errf(e, CNI_E_CHECK, err, "container's ports are not published", "no portredir maps in %s",
			       pin_dir(r));
	if (err)
		goto out;
	if (!(v = rules(&c, &n, e))) {
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
		mine += starts(v[j].name, r->owner);
	if (!err && mine != nw)
		err = cni_errf(e, CNI_E_CHECK, -EINVAL, "unexpected published ports",
			       "the container has %zu rules, its mappings make %zu", mine, nw);
	if (!err && (err = pr_iface_list(&c, &st, &nst)))
		cni_errf(e, CNI_E_DATAPATH, err, "cannot list attachments", "%s", c.err);
	for (i = 0; i < nif && !err; i++) {
		for (j = 0; j < nst && strcmp(st[j].rec.name, ifs[i]); j++)
			;
		if (j == nst || !st[j].present || !st[j].live_tc_in_id || !st[j].live_tc_eg_id ||
		    (st[j].rec.mode != PR_MODE_TC && !st[j].live_xdp_id))
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
	err = open_locked(r, &c, false, e);
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	/* as much as possible: the interfaces are settled even after a failed delete */
	err = del_rules(r, &c, r->prefix, gc_keep, NULL, e);
	err2 = settle(r, &c, e);
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

	err = pr_open(&c, pin_dir(r), 0, 0);
	if (err == -ENOENT)
		return 0; /* nothing attached yet: the first ADD creates the maps and attaches */
	if (err)
		return cni_errf(e, CNI_E_UNAVAIL, err, "portredir's maps cannot be opened", "%s", c.err);
	if ((err = cni_claimed_list(&c, &ifs, &nif)) || (err = pr_iface_list(&c, &st, &nst))) {
		cni_errf(e, CNI_E_UNAVAIL, err, "cannot read portredir's attachments", "%s", *c.err ? c.err : strerror(-err));
		goto out;
	}
	for (i = 0; i < nif && !err; i++) {
		for (j = 0; j < nst && strcmp(st[j].rec.name, ifs[i]); j++)
			;
		if (j == nst && !cni_claim_held(&c, ifs[i]))
			continue; /* an empty record of an interface released but kept for others' rules */
		if (j == nst)
			err = cni_errf(e, CNI_E_LIMITED, -ENOLINK, "the datapath is not attached",
				       "interface %s: portredir is not attached; published ports do not work there", ifs[i]);
		else if (!st[j].present || !st[j].live_tc_in_id || !st[j].live_tc_eg_id ||
		    (st[j].rec.mode != PR_MODE_TC && !st[j].live_xdp_id))
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
