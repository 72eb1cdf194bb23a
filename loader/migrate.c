// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Migration of a pin dir of an older schema: new maps staged under PIN/migrating, filled by per-map converters, this build's programs switched onto them, then the pins renamed into place (docs/design.md, "Migration across schemas"). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "libportredir.h"
#include "internal.h"
#include "schema_old.h"
#include "maps.skel.h"

/* The staged pr_info's magic says how far a migration got: COPY while the
 * staged maps are filled (the old programs run on the old maps: an
 * interrupted one is discarded), SWITCH once programs may run on the staged
 * maps (an interrupted one is finished), PR_MAGIC when only the renames are
 * left. Its schema is the schema migrated to. */
#define PR_STAGE_COPY 0x50524d43   /* "PRMC" */
#define PR_STAGE_SWITCH 0x50524d53 /* "PRMS" */
#define STAGE_DIR "migrating"

struct mig;
/* A converter fills the staged map of its name from the old maps (first
 * pass, before any program switches), and with top_up copies what the old
 * programs changed since (after the switch). 0 or -errno, c->err set. */
typedef int (*conv_fn)(struct pr_ctx *c, struct mig *m, bool top_up);
struct conv {
	const char *map;
	conv_fn fn;
};
/* The converters from one older schema: every map whose key, value or
 * meaning changed, or that it did not have and that must not start empty.
 * A map of both schemas with the same type, sizes and flags and no entry
 * here is kept as it is (the same map serves both); any other difference
 * refuses the migration. The next schema bump adds one of these. */
struct schema_conv {
	__u32 from;
	const struct conv *convs;
	size_t n;
};

#define MIG_SLOTS 16 /* room for pr_slot_count() */
struct mig {
	const struct schema_conv *sc;
	int old[MIG_SLOTS], cur[MIG_SLOTS]; /* by slot: the old pinned map (-1: none) and the staged one */
	size_t rules, flows, window_flows;
	__u64 t0; /* the first copy began */
};

static int slot_of(const char *name)
{
	for (size_t i = 0; i < pr_slot_count(); i++)
		if (strcmp(pr_slot_name(i), name) == 0)
			return (int)i;
	return -1;
}

static int old_fd(struct mig *m, const char *name)
{
	return m->old[slot_of(name)];
}

static int new_fd(struct mig *m, const char *name)
{
	return m->cur[slot_of(name)];
}

/* ---- Schema 4 -> 5 ---- */

static int conv4_rmeta(struct pr_ctx *c, struct mig *m, bool top_up)
{
	struct pr4_rule_meta *ov = NULL;
	struct pr_rule_meta *nv = NULL;
	__u32 *keys = NULL;
	char perr[PR_ERR_LEN];
	size_t n = 0, done;
	int err;

	if (top_up) /* userspace writes it, under the lock this migration holds */
		return 0;
	err = pr_map_read_all(old_fd(m, "pr_rmeta"), sizeof(*keys), sizeof(*ov), (void **)&keys, (void **)&ov, &n);
	if (err)
		return pr_errf(c, err, "cannot read the schema 4 rules (pr_rmeta): %s", strerror(-err));
	nv = calloc(n ? n : 1, sizeof(*nv));
	if (!nv) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct pr_nat_words none = {};
		struct pr_rule_spec s = { .key = ov[i].key };

		memcpy(nv[i].name, ov[i].name, sizeof(nv[i].name));
		nv[i].key = ov[i].key;
		nv[i].rule = ov[i].rule;
		nv[i].created_ns = ov[i].created_ns;
		nv[i].port_last = ov[i].port_last;
		nv[i].target_port_last = ov[i].target_port_last;
		nv[i].allow_count = ov[i].allow_count;
		memcpy(nv[i].allow, ov[i].allow, sizeof(nv[i].allow));
		/* DNAT only, with the port range a rule without NAT options gets
		 * here, so apply of the same file finds the rule unchanged */
		err = pr_nat_apply(&none, &s, perr, sizeof(perr));
		if (err) {
			err = pr_errf(c, err, "rule %u: %s", keys[i], perr);
			goto out;
		}
		nv[i].nat = s.nat;
	}
	err = pr_map_update_many(new_fd(m, "pr_rmeta"), keys, sizeof(*keys), nv, sizeof(*nv), n, BPF_ANY, &done);
	if (err)
		err = pr_errf(c, err, "cannot write the staged rules (pr_rmeta): %s", strerror(-err));
	m->rules = n;
out:
	free(keys);
	free(ov);
	free(nv);
	return err;
}

/* pr_rnat by rule id as the converted records say, and the change journal
 * CLEAN: the records and the kept pr_rules and pr_allow agree. */
static int conv4_rnat(struct pr_ctx *c, struct mig *m, bool top_up)
{
	struct pr_journal j = { .magic = PR_JOURNAL_MAGIC, .state = PR_JOURNAL_CLEAN };
	struct pr_rule_meta *v = NULL;
	__u32 *keys = NULL, slot = PR_JOURNAL_SLOT;
	int fd = new_fd(m, "pr_rnat"), err;
	size_t n = 0;

	if (top_up)
		return 0;
	err = pr_map_read_all(new_fd(m, "pr_rmeta"), sizeof(*keys), sizeof(*v), (void **)&keys, (void **)&v, &n);
	for (size_t i = 0; !err && i < n; i++)
		if (bpf_map_update_elem(fd, &keys[i], &v[i].nat, BPF_ANY))
			err = -errno;
	if (!err && bpf_map_update_elem(fd, &slot, &j, BPF_ANY))
		err = -errno;
	free(keys);
	free(v);
	return err ? pr_errf(c, err, "cannot write the staged source NAT table (pr_rnat): %s", strerror(-err)) : 0;
}

static void stats4_to5(const struct pr4_rule_stats *o, struct pr_rule_stats *n, bool add)
{
	if (!add)
		memset(n, 0, sizeof(*n));
	n->pkts_orig += o->pkts_orig;
	n->bytes_orig += o->bytes_orig;
	n->pkts_reply += o->pkts_reply;
	n->bytes_reply += o->bytes_reply;
	n->flows += o->flows;
	n->denied += o->denied;
}

/* PIN/migrating/NAME_base: what a converter read at the first copy, kept
 * for its top-up (also a resumed one's); finish() unpins it. */
#define BASE_SUFFIX "_base" /* bpffs refuses a dot in a name */

/* Per-rule counters of the live rules. The first copy also keeps what it
 * read, by rule id, in pr_rstats_base (a hash of every CPU's values); the
 * top-up adds what the old programs counted since and moves the base up to
 * it, so a resumed top-up adds only what is new (nothing, once the old
 * programs are gone). */
static int conv4_rstats(struct pr_ctx *c, struct mig *m, bool top_up)
{
	int ncpu = pr_ncpus(), ofd = old_fd(m, "pr_rstats"), nfd = new_fd(m, "pr_rstats"), bfd = -1, err = 0;
	struct pr4_rule_stats *o = calloc(ncpu, sizeof(*o)), *base = calloc(ncpu, sizeof(*o));
	struct pr_rule_stats *nv = calloc(ncpu, sizeof(*nv));
	void *ov = NULL; /* the records (first pass) or the base (top-up), unused */
	char path[PATH_MAX];
	__u32 *ids = NULL;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/" STAGE_DIR "/pr_rstats" BASE_SUFFIX, c->pin_dir);
	if (!o || !base || !nv) {
		err = -ENOMEM;
		goto out;
	}
	if (top_up) {
		/* the rules are the base's: pr_rmeta may be renamed already */
		bfd = bpf_obj_get(path);
		if (bfd < 0 && errno == ENOENT)
			goto out; /* the finish unpinned it, so the top-up was done */
		if (bfd >= 0)
			err = pr_map_read_all(bfd, sizeof(*ids), ncpu * sizeof(*o), (void **)&ids, &ov, &n);
	} else {
		err = pr_map_read_all(old_fd(m, "pr_rmeta"), sizeof(*ids), sizeof(struct pr4_rule_meta), (void **)&ids,
				      &ov, &n);
		if (err)
			goto out;
		unlink(path);
		bfd = bpf_map_create(BPF_MAP_TYPE_HASH, "pr_rstats_base", sizeof(__u32), ncpu * sizeof(*o),
				     n ? n : 1, NULL);
		if (bfd >= 0 && bpf_obj_pin(bfd, path)) {
			close(bfd);
			bfd = -1;
		}
	}
	if (err)
		goto out;
	if (bfd < 0) {
		err = -errno;
		goto out;
	}
	for (size_t i = 0; !err && i < n; i++) {
		if (bpf_map_lookup_elem(ofd, &ids[i], o) || (top_up && bpf_map_lookup_elem(nfd, &ids[i], nv))) {
			err = -errno;
			break;
		}
		if (top_up && bpf_map_lookup_elem(bfd, &ids[i], base))
			continue; /* a rule the first copy did not see: none, under the lock */
		for (int cpu = 0; cpu < ncpu; cpu++) {
			struct pr4_rule_stats d = o[cpu];

			if (top_up) {
				d.pkts_orig -= base[cpu].pkts_orig;
				d.bytes_orig -= base[cpu].bytes_orig;
				d.pkts_reply -= base[cpu].pkts_reply;
				d.bytes_reply -= base[cpu].bytes_reply;
				d.flows -= base[cpu].flows;
				d.denied -= base[cpu].denied;
			}
			stats4_to5(&d, &nv[cpu], top_up);
		}
		if (bpf_map_update_elem(nfd, &ids[i], nv, BPF_ANY) || bpf_map_update_elem(bfd, &ids[i], o, BPF_ANY))
			err = -errno;
	}
out:
	if (err)
		err = pr_errf(c, err, "cannot carry the rule counters over (pr_rstats): %s", strerror(-err));
	if (bfd >= 0)
		close(bfd);
	free(ids);
	free(ov);
	free(o);
	free(base);
	free(nv);
	return err;
}

static void ct4_to5(const struct pr4_ct_val *o, struct pr_ct_val *n)
{
	memset(n, 0, sizeof(*n));
	n->nat_addr = o->nat_addr;
	n->last_seen = o->last_seen;
	n->nat_port = o->nat_port;
	n->dir = o->dir;
	n->state = o->state;
	n->fin_orig = o->fin_orig;
	n->fin_reply = o->fin_reply;
	n->rule_id = o->rule_id;
	/* the route cache stays empty (nh_ifindex 0): looked up again */
}

/* A staged conntrack entry's key and when it was seen, sorted by key. */
struct ct_seen {
	struct pr_ct_key k;
	__u64 last_seen;
};

static int ct_seen_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct pr_ct_key));
}

/* Write into fd each of the n converted entries that fd lacks or saw
 * earlier; *written counts them. fd is read once and searched in memory,
 * so the top-up of a full table costs a read and a sort, not a lookup an
 * entry. */
static int ct_top_up(int fd, const struct pr_ct_key *keys, const struct pr_ct_val *nv, size_t n, size_t *written)
{
	struct pr_ct_key *sk = NULL;
	struct pr_ct_val *sv = NULL;
	struct ct_seen *seen;
	size_t ns = 0;
	int err;

	err = pr_map_read_all(fd, sizeof(*sk), sizeof(*sv), (void **)&sk, (void **)&sv, &ns);
	seen = err ? NULL : calloc(ns ? ns : 1, sizeof(*seen));
	if (!err && !seen)
		err = -ENOMEM;
	for (size_t i = 0; !err && i < ns; i++) {
		seen[i].k = sk[i];
		seen[i].last_seen = sv[i].last_seen;
	}
	if (!err)
		qsort(seen, ns, sizeof(*seen), ct_seen_cmp);
	for (size_t i = 0; !err && i < n; i++) {
		const struct ct_seen *s = bsearch(&keys[i], seen, ns, sizeof(*seen), ct_seen_cmp);

		if (s && s->last_seen >= nv[i].last_seen)
			continue;
		if (bpf_map_update_elem(fd, &keys[i], &nv[i], s ? BPF_EXIST : BPF_NOEXIST) == 0)
			(*written)++;
	}
	free(sk);
	free(sv);
	free(seen);
	return err;
}

/* Every flow. The top-up adds the entries the old programs made since the
 * first copy and takes the ones they touched later than the new programs
 * did (a state change in the switch window). */
static int conv4_ct(struct pr_ctx *c, struct mig *m, bool top_up)
{
	struct pr_ct_key *keys = NULL;
	struct pr4_ct_val *ov = NULL;
	struct pr_ct_val *nv = NULL;
	int fd = new_fd(m, "pr_ct"), err;
	size_t n = 0, done;

	err = pr_map_read_all(old_fd(m, "pr_ct"), sizeof(*keys), sizeof(*ov), (void **)&keys, (void **)&ov, &n);
	if (err)
		return pr_errf(c, err, "cannot read the schema 4 conntrack table (pr_ct): %s", strerror(-err));
	nv = calloc(n ? n : 1, sizeof(*nv));
	if (!nv) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		ct4_to5(&ov[i], &nv[i]);
	if (!top_up) {
		err = pr_map_update_many(fd, keys, sizeof(*keys), nv, sizeof(*nv), n, BPF_ANY, &done);
		m->flows = n / 2;
	} else {
		err = ct_top_up(fd, keys, nv, n, &m->window_flows);
		m->window_flows /= 2;
	}
	if (err)
		err = pr_errf(c, err, "cannot write the staged conntrack table (pr_ct): %s", strerror(-err));
out:
	free(keys);
	free(ov);
	free(nv);
	return err;
}

/* Fragments of translated datagrams: absent ones added, also by the top-up. */
static int conv4_frag(struct pr_ctx *c, struct mig *m, bool top_up)
{
	struct pr_frag_key *keys = NULL;
	struct pr4_frag_val *ov = NULL;
	size_t n = 0;
	int err;

	err = pr_map_read_all(old_fd(m, "pr_frag"), sizeof(*keys), sizeof(*ov), (void **)&keys, (void **)&ov, &n);
	for (size_t i = 0; !err && i < n; i++) {
		struct pr_frag_val v = {
			.new_addr = ov[i].new_addr, .last_seen = ov[i].last_seen,
			.rule_id = ov[i].rule_id, .dir = ov[i].dir,
		};

		bpf_map_update_elem(new_fd(m, "pr_frag"), &keys[i], &v, top_up ? BPF_NOEXIST : BPF_ANY);
	}
	free(keys);
	free(ov);
	return err ? pr_errf(c, err, "cannot read the schema 4 fragment table (pr_frag): %s", strerror(-err)) : 0;
}

static const struct conv from4[] = {
	{ "pr_rmeta", conv4_rmeta }, /* before pr_rnat, which reads the converted records */
	{ "pr_rnat", conv4_rnat },
	{ "pr_rstats", conv4_rstats },
	{ "pr_ct", conv4_ct },
	{ "pr_frag", conv4_frag },
	/* pr_ifaddr: new, filled by the attaches of the switch */
};

static const struct schema_conv schemas[] = {
	{ 4, from4, sizeof(from4) / sizeof(from4[0]) },
};

/* ---- The engine ---- */

static const struct schema_conv *conv_from(__u32 schema)
{
	for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++)
		if (schemas[i].from == schema)
			return &schemas[i];
	return NULL;
}

static conv_fn conv_of(const struct schema_conv *sc, const char *map)
{
	for (size_t i = 0; sc && i < sc->n; i++)
		if (strcmp(sc->convs[i].map, map) == 0)
			return sc->convs[i].fn;
	return NULL;
}

/* PIN/NAME, or in the staging directory PIN/migrating/NAME; NAME NULL: the directory. */
static void pin_path(const struct pr_ctx *c, bool staged, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", c->pin_dir, staged ? "/" STAGE_DIR : "", name ? "/" : "", name ? name : "");
}

static int read_info(const char *path, struct pr_info *info)
{
	__u32 zero = 0;
	int fd = bpf_obj_get(path), err = 0;

	memset(info, 0, sizeof(*info));
	if (fd < 0)
		return -errno;
	if (bpf_map_lookup_elem(fd, &zero, info))
		err = -errno;
	close(fd);
	return err;
}

static int write_info(struct mig *m, __u32 magic)
{
	struct pr_info info = { .magic = magic, .schema = PR_SCHEMA_VERSION };
	__u32 zero = 0;

	return bpf_map_update_elem(m->cur[slot_of("pr_info")], &zero, &info, BPF_ANY) ? -errno : 0;
}

/* Unpin everything in the staging directory and remove it. */
static void discard(struct pr_ctx *c)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *e;
	DIR *d;

	pin_path(c, true, NULL, dir, sizeof(dir));
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	closedir(d);
	rmdir(dir);
}

static bool same_layout(const struct bpf_map_info *a, const struct bpf_map *b)
{
	/* the kernel adds BPF_F_RDONLY_PROG to a devmap's flags */
	return a->type == bpf_map__type(b) && a->key_size == bpf_map__key_size(b) &&
	       a->value_size == bpf_map__value_size(b) &&
	       (a->map_flags & ~BPF_F_RDONLY_PROG) == (bpf_map__map_flags(b) & ~BPF_F_RDONLY_PROG);
}

/* What every map of this schema becomes: kept (reused by fd), converted, or
 * new; maps outside the slots (the socket hooks') are left to their users,
 * and must have kept their layout. With skel NULL only checks. */
static int plan_maps(struct pr_ctx *c, struct mig *m, struct maps_bpf *skel, struct maps_bpf *probe)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, probe->obj) {
		const char *name = bpf_map__name(map);
		struct bpf_map *dst = skel ? bpf_object__find_map_by_name(skel->obj, name) : NULL;
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		char path[PATH_MAX];
		int s = slot_of(name), fd;

		if (strchr(name, '.')) /* .rodata and friends of the object itself */
			continue;
		pin_path(c, false, name, path, sizeof(path));
		fd = s >= 0 ? m->old[s] : bpf_obj_get(path);
		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len)) {
			if (s < 0)
				close(fd);
			return pr_errf(c, -errno, "cannot read %s: %s", path, strerror(errno));
		}
		if (s < 0) {
			if (fd >= 0)
				close(fd);
			if (dst)
				bpf_map__set_autocreate(dst, false);
			if (fd >= 0 && !same_layout(&info, map))
				return pr_errf(c, -EPROTO, "cannot migrate %s from schema %u: %s changed layout and has no converter",
					       c->pin_dir, m->sc->from, name);
			continue;
		}
		if (strcmp(name, "pr_info") == 0 || conv_of(m->sc, name) || fd < 0) {
			/* made here: as big as the old one, or as pr_open sizes it (stage) */
			if (dst && fd >= 0)
				bpf_map__set_max_entries(dst, info.max_entries);
			continue;
		}
		if (!same_layout(&info, map))
			return pr_errf(c, -EPROTO, "cannot migrate %s from schema %u: %s changed layout and has no converter",
				       c->pin_dir, m->sc->from, name);
		if (dst) {
			int err = bpf_map__reuse_fd(dst, fd);

			if (err)
				return pr_errf(c, err, "cannot keep %s: %s", path, strerror(-err));
		}
	}
	return 0;
}

/* Open the old maps into m->old (-1: none); the capacity (max_rules) they were made for. */
static void open_old(struct pr_ctx *c, struct mig *m, __u32 *max_rules)
{
	char path[PATH_MAX];
	__u32 n;

	for (size_t i = 0; i < pr_slot_count(); i++) {
		pin_path(c, false, pr_slot_name(i), path, sizeof(path));
		m->old[i] = bpf_obj_get(path);
	}
	n = m->old[slot_of("pr_rstats")] >= 0 ? pr_map_max_entries(m->old[slot_of("pr_rstats")]) : 0;
	*max_rules = n > 1 ? n - 1 : PR_DEFAULT_MAX_RULES;
}

/* Interfaces recorded in another network namespace: their programs cannot
 * be switched from here. Their count. */
static size_t foreign_ifaces(struct pr_ctx *c, int fd_ifaces)
{
	struct pr_iface_key *keys = NULL, ours;
	struct pr_iface *vals = NULL;
	size_t n = 0, other = 0;

	pr_iface_key_of(&ours, 0);
	if (fd_ifaces < 0 || pr_map_read_all(fd_ifaces, sizeof(*keys), sizeof(*vals), (void **)&keys, (void **)&vals, &n))
		return 0;
	for (size_t i = 0; i < n; i++)
		other += keys[i].netns_ino != ours.netns_ino;
	free(keys);
	free(vals);
	return other;
}

/* Create the staged map set; its pr_info says COPY. */
static int stage(struct pr_ctx *c, struct mig *m, struct maps_bpf *probe, __u32 max_rules)
{
	char dir[PATH_MAX];
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = dir);
	struct maps_bpf *skel;
	int err;

	pin_path(c, true, NULL, dir, sizeof(dir));
	if (mkdir(dir, 0700) && errno != EEXIST)
		return pr_errf(c, -errno, "cannot create %s: %s", dir, strerror(errno));
	skel = maps_bpf__open_opts(&opts);
	if (!skel)
		return pr_errf(c, -errno, "cannot open the map object: %s", strerror(errno));
	pr_size_maps(skel, max_rules);
	err = plan_maps(c, m, skel, probe);
	if (!err) {
		err = maps_bpf__load(skel);
		if (err)
			pr_errf(c, err, "cannot create the staged maps in %s: %s (run with -v for details)", dir,
				strerror(-err));
	}
	for (size_t i = 0; !err && i < pr_slot_count(); i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(skel->obj, pr_slot_name(i));

		m->cur[i] = map ? dup(bpf_map__fd(map)) : -1;
	}
	maps_bpf__destroy(skel);
	if (!err && write_info(m, PR_STAGE_COPY))
		err = pr_errf(c, -errno, "cannot write %s/pr_info: %s", dir, strerror(errno));
	return err;
}

/* The converters' first pass, then SWITCH: from here on the migration is
 * finished, never discarded. */
static int copy(struct pr_ctx *c, struct mig *m)
{
	int err = 0;

	m->t0 = pr_monotonic_ns();
	for (size_t i = 0; !err && i < m->sc->n; i++)
		err = m->sc->convs[i].fn(c, m, false);
	if (!err && write_info(m, PR_STAGE_SWITCH))
		err = pr_errf(c, -errno, "cannot write %s/" STAGE_DIR "/pr_info: %s", c->pin_dir, strerror(errno));
	return err;
}

/* The staged set as the maps to run on: a slot's staged pin, else its pin in
 * the pin dir (renamed already, or pr_tx). */
static int open_staged(struct pr_ctx *c, struct mig *m)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < pr_slot_count(); i++) {
		if (m->cur[i] >= 0)
			continue;
		pin_path(c, true, pr_slot_name(i), path, sizeof(path));
		m->cur[i] = bpf_obj_get(path);
		if (m->cur[i] < 0) {
			pin_path(c, false, pr_slot_name(i), path, sizeof(path));
			m->cur[i] = bpf_obj_get(path);
		}
		if (m->cur[i] < 0)
			return pr_errf(c, -errno, "cannot open %s: %s", path, strerror(errno));
	}
	return 0;
}

/* c's map set the staged one (on), or none again (the fds stay m's). */
static void use_staged(struct pr_ctx *c, struct mig *m, bool on)
{
	for (size_t i = 0; i < pr_slot_count(); i++)
		*pr_slot_fd(c, i) = on ? m->cur[i] : -1;
	c->staged = on;
}

/* This build's TC programs verified against the staged maps before the
 * copy, for each forwarding the interfaces use: the verifier's seconds stay
 * out of the switch window (and a program this kernel refuses stops the
 * migration while it can still be discarded). */
static int prepare(struct pr_ctx *c, struct mig *m)
{
	struct pr_iface_key *keys = NULL;
	struct pr_iface *recs = NULL;
	bool done[2] = {};
	size_t n = 0;
	int err;

	use_staged(c, m, true);
	err = pr_map_read_all(c->fd_ifaces, sizeof(*keys), sizeof(*recs), (void **)&keys, (void **)&recs, &n);
	for (size_t i = 0; !err && i < n; i++) {
		bool vs = recs[i].flags & PR_IF_VIA_STACK;

		if (!done[vs])
			err = pr_tc_prepare(c, vs);
		done[vs] = true;
	}
	free(keys);
	free(recs);
	use_staged(c, m, false);
	return err;
}

/* This build's programs on every interface of this namespace, running on
 * the staged set: TC replaced atomically, XDP swapped while TC carries. */
static int switch_ifaces(struct pr_ctx *c, struct mig *m)
{
	struct pr_iface_key *keys = NULL, ours;
	struct pr_iface *recs = NULL;
	size_t n = 0;
	int err;

	use_staged(c, m, true);
	pr_iface_key_of(&ours, 0);
	err = pr_map_read_all(c->fd_ifaces, sizeof(*keys), sizeof(*recs), (void **)&keys, (void **)&recs, &n);
	for (size_t i = 0; !err && i < n; i++) {
		struct pr_attach_result res;
		char name[IF_NAMESIZE];
		enum pr_mode_req req;

		if (keys[i].netns_ino != ours.netns_ino || !if_indextoname(keys[i].ifindex, name))
			continue; /* another namespace's (refused before), or gone: status shows it */
		req = (recs[i].flags & PR_IF_AUTO) ? PR_REQ_AUTO :
		      recs[i].mode == PR_MODE_NATIVE ? PR_REQ_NATIVE :
		      recs[i].mode == PR_MODE_GENERIC ? PR_REQ_GENERIC : PR_REQ_TC;
		err = pr_attach(c, name, req, (recs[i].flags & PR_IF_VIA_STACK) ? PR_ATTACH_VIA_STACK : 0, &res);
		if (err) {
			char why[PR_ERR_LEN];

			snprintf(why, sizeof(why), "%s", c->err);
			err = pr_errf(c, err, "migration to schema %u stopped at %s: %.300s; run attach or apply again to finish it",
				      PR_SCHEMA_VERSION, name, why);
		} else
			c->migrated.ifaces++;
	}
	free(keys);
	free(recs);
	use_staged(c, m, false);
	return err;
}

/* Rename every staged pin over the pin dir's, pr_info last: until then the
 * pin dir says the old schema and the staging directory is there. */
static int finish(struct pr_ctx *c)
{
	char dir[PATH_MAX], from[PATH_MAX + 256], to[PATH_MAX + 256];
	struct dirent *e;
	DIR *d;
	int err = 0;

	pin_path(c, true, NULL, dir, sizeof(dir));
	d = opendir(dir);
	if (!d)
		return pr_errf(c, -errno, "cannot read %s: %s", dir, strerror(errno));
	while (!err && (e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (e->d_name[0] == '.' || strcmp(e->d_name, "pr_info") == 0)
			continue;
		snprintf(from, sizeof(from), "%s/%s", dir, e->d_name);
		if (len > strlen(BASE_SUFFIX) && strcmp(e->d_name + len - strlen(BASE_SUFFIX), BASE_SUFFIX) == 0) {
			unlink(from); /* a converter's own */
			continue;
		}
		snprintf(to, sizeof(to), "%s/%s", c->pin_dir, e->d_name);
		if (rename(from, to))
			err = pr_errf(c, -errno, "cannot move %s into place: %s", from, strerror(errno));
	}
	closedir(d);
	snprintf(from, sizeof(from), "%s/pr_info", dir);
	snprintf(to, sizeof(to), "%s/pr_info", c->pin_dir);
	if (!err && rename(from, to))
		err = pr_errf(c, -errno, "cannot move %s into place: %s", from, strerror(errno));
	if (!err && rmdir(dir))
		err = pr_errf(c, -errno, "cannot remove %s: %s", dir, strerror(errno));
	return err;
}

static void mig_free(struct mig *m)
{
	for (size_t i = 0; i < pr_slot_count(); i++) {
		if (m->old[i] >= 0)
			close(m->old[i]);
		if (m->cur[i] >= 0)
			close(m->cur[i]);
	}
}

/* Under the lock: stage and convert (unless resuming a switch), switch, top
 * up, stamp and rename. */
static int migrate(struct pr_ctx *c, __u32 from, bool resume)
{
	struct mig m = { .sc = conv_from(from), .t0 = pr_monotonic_ns() };
	struct maps_bpf *probe = NULL;
	__u32 max_rules;
	int err = 0;

	if (pr_slot_count() > MIG_SLOTS)
		return pr_errf(c, -E2BIG, "the map set has more slots than a migration has room for");
	for (size_t i = 0; i < pr_slot_count(); i++)
		m.old[i] = m.cur[i] = -1;
	open_old(c, &m, &max_rules);
	if (!resume) {
		size_t other = foreign_ifaces(c, m.old[slot_of("pr_ifaces")]);

		probe = maps_bpf__open();
		if (!probe)
			err = pr_errf(c, -errno, "cannot open the map object: %s", strerror(errno));
		if (!err)
			err = plan_maps(c, &m, NULL, probe); /* refuse before anything changes */
		if (!err && other)
			err = pr_errf(c, -EPROTO,
				      "cannot migrate %s from schema %u: %zu interface(s) are attached in another network namespace, whose programs this one cannot switch; detach them there first",
				      c->pin_dir, from, other);
		if (!err)
			err = stage(c, &m, probe, max_rules);
	}
	if (!err)
		err = open_staged(c, &m);
	if (!err && !resume)
		err = prepare(c, &m);
	if (!err && !resume)
		err = copy(c, &m);
	if (err && !resume)
		discard(c); /* no program runs on the staged maps yet: the old state is whole */
	if (!err)
		err = switch_ifaces(c, &m);
	for (size_t i = 0; !err && i < m.sc->n; i++) {
		char path[PATH_MAX];

		/* a map renamed already (an interrupted finish) has no old one left */
		pin_path(c, true, m.sc->convs[i].map, path, sizeof(path));
		if (access(path, F_OK) == 0 && old_fd(&m, m.sc->convs[i].map) >= 0)
			err = m.sc->convs[i].fn(c, &m, true);
	}
	c->migrated.window_us = (pr_monotonic_ns() - m.t0) / 1000;
	if (!err && write_info(&m, PR_MAGIC))
		err = pr_errf(c, -errno, "cannot stamp the staged pr_info: %s", strerror(errno));
	if (!err)
		err = finish(c);
	if (!err) {
		c->migrated.from = from;
		c->migrated.resumed = resume;
		c->migrated.rules = m.rules;
		c->migrated.flows = m.flows;
		c->migrated.window_flows = m.window_flows;
	}
	if (probe)
		maps_bpf__destroy(probe);
	mig_free(&m);
	return err;
}

int pr_migrate_gate(struct pr_ctx *c, unsigned int flags)
{
	char path[PATH_MAX], spath[PATH_MAX];
	struct pr_info info, staged;
	bool have_stage, have_staged_info;
	int err;

	pin_path(c, false, "pr_info", path, sizeof(path));
	for (int pass = 0; pass < 2; pass++) {
		pin_path(c, true, NULL, spath, sizeof(spath));
		have_stage = access(spath, F_OK) == 0;
		pin_path(c, true, "pr_info", spath, sizeof(spath));
		have_staged_info = read_info(spath, &staged) == 0;
		if (read_info(path, &info) || info.magic == 0)
			info.schema = 0; /* nothing yet, or never stamped */
		if (!have_stage && (info.schema == 0 || info.schema == PR_SCHEMA_VERSION))
			return 0;
		if (have_staged_info && staged.schema != PR_SCHEMA_VERSION && staged.magic != 0)
			return pr_errf(c, -EPROTO,
				       "%s holds an unfinished migration to schema %u, which this portredir (schema %u) cannot finish: run that portredir's attach",
				       c->pin_dir, staged.schema, PR_SCHEMA_VERSION);
		if (!have_stage && info.schema > PR_SCHEMA_VERSION)
			return pr_errf(c, -EPROTO,
				       "pinned maps in %s have schema %u, newer than this portredir's %u: use a portredir of schema %u or later (nothing changed)",
				       c->pin_dir, info.schema, PR_SCHEMA_VERSION, info.schema);
		if (info.schema && info.schema != PR_SCHEMA_VERSION && !conv_from(info.schema))
			return pr_errf(c, -EPROTO,
				       "pinned maps in %s have schema %u, which this portredir (schema %u) cannot migrate: detach all interfaces with the portredir that made them and remove %s (nothing changed)",
				       c->pin_dir, info.schema, PR_SCHEMA_VERSION, c->pin_dir);
		if (!(flags & PR_OPEN_MIGRATE) && have_stage)
			return pr_errf(c, -EPROTO,
				       "%s holds an unfinished migration to schema %u: run 'portredir attach' or 'portredir apply' to finish it",
				       c->pin_dir, PR_SCHEMA_VERSION);
		if (!(flags & PR_OPEN_MIGRATE))
			return pr_errf(c, -EPROTO,
				       "pinned maps in %s have schema %u, this portredir needs %u: run 'portredir attach' or 'portredir apply' to migrate them (flows carry over)",
				       c->pin_dir, info.schema, PR_SCHEMA_VERSION);
		if (pass == 0) {
			/* decide again under the lock: another command may have finished it */
			err = pr_lock(c);
			if (err)
				return err;
		}
	}
	if (have_stage && info.schema == PR_SCHEMA_VERSION) {
		discard(c); /* pr_info, renamed last, is in place: only the directory was left */
		return 0;
	}
	if (have_stage && !info.schema)
		return pr_errf(c, -EPROTO,
			       "%s holds an unfinished migration but its pr_info is gone: detach --all and remove %s",
			       c->pin_dir, c->pin_dir);
	if (have_stage && (!have_staged_info || staged.magic == PR_STAGE_COPY || staged.magic == 0)) {
		/* interrupted while copying: the old programs still run on the
		 * complete old maps, so start over */
		discard(c);
		have_stage = false;
	}
	if (!conv_from(info.schema))
		return 0; /* this schema (the staging dir is gone): nothing to migrate */
	err = migrate(c, info.schema, have_stage);
	return err == -ENOENT ? -EIO : err; /* -ENOENT tells pr_open's callers there are no maps */
}
