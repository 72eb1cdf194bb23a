// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* check: would a client's connection to PROTO LISTEN work? The test run's verdict, then every host setting on the packet's way, each failing point with its fix. */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include "libportredir.h"
#include "internal.h"
#include "check.h"

#define PR_CHECK_DEFAULT_SPORT 43210 /* the client's port when --from gives none */

const char *pr_check_status_name(enum pr_check_status s)
{
	switch (s) {
	case PR_CHECK_OK: return "ok";
	case PR_CHECK_NOTE: return "note";
	case PR_CHECK_WARN: return "warn";
	case PR_CHECK_FAIL: return "fail";
	}
	return "?";
}

int pr_check_parse(const char *proto, const char *listen, const char *from, struct pr_check_req *q, char *err,
		   size_t len)
{
	struct pr_rule_spec s;
	char buf[64];

	memset(q, 0, sizeof(*q));
	if (strcmp(proto, "tcp") && strcmp(proto, "udp"))
		return pr_perr(err, len, "bad protocol '%s' (check takes tcp or udp)", proto);
	if (pr_spec_parse_listen(proto, listen, &s, err, len))
		return -EINVAL;
	if (!s.key.port)
		return pr_perr(err, len, "bad listen '%s' (check takes one port, not ':*')", listen);
	if (s.port_last != ntohs(s.key.port))
		return pr_perr(err, len, "bad listen '%s' (check takes one port, not a range)", listen);
	q->proto = s.key.proto;
	q->family = s.key.family;
	q->listen = s.key.addr;
	q->listen_any = !(s.key.addr.v6[0] | s.key.addr.v6[1] | s.key.addr.v6[2] | s.key.addr.v6[3]);
	q->port = ntohs(s.key.port);
	if (!from)
		goto done;
	/* ADDR, ADDR:PORT, ADDR6 or [ADDR6]:PORT */
	{
		const char *a = from, *port = NULL;
		size_t al;
		__u8 fam;

		if (from[0] == '[') {
			const char *end = strchr(from, ']');

			if (!end || (end[1] && end[1] != ':'))
				return pr_perr(err, len, "bad --from '%s' (expected ADDR[:PORT] or [ADDR6]:PORT)", from);
			a = from + 1;
			al = (size_t)(end - a);
			port = end[1] ? end + 2 : NULL;
		} else if (strchr(from, ':') && strchr(from, ':') == strrchr(from, ':')) {
			al = (size_t)(strchr(from, ':') - from);
			port = strchr(from, ':') + 1;
		} else {
			al = strlen(from);
		}
		if (al >= sizeof(buf))
			return pr_perr(err, len, "bad --from address in '%s'", from);
		memcpy(buf, a, al);
		buf[al] = 0;
		if (inet_pton(AF_INET, buf, q->from.b) == 1)
			fam = PR_AF_INET;
		else if (inet_pton(AF_INET6, buf, q->from.b) == 1)
			fam = PR_AF_INET6;
		else
			return pr_perr(err, len, "bad --from address '%s' in '%s'", buf, from);
		if (port) {
			char *end;
			unsigned long p = strtoul(port, &end, 10);

			if (!*port || *end || p < 1 || p > 65535)
				return pr_perr(err, len, "bad --from port '%s' in '%s' (expected 1-65535)", port, from);
			q->from_port = (__u16)p;
		}
		if (q->family && q->family != fam)
			return pr_perr(err, len, "mixed address families: listen '%s' is IPv%u, --from '%s' is IPv%u",
				       listen, q->family, from, fam);
		q->family = fam;
		q->from_set = true;
	}
done:
	if (!q->family)
		q->family = PR_AF_INET;
	return 0;
}

static void point(struct pr_check_result *r, const char *what, enum pr_check_status st, const char *fix,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void point(struct pr_check_result *r, const char *what, enum pr_check_status st, const char *fix,
		  const char *fmt, ...)
{
	struct pr_check_point *p;
	va_list ap;

	if (r->npoints == PR_CHECK_POINTS)
		return;
	p = &r->points[r->npoints++];
	snprintf(p->what, sizeof(p->what), "%s", what);
	p->status = st;
	va_start(ap, fmt);
	vsnprintf(p->text, sizeof(p->text), fmt, ap);
	va_end(ap);
	snprintf(p->fix, sizeof(p->fix), "%s", fix ? fix : "");
	if (st == PR_CHECK_FAIL)
		r->works = false;
}

static const char *addr_s(char *buf, __u8 family, const union pr_addr *a)
{
	pr_fmt_addr(buf, PR_ADDR_TEXT_LEN, family, a, false);
	if (buf[0] == '[') { /* a bare IPv6 address reads better in sentences */
		memmove(buf, buf + 1, strlen(buf));
		buf[strlen(buf) - 1] = 0;
	}
	return buf;
}

static bool has_reason(const struct pr_check_result *r, unsigned int reason)
{
	for (size_t i = 0; i < r->nreasons; i++)
		if (strcmp(r->reasons[i], pr_reason_name(reason)) == 0)
			return true;
	return false;
}

/* The rule the datapath would take for the packet: the four lookups of
 * docs/design.md "Rule lookup", then its record. */
static void find_rule(struct pr_ctx *c, struct pr_check_result *r)
{
	struct pr_rule_key k;
	struct pr_rule v;

	for (int i = 0; i < 4; i++) {
		memset(&k, 0, sizeof(k));
		if (!(i & 1))
			k.addr = r->dst.addr;
		k.port = i < 2 ? htons(r->dst.port) : 0;
		k.proto = r->proto;
		k.family = r->family;
		if (bpf_map_lookup_elem(c->fd_rules, &k, &v) == 0) {
			__u32 id = v.id;

			if (bpf_map_lookup_elem(c->fd_rmeta, &id, &r->rule) == 0) {
				r->rule.rule.id = id;
				r->rule_found = true;
			}
			return;
		}
	}
}

/* A host on the ingress interface's network other than its own address. */
static int assume_client(struct pr_check_result *r)
{
	union pr_addr own;
	__u8 plen, last = r->family == PR_AF_INET6 ? 15 : 3;

	if (pr_if_addr(r->ifname, r->family, &own, &plen))
		return -ENOENT;
	r->src.addr = own;
	for (int b = plen; b < (last + 1) * 8; b++)
		r->src.addr.b[b / 8] &= (__u8)~(0x80 >> (b % 8));
	r->src.addr.b[last] |= 1;
	if (memcmp(&r->src.addr, &own, sizeof(own)) == 0)
		r->src.addr.b[last] ^= 3; /* .1 is the router: take .2 */
	r->src_assumed = true;
	return 0;
}

/* The ingress interface: the one that has the listen address, else the one
 * the client is reached by, else the first attached here. */
static void find_ingress(const struct pr_check_req *q, struct pr_check_result *r,
			 struct pr_iface_status *ifs, size_t nifs)
{
	struct pr_route rt;

	if (!q->listen_any && pr_addr_owner(r->family, &q->listen, r->ifname, sizeof(r->ifname)) == 0 &&
	    strcmp(r->ifname, "lo"))
		goto found;
	r->ifname[0] = 0;
	if (q->from_set && pr_route_get(r->family, &q->from, &rt) == 0 && rt.found && rt.oif &&
	    if_indextoname(rt.oif, r->ifname) && strcmp(r->ifname, "lo"))
		goto found;
	r->ifname[0] = 0;
	for (size_t i = 0; i < nifs; i++)
		if (ifs[i].present) {
			snprintf(r->ifname, sizeof(r->ifname), "%s", ifs[i].rec.name);
			goto found;
		}
	return;
found:
	r->ifindex = if_nametoindex(r->ifname);
	for (size_t i = 0; i < nifs; i++)
		if (ifs[i].present && ifs[i].ifindex == r->ifindex) {
			r->attached = true;
			r->mode = ifs[i].rec.mode;
			r->via_stack = ifs[i].rec.flags & PR_IF_VIA_STACK;
		}
}

static const char *attached_name(const struct pr_iface_status *ifs, size_t n, __u32 ifindex)
{
	for (size_t i = 0; i < n; i++)
		if (ifs[i].present && ifs[i].ifindex == ifindex)
			return ifs[i].rec.name;
	return NULL;
}

/* The rule as add's words with --replace and src allowed too. */
static void allow_fix(const struct pr_check_result *r, char *fix, size_t len)
{
	char line[PR_LINE_LEN], a[PR_ADDR_TEXT_LEN];

	if (pr_rule_line(&r->rule, line, sizeof(line)))
		line[0] = 0;
	snprintf(fix, len, "portredir add %s --replace --allow %s/%u", line, addr_s(a, r->family, &r->src.addr),
		 r->family == PR_AF_INET6 ? 128 : 32);
}

/* What cures a refusal of the datapath that is not the rule's or the
 * allowlist's, by the counter it moved. */
static void datapath_fix(const struct pr_check_result *r, char *fix, size_t len)
{
	char a[PR_ADDR_TEXT_LEN], dev[IF_NAMESIZE] = "IFACE";
	struct pr_route rt;

	addr_s(a, r->family, &r->rule.rule.target);
	if (pr_route_get(r->family, &r->rule.rule.target, &rt) == 0 && rt.found && rt.oif)
		if_indextoname(rt.oif, dev);
	if (has_reason(r, PR_R_DROP_SNAT_NO_ADDR) && r->rule.nat.mode == PR_SNAT_MASQ)
		snprintf(fix, len, "portredir attach %s (masquerade takes the address of the attached interface "
			 "towards %s), or give it an IPv%u address", dev, a, r->family);
	else if (has_reason(r, PR_R_DROP_SNAT_NO_ADDR) && !r->attached)
		snprintf(fix, len, "portredir attach %s (a hairpin flow takes the attached interface's address as "
			 "its source)", r->ifname);
	else if (has_reason(r, PR_R_DROP_SNAT_NO_ADDR))
		snprintf(fix, len, "give %s an IPv%u address (a hairpin flow takes it as its source), or add the rule "
			 "with --hairpin off", r->ifname, r->family);
	else if (has_reason(r, PR_R_DROP_SNAT_EXHAUSTED))
		snprintf(fix, len, "a wider --snat-ports range for the rule (portredir add --replace ...)");
	else if (has_reason(r, PR_R_DROP_NAT2_NO_ROUTE))
		snprintf(fix, len, "a route to %s for full-NAT packets (ip route get %s)", a, a);
	else
		snprintf(fix, len, "see docs/design.md for the reason; portredir stats counts it");
}

static void check_verdict(struct pr_check_result *r)
{
	char a[PR_ADDR_TEXT_LEN], b[PR_ADDR_TEXT_LEN], fix[320];

	if (!r->rule_found || has_reason(r, PR_R_PASS_NOMATCH)) {
		point(r, "rule", PR_CHECK_FAIL, "portredir add PROTO LISTEN TARGET (see portredir add -h)",
		      "no rule for %s %s:%u", pr_proto_name(r->proto), addr_s(a, r->family, &r->dst.addr), r->dst.port);
		return;
	}
	if (has_reason(r, PR_R_PASS_DENIED) || has_reason(r, PR_R_DROP_DENIED)) {
		allow_fix(r, fix, sizeof(fix));
		point(r, "allowlist", PR_CHECK_FAIL, fix, "the allowlist of rule %s refuses %s (the packet is %s)",
		      r->rule.name[0] ? r->rule.name : "(unnamed)", addr_s(a, r->family, &r->src.addr),
		      has_reason(r, PR_R_DROP_DENIED) ? "dropped" : "passed untranslated");
		return;
	}
	if (has_reason(r, PR_R_PASS_LOCAL_SOCKET)) {
		point(r, "socket", PR_CHECK_FAIL, "stop the local service on that port, or give the port a rule of its own",
		      "a local socket owns %s port %u: the DMZ rule leaves its packets to the host",
		      pr_proto_name(r->proto), r->dst.port);
		return;
	}
	if (has_reason(r, PR_R_PASS_LOOPBACK)) {
		point(r, "rule", PR_CHECK_FAIL, "listen on an address of this host that clients reach",
		      "the listen address is loopback: such rules serve local clients only");
		return;
	}
	if (!r->translated || !has_reason(r, PR_R_XLATE_FWD)) {
		const char *why = r->nreasons ? r->reasons[0] : "no counter moved";

		datapath_fix(r, fix, sizeof(fix));
		point(r, "datapath", PR_CHECK_FAIL, fix, "the packet was not translated: %s (%s)", why, r->verdict);
		return;
	}
	point(r, "rule", PR_CHECK_OK, NULL, "rule %s translates it to %s:%u%s%s",
	      r->rule.name[0] ? r->rule.name : "(unnamed)", addr_s(a, r->family, &r->out_dst.addr), r->out_dst.port,
	      memcmp(&r->out_src, &r->src, sizeof(r->src)) ? ", from " : "",
	      memcmp(&r->out_src, &r->src, sizeof(r->src)) ? addr_s(b, r->family, &r->out_src.addr) : "");
}

static void check_forwarding(struct pr_check_result *r)
{
	const char *v = r->family == PR_AF_INET6 ? "ipv6" : "ipv4";
	char path[128], fix[320];
	int all, dev;

	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/all/forwarding", v);
	all = pr_sysctl_int(path);
	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/forwarding", v, r->ifname);
	dev = pr_sysctl_int(path);
	if (all == 1 && dev == 1) {
		point(r, "forwarding", PR_CHECK_OK, NULL, "net.%s.conf.all.forwarding and net.%s.conf.%s.forwarding are 1",
		      v, v, r->ifname);
		return;
	}
	/* IPv6 forwards by all alone; the interface's stops only bpf_fib_lookup */
	if (r->family == PR_AF_INET6 && all == 1) {
		snprintf(fix, sizeof(fix), "sysctl -w net.ipv6.conf.%s.forwarding=1", r->ifname);
		point(r, "forwarding", PR_CHECK_WARN, fix, "net.ipv6.conf.%s.forwarding is %d: the stack forwards the "
		      "packets (all is 1), but the datapath cannot send them straight out", r->ifname, dev);
		return;
	}
	/* writing all sets every interface, but only when all changes */
	if (all != 1)
		snprintf(fix, sizeof(fix), "sysctl -w %s", r->family == PR_AF_INET ? "net.ipv4.ip_forward=1" :
			 "net.ipv6.conf.all.forwarding=1");
	else
		snprintf(fix, sizeof(fix), "sysctl -w net.%s.conf.%s.forwarding=1", v, r->ifname);
	point(r, "forwarding", PR_CHECK_FAIL, fix, "forwarding is off (net.%s.conf.all.forwarding = %d, %s = %d): "
	      "the host does not forward the packet, nor does the datapath", v, all, r->ifname, dev);
}

/* rp_filter checks the client's address against the route back to it:
 * strict (1) wants that route through the ingress interface, loose (2) any
 * route. Packets the datapath sends straight out skip it. */
static void check_rp_filter(struct pr_check_result *r, const struct pr_route *back)
{
	char path[128], a[PR_ADDR_TEXT_LEN], dev[IF_NAMESIZE] = "?", fix[320];
	int all, ifv, eff;
	bool bad;

	if (r->family != PR_AF_INET)
		return; /* IPv6 has no rp_filter (rpfilter is an nftables match) */
	all = pr_sysctl_int("/proc/sys/net/ipv4/conf/all/rp_filter");
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter", r->ifname);
	ifv = pr_sysctl_int(path);
	eff = all > ifv ? all : ifv;
	if (back->found && back->oif)
		if_indextoname(back->oif, dev);
	bad = eff == 1 ? !back->found || back->oif != r->ifindex : eff == 2 ? !back->found : false;
	if (!bad) {
		point(r, "rp_filter", PR_CHECK_OK, NULL, "%s (max of all = %d and %s = %d)%s",
		      eff == 1 ? "strict" : eff == 2 ? "loose" : "off", all, r->ifname, ifv,
		      eff ? ": the route back to the client passes" : "");
		return;
	}
	snprintf(fix, sizeof(fix), "sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.%s.rp_filter=2 (loose), "
		 "or route %s via %s", r->ifname, addr_s(a, r->family, &r->src.addr), r->ifname);
	point(r, "rp_filter", strcmp(r->verdict, "redirect") ? PR_CHECK_FAIL : PR_CHECK_WARN, fix,
	      "rp_filter is %s on %s and the route back to %s %s%s: the stack drops the client's packets%s",
	      eff == 1 ? "strict" : "loose", r->ifname, a, back->found ? "leaves by " : "does not exist",
	      back->found ? dev : "",
	      strcmp(r->verdict, "redirect") ? "" : " it sees (this one goes straight out; a first packet "
						   "before the neighbour is known, or a fragment, would not)");
}

static bool loopback(__u8 family, const union pr_addr *a)
{
	if (family == PR_AF_INET)
		return a->b[0] == 127;
	return !a->v6[0] && !a->v6[1] && !a->v6[2] && a->v6[3] == htonl(1);
}

/* A packet from an interface to a loopback address is martian to the stack,
 * unless IPv4's route_localnet (all or the interface's) allows it. */
static void check_localnet(struct pr_check_result *r, const char *a)
{
	char path[128], fix[320];
	int all, dev;

	if (r->family == PR_AF_INET6) {
		point(r, "route", PR_CHECK_FAIL, "a target on another address of this host than ::1",
		      "%s is loopback: the stack drops a packet from %s to it", a, r->ifname);
		return;
	}
	all = pr_sysctl_int("/proc/sys/net/ipv4/conf/all/route_localnet");
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", r->ifname);
	dev = pr_sysctl_int(path);
	if (all == 1 || dev == 1) {
		point(r, "route", PR_CHECK_OK, NULL, "%s is loopback, and route_localnet lets packets from %s reach it",
		      a, r->ifname);
		return;
	}
	snprintf(fix, sizeof(fix), "sysctl -w net.ipv4.conf.%s.route_localnet=1, or a target on another address "
		 "of this host", r->ifname);
	point(r, "route", PR_CHECK_FAIL, fix, "%s is loopback: the stack drops a packet from %s to it as martian "
	      "(net.ipv4.conf.%s.route_localnet = %d)", a, r->ifname, r->ifname, dev);
}

/* Towards the target: its route and neighbour, then what replies need. */
static void check_target(struct pr_check_result *r, const struct pr_iface_status *ifs, size_t nifs,
			 const struct pr_route *back)
{
	char a[PR_ADDR_TEXT_LEN], g[PR_ADDR_TEXT_LEN], fix[320], ydev[IF_NAMESIZE] = "?";
	const union pr_addr *tgt = &r->out_dst.addr, *hop;
	struct pr_route rt;
	int err = pr_route_get(r->family, tgt, &rt);

	addr_s(a, r->family, tgt);
	if (err) {
		point(r, "route", PR_CHECK_FAIL, "ip route get TARGET shows why", "cannot look up the route to %s: %s", a,
		      strerror(-err));
		return;
	}
	if (!rt.found) {
		snprintf(fix, sizeof(fix), "ip route add %s via GATEWAY (or an address on its network)", a);
		point(r, "route", PR_CHECK_FAIL, fix, "no route to %s", a);
		return;
	}
	r->route_found = true;
	r->route_ifindex = rt.oif;
	if (!rt.oif || !if_indextoname(rt.oif, r->route_dev))
		snprintf(r->route_dev, sizeof(r->route_dev), "?");
	r->route_local = rt.type == RTN_LOCAL;
	r->route_has_gw = rt.has_gw;
	r->route_gw = rt.gw;
	r->route_has_src = rt.has_src;
	r->route_src = rt.src;
	if (strcmp(r->verdict, "redirect") == 0)
		snprintf(r->out_ifname, sizeof(r->out_ifname), "%s", r->route_dev);
	if (r->route_local && !r->local_client && loopback(r->family, tgt)) {
		check_localnet(r, a);
	} else if (r->route_local) {
		point(r, "route", PR_CHECK_OK, NULL, "%s is this host's own address: delivered locally", a);
	} else {
		point(r, "route", PR_CHECK_OK, NULL, "%s via %s%s%s", a, r->route_dev, rt.has_gw ? " gateway " : "",
		      rt.has_gw ? addr_s(g, r->family, &rt.gw) : "");
		if (!r->local_client) /* a local connect leaves by the output path */
			check_forwarding(r);
		hop = rt.has_gw ? &rt.gw : tgt;
		addr_s(g, r->family, hop);
		pr_neigh_get(r->family, hop, rt.oif, r->neigh_state, sizeof(r->neigh_state), r->neigh_mac,
			     &r->neigh_has_mac);
		if (!strcmp(r->neigh_state, "failed") || !strcmp(r->neigh_state, "incomplete")) {
			snprintf(fix, sizeof(fix), "make %s answer on %s (is it up, on that network?); ip neigh show dev %s",
				 g, r->route_dev, r->route_dev);
			point(r, "neighbour", PR_CHECK_FAIL, fix, "%s on %s does not answer %s (%s)", g, r->route_dev,
			      r->family == PR_AF_INET6 ? "neighbour discovery" : "ARP", r->neigh_state);
		} else if (!strcmp(r->neigh_state, "none")) {
			point(r, "neighbour", PR_CHECK_NOTE, NULL,
			      "%s on %s is not resolved yet: the first packet goes by the stack, which resolves it", g,
			      r->route_dev);
		} else {
			point(r, "neighbour", PR_CHECK_OK, NULL, "%s on %s is %s", g, r->route_dev, r->neigh_state);
		}
	}
	/* Replies come in by the target's interface and leave by the client's:
	 * one of the two must be attached to turn their source back. A local
	 * client's replies are turned back at the socket (recvmsg, getpeername). */
	if (r->local_client)
		return;
	if (!back->found) {
		point(r, "reply", PR_CHECK_FAIL, "add a route back to the client", "no route back to %s",
		      addr_s(g, r->family, &r->src.addr));
		return;
	}
	if (!back->oif || !if_indextoname(back->oif, ydev))
		snprintf(ydev, sizeof(ydev), "?");
	if (attached_name(ifs, nifs, back->oif) || (!r->route_local && attached_name(ifs, nifs, rt.oif))) {
		point(r, "reply", PR_CHECK_OK, NULL, "replies come in by %s and leave by %s, and %s is attached",
		      r->route_local ? "the local stack" : r->route_dev, ydev,
		      attached_name(ifs, nifs, back->oif) ? ydev : r->route_dev);
		return;
	}
	snprintf(fix, sizeof(fix), "portredir attach %s", ydev);
	point(r, "reply", PR_CHECK_FAIL, fix,
	      "replies leave by %s, which is not attached (nor is %s, where they come in): they would reach "
	      "the client from the target's address, untranslated", ydev, r->route_local ? "lo" : r->route_dev);
}

static void check_socket(struct pr_check_result *r)
{
	char desc[128];

	if (has_reason(r, PR_R_PASS_LOCAL_SOCKET))
		return; /* the verdict said it */
	if (pr_local_socket(r->proto, r->family, &r->dst.addr, r->dst.port, desc, sizeof(desc)) != 1) {
		point(r, "socket", PR_CHECK_OK, NULL, "no local socket on %s port %u", pr_proto_name(r->proto),
		      r->dst.port);
		return;
	}
	point(r, "socket", PR_CHECK_WARN, "move the local service to another port, or the rule",
	      "a local socket is bound to %s: portredir takes the packets of attached interfaces before it; "
	      "clients by other paths reach the socket instead", desc);
}

static void check_nft(struct pr_check_result *r)
{
	char desc[200] = "", del[200] = "";
	__u16 ports[2] = { r->dst.port, r->out_dst.port };
	int n;

	for (int i = 0; i < (r->translated && ports[1] != ports[0] && strcmp(r->verdict, "redirect") ? 2 : 1); i++) {
		n = pr_nft_dnat(r->proto, ports[i], desc, sizeof(desc), del, sizeof(del));
		if (n == -ENOENT) {
			point(r, "nftables", PR_CHECK_NOTE, NULL, "nft is not installed: DNAT rules of nftables "
			      "(and iptables-nft) were not checked");
			return;
		}
		if (n < 0) {
			point(r, "nftables", PR_CHECK_NOTE, NULL, "nft -j list ruleset failed: DNAT rules not checked");
			return;
		}
		if (n > 0) {
			point(r, "nftables", PR_CHECK_FAIL, del,
			      "%d nftables rule%s DNAT %s port %u too (%s): %s", n, n == 1 ? "" : "s",
			      pr_proto_name(r->proto), ports[i], desc,
			      i ? "the stack would translate the packet again"
				: "it takes the packets of paths portredir is not on, and fights it over the port");
			return;
		}
	}
	point(r, "nftables", PR_CHECK_OK, NULL, "no nftables DNAT or redirect rule on the port");
}

/* Whether a of family is in one of m's allowed prefixes. */
static bool allowed(const struct pr_rule_meta *m, __u8 family, const union pr_addr *a)
{
	for (unsigned int i = 0; i < m->allow_count && i < PR_ALLOW_MAX; i++) {
		const struct pr_cidr *p = &m->allow[i];
		bool in = p->family == family;

		for (int b = 0; in && b < p->len; b++)
			in = ((a->b[b / 8] ^ p->addr.b[b / 8]) & (0x80 >> (b % 8))) == 0;
		if (in)
			return true;
	}
	return false;
}

/* A client on this host: its connect or send goes through the socket hooks,
 * which a test run cannot exercise; what they need is checked instead. */
static int check_local(struct pr_ctx *c, struct pr_check_result *r)
{
	struct pr_local_status st;
	char a[PR_ADDR_TEXT_LEN];
	union pr_addr lo;

	r->local_client = true;
	if (pr_local_status(c, &st) == 0 && st.attached)
		point(r, "local", PR_CHECK_OK, NULL, "the socket hooks are attached for this namespace's processes");
	else
		point(r, "local", PR_CHECK_FAIL, "portredir attach --local",
		      "%s is this host's own: its connects go through the socket hooks, which are not attached here",
		      addr_s(a, r->family, &r->src.addr));
	if (!r->rule_found) {
		point(r, "rule", PR_CHECK_FAIL, "portredir add PROTO LISTEN TARGET (see portredir add -h)",
		      "no rule for %s %s:%u", pr_proto_name(r->proto), addr_s(a, r->family, &r->dst.addr), r->dst.port);
		return 0;
	}
	/* the socket hooks admit the host when the allowlist admits loopback (bpf/lib/sock.h) */
	memset(&lo, 0, sizeof(lo));
	if (r->family == PR_AF_INET)
		lo.v4 = htonl(INADDR_LOOPBACK);
	else
		lo.v6[3] = htonl(1);
	if (r->rule.allow_count && !allowed(&r->rule, r->family, &lo)) {
		struct pr_check_result tmp = *r;
		char fix[320];

		tmp.src.addr = lo;
		allow_fix(&tmp, fix, sizeof(fix));
		point(r, "allowlist", PR_CHECK_FAIL, fix, "the allowlist of rule %s refuses this host (%s): local "
		      "clients are admitted as its loopback address", r->rule.name[0] ? r->rule.name : "(unnamed)",
		      addr_s(a, r->family, &lo));
		return 0;
	}
	r->out_src = r->src;
	r->out_dst.addr = r->rule.rule.target;
	r->out_dst.port = r->rule.rule.target_port ? ntohs(r->rule.rule.target_port) + (r->dst.port -
			  ntohs(r->rule.key.port)) * (r->rule.target_port_last != 0) : r->dst.port;
	r->translated = true;
	snprintf(r->verdict, sizeof(r->verdict), "socket");
	point(r, "rule", PR_CHECK_OK, NULL, "rule %s: a connect is sent to %s:%u", r->rule.name[0] ? r->rule.name : "(unnamed)",
	      addr_s(a, r->family, &r->out_dst.addr), r->out_dst.port);
	check_target(r, NULL, 0, NULL);
	point(r, "local", PR_CHECK_NOTE, NULL, "the socket hooks are not test-run: the rule, its allowlist, the hooks "
	      "and the route are what was checked");
	return 0;
}

int pr_check(struct pr_ctx *c, const struct pr_check_req *q, struct pr_check_result *r)
{
	struct pr_iface_status *ifs = NULL;
	char owner[IF_NAMESIZE], a[PR_ADDR_TEXT_LEN], fix[320];
	__u8 pkt[256], dmac[6], smac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	struct pr_route back = {};
	size_t nifs = 0;
	int err, len;

	memset(r, 0, sizeof(*r));
	r->works = true;
	r->family = q->family;
	r->proto = q->proto;
	err = pr_iface_list(c, &ifs, &nifs);
	if (err)
		return err;
	find_ingress(q, r, ifs, nifs);
	if (!r->ifname[0]) {
		point(r, "attached", PR_CHECK_FAIL, "portredir attach IFACE (the interface clients come in by)",
		      "no interface is attached in this network namespace");
		goto out;
	}
	/* The packet: to the listen address (":PORT": the interface's own), from the client. */
	r->dst.port = q->port;
	if (!q->listen_any) {
		r->dst.addr = q->listen;
	} else {
		__u8 plen;

		if (pr_if_addr(r->ifname, r->family, &r->dst.addr, &plen)) {
			point(r, "address", PR_CHECK_FAIL, "give LISTEN an address, or the interface one",
			      "%s has no IPv%u address for a client to connect to", r->ifname, r->family);
			goto out;
		}
	}
	if (q->from_set) {
		r->src.addr = q->from;
	} else if (assume_client(r)) {
		point(r, "address", PR_CHECK_FAIL, "give --from ADDR", "%s has no IPv%u network to take a client from",
		      r->ifname, r->family);
		goto out;
	}
	r->src.port = q->from_port ? q->from_port : PR_CHECK_DEFAULT_SPORT;
	find_rule(c, r);
	if (q->from_set && pr_addr_owner(r->family, &q->from, owner, sizeof(owner)) == 0) {
		err = check_local(c, r);
		goto out;
	}
	if (r->attached)
		point(r, "attached", PR_CHECK_OK, NULL, "%s is attached in %s mode%s", r->ifname, pr_mode_name(r->mode),
		      r->via_stack ? " (--via-stack)" : "");
	else {
		snprintf(fix, sizeof(fix), "portredir attach %s", r->ifname);
		point(r, "attached", PR_CHECK_FAIL, fix, "%s, where the client's packets come in, is not attached "
		      "(the test run shows what its TC program would do)", r->ifname);
	}
	if (r->attached && r->mode == PR_MODE_GENERIC) {
		snprintf(fix, sizeof(fix), "portredir attach %s --mode native (if its driver has XDP), or --mode tc", r->ifname);
		point(r, "xdp_mode", PR_CHECK_WARN, fix, "%s runs generic XDP: it works, at the cost of an skb a packet "
		      "and without GRO", r->ifname);
	}
	/* Ethernet as the client's NIC would send it: to our MAC, from its own. */
	pr_if_mac(r->ifname, dmac);
	{
		char st[16];
		__u8 m[6];
		bool has;

		pr_neigh_get(r->family, &r->src.addr, r->ifindex, st, sizeof(st), m, &has);
		if (has)
			memcpy(smac, m, 6);
	}
	len = pr_check_packet(r, dmac, smac, pkt, sizeof(pkt));
	if (len < 0) {
		err = pr_errf(c, len, "cannot build the check packet");
		goto out;
	}
	err = pr_check_run(c, r, pkt, (size_t)len);
	if (err)
		goto out;
	check_verdict(r);
	pr_route_get(r->family, &r->src.addr, &back);
	if (r->translated) {
		check_rp_filter(r, &back);
		check_target(r, ifs, nifs, &back);
	}
	check_socket(r);
	check_nft(r);
	if (r->src_assumed)
		point(r, "client", PR_CHECK_NOTE, NULL, "no --from: the client is %s, a host on %s's network",
		      addr_s(a, r->family, &r->src.addr), r->ifname);
out:
	free(ifs);
	return err;
}
