// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The datapath fuzzer's oracle: what may change in a packet, into what, and which checksums must still verify. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/in.h>
#include "csum_ref.h"
#include "oracle.h"

#define ETH_HLEN 14

static __u16 rd16(const __u8 *b) { return (b[0] << 8) | b[1]; }

void view_parse(const __u8 *b, size_t len, int off, int quoted, struct view *v)
{
	memset(v, 0, sizeof(*v));
	v->l4 = -1;
	v->l3 = off;
	if ((size_t)off + 20 > len)
		return;
	if (b[off] >> 4 == 4 && quoted != 6) {
		int hl = (b[off] & 15) * 4, tot = rd16(b + off + 2), fo = rd16(b + off + 6);

		if (quoted)
			tot = len - off; /* a quote is cut short anyway: its length field says nothing */
		if (hl < 20 || tot < hl || (size_t)(off + hl) > len)
			return;
		v->family = 4, v->alen = 4, v->saddr = off + 12, v->daddr = off + 16, v->proto = b[off + 9];
		v->complete = (size_t)(off + tot) <= len;
		v->end = v->complete ? off + tot : (int)len;
		v->frag = (fo & 0x3fff) != 0;
		if (!(fo & 0x1fff) && off + hl + 4 <= v->end)
			v->l4 = off + hl;
		return;
	}
	/* a quoted packet is taken as IPv6 when its carrier is, as the datapath does */
	if ((b[off] >> 4 != 6 && quoted != 6) || (size_t)off + 40 > len)
		return;
	int plen = quoted ? (int)len - off - 40 : rd16(b + off + 4), h = off + 40, later = 0;
	__u8 nh = b[off + 6];

	v->family = 6, v->alen = 16, v->saddr = off + 8, v->daddr = off + 24;
	v->complete = (size_t)(off + 40 + plen) <= len;
	v->end = v->complete ? off + 40 + plen : (int)len;
	/* the datapath does not chase a quoted packet's extension headers */
	for (int i = 0; i < 8 && !quoted && (nh == 0 || nh == 60 || nh == 43 || nh == 44); i++) {
		if (h + 8 > v->end) {
			v->family = 0; /* the datapath cannot reach an L4 header either */
			return;
		}
		if (nh == 44) {
			v->frag = true;
			later = rd16(b + h + 2) & 0xfff8;
		}
		int elen = nh == 44 ? 8 : (b[h + 1] + 1) * 8;

		nh = b[h];
		h += elen;
	}
	v->proto = nh;
	if (!later && h + 4 <= v->end)
		v->l4 = h;
}

int view_csum_off(const struct view *v)
{
	int at = v->proto == IPPROTO_TCP ? 16 : v->proto == IPPROTO_UDP ? 6 :
		 v->proto == IPPROTO_ICMP || v->proto == IPPROTO_ICMPV6 ? 2 : -1;

	return at < 0 || v->l4 < 0 || v->l4 + at + 2 > v->end ? -1 : v->l4 + at;
}

bool view_ip_csum_ok(const __u8 *b, const struct view *v)
{
	return v->family != 4 || fold(sum16(b + v->l3, (b[v->l3] & 15) * 4, 0)) == 0xffff;
}

bool view_l4_csum_ok(const __u8 *b, const struct view *v)
{
	__u32 len = v->end - v->l4, s = 0;

	if (v->proto != IPPROTO_ICMP) {
		s = sum16(b + v->saddr, v->alen, 0);
		s = sum16(b + v->daddr, v->alen, s);
		s += v->proto + (len >> 16) + (len & 0xffff);
	}
	return fold(sum16(b + v->l4, len, s)) == 0xffff;
}

static void fail(const char *hook, const __u8 *in, const __u8 *out, size_t len, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 5, 6)));

static void fail(const char *hook, const __u8 *in, const __u8 *out, size_t len, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\nportredir fuzz: VIOLATION at %s: ", hook);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n  in :");
	for (size_t i = 0; i < len && i < 128; i++)
		fprintf(stderr, " %02x", in[i]);
	fprintf(stderr, "\n  out:");
	for (size_t i = 0; i < len && i < 128; i++)
		fprintf(stderr, " %02x", out[i]);
	fprintf(stderr, "\n");
	abort();
}

static bool addr_eq(const union pr_addr *a, const __u8 *b, int alen)
{
	return memcmp(a->b, b, alen) == 0;
}

static bool addr_any(const union pr_addr *a)
{
	static const union pr_addr zero;

	return memcmp(a, &zero, sizeof(zero)) == 0;
}

static bool proto_ok(const struct pr_rule_spec *r, int family, __u8 proto)
{
	return r->key.family == family && (!r->key.proto || r->key.proto == proto);
}

/* The listen port p of r maps to this target port. */
static __u16 map_port(const struct pr_rule_spec *r, __u16 p)
{
	if (!r->target_port)
		return p; /* DMZ: keep the port */
	if (r->target_port_last)
		return ntohs(r->target_port) + (p - ntohs(r->key.port));
	return ntohs(r->target_port);
}

/* r listens on a:port (port -1: any). An any-address rule takes every
 * address; with strict, only those the flows were opened to (a reply's
 * source can only be the address its client used). */
static bool listens_on(const struct oracle *o, const struct pr_rule_spec *r, const __u8 *a, int alen, int port,
		       bool strict)
{
	bool addr = addr_any(&r->key.addr) ? true : addr_eq(&r->key.addr, a, alen);

	if (strict && addr_any(&r->key.addr)) {
		addr = false;
		for (size_t i = 0; i < o->nany && !addr; i++)
			addr = addr_eq(&o->any_listen[i], a, alen);
	}
	if (!addr)
		return false;
	return port < 0 || !r->key.port || (port >= ntohs(r->key.port) && port <= r->port_last);
}

/* Forward: the listen side (oa, op) became (na, np) by some rule; port -1: none carried. */
static bool fwd_ok(const struct oracle *o, int fam, __u8 proto, const __u8 *oa, int op, const __u8 *na, int np, int alen)
{
	for (size_t i = 0; i < o->nrules; i++) {
		const struct pr_rule_spec *r = &o->rules[i];

		if ((proto_ok(r, fam, proto) || (op < 0 && r->key.family == fam)) && listens_on(o, r, oa, alen, op, false) &&
		    addr_eq(&r->target, na, alen) && (op < 0 || map_port(r, op) == np))
			return true;
	}
	return false;
}

/* Reply: the target side (oa, op) became a listen side (na, np) some rule names. */
static bool rev_ok(const struct oracle *o, int fam, __u8 proto, const __u8 *oa, int op, const __u8 *na, int np, int alen)
{
	for (size_t i = 0; i < o->nrules; i++) {
		const struct pr_rule_spec *r = &o->rules[i];

		if ((proto_ok(r, fam, proto) || (op < 0 && r->key.family == fam)) && addr_eq(&r->target, oa, alen) &&
		    listens_on(o, r, na, alen, np, true) && (op < 0 || map_port(r, np) == op))
			return true;
	}
	return false;
}

/* One side of a packet's tuple: an address and a port (-1: none carried). */
struct side {
	const __u8 *a;
	int port;
};

/* a:port is r's source NAT side: its --snat address, the port in its range. */
static bool snat_side(const struct pr_rule_spec *r, struct side x, int alen)
{
	return r->nat.mode == PR_SNAT_ADDR && r->nat.family == r->key.family && addr_eq(&r->nat.addr, x.a, alen) &&
	       (x.port < 0 || (x.port >= r->nat.port_lo && x.port <= r->nat.port_hi));
}

/* Full NAT, forward: the listen side l became the target side t and the
 * client side c became the source NAT side n, by one --snat rule. The
 * client's port is kept when it lies in the range, else one is allocated. */
static bool fwd2_ok(const struct oracle *o, int fam, __u8 proto, struct side l, struct side t, struct side c,
		    struct side n, int alen)
{
	for (size_t i = 0; i < o->nrules; i++) {
		const struct pr_rule_spec *r = &o->rules[i];

		if (r->nat.mode != PR_SNAT_NONE && (proto_ok(r, fam, proto) || (l.port < 0 && r->key.family == fam)) &&
		    listens_on(o, r, l.a, alen, l.port, false) && addr_eq(&r->target, t.a, alen) &&
		    (l.port < 0 || map_port(r, l.port) == t.port) && snat_side(r, n, alen))
			return true;
	}
	return false;
}

/* Full NAT, reply: the target side t became the listen side l and the
 * source NAT side n became a client (any: the oracle keeps no flows). */
static bool rev2_ok(const struct oracle *o, int fam, __u8 proto, struct side t, struct side l, struct side n,
		    int alen)
{
	for (size_t i = 0; i < o->nrules; i++) {
		const struct pr_rule_spec *r = &o->rules[i];

		if (r->nat.mode != PR_SNAT_NONE && (proto_ok(r, fam, proto) || (t.port < 0 && r->key.family == fam)) &&
		    addr_eq(&r->target, t.a, alen) && listens_on(o, r, l.a, alen, l.port, true) &&
		    (t.port < 0 || map_port(r, l.port) == t.port) && snat_side(r, n, alen))
			return true;
	}
	return false;
}

/* Only the destination of a reply-side ICMP error changed, from a source
 * NAT side to the client: a router on the target's path keeps its own source. */
static bool snat_to_client_ok(const struct oracle *o, int fam, struct side n, int alen)
{
	for (size_t i = 0; i < o->nrules; i++)
		if (o->rules[i].nat.mode != PR_SNAT_NONE && o->rules[i].key.family == fam &&
		    snat_side(&o->rules[i], n, alen))
			return true;
	return false;
}

/* The tuple clash (Linux NAT's answer, design.md "Full NAT"): a new flow
 * whose reply would be a live flow's gets another source port from its
 * rule's range; the client's address stays. Forward: the listen side l
 * became the target side t by rule r, the client side c kept its address
 * and took a port in r's range. A flow opened to the target itself maps l
 * onto itself. */
static bool remap_fwd_ok(const struct oracle *o, int fam, __u8 proto, struct side l, struct side t, struct side c,
			 struct side c2, int alen)
{
	if (c.port < 0 || memcmp(c.a, c2.a, alen))
		return false;
	for (size_t i = 0; i < o->nrules; i++) {
		const struct pr_rule_spec *r = &o->rules[i];

		if (proto_ok(r, fam, proto) && listens_on(o, r, l.a, alen, l.port, false) && addr_eq(&r->target, t.a, alen) &&
		    map_port(r, l.port) == t.port && c2.port >= r->nat.port_lo && c2.port <= r->nat.port_hi)
			return true;
	}
	return false;
}

/* Reply of such a flow: the target side t became the listen side l (itself
 * for a flow opened to the target), the client side c kept its address and
 * got back its own port from one in the rule's range. */
static bool remap_rev_ok(const struct oracle *o, int fam, __u8 proto, struct side t, struct side l, struct side c,
			 struct side c2, int alen)
{
	bool self = !memcmp(t.a, l.a, alen);

	if (c.port < 0 || memcmp(c.a, c2.a, alen))
		return false;
	for (size_t i = 0; i < o->nrules; i++) {
		const struct pr_rule_spec *r = &o->rules[i];

		if (proto_ok(r, fam, proto) && addr_eq(&r->target, t.a, alen) &&
		    listens_on(o, r, l.a, alen, l.port, !self) && map_port(r, l.port) == t.port &&
		    c.port >= r->nat.port_lo && c.port <= r->nat.port_hi)
			return true;
	}
	return false;
}

/* Source s and destination d of a packet (a quoted one runs the other way)
 * became s2 and d2 as a flow whose source port was remapped is translated. */
static bool remapped_ok(const struct oracle *o, int fam, __u8 proto, bool inner, struct side s, struct side d,
			struct side s2, struct side d2, int alen)
{
	if (inner)
		return remap_rev_ok(o, fam, proto, d, d2, s, s2, alen) || remap_fwd_ok(o, fam, proto, s, s2, d, d2, alen);
	return remap_fwd_ok(o, fam, proto, d, d2, s, s2, alen) || remap_rev_ok(o, fam, proto, s, s2, d, d2, alen);
}

static const char *const HOOK_NAME[] = { "xdp", "tc ingress", "tc egress" };

struct judge {
	const struct oracle *o;
	const char *hook;
	const __u8 *in, *out;
	size_t len;
	__u8 *mask; /* out with every field allowed to change put back as in had it */
};

/* The addresses and ports of the IP packet at v: judged, then masked. For
 * a quoted packet (inner) the direction is the opposite of its carrier's. */
static void judge_tuple(struct judge *j, const struct view *v, bool inner, bool flows)
{
	const __u8 *in = j->in, *out = j->out;
	bool sch = memcmp(in + v->saddr, out + v->saddr, v->alen) != 0;
	bool dch = memcmp(in + v->daddr, out + v->daddr, v->alen) != 0;
	bool ports = v->l4 >= 0 && v->proto != IPPROTO_ICMP && v->proto != IPPROTO_ICMPV6;
	int isp = ports ? rd16(in + v->l4) : -1, idp = ports ? rd16(in + v->l4 + 2) : -1;
	int osp = ports ? rd16(out + v->l4) : -1, odp = ports ? rd16(out + v->l4 + 2) : -1;
	const char *what = inner ? "quoted packet" : "packet";

	struct side is = { in + v->saddr, isp }, id = { in + v->daddr, idp };
	struct side os = { out + v->saddr, osp }, od = { out + v->daddr, odp };

	if ((sch || isp != osp) && (dch || idp != odp)) {
		/* Full NAT: a forward packet's destination and source, or a
		 * reply's (with a flow open); a quoted packet runs the other way */
		bool ok = inner ? (flows && rev2_ok(j->o, v->family, v->proto, id, od, is, v->alen)) ||
					  (flows && fwd2_ok(j->o, v->family, v->proto, is, os, id, od, v->alen))
				: fwd2_ok(j->o, v->family, v->proto, id, od, is, os, v->alen) ||
					  (flows && rev2_ok(j->o, v->family, v->proto, is, os, id, v->alen));

		ok = ok || (flows && remapped_ok(j->o, v->family, v->proto, inner, is, id, os, od, v->alen));

		if (!ok)
			fail(j->hook, in, out, j->len, "%s: both source and destination rewritten, as no full-NAT "
			     "rule does (ports %d->%d, %d->%d)", what, isp, osp, idp, odp);
		goto mask;
	}
	if (!flows && (sch || isp != osp) && !inner)
		fail(j->hook, in, out, j->len, "source rewritten with no flow open");
	if (dch || idp != odp) {
		bool ok = inner ? rev_ok(j->o, v->family, v->proto, in + v->daddr, idp, out + v->daddr, odp, v->alen)
				: fwd_ok(j->o, v->family, v->proto, in + v->daddr, idp, out + v->daddr, odp, v->alen) ||
					  (flows && !ports && snat_to_client_ok(j->o, v->family, id, v->alen));
		ok = ok || (flows && remapped_ok(j->o, v->family, v->proto, inner, is, id, os, od, v->alen));
		if (!ok)
			fail(j->hook, in, out, j->len, "%s: destination rewritten to an address/port no rule names "
			     "for its listen (port %d -> %d)", what, idp, odp);
	}
	if (sch || isp != osp) {
		bool ok = inner ? fwd_ok(j->o, v->family, v->proto, in + v->saddr, isp, out + v->saddr, osp, v->alen)
				: rev_ok(j->o, v->family, v->proto, in + v->saddr, isp, out + v->saddr, osp, v->alen);
		ok = ok || (flows && remapped_ok(j->o, v->family, v->proto, inner, is, id, os, od, v->alen));
		if (!ok)
			fail(j->hook, in, out, j->len, "%s: source rewritten to an address/port that is no rule's "
			     "listen for its target (port %d -> %d)", what, isp, osp);
	}
mask:
	memcpy(j->mask + v->saddr, in + v->saddr, v->alen);
	memcpy(j->mask + v->daddr, in + v->daddr, v->alen);
	if (v->family == 4)
		memcpy(j->mask + v->l3 + 10, in + v->l3 + 10, 2);
	if (ports)
		memcpy(j->mask + v->l4, in + v->l4, 4);
	if (view_csum_off(v) >= 0)
		memcpy(j->mask + view_csum_off(v), in + view_csum_off(v), 2);
	if (view_ip_csum_ok(in, v) && !view_ip_csum_ok(out, v))
		fail(j->hook, in, out, j->len, "%s: IPv4 header checksum no longer verifies", what);
}

static void judge_l4_csum(struct judge *j, const struct view *v)
{
	int at = view_csum_off(v);

	if (at < 0 || !v->complete || v->frag)
		return;
	if (v->proto == IPPROTO_UDP && rd16(j->in + at) == 0) {
		if (rd16(j->out + at) != 0)
			fail(j->hook, j->in, j->out, j->len, "UDP without a checksum got one (0x%04x)", rd16(j->out + at));
		return;
	}
	if (!view_l4_csum_ok(j->in, v))
		return;
	if (!view_l4_csum_ok(j->out, v))
		fail(j->hook, j->in, j->out, j->len, "L4 checksum (proto %u) no longer verifies from scratch", v->proto);
	if (v->proto == IPPROTO_UDP && rd16(j->out + at) == 0)
		fail(j->hook, j->in, j->out, j->len, "UDP checksum became 0 (none)");
}

void oracle_check(const struct oracle *o, enum hook hook, bool flows, const __u8 *in, const __u8 *out,
		  size_t len, bool redirect)
{
	struct judge j = { .o = o, .hook = HOOK_NAME[hook], .in = in, .out = out, .len = len };
	struct view v, qv;
	__u8 mask[4096];
	size_t i;

	if (!memcmp(in, out, len))
		return;
	if (len > sizeof(mask) || len < ETH_HLEN)
		fail(j.hook, in, out, len, "a %zu-byte packet changed", len);
	if (hook == HOOK_TC_EG && !flows)
		fail(j.hook, in, out, len, "egress translated a packet with no flow open");
	view_parse(in, len, ETH_HLEN, 0, &v);
	if (!v.family || (rd16(in + 12) != 0x0800 && rd16(in + 12) != 0x86dd))
		fail(j.hook, in, out, len, "changed a frame that is not plain IPv4/IPv6 over Ethernet");
	memcpy(mask, out, len);
	j.mask = mask;
	if (redirect) {
		memcpy(mask, in, 12); /* MACs of the route */
		mask[v.l3 + (v.family == 4 ? 8 : 7)] = in[v.l3 + (v.family == 4 ? 8 : 7)]; /* TTL-1 */
	}
	judge_tuple(&j, &v, false, flows);
	judge_l4_csum(&j, &v);
	if ((v.proto == IPPROTO_ICMP || v.proto == IPPROTO_ICMPV6) && v.l4 >= 0) {
		if (!flows)
			fail(j.hook, in, out, len, "an ICMP message translated with no flow open");
		view_parse(in, v.end, v.l4 + 8, v.family, &qv);
		if (qv.family)
			judge_tuple(&j, &qv, true, flows);
	}
	for (i = 0; i < len && mask[i] == in[i]; i++)
		;
	if (i < len)
		fail(j.hook, in, out, len, "byte %zu changed (0x%02x -> 0x%02x), outside addresses, ports and checksums",
		     i, in[i], out[i]);
}
