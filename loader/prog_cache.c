// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Verified programs kept pinned under PIN/progs, so only a pin dir's first attach of a build pays the verifier. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "libportredir.h"
#include "internal.h"

#define PR_PROG_MAPS 64

/* FNV-1a over the object's ELF bytes: the build, as far as the cache cares. */
const char *pr_build_tag(const void *(*elf_bytes)(size_t *sz), char tag[PR_BUILD_TAG_LEN])
{
	const unsigned char *p;
	__u64 h = 0xcbf29ce484222325ULL;
	size_t n = 0;

	if (tag[0])
		return tag;
	p = elf_bytes(&n);
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	snprintf(tag, PR_BUILD_TAG_LEN, "%016llx", (unsigned long long)h);
	return tag;
}

static void cache_path(const struct pr_ctx *c, const char *key, const char *name, char *path, size_t len)
{
	if (key)
		snprintf(path, len, "%s/progs/%s-%s", c->pin_dir, key, name);
	else
		snprintf(path, len, "%s/progs", c->pin_dir);
}

bool pr_prog_maps_each(struct pr_ctx *c, int prog_fd, pr_prog_map_fn fn, void *arg)
{
	__u32 ids[PR_PROG_MAPS], len;
	struct bpf_prog_info info = {};

	info.nr_map_ids = PR_PROG_MAPS;
	info.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) || info.nr_map_ids > PR_PROG_MAPS)
		return false;
	for (__u32 i = 0; i < info.nr_map_ids; i++) {
		struct bpf_map_info mi = {};
		int fd = bpf_map_get_fd_by_id(ids[i]), err;

		if (fd < 0)
			return false;
		len = sizeof(mi);
		err = bpf_obj_get_info_by_fd(fd, &mi, &len);
		close(fd);
		if (err || !fn(c, ids[i], mi.name, arg))
			return false;
	}
	return true;
}

bool pr_map_pinned_now(struct pr_ctx *c, __u32 id, const char *name, void *unused)
{
	int cur = pr_pinned_map_fd(c, name);

	if (cur == -ENOENT) /* the object's own: .rodata, per-CPU scratch */
		return true;
	return cur >= 0 && pr_fd_id(cur) == id;
}

/* Whether every pinned map prog_fd uses is the one pinned now: a pin dir
 * whose maps were made again since must not run programs bound to the old. */
static bool prog_maps_current(struct pr_ctx *c, int prog_fd)
{
	return pr_prog_maps_each(c, prog_fd, pr_map_pinned_now, NULL);
}

int pr_prog_cache_get(struct pr_ctx *c, const char *key, const char *const *names, int n, int *fds)
{
	char path[PATH_MAX];
	int i;

	for (i = 0; i < n; i++)
		fds[i] = -1;
	for (i = 0; i < n; i++) {
		cache_path(c, key, names[i], path, sizeof(path));
		fds[i] = bpf_obj_get(path);
		if (fds[i] < 0)
			goto miss;
		if (!prog_maps_current(c, fds[i])) {
			unlink(path); /* stale: bound to maps no longer pinned */
			goto miss;
		}
	}
	return 0;
miss:
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return -ENOENT;
}

/* Unpin what other builds left: a program still attached somewhere stays
 * loaded through its hook, and the next attach would not use it. */
static void prune(const char *dir, const char *key)
{
	char path[PATH_MAX];
	struct dirent *e;
	size_t kl = strcspn(key, "-"), bl = strrchr(key, '-') - key;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, key, kl + 1) || !strncmp(e->d_name, key, bl + 1))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path))
			unlink(path);
	}
	closedir(d);
}

void pr_prog_cache_put(struct pr_ctx *c, const char *key, const char *const *names, int n, const int *fds)
{
	char dir[PATH_MAX], path[PATH_MAX];

	cache_path(c, NULL, NULL, dir, sizeof(dir));
	if (mkdir(dir, 0700) && errno != EEXIST)
		return; /* a cache only: the attach goes on without it */
	prune(dir, key);
	for (int i = 0; i < n; i++) {
		cache_path(c, key, names[i], path, sizeof(path));
		unlink(path); /* a stale entry prog_cache_get refused */
		bpf_obj_pin(fds[i], path);
	}
}

void pr_prog_cache_drop(struct pr_ctx *c, const char *key, const char *const *names, int n)
{
	char path[PATH_MAX];

	for (int i = 0; i < n; i++) {
		cache_path(c, key, names[i], path, sizeof(path));
		unlink(path);
	}
}
