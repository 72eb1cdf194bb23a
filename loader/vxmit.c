// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* pr_vxmit: the veths of this network namespace XDP may redirect into, armed at attach and apply from the netdev generic netlink family's xdp-features, and the tracepoint programs (bpf/vxmit.bpf.c) that turn a veth off at its first refused frame, pinned as links under PIN/vxmit. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "libportredir.h"
#include "internal.h"
#include "vxmit.skel.h"

/* <linux/netdev.h>, Linux 6.3 (Debian 12's UAPI headers are 6.1's) */
#define PR_NETDEV_FAMILY "netdev"
#define PR_NETDEV_CMD_DEV_GET 1
#define PR_NETDEV_A_DEV_IFINDEX 1
#define PR_NETDEV_A_DEV_XDP_FEATURES 3
#define PR_NETDEV_XDP_ACT_NDO_XMIT 4

/* Each program of bpf/vxmit.bpf.c and the tracepoint it runs on (its BTF
 * name); both are older than the netdev family that arming needs. */
static const struct vx_prog {
	const char *prog;
	const char *btf_name;
	__u32 kind;
	bool required;
} vx_progs[] = {
	{ "pr_vx_redir_err", "btf_trace_xdp_redirect_err", BTF_KIND_TYPEDEF, true },
	{ "pr_vx_xmit_err", "btf_trace_xdp_devmap_xmit", BTF_KIND_TYPEDEF, true },
};
#define VX_NPROGS (sizeof(vx_progs) / sizeof(vx_progs[0]))

static const struct nlattr *nla_find(const void *p, int len, __u16 type)
{
	const struct nlattr *a = p;

	while (len >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= len) {
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a;
		len -= NLA_ALIGN(a->nla_len);
		a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
	return NULL;
}

struct genl_ans {
	__u16 type; /* the message type the answer must have */
	__u16 attr;
	__u8 val[8];
	__u16 len;
};

/* One attribute of a generic netlink answer, copied out. */
static void genl_attr(const struct nlmsghdr *nh, void *arg)
{
	struct genl_ans *g = arg;
	int len = (int)nh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	const struct nlattr *a;

	if (nh->nlmsg_type != g->type || len < 0)
		return;
	a = nla_find((const char *)NLMSG_DATA(nh) + GENL_HDRLEN, len, g->attr);
	if (!a)
		return;
	g->len = a->nla_len - NLA_HDRLEN;
	if (g->len > sizeof(g->val))
		g->len = sizeof(g->val);
	memcpy(g->val, (const char *)a + NLA_HDRLEN, g->len);
}

/* The netdev family's id: 0, -ENOENT where the kernel has none (before
 * 6.3), or another -errno. */
static int netdev_family(__u16 *id)
{
	struct {
		struct nlmsghdr nh;
		struct genlmsghdr g;
		struct nlattr a;
		char name[8];
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = GENL_ID_CTRL, .nlmsg_flags = NLM_F_REQUEST },
		.g = { .cmd = CTRL_CMD_GETFAMILY, .version = 1 },
		.a = { .nla_len = NLA_HDRLEN + sizeof(PR_NETDEV_FAMILY), .nla_type = CTRL_ATTR_FAMILY_NAME },
		.name = PR_NETDEV_FAMILY,
	};
	struct genl_ans g = { .type = GENL_ID_CTRL, .attr = CTRL_ATTR_FAMILY_ID };
	int err = pr_nl_talk_proto(NETLINK_GENERIC, &req.nh, genl_attr, &g);

	if (err)
		return err;
	if (g.len != sizeof(*id))
		return -ENOENT;
	memcpy(id, g.val, sizeof(*id));
	return 0;
}

/* Whether the kernel says ifindex (of the caller's namespace) takes XDP
 * frames through ndo_xdp_xmit now: 1, 0, or -errno. */
static int netdev_ndo_xmit(__u16 family, __u32 ifindex)
{
	struct {
		struct nlmsghdr nh;
		struct genlmsghdr g;
		struct nlattr a;
		__u32 ifindex;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = family, .nlmsg_flags = NLM_F_REQUEST },
		.g = { .cmd = PR_NETDEV_CMD_DEV_GET, .version = 1 },
		.a = { .nla_len = NLA_HDRLEN + sizeof(__u32), .nla_type = PR_NETDEV_A_DEV_IFINDEX },
		.ifindex = ifindex,
	};
	struct genl_ans g = { .type = family, .attr = PR_NETDEV_A_DEV_XDP_FEATURES };
	__u64 feat = 0;
	int err = pr_nl_talk_proto(NETLINK_GENERIC, &req.nh, genl_attr, &g);

	if (err)
		return err;
	if (g.len != sizeof(feat))
		return -ENODATA;
	memcpy(&feat, g.val, sizeof(feat));
	return !!(feat & PR_NETDEV_XDP_ACT_NDO_XMIT);
}

/* Which programs this kernel has a target for (want[i]); 0, or -ENOENT
 * naming the missing required target in *missing. */
static int vx_wanted(bool *want, const char **missing)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int err = 0;

	*missing = NULL;
	if (!btf) {
		*missing = "/sys/kernel/btf/vmlinux";
		return -ENOENT;
	}
	for (size_t i = 0; i < VX_NPROGS; i++) {
		want[i] = btf__find_by_name_kind(btf, vx_progs[i].btf_name, vx_progs[i].kind) > 0;
		if (!want[i] && vx_progs[i].required && !err) {
			*missing = vx_progs[i].btf_name;
			err = -ENOENT;
		}
	}
	btf__free(btf);
	return err;
}

static void link_path(const struct pr_ctx *c, const char *prog, char *buf, size_t len)
{
	snprintf(buf, len, "%s/vxmit/%s", c->pin_dir, prog);
}

struct vx_bound {
	__u32 want_id;
	bool found;
};

static bool vx_map_is(struct pr_ctx *c, __u32 id, const char *name, void *arg)
{
	struct vx_bound *b = arg;

	if (!strcmp(name, "pr_vxmit"))
		b->found |= id == b->want_id;
	return true;
}

/* Whether every wanted program is pinned as a link under PIN/vxmit and
 * writes the pr_vxmit pinned now (map_fd's): a link of a pin dir whose map
 * was made again since would guard a map nobody reads. */
static bool vx_links_live(struct pr_ctx *c, const bool *want, int map_fd)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < VX_NPROGS; i++) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);
		struct vx_bound b = { .want_id = pr_fd_id(map_fd) };
		int fd, pfd;

		if (!want[i])
			continue;
		link_path(c, vx_progs[i].prog, path, sizeof(path));
		fd = bpf_obj_get(path);
		if (fd < 0)
			return false;
		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			close(fd);
			return false;
		}
		close(fd);
		pfd = bpf_prog_get_fd_by_id(info.prog_id);
		if (pfd < 0)
			return false;
		pr_prog_maps_each(c, pfd, vx_map_is, &b);
		close(pfd);
		if (!b.found)
			return false;
	}
	return true;
}

static void vx_unpin(struct pr_ctx *c)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < VX_NPROGS; i++) {
		link_path(c, vx_progs[i].prog, path, sizeof(path));
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/vxmit", c->pin_dir);
	rmdir(path);
}

/* Every slot's ok cleared, whichever namespace armed it: while the
 * programs are swapped nothing guards a stale yes, and no slot may say yes
 * then. Each namespace's next refresh arms its own again. */
static void vx_clear_all_ok(int map_fd)
{
	struct pr_vxmit *v = calloc(PR_PEERS, sizeof(*v));

	if (!v)
		return;
	if (!pr_array_read(map_fd, sizeof(*v), v, PR_PEERS))
		for (__u32 k = 0; k < PR_PEERS; k++)
			if (v[k].ok) {
				v[k].ok = 0;
				bpf_map_update_elem(map_fd, &k, &v[k], BPF_ANY);
			}
	free(v);
}

/* Load the wanted programs, attach them and pin their links. */
static int vx_load(struct pr_ctx *c, const bool *want)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = c->pin_dir);
	struct vxmit_bpf *skel;
	char path[PATH_MAX];
	int err;

	skel = vxmit_bpf__open_opts(&oo);
	if (!skel)
		return pr_errf(c, -errno, "cannot open the veth guard object: %s", strerror(errno));
	for (size_t i = 0; i < VX_NPROGS; i++)
		bpf_program__set_autoload(bpf_object__find_program_by_name(skel->obj, vx_progs[i].prog), want[i]);
	err = pr_obj_reuse_maps(c, skel->obj);
	if (err)
		goto out;
	err = vxmit_bpf__load(skel);
	if (err) {
		err = pr_errf(c, err, "cannot load the veth guard programs (bpf/vxmit.bpf.c): %s", strerror(-err));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/vxmit", c->pin_dir);
	if (mkdir(path, 0700) && errno != EEXIST) {
		err = pr_errf(c, -errno, "cannot create %s: %s", path, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < VX_NPROGS && !err; i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(skel->obj, vx_progs[i].prog);
		struct bpf_link *l;

		if (!want[i])
			continue;
		l = bpf_program__attach(p);
		err = libbpf_get_error(l);
		if (err) {
			err = pr_errf(c, err, "cannot attach %s to %s: %s", vx_progs[i].prog, vx_progs[i].btf_name,
				      strerror(-err));
			break;
		}
		link_path(c, vx_progs[i].prog, path, sizeof(path));
		err = bpf_link__pin(l, path);
		if (err)
			err = pr_errf(c, err, "cannot pin %s: %s", path, strerror(-err));
		bpf_link__destroy(l); /* the pin holds the link */
	}
	if (err)
		vx_unpin(c);
out:
	vxmit_bpf__destroy(skel);
	return err;
}

/* The tracepoint programs live for this pin dir: 0, or -errno (c->err says
 * why) when they cannot be. */
static int vx_ensure(struct pr_ctx *c, int map_fd)
{
	bool want[VX_NPROGS];
	const char *missing;
	int err = vx_wanted(want, &missing);

	if (err)
		return pr_errf(c, err, "this kernel has no BTF for %s", missing);
	if (vx_links_live(c, want, map_fd))
		return 0;
	vx_clear_all_ok(map_fd);
	vx_unpin(c);
	return vx_load(c, want);
}

/* Slot k armed for namespace ns with what the kernel says now, written
 * and asked again: a yes that turned no between the question and the write
 * shows in the second answer (and else costs the one frame the tracepoint
 * programs see refused). A refusal since the last arming is forgotten: the
 * kernel's word is asked again. */
static void vx_arm(int fd, __u32 k, __u64 ns, __u16 family)
{
	struct pr_vxmit v = { .netns_ino = ns };

	for (int i = 0; i < 4; i++) {
		int yes = netdev_ndo_xmit(family, k), again;

		v.ok = yes == 1;
		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY))
			return;
		again = netdev_ndo_xmit(family, k);
		if ((again == 1) == (yes == 1))
			return;
	}
	v.ok = 0; /* never the same answer twice: no */
	bpf_map_update_elem(fd, &k, &v, BPF_ANY);
}

static int open_map(struct pr_ctx *c, int *fd)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/pr_vxmit", c->pin_dir);
	*fd = bpf_obj_get(path);
	if (*fd >= 0)
		return 0;
	/* absent until a build that has it loads */
	return errno == ENOENT ? -ENOENT : pr_errf(c, -errno, "cannot open %s: %s", path, strerror(errno));
}

/* This namespace's slots emptied. */
static void vx_clear_ns(int fd, __u64 ns)
{
	struct pr_vxmit *v = calloc(PR_PEERS, sizeof(*v)), zero = {};

	if (!v || !ns)
		goto out;
	if (!pr_array_read(fd, sizeof(*v), v, PR_PEERS))
		for (__u32 k = 0; k < PR_PEERS; k++)
			if (v[k].netns_ino == ns)
				bpf_map_update_elem(fd, &k, &zero, BPF_ANY);
out:
	free(v);
}

int pr_vxmit_refresh(struct pr_ctx *c, const __u32 *veths, size_t n)
{
	struct pr_vxmit *slots = NULL;
	__u8 *veth = NULL;
	__u64 ns = pr_netns_ino();
	__u16 family = 0;
	bool live;
	int fd, err;

	err = open_map(c, &fd);
	if (err)
		return err == -ENOENT ? 0 : err;
	slots = calloc(PR_PEERS, sizeof(*slots));
	veth = calloc(PR_PEERS, 1);
	if (!slots || !veth) {
		err = pr_errf(c, -ENOMEM, "out of memory reading %s/pr_vxmit", c->pin_dir);
		goto out;
	}
	/* Without the netdev family the kernel cannot be asked, and without the
	 * tracepoint programs a stale yes is not caught: the slots are cleared
	 * and veths take the stack. That is not an error of the attach or
	 * apply; status says it. */
	live = ns && netdev_family(&family) == 0;
	if (live) {
		char saved[PR_ERR_LEN];

		memcpy(saved, c->err, sizeof(saved));
		live = vx_ensure(c, fd) == 0;
		memcpy(c->err, saved, sizeof(saved));
	}
	for (size_t i = 0; i < n; i++)
		if (veths[i] < PR_PEERS)
			veth[veths[i]] = 1;
	err = pr_array_read(fd, sizeof(*slots), slots, PR_PEERS);
	if (err) {
		err = pr_errf(c, err, "cannot read %s/pr_vxmit: %s", c->pin_dir, strerror(-err));
		goto out;
	}
	for (__u32 k = 1; k < PR_PEERS; k++) {
		bool ours = ns && slots[k].netns_ino == ns;

		if (live && veth[k]) {
			vx_arm(fd, k, ns, family);
		} else if (ours) {
			struct pr_vxmit zero = {};

			bpf_map_update_elem(fd, &k, &zero, BPF_ANY);
		}
	}
out:
	free(veth);
	free(slots);
	close(fd);
	return err;
}

void pr_vxmit_release(struct pr_ctx *c)
{
	struct pr_iface_status *v = NULL;
	struct pr_iface_key key;
	size_t n = 0;
	int fd;

	if (pr_iface_list(c, &v, &n) || n) {
		free(v);
		return;
	}
	free(v);
	if (open_map(c, &fd))
		return;
	vx_clear_ns(fd, pr_netns_ino());
	close(fd);
	/* the programs serve every namespace of the pin dir: unpinned with the last attachment */
	if (bpf_map_get_next_key(c->fd_ifaces, NULL, &key) && errno == ENOENT)
		vx_unpin(c);
}

int pr_vxmit_list(struct pr_ctx *c, struct pr_vxmit_state *st, struct pr_vxmit_veth **out, size_t *n)
{
	struct pr_vxmit *slots = NULL;
	struct pr_vxmit_veth *v = NULL;
	bool want[VX_NPROGS];
	const char *missing;
	__u64 ns = pr_netns_ino();
	__u16 family;
	size_t cnt = 0;
	int fd, err;

	memset(st, 0, sizeof(*st));
	*out = NULL;
	*n = 0;
	err = open_map(c, &fd);
	if (err) {
		snprintf(st->why, sizeof(st->why), "the pin dir has no pr_vxmit yet (attach or apply makes it)");
		return err == -ENOENT ? 0 : err;
	}
	if (netdev_family(&family))
		snprintf(st->why, sizeof(st->why),
			 "the kernel has no netdev netlink family (Linux before 6.3) to say which veths take XDP frames");
	else if (vx_wanted(want, &missing))
		snprintf(st->why, sizeof(st->why), "this kernel has no BTF for %s", missing);
	else if (!vx_links_live(c, want, fd))
		snprintf(st->why, sizeof(st->why), "the tracepoint programs that guard it are not loaded "
						    "(attach or apply loads them)");
	else
		st->live = true;
	slots = calloc(PR_PEERS, sizeof(*slots));
	if (!slots) {
		err = -ENOMEM;
		goto out;
	}
	err = pr_array_read(fd, sizeof(*slots), slots, PR_PEERS);
	if (err)
		goto out;
	for (__u32 k = 0; k < PR_PEERS; k++) {
		struct pr_vxmit_veth *nv;

		if (!ns || slots[k].netns_ino != ns)
			continue;
		nv = realloc(v, (cnt + 1) * sizeof(*v));
		if (!nv) {
			err = -ENOMEM;
			goto out;
		}
		v = nv;
		memset(&v[cnt], 0, sizeof(v[cnt]));
		v[cnt].ifindex = k;
		if (!if_indextoname(k, v[cnt].name))
			snprintf(v[cnt].name, sizeof(v[cnt].name), "#%u", k);
		v[cnt].ok = slots[k].ok && !slots[k].failed && st->live;
		v[cnt].failed = slots[k].failed;
		v[cnt].kernel = st->live ? netdev_ndo_xmit(family, k) : -1;
		cnt++;
	}
	*out = v;
	*n = cnt;
	v = NULL;
out:
	if (err)
		pr_errf(c, err, "cannot read %s/pr_vxmit: %s", c->pin_dir, strerror(-err));
	free(v);
	free(slots);
	close(fd);
	return err;
}
