// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* XDP ingress: translate IPv4 and IPv6 forward and reply packets whose checksums are complete; leave the rest to TC. */
#include "lib/ctx/xdp.h"
#include "lib/pipeline.h"

SEC("xdp")
int pr_xdp(struct xdp_md *ctx)
{
	return pr_pipeline(ctx, PR_HOOK_INGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
