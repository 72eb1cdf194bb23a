/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* How a rule is written, in text and JSON: its field table and views, shared by the commands that print rules. */
#ifndef PR_CLI_DESCRIBE_H
#define PR_CLI_DESCRIBE_H

#include "libportredir.h"
#include "output.h"

/* The fields of rule_desc (a struct pr_rule_meta), in JSON order. */
enum { RULE_ID, RULE_NAME, RULE_PROTO, RULE_LISTEN, RULE_TARGET, RULE_ALLOW, RULE_DENY, RULE_SNAT,
       RULE_SNAT_PORTS, RULE_HAIRPIN, RULE_TEXT /* text only: the rule_sentence view as one value */ };
extern const struct out_desc rule_desc;
/* "tcp :8080 -> 192.0.2.10:80 name web allow 10.0.0.0/8 deny drop snat masquerade ports 61000-65535" */
extern const struct out_col rule_sentence[];
/* That sentence into buf, for messages. */
void rule_text(const struct pr_rule_meta *m, char *buf, size_t len);

/* "ADDR:PORT" or "[ADDR6]:PORT"; with any_blank an unspecified IPv4 address
 * prints as ":PORT" (IPv6 always prints, as "[::]:PORT"). */
void fmt_ep(char *buf, size_t len, __u8 family, const union pr_addr *a, __be16 port, bool any_blank);

#endif
