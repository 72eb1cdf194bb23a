// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* add, del and list: single-rule changes of the rule table, checked against the live rules and written by pr_commit. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "libportredir.h"
#include "internal.h"

int pr_rules_read(struct pr_ctx *c, struct pr_rule_meta **out, size_t *n)
{
	void *keys, *vals;
	int err;

	err = pr_map_read_all(c->fd_rmeta, sizeof(__u32), sizeof(struct pr_rule_meta), &keys, &vals, n);
	if (err)
		return pr_errf(c, err, "cannot read the rules (pr_rmeta): %s", strerror(-err));
	for (size_t i = 0; i < *n; i++)
		((struct pr_rule_meta *)vals)[i].rule.id = ((__u32 *)keys)[i];
	free(keys);
	*out = vals;
	return 0;
}

int pr_rules_lock_read(struct pr_ctx *c, struct pr_rule_meta **out, size_t *n)
{
	int err = pr_lock(c);

	return err ? err : pr_rules_read(c, out, n);
}

/* Why m cannot go in beside the live rules (old: the one it replaces):
 * -EEXIST with *conflict the rule in the way, else 0. */
static int check_conflicts(struct pr_ctx *c, const struct pr_rule_meta *live, size_t n,
			   const struct pr_rule_meta *m, const struct pr_rule_meta *old, bool replace,
			   struct pr_rule_meta *conflict)
{
	const struct pr_rule_meta *in_way = NULL;

	if (old && !replace) {
		*conflict = *old;
		return pr_errf(c, -EEXIST, "listen port already has a rule");
	}
	/* of several rules in the way, name the oldest (lowest id) */
	for (size_t i = 0; i < n; i++)
		if (&live[i] != old && pr_listens_overlap(&live[i], m) && (!in_way || live[i].rule.id < in_way->rule.id))
			in_way = &live[i];
	if (in_way) {
		*conflict = *in_way;
		return pr_errf(c, -EEXIST, "listen ports overlap a rule");
	}
	for (size_t i = 0; i < n && m->name[0]; i++) {
		if (&live[i] != old && strncmp(live[i].name, m->name, PR_NAME_LEN) == 0) {
			*conflict = live[i];
			return pr_errf(c, -EEXIST, "name '%.*s' is taken", PR_NAME_LEN, m->name);
		}
	}
	return 0;
}

/* The lowest id no live rule has. */
static int new_id(struct pr_ctx *c, const struct pr_rule_meta *live, size_t n, __u32 *id)
{
	struct pr_ids ids;
	int err = pr_ids_init(&ids, c->max_rules);

	if (err)
		return pr_errf(c, err, "out of memory allocating a rule id");
	for (size_t i = 0; i < n; i++)
		pr_ids_mark(&ids, live[i].rule.id, true);
	err = pr_ids_next(&ids, id);
	pr_ids_free(&ids);
	return err ? pr_errf(c, err, "no free rule id in 1-%u", c->max_rules) : 0;
}

int pr_rule_add(struct pr_ctx *c, const struct pr_rule_spec *s, bool replace,
		struct pr_rule_meta *out, struct pr_rule_meta *conflict)
{
	const struct pr_rule_meta *put[1], *put_old[1];
	struct pr_commit p = { .put = put, .put_old = put_old, .nput = 1 };
	struct pr_rule_meta m, *live = NULL, *old = NULL;
	struct pr_usage use = {};
	struct pr_caps caps;
	size_t n = 0;
	int err;

	if (s->allow_count > PR_ALLOW_MAX)
		return pr_errf(c, -E2BIG, "at most %d allowed sources per rule", PR_ALLOW_MAX);
	err = pr_rules_lock_read(c, &live, &n);
	if (err)
		return err;
	pr_meta_from_spec(s, &m);
	for (size_t i = 0; i < n; i++) {
		if (pr_same_listen(&live[i], &m))
			old = &live[i];
		pr_usage_add(&use, &live[i]);
	}
	err = check_conflicts(c, live, n, &m, old, replace, conflict);
	if (err)
		goto out;
	if (old) {
		if (!s->name[0])
			memcpy(m.name, old->name, sizeof(m.name));
		pr_usage_sub(&use, old);
	}
	pr_usage_add(&use, &m);
	pr_caps_of(c, &caps);
	err = pr_caps_check(&caps, &use, c->err, sizeof(c->err));
	if (!err && old)
		m.rule.id = old->rule.id;
	else if (!err)
		err = new_id(c, live, n, &m.rule.id);
	if (err)
		goto out;
	m.created_ns = pr_realtime_ns();
	put[0] = &m;
	put_old[0] = old;
	err = pr_commit(c, &p);
	if (!err && out)
		*out = m;
	if (!err)
		pr_local_refresh(c); /* a new ":PORT" rule meets today's addresses */
out:
	free(live);
	return err;
}

/* The live rule whose listen is s's (family 0: either family's), in *found:
 * -ENOENT when none has it, -ENOTUNIQ when both families do, -EINVAL (with
 * *found set) when s names a port inside a rule's wider listen. */
static int find_listen(struct pr_ctx *c, struct pr_rule_meta *live, size_t n, const struct pr_rule_spec *s,
		       struct pr_rule_meta **found)
{
	struct pr_rule_meta probe = {};
	__u8 protos[2];

	/* the rule that owns the first listen port, in the given family or either */
	pr_rule_protos(s->key.proto, protos);
	probe.key = s->key;
	probe.key.proto = protos[0];
	probe.port_last = ntohs(s->key.port);
	for (int f = 0; f < 2; f++) {
		probe.key.family = s->key.family ? s->key.family : f ? PR_AF_INET6 : PR_AF_INET;
		for (size_t i = 0; i < n; i++) {
			if (!pr_listens_overlap(&live[i], &probe))
				continue;
			if (*found && (*found)->key.family != live[i].key.family)
				return pr_errf(c, -ENOTUNIQ, "IPv4 and IPv6 rules both listen there");
			*found = &live[i];
			break;
		}
		if (s->key.family)
			break;
	}
	if (!*found)
		return pr_errf(c, -ENOENT, "no such rule");
	probe.key = s->key;
	probe.key.family = (*found)->key.family;
	probe.port_last = s->port_last;
	if (!pr_same_listen(*found, &probe))
		return pr_errf(c, -EINVAL, "that listen is part of another rule");
	return 0;
}

int pr_rule_del(struct pr_ctx *c, const struct pr_rule_spec *s, const char *name,
		bool keep_flows, struct pr_rule_meta *deleted, size_t *flows_flushed)
{
	const struct pr_rule_meta *del[1];
	struct pr_commit p = { .del = del, .ndel = 1, .keep_flows = keep_flows };
	struct pr_rule_meta *live = NULL, *found = NULL;
	size_t n = 0;
	int err;

	if (flows_flushed)
		*flows_flushed = 0;
	err = pr_rules_lock_read(c, &live, &n);
	if (err)
		return err;
	if (name) {
		for (size_t i = 0; i < n && !found; i++)
			if (strncmp(live[i].name, name, PR_NAME_LEN) == 0)
				found = &live[i];
		if (!found) {
			err = pr_errf(c, -ENOENT, "no rule named '%s'", name);
			goto out;
		}
	} else {
		err = find_listen(c, live, n, s, &found);
		if (err == -EINVAL && deleted)
			*deleted = *found;
		if (err)
			goto out;
	}
	del[0] = found;
	err = pr_commit(c, &p);
	if (!err && deleted)
		*deleted = *found;
	if (flows_flushed)
		*flows_flushed = p.flows_flushed;
out:
	free(live);
	return err;
}

static int cmp_meta(const void *a, const void *b)
{
	const struct pr_rule_meta *x = a, *y = b;

	return (x->rule.id > y->rule.id) - (x->rule.id < y->rule.id);
}

int pr_rule_list(struct pr_ctx *c, struct pr_rule_meta **out, size_t *n)
{
	int err = pr_rules_read(c, out, n);

	if (!err && *n)
		qsort(*out, *n, sizeof(**out), cmp_meta);
	return err;
}
