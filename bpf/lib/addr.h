/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Address classes the datapath and the socket hooks share: what counts as loopback. */
#ifndef PR_ADDR_H
#define PR_ADDR_H

#include "kernel.h"
#include "portredir.h"

/* 127.0.0.0/8 or ::1. Such a destination is always a local address for the
 * socket hooks, and never one a packet from outside may be translated for. */
static __always_inline bool pr_addr_loopback(__u8 family, const union pr_addr *a)
{
	if (family == PR_AF_INET)
		return a->b[0] == 127;
	return a->v6[0] == 0 && a->v6[1] == 0 && a->v6[2] == 0 && a->v6[3] == bpf_htonl(1);
}

#endif
