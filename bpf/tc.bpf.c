// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* TC ingress (forward and reply translation, of what XDP left) and egress (reply translation) on clsact. */
#include "lib/ctx/skb.h"
#include "lib/pipeline.h"

SEC("tc")
int pr_tc_ingress(struct __sk_buff *skb)
{
	return pr_pipeline(skb, PR_HOOK_INGRESS);
}

SEC("tc")
int pr_tc_egress(struct __sk_buff *skb)
{
	return pr_pipeline(skb, PR_HOOK_EGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
