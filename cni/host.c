// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Facts about the host's network namespace (the one the runtime runs the plugin in): its default-route interfaces, bridges and local addresses. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "cni.h"

int cni_iface_add(char (**out)[PR_IFNAME_LEN], size_t *n, const char *name)
{
	char (*v)[PR_IFNAME_LEN];
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*out)[i], name) == 0)
			return 0;
	v = realloc(*out, (*n + 1) * sizeof(**out));
	if (!v)
		return -ENOMEM;
	snprintf(v[*n], PR_IFNAME_LEN, "%s", name);
	*out = v;
	(*n)++;
	return 0;
}

/* /proc/net is the reader's namespace's: IPv4 routes of the main table, one
 * a line, "IFACE DEST GATEWAY FLAGS ... MASK ..." in hex; a default route
 * has destination and mask 0. IPv6: "DEST PLEN SRC SLEN NEXTHOP METRIC REF
 * USE FLAGS IFACE"; an unreachable default sits on lo, which is skipped. */
int cni_default_ifaces(char (**out)[PR_IFNAME_LEN], size_t *n)
{
	char line[512], ifn[64], dst[64], mask[64], plen[8];
	unsigned int flags;
	int err = 0;
	FILE *f;

	*out = NULL;
	*n = 0;
	f = fopen("/proc/net/route", "r");
	if (f) {
		while (!err && fgets(line, sizeof(line), f))
			if (sscanf(line, "%63s %63s %*s %x %*s %*s %*s %63s", ifn, dst, &flags, mask) == 4 &&
			    !strcmp(dst, "00000000") && !strcmp(mask, "00000000") && (flags & 1 /* RTF_UP */))
				err = cni_iface_add(out, n, ifn);
		fclose(f);
	}
	f = fopen("/proc/net/ipv6_route", "r");
	if (f) {
		while (!err && fgets(line, sizeof(line), f))
			if (sscanf(line, "%63s %7s %*s %*s %*s %*s %*s %*s %x %63s", dst, plen, &flags, ifn) == 4 &&
			    !strcmp(dst, "00000000000000000000000000000000") && !strcmp(plen, "00") &&
			    (flags & 1) && !(flags & 0x0200 /* RTF_REJECT */) && strcmp(ifn, "lo"))
				err = cni_iface_add(out, n, ifn);
		fclose(f);
	}
	return err;
}

/* By its driver, asked over a socket of the caller's namespace: /sys may
 * be another namespace's (nsenter --net keeps the caller's mounts). */
bool cni_is_bridge(const char *ifname)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = {};
	bool yes = false;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	if (!ioctl(fd, SIOCETHTOOL, &ifr))
		yes = strcmp(info.driver, "bridge") == 0;
	close(fd);
	return yes;
}

bool cni_addr_is_local(int family, const char *addr)
{
	struct ifaddrs *ifa, *i;
	struct in6_addr want;
	bool found = false;

	if (inet_pton(family, addr, &want) != 1 || getifaddrs(&ifa))
		return false;
	for (i = ifa; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != family)
			continue;
		if (family == AF_INET)
			found = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == *(__u32 *)&want;
		else
			found = !memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, &want, sizeof(want));
	}
	freeifaddrs(ifa);
	return found;
}
