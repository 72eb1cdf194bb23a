// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* portredir monitor's side of the datapath's events: one monitor per pin dir, its lease and filters in pr_mon_ctl, the ring buffer read, and the counts. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "libportredir.h"
#include "internal.h"

#define NSEC 1000000000ULL
#define RENEW_NS (NSEC) /* half the lease: one missed renewal never ends it */

struct pr_monitor {
	struct pr_ctx *c;
	int fd_ctl, fd_cpu, fd_ring, lock_fd;
	struct ring_buffer *rb;
	struct pr_mon_ctl ctl;
	__u64 renew_at;      /* monotonic ns of the next renewal */
	__s64 real_off;      /* realtime - monotonic, for the events' times */
	struct pr_mon_counts base; /* the counts when the monitor started */
	pr_mon_fn fn;
	void *arg;
	int handled;         /* events handed to fn in this poll */
	int cb_err;
};

/* The pinned object name of the pin dir, or -ENOENT when the maps predate the monitor. */
static int open_mon_map(struct pr_ctx *c, const char *name)
{
	int fd = pr_open_pinned(c, name);

	if (fd == -ENOENT)
		return pr_errf(c, -ENOENT,
			       "%s has no monitor maps: they come with this build's first attach (attach an interface again)",
			       c->pin_dir);
	return fd;
}

/* The counts of pr_mon_cpu (fd) summed into out; with fresh, each CPU's
 * rate limit starts afresh too (the last monitor's --rate left it where it
 * was), which only a monitor about to take the lease may do: no event
 * moves the counts meanwhile. */
static int counts_read(struct pr_ctx *c, int fd, struct pr_mon_counts *out, bool fresh)
{
	int ncpu = pr_ncpus();
	struct pr_mon_cpu *v = calloc(ncpu, sizeof(*v));
	__u32 zero = 0;

	memset(out, 0, sizeof(*out));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &zero, v)) {
		free(v);
		return pr_errf(c, -errno, "cannot read %s/pr_mon_cpu: %s", c->pin_dir, strerror(errno));
	}
	for (int i = 0; i < ncpu; i++) {
		out->emitted += v[i].emitted;
		out->dropped += v[i].dropped;
		out->lost += v[i].lost;
		v[i].tat = 0;
	}
	out->present = true;
	if (fresh && bpf_map_update_elem(fd, &zero, v, BPF_EXIST)) {
		free(v);
		return pr_errf(c, -errno, "cannot write %s/pr_mon_cpu: %s", c->pin_dir, strerror(errno));
	}
	free(v);
	return 0;
}

static int counts_of(struct pr_ctx *c, int fd, struct pr_mon_counts *out)
{
	return counts_read(c, fd, out, false);
}

int pr_monitor_counts(struct pr_ctx *c, struct pr_mon_counts *out)
{
	struct pr_mon_ctl ctl = {};
	__u32 zero = 0;
	int fd, err;

	memset(out, 0, sizeof(*out));
	fd = pr_open_pinned(c, "pr_mon_cpu");
	if (fd == -ENOENT)
		return 0; /* maps from before the monitor: nothing was ever emitted */
	if (fd < 0)
		return pr_errf(c, fd, "cannot open %s/pr_mon_cpu: %s", c->pin_dir, strerror(-fd));
	err = counts_of(c, fd, out);
	close(fd);
	if (err)
		return err;
	fd = pr_open_pinned(c, "pr_mon_ctl");
	if (fd >= 0 && bpf_map_lookup_elem(fd, &zero, &ctl) == 0 &&
	    (__s64)(ctl.lease_until - pr_monotonic_ns()) > 0) {
		out->running = true;
		out->pid = ctl.owner;
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

/* The filters of o as the datapath reads them. */
static int ctl_of(struct pr_ctx *c, const struct pr_mon_opts *o, struct pr_mon_ctl *ctl)
{
	__u32 rate = o->rate ? o->rate : PR_MON_RATE_DEFAULT;
	__u32 burst = o->burst ? o->burst : PR_MON_BURST_DEFAULT;

	memset(ctl, 0, sizeof(*ctl));
	if (rate > NSEC)
		return pr_errf(c, -EINVAL, "--rate %u: at most %llu a second", rate, NSEC);
	ctl->interval_ns = NSEC / rate;
	ctl->tolerance_ns = (__u64)(burst - 1) * ctl->interval_ns;
	ctl->rule_id = o->rule_id;
	ctl->events = o->events ? o->events : PR_MON_ALL;
	ctl->owner = (__u32)getpid();
	if (o->addr.family) {
		unsigned int len = o->addr.len;

		ctl->family = o->addr.family;
		for (int w = 0; w < 4; w++) {
			unsigned int bits = len > 32 ? 32 : len;
			__u32 m = bits ? ~0u << (32 - bits) : 0;

			ctl->mask.v6[w] = htonl(m);
			ctl->addr.v6[w] = o->addr.addr.v6[w] & ctl->mask.v6[w];
			len -= bits;
		}
	}
	return 0;
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct pr_monitor *m = ctx;
	const struct pr_mon_event *e = data;

	if (size < sizeof(*e) || m->cb_err)
		return 0;
	m->handled++;
	m->cb_err = m->fn(e, (__u64)((__s64)e->ts_ns + m->real_off), m->arg);
	/* libbpf stops at a negative return only, and leaves the rest on the ring */
	return m->cb_err ? -1 : 0;
}

static int renew(struct pr_monitor *m, __u64 now)
{
	__u32 zero = 0;

	m->ctl.lease_until = now + PR_MON_LEASE_NS;
	if (bpf_map_update_elem(m->fd_ctl, &zero, &m->ctl, BPF_ANY))
		return pr_errf(m->c, -errno, "cannot write %s/pr_mon_ctl: %s", m->c->pin_dir, strerror(errno));
	m->renew_at = now + RENEW_NS;
	return 0;
}

/* One monitor a pin dir: an exclusive flock on PIN/monitor, which a killed
 * monitor leaves with its process. */
static int take_lock(struct pr_monitor *m)
{
	struct pr_ctx *c = m->c;
	struct pr_mon_ctl ctl = {};
	char path[PATH_MAX];
	__u32 zero = 0;

	snprintf(path, sizeof(path), "%s/monitor", c->pin_dir);
	if (mkdir(path, 0700) && errno != EEXIST)
		return pr_errf(c, -errno, "cannot create %s: %s", path, strerror(errno));
	m->lock_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->lock_fd < 0)
		return pr_errf(c, -errno, "cannot open %s: %s", path, strerror(errno));
	if (flock(m->lock_fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK)
		return pr_errf(c, -errno, "cannot lock %s: %s", path, strerror(errno));
	bpf_map_lookup_elem(m->fd_ctl, &zero, &ctl);
	if (ctl.owner)
		return pr_errf(c, -EBUSY, "another monitor (pid %u) is running on %s: one at a time", ctl.owner,
			       c->pin_dir);
	return pr_errf(c, -EBUSY, "another monitor is running on %s: one at a time", c->pin_dir);
}

int pr_monitor_start(struct pr_ctx *c, const struct pr_mon_opts *o, pr_mon_fn fn, void *arg,
		     struct pr_monitor **out)
{
	struct pr_monitor *m = calloc(1, sizeof(*m));
	int err;

	*out = NULL;
	if (!m)
		return pr_errf(c, -ENOMEM, "out of memory");
	m->c = c;
	m->fn = fn;
	m->arg = arg;
	m->fd_ctl = m->fd_cpu = m->fd_ring = m->lock_fd = -1;
	err = ctl_of(c, o, &m->ctl);
	if (err)
		goto fail;
	if ((m->fd_ctl = open_mon_map(c, "pr_mon_ctl")) < 0 || (m->fd_cpu = open_mon_map(c, "pr_mon_cpu")) < 0 ||
	    (m->fd_ring = open_mon_map(c, "pr_mon_ring")) < 0) {
		err = m->fd_ctl < 0 ? m->fd_ctl : m->fd_cpu < 0 ? m->fd_cpu : m->fd_ring;
		goto fail;
	}
	err = take_lock(m);
	if (err)
		goto fail;
	m->rb = ring_buffer__new(m->fd_ring, on_sample, m, NULL);
	if (!m->rb) {
		err = pr_errf(c, -errno, "cannot map %s/pr_mon_ring: %s", c->pin_dir, strerror(errno));
		goto fail;
	}
	/* what a monitor before this one left unread is not ours */
	ring_buffer__consume(m->rb);
	m->handled = 0;
	err = counts_read(c, m->fd_cpu, &m->base, true);
	if (err)
		goto fail;
	m->real_off = (__s64)(pr_realtime_ns() - pr_monotonic_ns());
	err = renew(m, pr_monotonic_ns());
	if (err)
		goto fail;
	*out = m;
	return 0;
fail:
	pr_monitor_stop(m);
	return err;
}

int pr_monitor_poll(struct pr_monitor *m, int timeout_ms)
{
	__u64 now = pr_monotonic_ns();
	int err, wait;

	if (now >= m->renew_at && (err = renew(m, now)))
		return err;
	wait = (int)((m->renew_at - now) / 1000000ULL);
	if (timeout_ms >= 0 && timeout_ms < wait)
		wait = timeout_ms;
	m->handled = 0;
	err = ring_buffer__poll(m->rb, wait);
	if (m->cb_err)
		return m->cb_err;
	if (err < 0)
		return err == -EINTR ? -EINTR : pr_errf(m->c, err, "cannot read %s/pr_mon_ring: %s", m->c->pin_dir,
							 strerror(-err));
	now = pr_monotonic_ns();
	if (now >= m->renew_at && (err = renew(m, now)))
		return err;
	return m->handled;
}

int pr_monitor_session(struct pr_monitor *m, struct pr_mon_counts *out)
{
	int err = counts_of(m->c, m->fd_cpu, out);

	if (err)
		return err;
	out->emitted -= m->base.emitted;
	out->dropped -= m->base.dropped;
	out->lost -= m->base.lost;
	out->running = true;
	out->pid = m->ctl.owner;
	return 0;
}

void pr_monitor_stop(struct pr_monitor *m)
{
	__u32 zero = 0;

	if (!m)
		return;
	if (m->lock_fd >= 0 && m->fd_ctl >= 0 && m->ctl.lease_until) {
		/* the datapath stops at once, not when the lease runs out */
		m->ctl.lease_until = 0;
		bpf_map_update_elem(m->fd_ctl, &zero, &m->ctl, BPF_ANY);
	}
	ring_buffer__free(m->rb);
	if (m->fd_ctl >= 0)
		close(m->fd_ctl);
	if (m->fd_cpu >= 0)
		close(m->fd_cpu);
	if (m->fd_ring >= 0)
		close(m->fd_ring);
	if (m->lock_fd >= 0)
		close(m->lock_fd);
	free(m);
}
