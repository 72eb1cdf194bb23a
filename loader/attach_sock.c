// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Local clients: the socket hooks of one network namespace on the cgroup2 root, as bpf links pinned in the pin dir, and when they come and go. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "libportredir.h"
#include "internal.h"
#include "sock.skel.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 /* <asm-generic/socket.h>, Linux 5.14 */
#endif

/* The hooks, by the names their links are pinned under. */
static const char *const hook_names[PR_LOCAL_HOOKS] = {
	"connect4", "connect6", "sendmsg4", "sendmsg6", "recvmsg4", "recvmsg6", "getpeername4", "getpeername6",
};

static struct bpf_program *hook_prog(struct sock_bpf *s, int i)
{
	struct bpf_program *p[PR_LOCAL_HOOKS] = {
		s->progs.pr_connect4, s->progs.pr_connect6, s->progs.pr_sendmsg4,     s->progs.pr_sendmsg6,
		s->progs.pr_recvmsg4, s->progs.pr_recvmsg6, s->progs.pr_getpeername4, s->progs.pr_getpeername6,
	};

	return p[i];
}

int pr_netns_cookie(struct pr_ctx *c, __u64 *cookie)
{
	socklen_t len = sizeof(*cookie);
	int fd, err = 0;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return pr_errf(c, -errno, "cannot open a socket: %s", strerror(errno));
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len))
		err = pr_errf(c, -errno, "cannot read this network namespace's cookie (SO_NETNS_COOKIE, Linux 5.14): %s",
			      strerror(errno));
	close(fd);
	return err;
}

/* The first cgroup2 mount in /proc/self/mounts: /sys/fs/cgroup on a pure
 * v2 host, /sys/fs/cgroup/unified on a hybrid one. Its root holds every
 * process, so hooks there see every socket. */
int pr_cgroup2_root(struct pr_ctx *c, char *buf, size_t len)
{
	char dev[256], dir[PATH_MAX], type[64];
	int err = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/mounts", "re");
	if (!f)
		return pr_errf(c, -errno, "cannot read /proc/self/mounts: %s", strerror(errno));
	while (fscanf(f, "%255s %4095s %63s %*[^\n]\n", dev, dir, type) == 3) {
		if (strcmp(type, "cgroup2") != 0)
			continue;
		err = strlen(dir) < len ? 0 : -ENAMETOOLONG;
		if (!err)
			snprintf(buf, len, "%s", dir);
		break;
	}
	fclose(f);
	if (err == -ENOENT)
		return pr_errf(c, err, "no cgroup2 file system is mounted (see /proc/self/mounts): local clients need one");
	if (err)
		return pr_errf(c, err, "the cgroup2 mount point %s is too long", dir);
	return 0;
}

/* <pin dir>/local-<netns cookie>: the links of one namespace. */
static void links_dir(const struct pr_ctx *c, __u64 cookie, char *buf, size_t len)
{
	snprintf(buf, len, "%s/local-%016llx", c->pin_dir, (unsigned long long)cookie);
}

/* The cache key of this build's hooks for cookie (their read-only data). */
static void sock_key(__u64 cookie, char key[64])
{
	static char tag[PR_BUILD_TAG_LEN];

	snprintf(key, 64, "sock-%s-%016llx", pr_build_tag(sock_bpf__elf_bytes, tag), (unsigned long long)cookie);
}

/* The pinned links of cookie that are attached, into st->hooks. */
static void read_links(struct pr_ctx *c, __u64 cookie, struct pr_local_status *st)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];

	links_dir(c, cookie, dir, sizeof(dir));
	st->nhooks = 0;
	for (int i = 0; i < PR_LOCAL_HOOKS; i++) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, hook_names[i]);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.type == BPF_LINK_TYPE_CGROUP &&
		    info.cgroup.cgroup_id) {
			st->hooks[st->nhooks].hook = hook_names[i];
			st->hooks[st->nhooks].link_id = info.id;
			st->hooks[st->nhooks].prog_id = info.prog_id;
			st->nhooks++;
		}
		close(fd);
	}
}

/* Detach and unpin every link of cookie, then remove its directory and
 * this build's cached hooks for it. */
static void unpin_links(struct pr_ctx *c, __u64 cookie)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], key[64];

	links_dir(c, cookie, dir, sizeof(dir));
	for (int i = 0; i < PR_LOCAL_HOOKS; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, hook_names[i]);
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			bpf_link_detach(fd); /* at once, even if another process holds the link */
			close(fd);
		}
		unlink(path);
	}
	rmdir(dir);
	sock_key(cookie, key);
	pr_prog_cache_drop(c, key, hook_names, PR_LOCAL_HOOKS);
}

/* This build's hooks for cookie, loaded (and cached: status tells builds
 * apart by them) into *skel; the caller destroys it. */
static int load_hooks(struct pr_ctx *c, __u64 cookie, struct sock_bpf **skel)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = c->pin_dir);
	int fds[PR_LOCAL_HOOKS], err;
	char key[64];

	*skel = sock_bpf__open_opts(&oo);
	if (!*skel)
		return pr_errf(c, -errno, "cannot open the socket hooks' object: %s", strerror(errno));
	(*skel)->rodata->pr_sock_netns = cookie;
	err = pr_obj_reuse_maps(c, (*skel)->obj);
	if (err)
		return err;
	err = sock_bpf__load(*skel);
	if (err)
		return pr_errf(c, err, "cannot load the socket hooks: %s (run with -v for the verifier log)",
			       strerror(-err));
	for (int i = 0; i < PR_LOCAL_HOOKS; i++)
		fds[i] = bpf_program__fd(hook_prog(*skel, i));
	sock_key(cookie, key);
	pr_prog_cache_put(c, key, hook_names, PR_LOCAL_HOOKS, fds);
	return 0;
}

/* Whether st's hooks run another build's programs. */
static bool other_build(struct pr_ctx *c, const struct pr_local_status *st)
{
	int fds[PR_LOCAL_HOOKS];
	bool other = false;
	char key[64];

	if (!st->nhooks)
		return false;
	sock_key(st->netns_cookie, key);
	if (pr_prog_cache_get(c, key, hook_names, PR_LOCAL_HOOKS, fds))
		return true; /* this build never attached them */
	for (size_t h = 0; h < st->nhooks; h++) {
		for (int i = 0; i < PR_LOCAL_HOOKS; i++) {
			struct bpf_prog_info info = {};
			__u32 len = sizeof(info);

			if (strcmp(st->hooks[h].hook, hook_names[i]) == 0)
				other |= bpf_obj_get_info_by_fd(fds[i], &info, &len) || info.id != st->hooks[h].prog_id;
		}
	}
	for (int i = 0; i < PR_LOCAL_HOOKS; i++)
		close(fds[i]);
	return other;
}

/* Another build's hooks for cookie: each link moved to this build's program
 * in place (bpf_link_update), so no socket call goes unhooked. */
static int replace_hooks(struct pr_ctx *c, __u64 cookie)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	struct sock_bpf *skel;
	int err, fd;

	err = load_hooks(c, cookie, &skel);
	links_dir(c, cookie, dir, sizeof(dir));
	for (int i = 0; i < PR_LOCAL_HOOKS && !err; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, hook_names[i]);
		fd = bpf_obj_get(path);
		if (fd < 0 || bpf_link_update(fd, bpf_program__fd(hook_prog(skel, i)), NULL))
			err = pr_errf(c, -errno, "cannot replace the %s hook's program: %s", hook_names[i], strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	sock_bpf__destroy(skel);
	return err;
}

/* Load the hooks for cookie, attach each to cgroup through a link and pin
 * it; on failure nothing stays. */
static int install(struct pr_ctx *c, __u64 cookie, const char *cgroup)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	struct sock_bpf *skel;
	int cg = -1, err;

	err = load_hooks(c, cookie, &skel);
	if (err)
		goto out;
	cg = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		err = pr_errf(c, -errno, "cannot open cgroup %s: %s", cgroup, strerror(errno));
		goto out;
	}
	links_dir(c, cookie, dir, sizeof(dir));
	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = pr_errf(c, -errno, "cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	for (int i = 0; i < PR_LOCAL_HOOKS; i++) {
		struct bpf_link *l = bpf_program__attach_cgroup(hook_prog(skel, i), cg);

		if (!l) {
			err = pr_errf(c, -errno, "cannot attach the %s hook to cgroup %s: %s", hook_names[i], cgroup,
				      strerror(errno));
			goto out;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, hook_names[i]);
		err = bpf_link__pin(l, path);
		if (err) {
			bpf_link__destroy(l);
			err = pr_errf(c, err, "cannot pin %s: %s", path, strerror(-err));
			goto out;
		}
		/* the pin holds it now: closing our fd leaves it attached */
		bpf_link__disconnect(l);
		bpf_link__destroy(l);
	}
out:
	if (cg >= 0)
		close(cg);
	sock_bpf__destroy(skel);
	if (err)
		unpin_links(c, cookie);
	return err;
}

/* cookie's record in pr_local_ns: 0, or -ENOENT (no map, or no record). */
static int get_record(struct pr_ctx *c, __u64 cookie, struct pr_local_ns *rec)
{
	int fd = pr_open_pinned(c, "pr_local_ns"), err = 0;

	memset(rec, 0, sizeof(*rec));
	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, &cookie, rec))
		err = -errno;
	close(fd);
	return err;
}

/* Write (rec) or delete (NULL) cookie's record. */
static int put_record(struct pr_ctx *c, __u64 cookie, const struct pr_local_ns *rec)
{
	int fd = pr_open_pinned(c, "pr_local_ns"), err = 0;

	if (fd < 0)
		return rec ? pr_errf(c, fd, "cannot open %s/pr_local_ns: %s", c->pin_dir, strerror(-fd)) : 0;
	if (rec ? bpf_map_update_elem(fd, &cookie, rec, BPF_ANY) : bpf_map_delete_elem(fd, &cookie))
		err = rec || errno != ENOENT ? pr_errf(c, -errno, "cannot update %s/pr_local_ns: %s", c->pin_dir,
						       strerror(errno)) : 0;
	close(fd);
	return err;
}

int pr_local_status(struct pr_ctx *c, struct pr_local_status *st)
{
	struct pr_local_ns rec;
	int err;

	memset(st, 0, sizeof(*st));
	err = pr_netns_cookie(c, &st->netns_cookie);
	if (err)
		return err;
	read_links(c, st->netns_cookie, st);
	if (get_record(c, st->netns_cookie, &rec) == 0) {
		st->recorded = true;
		st->explicit_local = rec.flags & PR_LOCAL_F_EXPLICIT;
		snprintf(st->cgroup, sizeof(st->cgroup), "%s", rec.cgroup);
	}
	st->attached = st->nhooks == PR_LOCAL_HOOKS;
	st->other_build = other_build(c, st);
	st->addrs = pr_local_addrs_count(c, st->netns_cookie);
	return 0;
}

/* A change begins: the pin dir locked, what there is (st) and its record
 * (rec, zeroed when there is none). */
static int change_begin(struct pr_ctx *c, struct pr_local_status *st, struct pr_local_ns *rec)
{
	int err = pr_lock(c);

	if (!err)
		err = pr_local_status(c, st);
	if (!err)
		get_record(c, st->netns_cookie, rec);
	return err;
}

int pr_local_attach(struct pr_ctx *c, bool explicit_local, bool *already)
{
	struct pr_local_status st;
	struct pr_local_ns rec;
	int err;

	*already = false;
	err = change_begin(c, &st, &rec);
	if (err)
		return err;
	if (st.attached && st.recorded) {
		if (st.other_build) {
			err = replace_hooks(c, st.netns_cookie);
			if (err)
				return err;
		}
		*already = !explicit_local || (rec.flags & PR_LOCAL_F_EXPLICIT);
	} else {
		unpin_links(c, st.netns_cookie); /* what a lost record or a removed link left */
		memset(&rec, 0, sizeof(rec));
		err = pr_cgroup2_root(c, rec.cgroup, sizeof(rec.cgroup));
		if (!err)
			err = install(c, st.netns_cookie, rec.cgroup);
		if (err)
			return err;
		rec.attached_ns = pr_realtime_ns();
	}
	if (explicit_local)
		rec.flags |= PR_LOCAL_F_EXPLICIT;
	err = put_record(c, st.netns_cookie, &rec);
	if (!err)
		err = pr_local_addrs_sync(c, st.netns_cookie);
	if (err && !*already)
		pr_local_remove(c);
	return err;
}

int pr_local_remove(struct pr_ctx *c)
{
	__u64 cookie;
	int err = pr_lock(c);

	if (!err)
		err = pr_netns_cookie(c, &cookie);
	if (err)
		return err;
	unpin_links(c, cookie);
	put_record(c, cookie, NULL);
	return pr_local_addrs_clear(c, cookie);
}

/* Interfaces attached in this namespace (records, live or not). */
static size_t ifaces_here(struct pr_ctx *c)
{
	struct pr_iface_status *v = NULL;
	size_t n = 0;

	if (pr_iface_list(c, &v, &n))
		n = 1; /* unknown: keep the hooks */
	free(v);
	return n;
}

int pr_local_release(struct pr_ctx *c)
{
	struct pr_local_ns rec;
	__u64 cookie;
	int err = pr_netns_cookie(c, &cookie);

	if (err)
		return err;
	if (ifaces_here(c) || (get_record(c, cookie, &rec) == 0 && (rec.flags & PR_LOCAL_F_EXPLICIT)))
		return 0;
	return pr_local_remove(c);
}

int pr_local_detach(struct pr_ctx *c, bool *removed, size_t *ifaces)
{
	struct pr_local_status st;
	struct pr_local_ns rec;
	int err;

	*removed = false;
	*ifaces = 0;
	err = change_begin(c, &st, &rec);
	if (err)
		return err;
	if (!st.recorded && !st.nhooks)
		return pr_errf(c, -ENOENT, "local clients are not served in this network namespace");
	*ifaces = ifaces_here(c);
	if (*ifaces && st.attached && st.recorded) {
		rec.flags &= ~PR_LOCAL_F_EXPLICIT;
		return put_record(c, st.netns_cookie, &rec);
	}
	*removed = true;
	return pr_local_remove(c);
}

void pr_local_refresh(struct pr_ctx *c)
{
	struct pr_local_status st;

	if (pr_local_status(c, &st) == 0 && st.nhooks)
		pr_local_addrs_sync(c, st.netns_cookie);
}
