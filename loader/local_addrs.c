// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The addresses of a network namespace in pr_local_addr, where the socket hooks tell a local destination (for ":PORT" rules) from a remote one. */
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "libportredir.h"
#include "internal.h"

int pr_open_pinned(struct pr_ctx *c, const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", c->pin_dir, name);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/* The IPv4 and IPv6 addresses of this namespace's interfaces as keys of
 * cookie; *out is fresh (freed by the caller, also on *n == 0). */
static int read_addrs(__u64 cookie, struct pr_local_key **out, size_t *n)
{
	struct ifaddrs *ifa, *i;
	struct pr_local_key *v;
	size_t cnt = 0;

	*out = NULL;
	*n = 0;
	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i; i = i->ifa_next)
		cnt += i->ifa_addr && (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6);
	v = calloc(cnt ? cnt : 1, sizeof(*v));
	if (!v) {
		freeifaddrs(ifa);
		return -ENOMEM;
	}
	for (i = ifa; i; i = i->ifa_next) {
		struct pr_local_key *k = &v[*n];

		if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
			continue;
		k->netns_cookie = cookie;
		if (i->ifa_addr->sa_family == AF_INET) {
			k->family = PR_AF_INET;
			k->addr.v4 = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
		} else {
			k->family = PR_AF_INET6;
			memcpy(k->addr.b, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		}
		(*n)++;
	}
	freeifaddrs(ifa);
	*out = v;
	return 0;
}

static bool has_key(const struct pr_local_key *v, size_t n, const struct pr_local_key *k)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(&v[i], k, sizeof(*k)) == 0)
			return true;
	return false;
}

/* Make cookie's entries of pr_local_addr exactly keep[0..n): delete the
 * others (collected first: deleting while walking restarts the walk), then
 * add these. */
static int sync_keys(struct pr_ctx *c, __u64 cookie, const struct pr_local_key *keep, size_t n)
{
	struct pr_local_key key, next, *prev = NULL, *stale = NULL, *ns;
	size_t nstale = 0, cap = 0;
	__u8 one = 1;
	int fd, err = 0;

	fd = pr_open_pinned(c, "pr_local_addr");
	if (fd < 0)
		return fd == -ENOENT && !n ? 0 : pr_errf(c, fd, "cannot open %s/pr_local_addr: %s", c->pin_dir,
							 strerror(-fd));
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (key.netns_cookie != cookie || has_key(keep, n, &key))
			continue;
		if (nstale == cap) {
			cap = cap ? cap * 2 : 16;
			ns = realloc(stale, cap * sizeof(*stale));
			if (!ns) {
				err = pr_errf(c, -ENOMEM, "out of memory reading pr_local_addr");
				goto out;
			}
			stale = ns;
		}
		stale[nstale++] = key;
	}
	for (size_t i = 0; i < nstale; i++)
		bpf_map_delete_elem(fd, &stale[i]);
	for (size_t i = 0; i < n && !err; i++)
		if (bpf_map_update_elem(fd, &keep[i], &one, BPF_ANY))
			err = pr_errf(c, -errno, "cannot record local address %zu of %zu in %s/pr_local_addr: %s", i + 1,
				      n, c->pin_dir, strerror(errno));
out:
	free(stale);
	close(fd);
	return err;
}

int pr_local_addrs_sync(struct pr_ctx *c, __u64 cookie)
{
	struct pr_local_key *v;
	size_t n;
	int err;

	err = read_addrs(cookie, &v, &n);
	if (err)
		return pr_errf(c, err, "cannot list this network namespace's addresses: %s", strerror(-err));
	err = sync_keys(c, cookie, v, n);
	free(v);
	return err;
}

int pr_local_addrs_clear(struct pr_ctx *c, __u64 cookie)
{
	return sync_keys(c, cookie, NULL, 0);
}

size_t pr_local_addrs_count(struct pr_ctx *c, __u64 cookie)
{
	struct pr_local_key key, next, *prev = NULL;
	size_t n = 0;
	int fd = pr_open_pinned(c, "pr_local_addr");

	if (fd < 0)
		return 0;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		n += key.netns_cookie == cookie;
	}
	close(fd);
	return n;
}
