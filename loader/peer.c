// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* pr_peer: the veths of this network namespace whose peer is in another one (a container's), with the peer's MAC, to which TC ingress delivers translated packets straight into the peer; refreshed at attach and apply, which also arms pr_vxmit (vxmit.c) for every veth. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include "libportredir.h"
#include "internal.h"

/* A veth of ours and where its peer is: the peer's namespace id (as ours
 * names it) and ifindex there, then its MAC. */
struct peer_link {
	__u32 ifindex;
	__s32 nsid;
	__u32 peer_ifindex;
	struct pr_peer val;
	bool have_mac;
	bool cross; /* the peer is in another namespace */
};

struct peer_scan {
	struct peer_link *v;
	size_t n;
	int err;
};

/* The attribute of type t in [a, a + len), or NULL. */
static const struct rtattr *rta_find(const struct rtattr *a, int len, unsigned short t)
{
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == t)
			return a;
	return NULL;
}

/* One link of the dump: a veth (IFLA_INFO_KIND), and whether its peer is in
 * another namespace (IFLA_LINK_NETNSID is there only then), its peer IFLA_LINK. */
static void scan_link(const struct nlmsghdr *nh, void *arg)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	const struct rtattr *attrs = IFLA_RTA(ifi), *info, *kind, *nsid, *link;
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi));
	struct peer_scan *s = arg;
	struct peer_link *nv;

	if (nh->nlmsg_type != RTM_NEWLINK)
		return;
	nsid = rta_find(attrs, len, IFLA_LINK_NETNSID);
	link = rta_find(attrs, len, IFLA_LINK);
	info = rta_find(attrs, len, IFLA_LINKINFO);
	kind = info ? rta_find(RTA_DATA(info), RTA_PAYLOAD(info), IFLA_INFO_KIND) : NULL;
	if (!kind || RTA_PAYLOAD(kind) < 5 || memcmp(RTA_DATA(kind), "veth", 5))
		return;
	nv = realloc(s->v, (s->n + 1) * sizeof(*nv));
	if (!nv) {
		s->err = -ENOMEM;
		return;
	}
	s->v = nv;
	memset(&nv[s->n], 0, sizeof(*nv));
	nv[s->n].ifindex = ifi->ifi_index;
	nv[s->n].cross = nsid && link;
	if (nv[s->n].cross) {
		nv[s->n].nsid = *(const __s32 *)RTA_DATA(nsid);
		nv[s->n].peer_ifindex = *(const __u32 *)RTA_DATA(link);
	}
	s->n++;
}

/* The peer's MAC, from its own namespace (RTM_GETLINK with
 * IFLA_TARGET_NETNSID, Linux 4.20). */
static void peer_mac(const struct nlmsghdr *nh, void *arg)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	const struct rtattr *mac = rta_find(IFLA_RTA(ifi), nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)), IFLA_ADDRESS);
	struct peer_link *l = arg;

	if (nh->nlmsg_type == RTM_NEWLINK && mac && RTA_PAYLOAD(mac) == sizeof(l->val.mac)) {
		memcpy(l->val.mac, RTA_DATA(mac), sizeof(l->val.mac));
		l->have_mac = true;
	}
}

static int ask_mac(struct peer_link *l)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		struct rtattr a;
		__s32 nsid;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = (int)l->peer_ifindex },
		.a = { .rta_len = RTA_LENGTH(sizeof(__s32)), .rta_type = IFLA_TARGET_NETNSID },
		.nsid = l->nsid,
	};

	return pr_nl_talk(&req.nh, peer_mac, l);
}

/* Every veth of this namespace, and for those with their peer in another
 * the peer's MAC where it can be read; caller frees *v. */
static int peer_links(struct peer_link **v, size_t *n)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.ifi = { .ifi_family = AF_UNSPEC },
	};
	struct peer_scan s = {};
	int err = pr_nl_talk(&req.nh, scan_link, &s);

	if (!err)
		err = s.err;
	if (err) {
		free(s.v);
		return err;
	}
	for (size_t i = 0; i < s.n; i++)
		if (s.v[i].cross)
			ask_mac(&s.v[i]); /* no MAC: no entry, the plain redirect serves it */
	*v = s.v;
	*n = s.n;
	return 0;
}

/* pr_peer from the veths now: only the slots that change are written. */
static int peer_write(struct pr_ctx *c, int fd, const char *path, const struct peer_link *now, size_t n)
{
	struct pr_peer *slots = calloc(PR_PEERS, sizeof(*slots)), *want = calloc(PR_PEERS, sizeof(*want));
	int err = 0;

	if (!slots || !want) {
		err = pr_errf(c, -ENOMEM, "out of memory reading %s", path);
		goto out;
	}
	/* ifindexes from PR_PEERS on take the plain redirect */
	for (size_t i = 0; i < n; i++)
		if (now[i].have_mac && now[i].ifindex < PR_PEERS) {
			want[now[i].ifindex] = now[i].val;
			want[now[i].ifindex].set = 1;
		}
	/* Only the slots that change are written: a slot another namespace
	 * sharing the pin dir set is cleared here, which costs it the fast path
	 * until its next refresh, never a wrong delivery (the MAC guards it). */
	err = pr_array_read(fd, sizeof(*slots), slots, PR_PEERS);
	if (err) {
		err = pr_errf(c, err, "cannot read %s: %s", path, strerror(-err));
		goto out;
	}
	for (__u32 k = 0; k < PR_PEERS && !err; k++)
		if (memcmp(&slots[k], &want[k], sizeof(want[k])) &&
		    bpf_map_update_elem(fd, &k, &want[k], BPF_ANY))
			err = pr_errf(c, -errno, "cannot write %s: %s", path, strerror(errno));
out:
	free(slots);
	free(want);
	return err;
}

int pr_peer_refresh(struct pr_ctx *c)
{
	struct peer_link *now = NULL;
	char path[PATH_MAX];
	__u32 *veths = NULL;
	size_t n = 0;
	int fd, err;

	snprintf(path, sizeof(path), "%s/pr_peer", c->pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0 && errno != ENOENT) /* absent until a build that has it loads */
		return pr_errf(c, -errno, "cannot open %s: %s", path, strerror(errno));
	err = peer_links(&now, &n);
	if (err) {
		err = pr_errf(c, err, "cannot list the veths of this network namespace: %s", strerror(-err));
		goto out;
	}
	if (fd >= 0) {
		err = peer_write(c, fd, path, now, n);
		if (err)
			goto out;
	}
	/* every veth, its peer here or elsewhere, may be where XDP redirects */
	veths = calloc(n ? n : 1, sizeof(*veths));
	if (!veths) {
		err = pr_errf(c, -ENOMEM, "out of memory listing veths");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		veths[i] = now[i].ifindex;
	err = pr_vxmit_refresh(c, veths, n);
out:
	free(veths);
	free(now);
	if (fd >= 0)
		close(fd);
	return err;
}
