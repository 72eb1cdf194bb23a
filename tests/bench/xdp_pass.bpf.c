// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* XDP_PASS and nothing else: what a container's own XDP program looks like to its veth's far end (redirect.sh case_xdp_veth gives it to s0, so s0 has NAPI). */
#include "../../bpf/lib/kernel.h"

SEC("xdp")
int pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
