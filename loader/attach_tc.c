// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The TC half of an attachment: portredir's ingress and egress filters on a clsact qdisc. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "libportredir.h"
#include "internal.h"
#include "tc.skel.h"

static void tc_hook(__u32 ifindex, enum bpf_tc_attach_point point, struct bpf_tc_hook *h)
{
	memset(h, 0, sizeof(*h));
	h->sz = sizeof(*h);
	h->ifindex = ifindex;
	h->attach_point = point;
}

__u32 pr_tc_live_id(__u32 ifindex, bool egress)
{
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = PR_TC_HANDLE, .priority = PR_TC_PRIO);
	struct bpf_tc_hook h;

	tc_hook(ifindex, egress ? BPF_TC_EGRESS : BPF_TC_INGRESS, &h);
	return bpf_tc_query(&h, &o) ? 0 : o.prog_id;
}

static const char *const tc_names[2] = { "ingress", "egress" };

/* The cache key of this build's TC programs for via_stack. */
static void tc_key(bool via_stack, char key[64])
{
	static char tag[PR_BUILD_TAG_LEN];

	snprintf(key, 64, "tc-%s-s%d", pr_build_tag(tc_bpf__elf_bytes, tag), via_stack);
}

bool pr_tc_current(struct pr_ctx *c, __u32 ifindex, bool via_stack)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	bool same = false;
	char key[64];
	int fds[2];

	tc_key(via_stack, key);
	if (pr_prog_cache_get(c, key, tc_names, 2, fds))
		return false; /* this build never attached here */
	if (bpf_obj_get_info_by_fd(fds[0], &info, &len) == 0 && info.id == pr_tc_live_id(ifindex, false)) {
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		same = bpf_obj_get_info_by_fd(fds[1], &info, &len) == 0 && info.id == pr_tc_live_id(ifindex, true);
	}
	close(fds[0]);
	close(fds[1]);
	return same;
}

/* Our ingress and egress programs for via_stack into fds: from the cache,
 * else loaded (the verifier's part of an attach) and put there. */
static int tc_progs(struct pr_ctx *c, bool via_stack, int fds[2])
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = c->pin_dir);
	struct tc_bpf *skel;
	char key[64];
	int err;

	tc_key(via_stack, key);
	if (pr_prog_cache_get(c, key, tc_names, 2, fds) == 0)
		return 0;
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
	fds[0] = dup(bpf_program__fd(skel->progs.pr_tc_ingress));
	fds[1] = dup(bpf_program__fd(skel->progs.pr_tc_egress));
	if (fds[0] < 0 || fds[1] < 0) {
		err = pr_errf(c, -errno, "cannot keep the TC programs: %s", strerror(errno));
		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		goto out;
	}
	pr_prog_cache_put(c, key, tc_names, 2, fds);
out:
	tc_bpf__destroy(skel);
	return err;
}

int pr_tc_prepare(struct pr_ctx *c, bool via_stack)
{
	int err, fds[2];

	err = tc_progs(c, via_stack, fds);
	if (err)
		return err;
	close(fds[0]);
	close(fds[1]);
	return 0;
}

int pr_tc_attach(struct pr_ctx *c, __u32 ifindex, const char *ifname, struct pr_iface *rec, bool via_stack)
{
	struct bpf_tc_hook h;
	int err, fds[2];

	err = tc_progs(c, via_stack, fds);
	if (err)
		return err;
	tc_hook(ifindex, BPF_TC_INGRESS, &h);
	err = bpf_tc_hook_create(&h);
	if (err == 0)
		rec->flags |= PR_IF_OWN_CLSACT;
	else if (err != -EEXIST) {
		err = pr_errf(c, err, "cannot create clsact qdisc on %s: %s", ifname, strerror(-err));
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_tc_opts, o, .handle = PR_TC_HANDLE, .priority = PR_TC_PRIO,
			    .flags = BPF_TC_F_REPLACE, .prog_fd = fds[i]);

		tc_hook(ifindex, i ? BPF_TC_EGRESS : BPF_TC_INGRESS, &h);
		err = bpf_tc_attach(&h, &o);
		if (err) {
			err = pr_errf(c, err, "cannot attach TC %s on %s: %s", tc_names[i], ifname, strerror(-err));
			goto out;
		}
		if (i)
			rec->tc_eg_prog_id = o.prog_id;
		else
			rec->tc_in_prog_id = o.prog_id;
	}
	err = 0;
out:
	close(fds[0]);
	close(fds[1]);
	return err;
}

/* Remove our filters, then the clsact qdisc if we created it and nobody else
 * has filters on it. */
bool pr_tc_detach(__u32 ifindex, bool own_clsact)
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
