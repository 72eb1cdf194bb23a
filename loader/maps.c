// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* bpffs, the pin directory and the pinned map set every portredir process shares. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "libportredir.h"
#include "internal.h"
#include "maps.skel.h"

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return vfprintf(stderr, fmt, ap);
}

void pr_set_verbose(int verbose)
{
	libbpf_set_print(verbose ? print_libbpf : NULL);
	libxdp_set_print(verbose ? (libxdp_print_fn_t)print_libbpf : NULL);
}

static bool on_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

/* Mount bpffs at /sys/fs/bpf if it is not there, as bpftool does. */
int pr_ensure_bpffs(struct pr_ctx *c)
{
	if (on_bpffs("/sys/fs/bpf"))
		return 0;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return pr_errf(c, -errno, "cannot mount bpffs on /sys/fs/bpf: %s", strerror(errno));
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	char *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

struct map_slot {
	const char *name;
	size_t off;
};

static const struct map_slot slots[] = {
	{ "pr_rules", offsetof(struct pr_ctx, fd_rules) },
	{ "pr_rmeta", offsetof(struct pr_ctx, fd_rmeta) },
	{ "pr_rstats", offsetof(struct pr_ctx, fd_rstats) },
	{ "pr_gstats", offsetof(struct pr_ctx, fd_gstats) },
	{ "pr_ct", offsetof(struct pr_ctx, fd_ct) },
	{ "pr_tx", offsetof(struct pr_ctx, fd_tx) },
	{ "pr_ifaces", offsetof(struct pr_ctx, fd_ifaces) },
	{ "pr_info", offsetof(struct pr_ctx, fd_info) },
	{ "pr_allow", offsetof(struct pr_ctx, fd_allow) },
	{ "pr_frag", offsetof(struct pr_ctx, fd_frag) },
	{ "pr_rnat", offsetof(struct pr_ctx, fd_rnat) },
	{ "pr_ifaddr", offsetof(struct pr_ctx, fd_ifaddr) },
};

static int *slot_fd(struct pr_ctx *c, const struct map_slot *s)
{
	return (int *)((char *)c + s->off);
}

size_t pr_slot_count(void)
{
	return sizeof(slots) / sizeof(slots[0]);
}

const char *pr_slot_name(size_t i)
{
	return slots[i].name;
}

int *pr_slot_fd(struct pr_ctx *c, size_t i)
{
	return slot_fd(c, &slots[i]);
}

int pr_pinned_map_fd(struct pr_ctx *c, const char *name)
{
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		if (strcmp(slots[i].name, name) == 0)
			return *slot_fd(c, &slots[i]) >= 0 ? *slot_fd(c, &slots[i]) : -EBADF;
	return -ENOENT;
}

__u32 pr_fd_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* Refuse a pin dir written by another schema before libbpf tries to reuse it. */
static int check_schema(struct pr_ctx *c)
{
	char path[PATH_MAX];
	struct pr_info info = {};
	__u32 zero = 0;
	int fd, err;

	snprintf(path, sizeof(path), "%s/pr_info", c->pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : pr_errf(c, -errno, "cannot open %s: %s", path, strerror(errno));
	err = bpf_map_lookup_elem(fd, &zero, &info);
	close(fd);
	if (err)
		return pr_errf(c, -errno, "cannot read %s: %s", path, strerror(errno));
	if (info.magic == 0) /* created but never stamped: a crashed first run */
		return 0;
	if (info.magic != PR_MAGIC || info.schema != PR_SCHEMA_VERSION)
		return pr_errf(c, -EPROTO,
			       "pinned maps in %s have schema %u, this portredir needs %u: detach all interfaces and remove %s",
			       c->pin_dir, info.schema, PR_SCHEMA_VERSION, c->pin_dir);
	return 0;
}

int pr_obj_reuse_maps(struct pr_ctx *c, struct bpf_object *obj)
{
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, slots[i].name);
		int fd = *slot_fd(c, &slots[i]), err;

		if (!map || fd < 0)
			continue;
		err = bpf_map__reuse_fd(map, fd);
		/* a migration's staged map: libbpf must not swap in the older
		 * schema's map still pinned under the name */
		if (!err && c->staged)
			err = bpf_map__set_pin_path(map, NULL);
		if (err)
			return pr_errf(c, err, "cannot reuse %s/%s: %s", c->pin_dir, slots[i].name, strerror(-err));
	}
	return 0;
}

/* Room the maps get for max_rules rules (pr_caps_for); pr_rstats and
 * pr_rnat have one slot more, for the unused id 0. */
void pr_size_maps(struct maps_bpf *skel, __u32 max_rules)
{
	struct pr_caps k;

	pr_caps_for(max_rules, &k);
	bpf_map__set_max_entries(skel->maps.pr_rmeta, k.rules);
	bpf_map__set_max_entries(skel->maps.pr_rstats, k.rules + 1);
	bpf_map__set_max_entries(skel->maps.pr_rnat, k.rules + 1);
	bpf_map__set_max_entries(skel->maps.pr_rules, k.entries);
	bpf_map__set_max_entries(skel->maps.pr_allow, k.sources);
}

__u32 pr_map_max_entries(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

/* A rule table with no record and no lookup entry is what the records say:
 * its change journal (pr_rnat slot 0) starts CLEAN, so the first apply into
 * new maps reads only the records. Maps that hold anything keep their slot. */
static void journal_fresh(struct maps_bpf *skel)
{
	struct pr_journal j = { .magic = PR_JOURNAL_MAGIC, .state = PR_JOURNAL_CLEAN };
	char key[sizeof(struct pr_rule_key)];
	__u32 slot = PR_JOURNAL_SLOT;
	struct pr_journal now = {};
	int fd = bpf_map__fd(skel->maps.pr_rnat);

	if (bpf_map_lookup_elem(fd, &slot, &now) || now.magic)
		return;
	if (bpf_map_get_next_key(bpf_map__fd(skel->maps.pr_rmeta), NULL, key) == 0 ||
	    bpf_map_get_next_key(bpf_map__fd(skel->maps.pr_rules), NULL, key) == 0)
		return;
	bpf_map_update_elem(fd, &slot, &j, BPF_ANY);
}

/* Create and pin any missing map by loading the map-only object. */
static int create_maps(struct pr_ctx *c, __u32 max_rules)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = c->pin_dir);
	struct pr_info info = { .magic = PR_MAGIC, .schema = PR_SCHEMA_VERSION };
	struct maps_bpf *skel;
	__u32 zero = 0;
	int err;

	char tx_path[PATH_MAX];
	int tx_fd;

	skel = maps_bpf__open_opts(&opts);
	if (!skel)
		return pr_errf(c, -errno, "cannot open the map object: %s", strerror(errno));
	snprintf(tx_path, sizeof(tx_path), "%s/pr_tx", c->pin_dir);
	tx_fd = bpf_obj_get(tx_path);
	if (tx_fd >= 0) {
		bpf_map__reuse_fd(skel->maps.pr_tx, tx_fd);
		close(tx_fd);
	}
	pr_size_maps(skel, max_rules);
	err = maps_bpf__load(skel);
	if (!err && tx_fd < 0)
		err = bpf_map__pin(skel->maps.pr_tx, tx_path);
	if (err) {
		maps_bpf__destroy(skel);
		return pr_errf(c, err, "cannot create or reuse the maps in %s: %s (run with -v for details)",
			       c->pin_dir, strerror(-err));
	}
	err = bpf_map_update_elem(bpf_map__fd(skel->maps.pr_info), &zero, &info, BPF_ANY);
	if (!err)
		journal_fresh(skel);
	maps_bpf__destroy(skel);
	if (err)
		return pr_errf(c, -errno, "cannot stamp %s/pr_info: %s", c->pin_dir, strerror(errno));
	return 0;
}

int pr_open(struct pr_ctx *c, const char *pin_dir, unsigned int flags, __u32 max_rules)
{
	char path[PATH_MAX];
	struct stat st;
	size_t i;
	int err;

	memset(c, 0, sizeof(*c));
	c->lock_fd = -1;
	for (i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		*slot_fd(c, &slots[i]) = -1;
	if (!pin_dir || !*pin_dir)
		pin_dir = getenv("PORTREDIR_PIN_DIR");
	if (!pin_dir || !*pin_dir)
		pin_dir = PR_DEFAULT_PIN_DIR;
	if (strlen(pin_dir) >= sizeof(c->pin_dir))
		return pr_errf(c, -ENAMETOOLONG, "pin dir '%s' is too long", pin_dir);
	snprintf(c->pin_dir, sizeof(c->pin_dir), "%s", pin_dir);

	err = pr_ensure_bpffs(c);
	if (err)
		return err;
	if (stat(c->pin_dir, &st)) {
		if (errno != ENOENT || !(flags & PR_OPEN_CREATE))
			return pr_errf(c, -errno, "pin dir %s: %s", c->pin_dir, strerror(errno));
		err = mkdir_p(c->pin_dir, 0700);
		if (err)
			return pr_errf(c, err, "cannot create pin dir %s: %s", c->pin_dir, strerror(-err));
	}
	if (!on_bpffs(c->pin_dir))
		return pr_errf(c, -EINVAL, "pin dir %s is not on a bpf filesystem", c->pin_dir);
	chmod(c->pin_dir, 0700);

	err = pr_migrate_gate(c, flags);
	if (!err)
		err = check_schema(c);
	if (err) {
		pr_close(c); /* the lock a migration took */
		return err;
	}
	for (i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", c->pin_dir, slots[i].name);
		if (access(path, F_OK))
			break;
	}
	if (i < sizeof(slots) / sizeof(slots[0])) {
		if (!(flags & PR_OPEN_CREATE))
			return pr_errf(c, -ENOENT, "no portredir maps in %s", c->pin_dir);
		if (max_rules > PR_MAX_RULES_LIMIT)
			return pr_errf(c, -EINVAL, "at most %u rules", PR_MAX_RULES_LIMIT);
		err = create_maps(c, max_rules ? max_rules : PR_DEFAULT_MAX_RULES);
		if (err)
			return err;
	}
	for (i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", c->pin_dir, slots[i].name);
		*slot_fd(c, &slots[i]) = bpf_obj_get(path);
		if (*slot_fd(c, &slots[i]) < 0) {
			err = pr_errf(c, -errno, "cannot open pinned map %s: %s", path, strerror(errno));
			pr_close(c);
			return err;
		}
	}
	c->max_rules = pr_map_max_entries(c->fd_rstats);
	c->max_rules = c->max_rules ? c->max_rules - 1 : 0;
	c->rule_entries_max = pr_map_max_entries(c->fd_rules);
	c->allow_entries_max = pr_map_max_entries(c->fd_allow);
	if (max_rules && max_rules != c->max_rules) {
		err = pr_errf(c, -EEXIST,
			      "the maps in %s hold %u rules; for %u, detach every interface, remove %s and attach again",
			      c->pin_dir, c->max_rules, max_rules, c->pin_dir);
		pr_close(c);
		return err;
	}
	return 0;
}

int pr_lock(struct pr_ctx *c)
{
	if (c->lock_fd >= 0)
		return 0;
	c->lock_fd = open(c->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->lock_fd < 0)
		return pr_errf(c, -errno, "cannot open %s: %s", c->pin_dir, strerror(errno));
	if (flock(c->lock_fd, LOCK_EX))
		return pr_errf(c, -errno, "cannot lock %s: %s", c->pin_dir, strerror(errno));
	return 0;
}

void pr_close(struct pr_ctx *c)
{
	size_t i;

	for (i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		int *fd = slot_fd(c, &slots[i]);

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	c->lock_fd = -1;
}
