// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Whether a device's NAPI is threaded (/sys/class/net/DEV/threaded), read in the caller's network namespace: native XDP on such a veth loses what its ring cannot hold (docs/design.md, "Threaded NAPI on veth"). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
#include "libportredir.h"
#include "internal.h"

enum { NAPI_OFF, NAPI_THREADED, NAPI_NO_FILE, NAPI_NO_SYSFS };

/* The child: a mount namespace of its own with a sysfs of the caller's
 * network namespace on /sys (what `ip netns exec` makes: the /sys a process
 * inherits shows the devices of the namespace that mounted it, which after
 * `nsenter --net` is another one). Only syscalls: it may be forked from a
 * threaded process. */
static int napi_child(const char *ifname)
{
	char path[64], v = 0;
	int fd;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) ||
	    mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		return NAPI_NO_SYSFS;
	snprintf(path, sizeof(path), "/sys/class/net/%s/threaded", ifname);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NAPI_NO_FILE;
	if (read(fd, &v, 1) != 1)
		v = 0;
	close(fd);
	/* "0" is softirq NAPI; 1 threaded, 2 threaded busy polling (6.17+) */
	return v >= '1' && v <= '9' ? NAPI_THREADED : NAPI_OFF;
}

int pr_napi_threaded(const char *ifname)
{
	int st;
	pid_t pid;

	if (strlen(ifname) >= 16 || strchr(ifname, '/'))
		return -EINVAL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(napi_child(ifname));
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(st))
		return -ECHILD;
	switch (WEXITSTATUS(st)) {
	case NAPI_OFF: return 0;
	case NAPI_THREADED: return 1;
	case NAPI_NO_FILE: return -ENOENT;
	default: return -EPERM;
	}
}
