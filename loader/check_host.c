// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* check's view of the host: routes and neighbours over rtnetlink, addresses, sysctls and sockets from /proc, DNAT rules from nft. */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <jansson.h>
#include "libportredir.h"
#include "internal.h"
#include "check.h"

static int af_of(__u8 family) { return family == PR_AF_INET6 ? AF_INET6 : AF_INET; }
static size_t alen(__u8 family) { return family == PR_AF_INET6 ? 16 : 4; }

static void nl_attr(struct nlmsghdr *nh, size_t room, int type, const void *data, size_t len)
{
	struct rtattr *a = (void *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));

	if (NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len) > room)
		return;
	a->rta_type = (unsigned short)type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len);
}

static void route_cb(const struct nlmsghdr *nh, void *arg)
{
	const struct rtmsg *rm = NLMSG_DATA(nh);
	struct pr_route *rt = arg;
	size_t al = rm->rtm_family == AF_INET6 ? 16 : 4;
	int len = (int)RTM_PAYLOAD(nh);

	if (nh->nlmsg_type != RTM_NEWROUTE)
		return;
	rt->found = true;
	rt->type = rm->rtm_type;
	for (const struct rtattr *a = RTM_RTA(rm); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= 4)
			memcpy(&rt->oif, RTA_DATA(a), 4);
		else if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) >= al) {
			memcpy(rt->gw.b, RTA_DATA(a), al);
			rt->has_gw = true;
		} else if (a->rta_type == RTA_PREFSRC && RTA_PAYLOAD(a) >= al) {
			memcpy(rt->src.b, RTA_DATA(a), al);
			rt->has_src = true;
		}
	}
}

int pr_route_get(__u8 family, const union pr_addr *dst, struct pr_route *rt)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		char attrs[64];
	} req = {
		.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
		.nh.nlmsg_type = RTM_GETROUTE,
		.nh.nlmsg_flags = NLM_F_REQUEST,
		.rt.rtm_family = (unsigned char)af_of(family),
		.rt.rtm_dst_len = (unsigned char)(alen(family) * 8),
	};
	int err;

	memset(rt, 0, sizeof(*rt));
	nl_attr(&req.nh, sizeof(req), RTA_DST, dst->b, alen(family));
	err = pr_nl_talk(&req.nh, route_cb, rt);
	if (err == -ENETUNREACH || err == -EHOSTUNREACH || err == -EINVAL || err == -EACCES) {
		rt->found = false; /* no route, or an unreachable/prohibit one */
		return 0;
	}
	return err;
}

struct neigh_q {
	__u8 family;
	const union pr_addr *addr;
	__u32 ifindex;
	bool found, has_mac;
	__u16 state;
	__u8 mac[6];
};

static void neigh_cb(const struct nlmsghdr *nh, void *arg)
{
	const struct ndmsg *nd = NLMSG_DATA(nh);
	struct neigh_q *q = arg;
	int len = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(*nd)));
	bool match = false, mac = false;
	__u8 m[6] = {};

	if (nh->nlmsg_type != RTM_NEWNEIGH || nd->ndm_family != af_of(q->family) || (__u32)nd->ndm_ifindex != q->ifindex)
		return;
	for (const struct rtattr *a = (const void *)((const char *)nd + NLMSG_ALIGN(sizeof(*nd))); RTA_OK(a, len);
	     a = RTA_NEXT(a, len)) {
		if (a->rta_type == NDA_DST && RTA_PAYLOAD(a) == alen(q->family))
			match = memcmp(RTA_DATA(a), q->addr->b, alen(q->family)) == 0;
		else if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6) {
			memcpy(m, RTA_DATA(a), 6);
			mac = true;
		}
	}
	if (!match)
		return;
	q->found = true;
	q->state = nd->ndm_state;
	q->has_mac = mac;
	memcpy(q->mac, m, 6);
}

static const char *nud_name(__u16 s)
{
	if (s & NUD_PERMANENT)
		return "permanent";
	if (s & NUD_REACHABLE)
		return "reachable";
	if (s & NUD_STALE)
		return "stale";
	if (s & NUD_DELAY)
		return "delay";
	if (s & NUD_PROBE)
		return "probe";
	if (s & NUD_INCOMPLETE)
		return "incomplete";
	if (s & NUD_FAILED)
		return "failed";
	if (s & NUD_NOARP)
		return "noarp";
	return "none";
}

void pr_neigh_get(__u8 family, const union pr_addr *addr, __u32 ifindex, char *state, size_t len, __u8 mac[6],
		  bool *has_mac)
{
	struct {
		struct nlmsghdr nh;
		struct ndmsg nd;
	} req = {
		.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg)),
		.nh.nlmsg_type = RTM_GETNEIGH,
		.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		.nd.ndm_family = (__u8)af_of(family),
	};
	struct neigh_q q = { .family = family, .addr = addr, .ifindex = ifindex };

	if (pr_nl_talk(&req.nh, neigh_cb, &q) || !q.found) {
		snprintf(state, len, "none");
		*has_mac = false;
		return;
	}
	snprintf(state, len, "%s", nud_name(q.state));
	*has_mac = q.has_mac;
	memcpy(mac, q.mac, 6);
}

void pr_if_mac(const char *ifname, __u8 mac[6])
{
	struct ifaddrs *all, *i;

	memset(mac, 0, 6);
	if (getifaddrs(&all))
		return;
	for (i = all; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_PACKET && strcmp(i->ifa_name, ifname) == 0) {
			const struct sockaddr_ll *ll = (const void *)i->ifa_addr;

			if (ll->sll_halen == 6)
				memcpy(mac, ll->sll_addr, 6);
			break;
		}
	freeifaddrs(all);
}

static const void *sa_addr(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
					 : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
}

static int mask_len(const struct sockaddr *m, size_t al)
{
	const __u8 *b = sa_addr(m);
	int n = 0;

	for (size_t i = 0; i < al; i++)
		n += __builtin_popcount(b[i]);
	return n;
}

int pr_if_addr(const char *ifname, __u8 family, union pr_addr *a, __u8 *plen)
{
	struct ifaddrs *all, *i;
	int err = -ENOENT;

	if (getifaddrs(&all))
		return -errno;
	for (i = all; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != af_of(family) || strcmp(i->ifa_name, ifname))
			continue;
		if (family == PR_AF_INET6 && IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *)sa_addr(i->ifa_addr)))
			continue;
		memset(a, 0, sizeof(*a));
		memcpy(a->b, sa_addr(i->ifa_addr), alen(family));
		*plen = i->ifa_netmask ? (__u8)mask_len(i->ifa_netmask, alen(family)) : (__u8)(alen(family) * 8);
		err = 0;
		break;
	}
	freeifaddrs(all);
	return err;
}

int pr_addr_owner(__u8 family, const union pr_addr *addr, char *ifname, size_t len)
{
	struct ifaddrs *all, *i;
	int err = -ENOENT;

	if (getifaddrs(&all))
		return -errno;
	for (i = all; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == af_of(family) &&
		    memcmp(sa_addr(i->ifa_addr), addr->b, alen(family)) == 0) {
			snprintf(ifname, len, "%s", i->ifa_name);
			err = 0;
			break;
		}
	freeifaddrs(all);
	return err;
}

int pr_sysctl_int(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* One /proc/net/{tcp,udp}[6] address "HEX:PORT" into a and *port. */
static bool proc_addr(const char *tok, size_t al, union pr_addr *a, __u16 *port)
{
	char word[9] = {};
	const char *colon = strchr(tok, ':');

	if (!colon || (size_t)(colon - tok) != al * 2)
		return false;
	memset(a, 0, sizeof(*a));
	for (size_t w = 0; w < al / 4; w++) {
		__u32 v;

		memcpy(word, tok + w * 8, 8);
		v = (__u32)strtoul(word, NULL, 16);
		memcpy(a->b + w * 4, &v, 4); /* printed as the native word of the raw bytes */
	}
	*port = (__u16)strtoul(colon + 1, NULL, 16);
	return true;
}

int pr_local_socket(__u8 proto, __u8 family, const union pr_addr *addr, __u16 port, char *desc, size_t len)
{
	static const char *const files[2][2] = { { "/proc/net/tcp", "/proc/net/tcp6" },
						 { "/proc/net/udp", "/proc/net/udp6" } };
	for (int v6 = 0; v6 < 2; v6++) {
		FILE *f;
		char line[512];

		if (family == PR_AF_INET6 && !v6)
			continue;
		f = fopen(files[proto == IPPROTO_UDP][v6], "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			char local[64], remote[64];
			unsigned int st;
			union pr_addr a, zero = {};
			__u16 p;

			if (sscanf(line, " %*[0-9]: %63s %63s %x", local, remote, &st) != 3)
				continue;
			if (!proc_addr(local, v6 ? 16 : 4, &a, &p) || p != port)
				continue;
			if (proto == IPPROTO_TCP ? st != 0x0A : st != 0x07) /* LISTEN; an unconnected UDP socket */
				continue;
			/* a wildcard v6 socket takes v4 too (unless v6only, which /proc does not say) */
			if (memcmp(&a, &zero, sizeof(a)) && memcmp(&a, addr, sizeof(a)))
				continue; /* bound to another address */
			char buf[PR_ADDR_TEXT_LEN];

			pr_fmt_addr(buf, sizeof(buf), v6 ? PR_AF_INET6 : PR_AF_INET, &a, false);
			snprintf(desc, len, "%s %s:%u", pr_proto_name(proto), buf, port);
			fclose(f);
			return 1;
		}
		fclose(f);
	}
	return 0;
}

/* Whether nft's value v (a number, a set, a range) holds port. */
static bool nft_has_port(json_t *v, __u16 port)
{
	json_t *e;
	size_t i;

	if (json_is_integer(v))
		return json_integer_value(v) == port;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (nft_has_port(e, port))
				return true;
		return false;
	}
	if ((e = json_object_get(v, "set")))
		return nft_has_port(e, port);
	if ((e = json_object_get(v, "range")) && json_array_size(e) == 2)
		return json_integer_value(json_array_get(e, 0)) <= port &&
		       port <= json_integer_value(json_array_get(e, 1));
	return false;
}

/* A rule's expressions match proto's destination port and DNAT or redirect. */
static bool nft_rule_dnats(json_t *expr, __u8 proto, __u16 port)
{
	bool port_match = false, nat = false;
	json_t *e;
	size_t i;

	json_array_foreach(expr, i, e) {
		json_t *m = json_object_get(e, "match"), *pl;

		json_t *xt = json_object_get(e, "xt");
		const char *xname = json_string_value(json_object_get(xt, "name"));

		/* iptables-nft writes its DNAT and REDIRECT targets as xt expressions */
		if (json_object_get(e, "dnat") || json_object_get(e, "redirect") ||
		    (xname && (!strcmp(xname, "DNAT") || !strcmp(xname, "REDIRECT"))))
			nat = true;
		if (!m || !(pl = json_object_get(json_object_get(m, "left"), "payload")))
			continue;
		const char *p = json_string_value(json_object_get(pl, "protocol"));
		const char *fld = json_string_value(json_object_get(pl, "field"));

		if (!p || !fld || strcmp(fld, "dport"))
			continue;
		if (strcmp(p, "th") && strcmp(p, proto == IPPROTO_TCP ? "tcp" : "udp"))
			continue;
		if (nft_has_port(json_object_get(m, "right"), port))
			port_match = true;
	}
	return port_match && nat;
}

static bool nft_installed(void)
{
	const char *path = getenv("PATH");
	char dir[4096], file[4200];

	snprintf(dir, sizeof(dir), "%s", path && *path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
	for (char *d = strtok(dir, ":"); d; d = strtok(NULL, ":")) {
		snprintf(file, sizeof(file), "%s/nft", d);
		if (access(file, X_OK) == 0)
			return true;
	}
	return false;
}

int pr_nft_dnat(__u8 proto, __u16 port, char *desc, size_t dlen, char *del, size_t llen)
{
	json_t *root, *arr, *o;
	json_error_t jerr;
	int count = 0;
	size_t i;
	FILE *f;

	if (!nft_installed())
		return -ENOENT;
	f = popen("nft -j list ruleset 2>/dev/null", "r");
	if (!f)
		return -EIO;
	root = json_loadf(f, 0, &jerr);
	if (pclose(f) != 0 || !root) {
		json_decref(root);
		return -EIO;
	}
	arr = json_object_get(root, "nftables");
	json_array_foreach(arr, i, o) {
		json_t *r = json_object_get(o, "rule");
		const char *fam, *tab, *ch;
		json_int_t h;

		if (!r || !nft_rule_dnats(json_object_get(r, "expr"), proto, port))
			continue;
		fam = json_string_value(json_object_get(r, "family"));
		tab = json_string_value(json_object_get(r, "table"));
		ch = json_string_value(json_object_get(r, "chain"));
		h = json_integer_value(json_object_get(r, "handle"));
		if (count++ == 0 && fam && tab && ch) {
			snprintf(desc, dlen, "table %s %s chain %s handle %lld", fam, tab, ch, (long long)h);
			snprintf(del, llen, "nft delete rule %s %s %s handle %lld", fam, tab, ch, (long long)h);
		}
	}
	json_decref(root);
	return count;
}
