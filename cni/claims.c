// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Which CNI networks hold an interface the plugin attached: directories PIN/cni/if/IFACE/NETWORK, kept with the maps so they go together (docs/design.md, "CNI plugin"). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cni.h"

/* PIN/cni/if[/IFACE[/NETWORK]] */
static void claim_path(const struct pr_ctx *c, const char *ifname, const char *network, char *buf, size_t len)
{
	snprintf(buf, len, "%s/cni/if%s%s%s%s", c->pin_dir, ifname ? "/" : "", ifname ? ifname : "", network ? "/" : "",
		 network ? network : "");
}

static int mkdir_ok(const char *path)
{
	return mkdir(path, 0700) && errno != EEXIST ? -errno : 0;
}

int cni_claim(struct pr_ctx *c, const char *ifname, const char *network)
{
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/cni", c->pin_dir);
	if ((err = mkdir_ok(path)))
		return err;
	claim_path(c, NULL, NULL, path, sizeof(path));
	if ((err = mkdir_ok(path)))
		return err;
	claim_path(c, ifname, NULL, path, sizeof(path));
	if ((err = mkdir_ok(path)))
		return err;
	claim_path(c, ifname, network, path, sizeof(path));
	return mkdir_ok(path);
}

bool cni_claimed(struct pr_ctx *c, const char *ifname)
{
	char path[PATH_MAX];
	struct stat st;

	claim_path(c, ifname, NULL, path, sizeof(path));
	return stat(path, &st) == 0;
}

bool cni_claim_held(struct pr_ctx *c, const char *ifname)
{
	char path[PATH_MAX];
	struct dirent *d;
	bool held = false;
	DIR *dir;

	claim_path(c, ifname, NULL, path, sizeof(path));
	dir = opendir(path);
	if (!dir)
		return false;
	while (!held && (d = readdir(dir)))
		held = d->d_name[0] != '.';
	closedir(dir);
	return held;
}

int cni_claimed_list(struct pr_ctx *c, char (**out)[PR_IFNAME_LEN], size_t *n)
{
	char path[PATH_MAX], (*v)[PR_IFNAME_LEN];
	struct dirent *d;
	DIR *dir;

	*out = NULL;
	*n = 0;
	claim_path(c, NULL, NULL, path, sizeof(path));
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.' || strlen(d->d_name) >= PR_IFNAME_LEN)
			continue;
		v = realloc(*out, (*n + 1) * sizeof(**out));
		if (!v) {
			closedir(dir);
			return -ENOMEM;
		}
		*out = v;
		snprintf(v[(*n)++], PR_IFNAME_LEN, "%s", d->d_name);
	}
	closedir(dir);
	return 0;
}

/* An interface that no network claims any more is detached (when it still
 * exists) and its record removed, unless keep_all: then rules outside the
 * CNI networks may need it, and the empty record lets a later release
 * detach it once they are gone. */
int cni_release(struct pr_ctx *c, const char *network, bool keep_all, struct cni_err *e)
{
	char (*ifs)[PR_IFNAME_LEN] = NULL, path[PATH_MAX];
	size_t i, n = 0;
	int err, ret = 0;

	err = cni_claimed_list(c, &ifs, &n);
	if (err)
		return cni_errf(e, CNI_E_DATAPATH, err, "cannot read the interface records",
				"%s/cni/if: %s", c->pin_dir, strerror(-err));
	for (i = 0; i < n; i++) {
		claim_path(c, ifs[i], network, path, sizeof(path));
		if (rmdir(path) && errno != ENOENT)
			ret = cni_errf(e, CNI_E_DATAPATH, -errno, "cannot drop an interface record", "%s: %s", path,
				       strerror(errno));
		if (keep_all)
			continue;
		claim_path(c, ifs[i], NULL, path, sizeof(path));
		if (rmdir(path))
			continue; /* another network still holds it (ENOTEMPTY) */
		err = pr_detach(c, ifs[i]);
		if (err && err != -ENOENT && err != -ENODEV) {
			ret = cni_errf(e, CNI_E_DATAPATH, err, "cannot detach an interface", "%s", c->err);
			/* keep the record, so a later DEL tries again */
			cni_claim(c, ifs[i], network);
		}
	}
	free(ifs);
	return ret;
}
