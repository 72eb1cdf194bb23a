/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The datapath fuzzer's oracle: a bounded packet parser and the checks every translated packet must pass. */
#ifndef PR_FUZZ_ORACLE_H
#define PR_FUZZ_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include "libportredir.h"

/* Where an IP packet's fields sit in a buffer; offsets from the buffer's start. */
struct view {
	int family;       /* 4 or 6; 0: not an IP packet this parser understands */
	int l3, end;      /* the IP header; the end of the IP packet (its length field, within the buffer) */
	bool complete;    /* the buffer holds all of the length field's bytes */
	int saddr, daddr; /* address offsets, alen bytes each */
	int alen;
	__u8 proto;
	bool frag;        /* a fragment, first or later */
	int l4;           /* the L4 header, or -1 (a later fragment, or too short for ports) */
};

/* Parse the IP packet at off in b[0..len); every read is bounded by len.
 * quoted: 0, or the family (4, 6) of an ICMP error whose quoted packet this
 * is; as the datapath does, its length field is ignored, its IPv6 extension
 * headers are not walked, and an IPv6 quote's version nibble is not checked. */
void view_parse(const __u8 *b, size_t len, int off, int quoted, struct view *v);
/* The L4 checksum field's offset, or -1 when the segment is too short for it. */
int view_csum_off(const struct view *v);
/* IPv4 header checksum verifies (IPv6: true). */
bool view_ip_csum_ok(const __u8 *b, const struct view *v);
/* TCP, UDP, ICMP or ICMPv6 checksum verifies over the whole segment; only
 * meaningful for a complete, unfragmented packet. */
bool view_l4_csum_ok(const __u8 *b, const struct view *v);

/* The fixed rule set the oracle judges by. */
struct oracle {
	const struct pr_rule_spec *rules;
	size_t nrules;
	/* addresses packets reach any-address rules at (the seeds' listen addresses) */
	const union pr_addr *any_listen;
	size_t nany;
};

enum hook { HOOK_XDP, HOOK_TC_IN, HOOK_TC_EG };

/* Judge one run: in went through hook and came out as out (same length),
 * with verdict redirect true when the packet was sent to another device.
 * flows is whether a flow had been opened before. Calls abort() with a
 * message naming the violation. */
void oracle_check(const struct oracle *o, enum hook hook, bool flows, const __u8 *in, const __u8 *out,
		  size_t len, bool redirect);

#endif
