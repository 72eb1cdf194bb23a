// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The XDP half of an attachment, through libxdp: finding our program in an interface's chain, attaching and detaching it. */
#include <errno.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "libportredir.h"
#include "internal.h"
#include "xdp.skel.h"

#define PR_XDP_PROG_NAME "pr_xdp"

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

__u32 pr_xdp_live_id(__u32 ifindex)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p = xdp_find_ours(ifindex, &mp);
	__u32 id = p ? xdp_program__id(p) : 0;

	xdp_multiprog__close(mp);
	return id;
}

int pr_xdp_detach(__u32 ifindex)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p = xdp_find_ours(ifindex, &mp);
	int err = -ENOENT;

	if (p)
		err = xdp_program__detach(p, ifindex, xdp_multiprog__attach_mode(mp), 0);
	xdp_multiprog__close(mp);
	return err;
}

int pr_xdp_attach(struct pr_ctx *c, __u32 ifindex, enum pr_mode mode, bool via_stack, __u32 *id)
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
	/* the namespace whose pr_vxmit slots this program may redirect by */
	skel->rodata->pr_xdp_netns = pr_netns_ino();
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
	err = xdp_program__attach(xp, ifindex, mode == PR_MODE_NATIVE ? XDP_MODE_NATIVE : XDP_MODE_SKB, 0);
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
