// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Attached interfaces' own addresses in pr_ifaddr, the source --masquerade and hairpin flows get: written at attach and apply, removed at detach. */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "libportredir.h"
#include "internal.h"

/* Whether a is an address others can reach us at: not loopback, link-local,
 * multicast or unspecified. */
static bool global_v4(const struct in_addr *a)
{
	__u32 h = ntohl(a->s_addr);

	return h && (h >> 24) != 127 && (h >> 16) != 0xa9fe && (h >> 28) != 0xe;
}

static bool global_v6(const struct in6_addr *a)
{
	return !IN6_IS_ADDR_UNSPECIFIED(a) && !IN6_IS_ADDR_LOOPBACK(a) && !IN6_IS_ADDR_LINKLOCAL(a) &&
	       !IN6_IS_ADDR_MULTICAST(a) && !IN6_IS_ADDR_V4MAPPED(a);
}

void pr_ifaddr_of(const struct ifaddrs *all, const char *ifname, struct pr_ifaddr *out)
{
	memset(out, 0, sizeof(*out));
	/* getifaddrs lists each interface's addresses in the kernel's order,
	 * primary first, so the first global one is the one the stack prefers */
	for (const struct ifaddrs *i = all; i; i = i->ifa_next) {
		if (!i->ifa_addr || strcmp(i->ifa_name, ifname))
			continue;
		if (i->ifa_addr->sa_family == AF_INET && !out->has_v4) {
			const struct in_addr *a = &((const struct sockaddr_in *)i->ifa_addr)->sin_addr;

			if (global_v4(a)) {
				out->v4 = a->s_addr;
				out->has_v4 = 1;
			}
		} else if (i->ifa_addr->sa_family == AF_INET6 && !out->has_v6) {
			const struct in6_addr *a = &((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;

			if (global_v6(a)) {
				memcpy(out->v6.b, a, sizeof(out->v6.b));
				out->has_v6 = 1;
			}
		}
	}
}

int pr_ifaddr_refresh(struct pr_ctx *c)
{
	struct pr_iface_status *ifs = NULL;
	struct ifaddrs *all = NULL;
	size_t n = 0;
	int err;

	err = pr_iface_list(c, &ifs, &n);
	if (err)
		return err;
	if (getifaddrs(&all)) {
		err = pr_errf(c, -errno, "cannot read the interfaces' addresses: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < n && !err; i++) {
		struct pr_ifaddr a;

		if (!ifs[i].present) {
			bpf_map_delete_elem(c->fd_ifaddr, &ifs[i].ifindex);
			continue;
		}
		pr_ifaddr_of(all, ifs[i].rec.name, &a);
		if (bpf_map_update_elem(c->fd_ifaddr, &ifs[i].ifindex, &a, BPF_ANY))
			err = pr_errf(c, -errno, "cannot record the addresses of %s (pr_ifaddr): %s", ifs[i].rec.name,
				      strerror(errno));
	}
out:
	if (all)
		freeifaddrs(all);
	free(ifs);
	return err;
}
