/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the command files share: the global options, opening the pinned maps, and the commands main dispatches to. */
#ifndef PR_CLI_H
#define PR_CLI_H

#include <stdbool.h>
#include "libportredir.h"
#include "params.h"
#include "output.h"

#define STR_(x) #x
#define STR(x) STR_(x) /* a number macro as a string, for help texts */

/* The options before the command (main.c's table). */
struct cli_global {
	const char *pin_dir;
	bool json, verbose, version, help;
};
extern struct cli_global cli;

/* The pin dir a command works on, for messages when there are no maps. */
const char *cli_pin_dir(void);
/* Open the pinned maps (creating them when create, and then migrating an
 * older schema's; max_rules sizes new ones,
 * 0 the default). Returns 0; 1 when there are none yet and !create
 * (read-only commands then show an empty state); or EXIT_FAIL once the
 * failure has been reported. */
int cli_open(struct pr_ctx *c, bool create, __u32 max_rules);
/* cli_open with pr_open's flags (PR_OPEN_*). */
int cli_open_flags(struct pr_ctx *c, unsigned int flags, __u32 max_rules);
/* An attached interface with every program it should have. */
/* Report c->err as the command's failure; returns EXIT_FAIL. */
int cli_fail(const struct pr_ctx *c);

/* The commands, each defined next to its function. */
extern const struct cmd cmd_attach, cmd_detach, cmd_status;
extern const struct cmd cmd_add, cmd_del, cmd_list, cmd_apply, cmd_save;
extern const struct cmd cmd_stats, cmd_conntrack, cmd_exporter;
extern const struct cmd cmd_repair;
extern const struct cmd cmd_check;
extern const struct cmd cmd_monitor;

#endif
