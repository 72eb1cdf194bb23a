// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* rtnetlink (and generic netlink) requests: the dump of clsact filters, so detach removes the qdisc only when nobody else uses it, and the request loop check uses too. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include "libportredir.h"
#include "internal.h"

#ifndef TC_H_CLSACT
#define TC_H_CLSACT TC_H_INGRESS
#endif
#ifndef TC_H_MIN_INGRESS
#define TC_H_MIN_INGRESS 0xFFF2U
#define TC_H_MIN_EGRESS 0xFFF3U
#endif

int pr_nl_talk(struct nlmsghdr *req, pr_nl_fn fn, void *arg)
{
	return pr_nl_talk_proto(NETLINK_ROUTE, req, fn, arg);
}

int pr_nl_talk_proto(int proto, struct nlmsghdr *req, pr_nl_fn fn, void *arg)
{
	bool dump = req->nlmsg_flags & NLM_F_DUMP;
	char buf[32768];
	int fd, n, err = 0, done = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);
	if (fd < 0)
		return -errno;
	req->nlmsg_seq = 1;
	if (send(fd, req, req->nlmsg_len, 0) < 0) {
		err = -errno;
		goto out;
	}
	while (!done) {
		struct nlmsghdr *nh;

		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			err = -errno;
			goto out;
		}
		for (nh = (void *)buf; NLMSG_OK(nh, (unsigned int)n); nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				err = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
				done = 1;
				break;
			}
			fn(nh, arg);
			if (!dump)
				done = 1;
		}
	}
out:
	close(fd);
	return err;
}

static void count_foreign(const struct nlmsghdr *nh, void *arg)
{
	const struct tcmsg *t = NLMSG_DATA(nh);

	if (nh->nlmsg_type == RTM_NEWTFILTER && TC_H_MAJ(t->tcm_info) >> 16 != PR_TC_PRIO)
		(*(int *)arg)++;
}

/* Filters on the clsact hook (ingress if !egress) at a priority other than
 * ours. Returns the count, or -errno. */
int pr_tc_foreign_filters(int ifindex, bool egress)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req = {
		.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)),
		.nh.nlmsg_type = RTM_GETTFILTER,
		.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		.tc.tcm_family = AF_UNSPEC,
		.tc.tcm_ifindex = ifindex,
		.tc.tcm_parent = TC_H_MAKE(TC_H_CLSACT, egress ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS),
	};
	int count = 0, err = pr_nl_talk(&req.nh, count_foreign, &count);

	return err ? err : count;
}
