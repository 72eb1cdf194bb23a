// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The plugin's hold on portredir's maps: the pin dir opened under its lock, the rules listed, a container's or network's rules removed and the network's interfaces given up after them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cni.h"

const char *cni_pin_dir(const struct cni_req *r)
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

/* Parallel ADDs and DELs of different containers take turns on the pin dir's
 * lock (pr_lock). Absent maps are created under a lock on the pin dir itself
 * taken before they exist: pr_open alone would let two first ADDs both
 * create them, one of them failing. */
int cni_open_locked(const struct cni_req *r, struct pr_ctx *c, bool create, struct cni_err *e)
{
	const char *pin = cni_pin_dir(r);
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

struct pr_rule_meta *cni_rules(struct pr_ctx *c, size_t *n, struct cni_err *e)
{
	struct pr_rule_meta *v = NULL;
	int err = pr_rule_list(c, &v, n);

	if (err) {
		cni_errf(e, CNI_E_DATAPATH, err, "cannot list portredir's rules", "%s", c->err);
		return NULL;
	}
	return v ? v : calloc(1, sizeof(*v));
}

int cni_del_rules(struct cni_req *r, struct pr_ctx *c, const char *prefix,
		  bool (*keep)(const struct cni_req *, const char *), size_t *deleted, struct cni_err *e)
{
	struct pr_rule_meta *v, m;
	size_t i, n = 0, flushed;
	int err, ret = 0;

	if (deleted)
		*deleted = 0;
	if (!(v = cni_rules(c, &n, e)))
		return -EIO;
	for (i = 0; i < n; i++) {
		if (!cni_starts(v[i].name, prefix) || (keep && keep(r, v[i].name)))
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

int cni_settle(struct cni_req *r, struct pr_ctx *c, struct cni_err *e)
{
	struct pr_rule_meta *v;
	bool mine = false, foreign = false;
	size_t i, n = 0;
	int err;

	if (!(v = cni_rules(c, &n, e)))
		return -EIO;
	for (i = 0; i < n; i++) {
		mine |= cni_starts(v[i].name, r->prefix);
		foreign |= !cni_starts(v[i].name, "cni-");
	}
	free(v);
	if (mine)
		return 0;
	err = cni_release(c, r->name, foreign, e);
	return err;
}
