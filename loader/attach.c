// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Attaching and detaching the datapath: XDP through libxdp, TC through clsact, and the records status reads. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "libportredir.h"
#include "internal.h"
#include "tc.skel.h"
#include "xdp.skel.h"

#define PR_XDP_PROG_NAME "pr_xdp"

const char *pr_mode_name(enum pr_mode m)
{
	switch (m) {
	case PR_MODE_NATIVE: return "native";
	case PR_MODE_GENERIC: return "generic";
	case PR_MODE_TC: return "tc";
	default: return "none";
	}
}

static __u64 netns_ino(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : st.st_ino;
}

static void iface_key(struct pr_iface_key *k, __u32 ifindex)
{
	memset(k, 0, sizeof(*k));
	k->netns_ino = netns_ino();
	k->ifindex = ifindex;
}

/* Driver name via ethtool, e.g. "veth"; empty when unknown. */
static void driver_name(const char *ifname, char *drv, size_t len)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = {};
	int fd;

	drv[0] = 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0)
		snprintf(drv, len, "%s", info.driver);
	close(fd);
}

enum pr_mode pr_auto_mode(const char *ifname)
{
	char drv[32];

	driver_name(ifname, drv, sizeof(drv));
	return strcmp(drv, "veth") == 0 ? PR_MODE_TC : PR_MODE_NATIVE;
}

static void tc_hook(__u32 ifindex, enum bpf_tc_attach_point point, struct bpf_tc_hook *h)
{
	memset(h, 0, sizeof(*h));
	h->sz = sizeof(*h);
	h->ifindex = ifindex;
	h->attach_point = point;
}

static __u32 tc_live_id(__u32 ifindex, enum bpf_tc_attach_point point)
{
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = PR_TC_HANDLE, .priority = PR_TC_PRIO);
	struct bpf_tc_hook h;

	tc_hook(ifindex, point, &h);
	return bpf_tc_query(&h, &o) ? 0 : o.prog_id;
}

/* Our program in ifindex's XDP chain (dispatcher or single), or NULL. The
 * caller closes *mp. */
static struct xdp_program *xdp_find_ours(__u32 ifindex, struct xdp_multiprog **mp)
{
	struct xdp_program *p = NULL;

	*mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (libxdp_get_error(*mp)) {
		*mp = NULL;
		return NULL;
	}
	if (xdp_multiprog__is_legacy(*mp)) {
		p = xdp_multiprog__main_prog(*mp);
		if (p && strcmp(xdp_program__name(p), PR_XDP_PROG_NAME) == 0)
			return p;
		return NULL;
	}
	while ((p = xdp_multiprog__next_prog(p, *mp)))
		if (strcmp(xdp_program__name(p), PR_XDP_PROG_NAME) == 0)
			return p;
	return NULL;
}

static __u32 xdp_live_id(__u32 ifindex)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p = xdp_find_ours(ifindex, &mp);
	__u32 id = p ? xdp_program__id(p) : 0;

	xdp_multiprog__close(mp);
	return id;
}

static int xdp_detach_ours(__u32 ifindex)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p = xdp_find_ours(ifindex, &mp);
	int err = -ENOENT;

	if (p)
		err = xdp_program__detach(p, ifindex, xdp_multiprog__attach_mode(mp), 0);
	xdp_multiprog__close(mp);
	return err;
}

static int tc_attach_both(struct pr_ctx *c, __u32 ifindex, const char *ifname,
			  struct pr_iface *rec, bool via_stack)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = c->pin_dir);
	struct bpf_tc_hook h;
	struct tc_bpf *skel;
	int err;

	skel = tc_bpf__open_opts(&oo);
	if (!skel)
		return pr_errf(c, -errno, "cannot open the TC object: %s", strerror(errno));
	skel->rodata->pr_via_stack = via_stack;
	err = pr_obj_reuse_maps(c, skel->obj);
	if (err)
		goto out;
	err = tc_bpf__load(skel);
	if (err) {
		err = pr_errf(c, err, "cannot load the TC programs: %s (run with -v for the verifier log)",
			      strerror(-err));
		goto out;
	}
	tc_hook(ifindex, BPF_TC_INGRESS, &h);
	err = bpf_tc_hook_create(&h);
	if (err == 0)
		rec->flags |= PR_IF_OWN_CLSACT;
	else if (err != -EEXIST) {
		err = pr_errf(c, err, "cannot create clsact qdisc on %s: %s", ifname, strerror(-err));
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		enum bpf_tc_attach_point pt = i ? BPF_TC_EGRESS : BPF_TC_INGRESS;
		struct bpf_program *prog = i ? skel->progs.pr_tc_egress : skel->progs.pr_tc_ingress;
		LIBBPF_OPTS(bpf_tc_opts, o, .handle = PR_TC_HANDLE, .priority = PR_TC_PRIO,
			    .flags = BPF_TC_F_REPLACE, .prog_fd = bpf_program__fd(prog));

		tc_hook(ifindex, pt, &h);
		err = bpf_tc_attach(&h, &o);
		if (err) {
			err = pr_errf(c, err, "cannot attach TC %s on %s: %s", i ? "egress" : "ingress",
				      ifname, strerror(-err));
			goto out;
		}
		if (i)
			rec->tc_eg_prog_id = o.prog_id;
		else
			rec->tc_in_prog_id = o.prog_id;
	}
out:
	tc_bpf__destroy(skel);
	return err;
}

/* Remove our filters, then the clsact qdisc if we created it and nobody else
 * has filters on it. */
static bool tc_detach_both(__u32 ifindex, bool own_clsact)
{
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = PR_TC_HANDLE, .priority = PR_TC_PRIO);
	struct bpf_tc_hook h;
	bool found = false;

	tc_hook(ifindex, BPF_TC_INGRESS, &h);
	found |= bpf_tc_detach(&h, &o) == 0;
	tc_hook(ifindex, BPF_TC_EGRESS, &h);
	found |= bpf_tc_detach(&h, &o) == 0;
	if (own_clsact && pr_tc_foreign_filters(ifindex, false) == 0 &&
	    pr_tc_foreign_filters(ifindex, true) == 0) {
		tc_hook(ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS, &h);
		bpf_tc_hook_destroy(&h);
	}
	return found;
}

static int xdp_attach(struct pr_ctx *c, __u32 ifindex, enum xdp_attach_mode mode, bool via_stack,
		      __u32 *id)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = c->pin_dir);
	struct xdp_program *xp;
	struct xdp_bpf *skel;
	char msg[128];
	int err;

	skel = xdp_bpf__open_opts(&oo);
	if (!skel)
		return pr_errf(c, -errno, "cannot open the XDP object: %s", strerror(errno));
	skel->rodata->pr_via_stack = via_stack;
	err = pr_obj_reuse_maps(c, skel->obj);
	if (err) {
		xdp_bpf__destroy(skel);
		return err;
	}
	xp = xdp_program__from_bpf_obj(skel->obj, "xdp");
	err = libxdp_get_error(xp);
	if (err) {
		xdp_bpf__destroy(skel);
		return pr_errf(c, err, "libxdp cannot use the XDP object: %s", strerror(-err));
	}
	err = xdp_program__attach(xp, ifindex, mode, 0);
	if (err) {
		libxdp_strerror(err, msg, sizeof(msg));
		pr_errf(c, err, "%s", msg);
	} else {
		*id = xdp_program__id(xp);
	}
	xdp_program__close(xp);
	xdp_bpf__destroy(skel);
	return err;
}

/* ifindex of ifname with the pin dir locked, or -errno naming what failed. */
static int iface_begin(struct pr_ctx *c, const char *ifname, __u32 *ifindex)
{
	*ifindex = if_nametoindex(ifname);
	if (!*ifindex)
		return pr_errf(c, -ENODEV, "unknown interface '%s'", ifname);
	return pr_lock(c);
}

bool pr_iface_satisfies(const struct pr_iface *rec, enum pr_mode_req req, __u32 flags, enum pr_mode auto_mode)
{
	bool via = flags & PR_ATTACH_VIA_STACK;

	if (via != !!(rec->flags & PR_IF_VIA_STACK))
		return false;
	switch (req) {
	case PR_REQ_NATIVE: return rec->mode == PR_MODE_NATIVE;
	case PR_REQ_GENERIC: return rec->mode == PR_MODE_GENERIC;
	case PR_REQ_TC: return rec->mode == PR_MODE_TC;
	default:
		/* generic counts when it is what auto fell back to */
		return rec->mode == auto_mode ||
		       (auto_mode == PR_MODE_NATIVE && rec->mode == PR_MODE_GENERIC && (rec->flags & PR_IF_AUTO));
	}
}

int pr_attach(struct pr_ctx *c, const char *ifname, enum pr_mode_req req, __u32 flags,
	      struct pr_attach_result *res)
{
	struct pr_iface_key key;
	struct pr_iface rec = {}, old = {};
	bool via_stack = flags & PR_ATTACH_VIA_STACK, have = false, redo_tc = true, drop_xdp = false;
	bool new_xdp;
	enum pr_mode mode;
	char drv[32];
	__u32 ifindex;
	int err;

	memset(res, 0, sizeof(*res));
	err = iface_begin(c, ifname, &ifindex);
	if (err)
		return err;
	err = pr_ensure_bpffs(c); /* libxdp pins its dispatcher under /sys/fs/bpf/xdp */
	if (err)
		return err;
	driver_name(ifname, drv, sizeof(drv));

	iface_key(&key, ifindex);
	if (bpf_map_lookup_elem(c->fd_ifaces, &key, &old) == 0) {
		bool live = tc_live_id(ifindex, BPF_TC_INGRESS) && tc_live_id(ifindex, BPF_TC_EGRESS) &&
			    (old.mode == PR_MODE_TC || xdp_live_id(ifindex));
		enum pr_mode want = req == PR_REQ_NATIVE ? PR_MODE_NATIVE :
				    req == PR_REQ_GENERIC ? PR_MODE_GENERIC :
				    req == PR_REQ_TC ? PR_MODE_TC : old.mode;

		if (live && !(flags & PR_ATTACH_CHANGE) && want == old.mode &&
		    via_stack == !!(old.flags & PR_IF_VIA_STACK)) {
			res->already = true;
			res->mode = old.mode;
			return 0;
		}
		if (live && !(flags & PR_ATTACH_CHANGE))
			return pr_errf(c, -EBUSY, "'%s' is attached in %s mode%s; detach it first", ifname,
				       pr_mode_name(old.mode),
				       (old.flags & PR_IF_VIA_STACK) ? " with --via-stack" : "");
		if (live) {
			have = true;
		} else {
			/* stale record (the interface was recreated, or someone removed our programs) */
			bpf_map_delete_elem(c->fd_ifaces, &key);
		}
	}
	/* An XDP program of ours without a record (lost pin dir): remove it rather than chain a second. */
	if (!have)
		xdp_detach_ours(ifindex);

	memset(&rec, 0, sizeof(rec));
	snprintf(rec.name, sizeof(rec.name), "%s", ifname);
	switch (req) {
	case PR_REQ_NATIVE: mode = PR_MODE_NATIVE; break;
	case PR_REQ_GENERIC: mode = PR_MODE_GENERIC; break;
	case PR_REQ_TC: mode = PR_MODE_TC; break;
	default:
		rec.flags |= PR_IF_AUTO;
		if (strcmp(drv, "veth") == 0) {
			mode = PR_MODE_TC;
			snprintf(res->why, sizeof(res->why),
				 "veth: XDP would disable GSO on its peer, which cuts TCP bulk throughput; TC keeps it");
		} else if (have && (old.mode == PR_MODE_NATIVE ||
				    (old.mode == PR_MODE_GENERIC && (old.flags & PR_IF_AUTO)))) {
			mode = old.mode; /* native, or the generic auto fell back to before */
		} else {
			mode = PR_MODE_NATIVE;
		}
	}
	if (via_stack)
		rec.flags |= PR_IF_VIA_STACK;
	if (have) {
		/* Changing in place: TC is replaced only for another forwarding,
		 * XDP only for another mode or forwarding, so a change of the
		 * recorded request alone touches no program. */
		rec.flags |= old.flags & PR_IF_OWN_CLSACT;
		rec.tc_in_prog_id = old.tc_in_prog_id;
		rec.tc_eg_prog_id = old.tc_eg_prog_id;
		rec.attached_ns = old.attached_ns;
		redo_tc = via_stack != !!(old.flags & PR_IF_VIA_STACK);
		drop_xdp = old.mode != PR_MODE_TC && (old.mode != mode || redo_tc);
		if (old.mode == mode && !drop_xdp)
			rec.xdp_prog_id = old.xdp_prog_id;
	}
	new_xdp = mode != PR_MODE_TC && (!have || old.mode == PR_MODE_TC || drop_xdp);

	/* TC first: XDP hands it every packet whose checksum it cannot trust,
	 * and while XDP is swapped TC alone carries the interface. */
	if (redo_tc) {
		err = tc_attach_both(c, ifindex, ifname, &rec, via_stack);
		if (err)
			goto undo;
	}
	if (drop_xdp)
		xdp_detach_ours(ifindex);
	if (new_xdp) {
		err = xdp_attach(c, ifindex, mode == PR_MODE_NATIVE ? XDP_MODE_NATIVE : XDP_MODE_SKB,
				 via_stack, &rec.xdp_prog_id);
		if (err && req == PR_REQ_AUTO && mode == PR_MODE_NATIVE) {
			snprintf(res->why, sizeof(res->why), "native XDP failed on %s (%.100s), using generic", ifname, c->err);
			res->fell_back = true;
			mode = PR_MODE_GENERIC;
			err = xdp_attach(c, ifindex, XDP_MODE_SKB, via_stack, &rec.xdp_prog_id);
		}
		if (err) {
			char why[PR_ERR_LEN];

			snprintf(why, sizeof(why), "%s", c->err);
			if (have) {
				/* TC still runs: record what is there rather than cut the interface */
				rec.mode = PR_MODE_TC;
				rec.xdp_prog_id = 0;
				rec.flags &= ~(PR_IF_XDP_TX | PR_IF_AUTO);
				bpf_map_delete_elem(c->fd_tx, &ifindex);
				bpf_map_update_elem(c->fd_ifaces, &key, &rec, BPF_ANY);
				return pr_errf(c, err, "cannot attach XDP (%s) to %s: %.200s; %s keeps running in tc mode",
					       pr_mode_name(mode), ifname, why, ifname);
			}
			pr_errf(c, err, "cannot attach XDP (%s) to %s: %.200s", pr_mode_name(mode), ifname, why);
			goto undo;
		}
	}
	/* Redirect only to devices known to take XDP frames; a veth needs NAPI
	 * on its far end, which we cannot see from here. */
	if (mode == PR_MODE_NATIVE && strcmp(drv, "veth") != 0 &&
	    bpf_map_update_elem(c->fd_tx, &ifindex, &ifindex, BPF_ANY) == 0)
		rec.flags |= PR_IF_XDP_TX;
	else if (have && (old.flags & PR_IF_XDP_TX))
		bpf_map_delete_elem(c->fd_tx, &ifindex);

	rec.mode = mode;
	if (!rec.attached_ns)
		rec.attached_ns = pr_realtime_ns();
	if (bpf_map_update_elem(c->fd_ifaces, &key, &rec, BPF_ANY)) {
		err = pr_errf(c, -errno, "cannot record the attachment of %s: %s", ifname, strerror(errno));
		if (have)
			return err; /* the programs are right; only the record is behind */
		goto undo;
	}
	res->mode = mode;
	return 0;
undo:
	if (have)
		return err; /* tc_attach_both failed: the old filters stay as they were */
	xdp_detach_ours(ifindex);
	tc_detach_both(ifindex, rec.flags & PR_IF_OWN_CLSACT);
	bpf_map_delete_elem(c->fd_tx, &ifindex);
	return err;
}

/* Remove what portredir has on ifindex and its record; whether anything was there. */
static bool detach_index(struct pr_ctx *c, __u32 ifindex)
{
	struct pr_iface_key key;
	struct pr_iface rec = {};
	bool have_rec, found = false;

	iface_key(&key, ifindex);
	have_rec = bpf_map_lookup_elem(c->fd_ifaces, &key, &rec) == 0;
	found |= xdp_detach_ours(ifindex) == 0;
	found |= tc_detach_both(ifindex, have_rec && (rec.flags & PR_IF_OWN_CLSACT));
	bpf_map_delete_elem(c->fd_tx, &ifindex);
	bpf_map_delete_elem(c->fd_ifaces, &key);
	return found || have_rec;
}

int pr_detach_index(struct pr_ctx *c, __u32 ifindex)
{
	int err = pr_lock(c);

	if (err)
		return err;
	detach_index(c, ifindex);
	return 0;
}

int pr_detach(struct pr_ctx *c, const char *ifname)
{
	__u32 ifindex;
	int err;

	err = iface_begin(c, ifname, &ifindex);
	if (err)
		return err;
	if (!detach_index(c, ifindex))
		return pr_errf(c, -ENOENT, "portredir is not attached to '%s'", ifname);
	return 0;
}

int pr_detach_all(struct pr_ctx *c, struct pr_iface_status **out, size_t *n)
{
	struct pr_iface_status *v = NULL;
	size_t cnt = 0;
	int err;

	*out = NULL;
	*n = 0;
	err = pr_lock(c);
	if (!err)
		err = pr_iface_list(c, &v, &cnt);
	if (err)
		return err;
	for (size_t i = 0; i < cnt; i++) {
		/* also for an interface that is gone (its record goes) or renamed */
		detach_index(c, v[i].ifindex);
		*n = i + 1;
	}
	*out = v;
	return 0;
}

int pr_iface_list(struct pr_ctx *c, struct pr_iface_status **out, size_t *n)
{
	struct pr_iface_key key, next, *prev = NULL;
	struct pr_iface_status *v = NULL, *nv;
	__u64 ino = netns_ino();
	size_t cap = 0;
	char name[IF_NAMESIZE];

	*n = 0;
	while (bpf_map_get_next_key(c->fd_ifaces, prev, &next) == 0) {
		struct pr_iface_status *s;

		key = next;
		prev = &key;
		if (key.netns_ino != ino)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return pr_errf(c, -ENOMEM, "out of memory listing interfaces");
			}
			v = nv;
		}
		s = &v[*n];
		memset(s, 0, sizeof(*s));
		if (bpf_map_lookup_elem(c->fd_ifaces, &key, &s->rec))
			continue;
		s->ifindex = key.ifindex;
		s->present = if_indextoname(key.ifindex, name) && strcmp(name, s->rec.name) == 0;
		if (s->present) {
			s->live_xdp_id = s->rec.mode == PR_MODE_TC ? 0 : xdp_live_id(key.ifindex);
			s->live_tc_in_id = tc_live_id(key.ifindex, BPF_TC_INGRESS);
			s->live_tc_eg_id = tc_live_id(key.ifindex, BPF_TC_EGRESS);
		}
		(*n)++;
	}
	*out = v;
	return 0;
}

int pr_tx_allow(struct pr_ctx *c, __u32 ifindex, bool allow)
{
	if (allow ? bpf_map_update_elem(c->fd_tx, &ifindex, &ifindex, BPF_ANY) :
		    bpf_map_delete_elem(c->fd_tx, &ifindex))
		return pr_errf(c, -errno, "cannot update pr_tx for ifindex %u: %s", ifindex, strerror(errno));
	return 0;
}
