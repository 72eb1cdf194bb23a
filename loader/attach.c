// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Attaching and detaching an interface: the mode auto picks, the steps of an attach (TC, then XDP, then the record) and undoing them, detach. */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "libportredir.h"
#include "internal.h"

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

/* ifindex of ifname with the pin dir locked, or -errno naming what failed. */
static int iface_begin(struct pr_ctx *c, const char *ifname, __u32 *ifindex)
{
	*ifindex = if_nametoindex(ifname);
	if (!*ifindex)
		return pr_errf(c, -ENODEV, "unknown interface '%s'", ifname);
	return pr_lock(c);
}

/* One attach: what is there, and what it will be. */
struct attach_plan {
	struct pr_iface_key key;
	struct pr_iface old;  /* the record there was (valid with have) */
	struct pr_iface rec;  /* the record to write */
	__u32 ifindex;
	enum pr_mode mode;
	char drv[32];
	bool via_stack;
	bool threaded_ok; /* PR_ATTACH_THREADED_OK */
	bool have;     /* a live attachment, changed in place */
	bool upgrade;  /* what it asks for, by another build's programs */
	bool redo_tc;  /* (re)attach the TC programs */
	bool drop_xdp; /* detach the XDP program there is */
	bool new_xdp;  /* attach an XDP program */
};

/* Look up a->ifindex's record. res->already when it is live and what (req,
 * flags) asks for; -EBUSY when it is live and flags lack PR_ATTACH_CHANGE;
 * a->have when it is live and to be changed. A stale record is deleted. */
static int find_record(struct pr_ctx *c, const char *ifname, enum pr_mode_req req, __u32 flags,
		       struct attach_plan *a, struct pr_attach_result *res)
{
	const struct pr_iface *old = &a->old;
	enum pr_mode want;
	bool live;

	pr_iface_key_of(&a->key, a->ifindex);
	if (bpf_map_lookup_elem(c->fd_ifaces, &a->key, &a->old))
		return 0;
	live = pr_tc_live_id(a->ifindex, false) && pr_tc_live_id(a->ifindex, true) &&
	       (old->mode == PR_MODE_TC || pr_xdp_live_id(a->ifindex));
	want = req == PR_REQ_NATIVE ? PR_MODE_NATIVE :
	       req == PR_REQ_GENERIC ? PR_MODE_GENERIC :
	       req == PR_REQ_TC ? PR_MODE_TC : old->mode;
	if (live && want == old->mode && a->via_stack == !!(old->flags & PR_IF_VIA_STACK) &&
	    !pr_tc_current(c, a->ifindex, a->via_stack)) {
		/* another build's programs: replaced in place, TC atomically */
		a->have = a->upgrade = res->upgraded = true;
		return 0;
	}
	if (live && !(flags & PR_ATTACH_CHANGE) && want == old->mode &&
	    a->via_stack == !!(old->flags & PR_IF_VIA_STACK)) {
		res->already = true;
		res->mode = old->mode;
		/* --allow-threaded-napi given again is recorded, so save keeps it */
		if ((flags & PR_ATTACH_THREADED_OK) && !(old->flags & PR_IF_THREADED_OK)) {
			a->old.flags |= PR_IF_THREADED_OK;
			bpf_map_update_elem(c->fd_ifaces, &a->key, &a->old, BPF_ANY);
		}
		return 0;
	}
	if (live && !(flags & PR_ATTACH_CHANGE))
		return pr_errf(c, -EBUSY, "'%s' is attached in %s mode%s; detach it first", ifname,
			       pr_mode_name(old->mode),
			       (old->flags & PR_IF_VIA_STACK) ? " with --via-stack" : "");
	if (live) {
		a->have = true;
	} else {
		/* stale record (the interface was recreated, or someone removed our programs) */
		bpf_map_delete_elem(c->fd_ifaces, &a->key);
	}
	return 0;
}

/* The mode (auto: TC on a veth, else native, or what an attachment changed
 * in place had), the record to write and which programs change. */
static void plan_attach(const char *ifname, enum pr_mode_req req, struct attach_plan *a,
			struct pr_attach_result *res)
{
	const struct pr_iface *old = &a->old;
	struct pr_iface *rec = &a->rec;

	memset(rec, 0, sizeof(*rec));
	snprintf(rec->name, sizeof(rec->name), "%s", ifname);
	switch (req) {
	case PR_REQ_NATIVE: a->mode = PR_MODE_NATIVE; break;
	case PR_REQ_GENERIC: a->mode = PR_MODE_GENERIC; break;
	case PR_REQ_TC: a->mode = PR_MODE_TC; break;
	default:
		rec->flags |= PR_IF_AUTO;
		if (strcmp(a->drv, "veth") == 0) {
			a->mode = PR_MODE_TC;
			snprintf(res->why, sizeof(res->why),
				 "veth: XDP would disable GSO on its peer, which cuts TCP bulk throughput; TC keeps it");
		} else if (a->have && (old->mode == PR_MODE_NATIVE ||
				       (old->mode == PR_MODE_GENERIC && (old->flags & PR_IF_AUTO)))) {
			a->mode = old->mode; /* native, or the generic auto fell back to before */
		} else {
			a->mode = PR_MODE_NATIVE;
		}
	}
	if (a->via_stack)
		rec->flags |= PR_IF_VIA_STACK;
	if (a->threaded_ok)
		rec->flags |= PR_IF_THREADED_OK;
	if (a->have) {
		/* Changing in place: TC is replaced only for another forwarding,
		 * XDP only for another mode or forwarding, so a change of the
		 * recorded request alone touches no program. */
		rec->flags |= old->flags & PR_IF_OWN_CLSACT;
		rec->tc_in_prog_id = old->tc_in_prog_id;
		rec->tc_eg_prog_id = old->tc_eg_prog_id;
		rec->attached_ns = old->attached_ns;
		a->redo_tc = a->upgrade || a->via_stack != !!(old->flags & PR_IF_VIA_STACK);
		a->drop_xdp = old->mode != PR_MODE_TC && (old->mode != a->mode || a->redo_tc);
		if (old->mode == a->mode && !a->drop_xdp)
			rec->xdp_prog_id = old->xdp_prog_id;
	}
	a->new_xdp = a->mode != PR_MODE_TC && (!a->have || old->mode == PR_MODE_TC || a->drop_xdp);
}

/* XDP in a->mode; under auto, generic when native fails. When XDP fails on
 * an attachment changed in place, TC still runs: its record says tc mode. */
static int attach_xdp(struct pr_ctx *c, const char *ifname, enum pr_mode_req req, struct attach_plan *a,
		      struct pr_attach_result *res)
{
	char why[PR_ERR_LEN];
	int err;

	err = pr_xdp_attach(c, a->ifindex, a->mode, a->via_stack, &a->rec.xdp_prog_id);
	if (err && req == PR_REQ_AUTO && a->mode == PR_MODE_NATIVE) {
		snprintf(res->why, sizeof(res->why), "native XDP failed on %s (%.100s), using generic", ifname, c->err);
		res->fell_back = true;
		a->mode = PR_MODE_GENERIC;
		err = pr_xdp_attach(c, a->ifindex, PR_MODE_GENERIC, a->via_stack, &a->rec.xdp_prog_id);
	}
	if (!err)
		return 0;
	snprintf(why, sizeof(why), "%s", c->err);
	if (!a->have) {
		pr_errf(c, err, "cannot attach XDP (%s) to %s: %.200s", pr_mode_name(a->mode), ifname, why);
		return err;
	}
	/* TC still runs: record what is there rather than cut the interface */
	a->rec.mode = PR_MODE_TC;
	a->rec.xdp_prog_id = 0;
	a->rec.flags &= ~(PR_IF_XDP_TX | PR_IF_AUTO);
	bpf_map_delete_elem(c->fd_tx, &a->ifindex);
	bpf_map_update_elem(c->fd_ifaces, &a->key, &a->rec, BPF_ANY);
	return pr_errf(c, err, "cannot attach XDP (%s) to %s: %.200s; %s keeps running in tc mode",
		       pr_mode_name(a->mode), ifname, why, ifname);
}

/* Native XDP puts a veth's receive side on NAPI with a 256-frame ring. A
 * softirq NAPI drains it on the sender's CPU as it fills; a threaded one
 * runs when the scheduler lets it, and the frames a burst sends past 256
 * until then are dropped (docs/design.md, "Threaded NAPI on veth"). So
 * that is refused, before anything changes, rather than done silently. */
static int native_veth_ok(struct pr_ctx *c, const char *ifname, const struct attach_plan *a)
{
	if (!a->new_xdp || a->mode != PR_MODE_NATIVE || a->threaded_ok || strcmp(a->drv, "veth") ||
	    pr_napi_threaded(ifname) != 1)
		return 0;
	return pr_errf(c, -EOPNOTSUPP,
		       "%s is a veth with threaded NAPI (/sys/class/net/%s/threaded is not 0): under native XDP its "
		       "256-frame ring drops every frame of a burst its NAPI thread has not yet taken; attach with "
		       "--mode tc (what auto picks on veth) or generic, write 0 to threaded first, or give "
		       "--allow-threaded-napi when the NAPI thread has a CPU of its own",
		       ifname, ifname);
}

/* The redirect entry and the record of the attachment a made. */
static int record(struct pr_ctx *c, const char *ifname, struct attach_plan *a)
{
	/* Redirect only to devices known to take XDP frames; a veth needs NAPI
	 * on its far end, which can come and go: pr_vxmit follows that (vxmit.c). */
	if (a->mode == PR_MODE_NATIVE && strcmp(a->drv, "veth") != 0 &&
	    bpf_map_update_elem(c->fd_tx, &a->ifindex, &a->ifindex, BPF_ANY) == 0)
		a->rec.flags |= PR_IF_XDP_TX;
	else if (a->have && (a->old.flags & PR_IF_XDP_TX))
		bpf_map_delete_elem(c->fd_tx, &a->ifindex);

	a->rec.mode = a->mode;
	if (!a->rec.attached_ns)
		a->rec.attached_ns = pr_realtime_ns();
	if (bpf_map_update_elem(c->fd_ifaces, &a->key, &a->rec, BPF_ANY))
		return pr_errf(c, -errno, "cannot record the attachment of %s: %s", ifname, strerror(errno));
	return 0;
}

/* The socket hooks for local clients, as an attach brings them; c->err
 * restored, so an attach's caller sees only its own error there. */
static int local_hooks(struct pr_ctx *c, struct pr_attach_result *res)
{
	char saved[PR_ERR_LEN];
	bool already;
	int err;

	memcpy(saved, c->err, sizeof(saved));
	err = pr_local_attach(c, false, &already);
	if (err)
		snprintf(res->local_err, sizeof(res->local_err), "%s", c->err);
	memcpy(c->err, saved, sizeof(saved));
	return err;
}

int pr_attach(struct pr_ctx *c, const char *ifname, enum pr_mode_req req, __u32 flags,
	      struct pr_attach_result *res)
{
	struct attach_plan a = { .via_stack = flags & PR_ATTACH_VIA_STACK, .threaded_ok = flags & PR_ATTACH_THREADED_OK,
				 .redo_tc = true };
	int err;

	memset(res, 0, sizeof(*res));
	err = iface_begin(c, ifname, &a.ifindex);
	if (err)
		return err;
	err = pr_ensure_bpffs(c); /* libxdp pins its dispatcher under /sys/fs/bpf/xdp */
	if (err)
		return err;
	driver_name(ifname, a.drv, sizeof(a.drv));
	err = find_record(c, ifname, req, flags, &a, res);
	if (err)
		return err;
	if (res->already)
		goto local;
	/* An XDP program of ours without a record (lost pin dir): remove it rather than chain a second. */
	if (!a.have)
		pr_xdp_detach(a.ifindex);
	plan_attach(ifname, req, &a, res);
	err = native_veth_ok(c, ifname, &a);
	if (err)
		return err;

	/* TC first: XDP hands it every packet whose checksum it cannot trust,
	 * and while XDP is swapped TC alone carries the interface. */
	if (a.redo_tc) {
		err = pr_tc_attach(c, a.ifindex, ifname, &a.rec, a.via_stack);
		if (err)
			goto undo;
	}
	if (a.drop_xdp)
		pr_xdp_detach(a.ifindex);
	if (a.new_xdp) {
		err = attach_xdp(c, ifname, req, &a, res);
		if (err)
			goto undo;
	}
	err = record(c, ifname, &a);
	if (err)
		goto undo;
	res->mode = a.mode;
local:
	/* after the record, so this interface's addresses are among them */
	err = pr_ifaddr_refresh(c);
	if (!err)
		err = pr_peer_refresh(c);
	if (err)
		return err;
	/* local clients come with the namespace's first interface; without
	 * them the interface still works, so their failure is reported apart */
	if (local_hooks(c, res))
		res->local_failed = true;
	return 0;
undo:
	/* Changed in place: a failed TC attach left the old filters as they
	 * were, a failed XDP attach left TC running and recorded, and a failed
	 * record leaves the programs right and only the record behind. */
	if (a.have)
		return err;
	pr_xdp_detach(a.ifindex);
	pr_tc_detach(a.ifindex, a.rec.flags & PR_IF_OWN_CLSACT);
	bpf_map_delete_elem(c->fd_tx, &a.ifindex);
	return err;
}

/* Remove what portredir has on ifindex and its record; whether anything was there. */
static bool detach_index(struct pr_ctx *c, __u32 ifindex)
{
	struct pr_iface_key key;
	struct pr_iface rec = {};
	bool have_rec, found = false;

	pr_iface_key_of(&key, ifindex);
	have_rec = bpf_map_lookup_elem(c->fd_ifaces, &key, &rec) == 0;
	found |= pr_xdp_detach(ifindex) == 0;
	found |= pr_tc_detach(ifindex, have_rec && (rec.flags & PR_IF_OWN_CLSACT));
	bpf_map_delete_elem(c->fd_tx, &ifindex);
	bpf_map_delete_elem(c->fd_ifaces, &key);
	bpf_map_delete_elem(c->fd_ifaddr, &ifindex);
	return found || have_rec;
}

int pr_detach_index(struct pr_ctx *c, __u32 ifindex)
{
	int err = pr_lock(c);

	if (err)
		return err;
	detach_index(c, ifindex);
	pr_vxmit_release(c);
	return pr_local_release(c);
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
	pr_vxmit_release(c);
	return pr_local_release(c);
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
	pr_vxmit_release(c);
	return pr_local_remove(c); /* local clients too, even with attach --local */
}

