// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A rule's source NAT options (--snat, --masquerade, --snat-ports, --hairpin): their words, their checks against the rule, and the default port range. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "libportredir.h"
#include "internal.h"

/* Where Linux takes ephemeral ports from unless told otherwise. */
#define LOCAL_LO_DEFAULT 32768
#define LOCAL_HI_DEFAULT 60999
/* Ports below this are privileged services' own; the default range never goes there. */
#define SNAT_PORT_MIN 1024

int pr_snat_default_ports(__u16 local_lo, __u16 local_hi, __u16 *lo, __u16 *hi)
{
	if (local_hi < 65535) {
		*lo = local_hi + 1;
		*hi = 65535;
		return 0;
	}
	if (local_lo > SNAT_PORT_MIN) {
		*lo = SNAT_PORT_MIN;
		*hi = local_lo - 1;
		return 0;
	}
	return -ENOSPC;
}

void pr_local_port_range(__u16 *lo, __u16 *hi)
{
	/* Read once a process: apply parses a default range for every rule of
	 * its file, and the file costs an open and a read each time. */
	static __u16 cached_lo, cached_hi;
	unsigned int a, b;
	FILE *f;

	if (cached_lo) {
		*lo = cached_lo;
		*hi = cached_hi;
		return;
	}
	*lo = LOCAL_LO_DEFAULT;
	*hi = LOCAL_HI_DEFAULT;
	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	if (f) {
		if (fscanf(f, "%u %u", &a, &b) == 2 && a >= 1 && a <= b && b <= 65535) {
			*lo = a;
			*hi = b;
		}
		fclose(f);
	}
	cached_lo = *lo;
	cached_hi = *hi;
}

int pr_nat_word(int argc, char *const *argv, int *i, struct pr_nat_words *w, char *err, size_t len)
{
	const char *a = argv[*i], **val;

	if (strcmp(a, "--masquerade") == 0) {
		w->masq = true;
		return 1;
	}
	if (strcmp(a, "--snat") == 0)
		val = &w->snat;
	else if (strcmp(a, "--snat-ports") == 0)
		val = &w->ports;
	else if (strcmp(a, "--hairpin") == 0)
		val = &w->hairpin;
	else
		return 0;
	if (*i + 1 >= argc)
		return pr_perr(err, len, "%s needs %s", a,
			       val == &w->snat ? "an address" : val == &w->ports ? "a range LO-HI" : "auto or off");
	if (*val)
		return pr_twice(err, len, a, *val, argv[*i + 1]);
	*val = argv[++*i];
	return 1;
}

/* --snat ADDR: a unicast address of the rule's family. */
static int parse_snat_addr(const char *tok, __u8 family, struct pr_rule_nat *n, char *err, size_t len)
{
	if (inet_pton(AF_INET, tok, &n->addr.v4) == 1)
		n->family = PR_AF_INET;
	else if (inet_pton(AF_INET6, tok, n->addr.b) == 1)
		n->family = PR_AF_INET6;
	else
		return pr_perr(err, len, "bad --snat address '%s'", tok);
	if ((n->addr.v6[0] | n->addr.v6[1] | n->addr.v6[2] | n->addr.v6[3]) == 0)
		return pr_perr(err, len, "--snat '%s' needs an address, not the unspecified one", tok);
	if (n->family != family)
		return pr_perr(err, len, "--snat '%s' is IPv%u but the rule is IPv%u", tok, n->family, family);
	n->mode = PR_SNAT_ADDR;
	return 0;
}

/* The port range: --snat-ports, else the default for this host. */
static int snat_ports(const struct pr_nat_words *w, struct pr_rule_spec *s, char *err, size_t len)
{
	__u16 llo, lhi;
	char whole[64];

	if (w->ports) {
		snprintf(whole, sizeof(whole), "--snat-ports %s", w->ports);
		if (pr_parse_port_range(w->ports, whole, &s->nat.port_lo, &s->nat.port_hi, err, len))
			return -EINVAL;
		s->snat_ports_set = true;
		return 0;
	}
	pr_local_port_range(&llo, &lhi);
	if (pr_snat_default_ports(llo, lhi, &s->nat.port_lo, &s->nat.port_hi) == 0)
		return 0;
	if (s->nat.mode != PR_SNAT_NONE)
		return pr_perr(err, len,
			       "no room for a default --snat-ports: ip_local_port_range is %u-%u (give --snat-ports LO-HI)",
			       llo, lhi);
	/* DNAT only: the range serves hairpin flows and tuple clashes, which
	 * then may meet a local socket's port; the README says so */
	s->nat.port_lo = SNAT_PORT_MIN;
	s->nat.port_hi = 65535;
	return 0;
}

int pr_nat_apply(const struct pr_nat_words *w, struct pr_rule_spec *s, char *err, size_t len)
{
	memset(&s->nat, 0, sizeof(s->nat));
	s->nat.family = s->key.family;
	if (w->masq && w->snat)
		return pr_perr(err, len, "--masquerade and --snat '%s' exclude each other", w->snat);
	if (w->snat && parse_snat_addr(w->snat, s->key.family, &s->nat, err, len))
		return -EINVAL;
	if (w->masq) {
		s->nat.mode = PR_SNAT_MASQ;
		s->nat.family = s->key.family;
	}
	if (w->hairpin && strcmp(w->hairpin, "auto") && strcmp(w->hairpin, "off"))
		return pr_perr(err, len, "unknown --hairpin '%s' (expected auto or off)", w->hairpin);
	s->hairpin_off = w->hairpin && strcmp(w->hairpin, "off") == 0;
	return snat_ports(w, s, err, len);
}
