// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* TC ingress (forward and reply translation) and egress (reply translation) on clsact. */
#include "lib/rewrite.h"
#include "lib/icmp.h"
#include "lib/frag.h"
#include "lib/fib.h"

/* Enough linear data for Ethernet, an IP header with options or extension
 * headers and a TCP header, or an ICMP error quoting the same. */
#define PR_TC_PULL 256

static __always_inline int pr_tc(struct __sk_buff *skb, enum pr_hook hook)
{
	struct pr_xlate x = {};
	struct pr_pkt p = {};
	__u32 reason, bytes = skb->len, want = PR_TC_PULL;
	struct bpf_fib_lookup fib;
	bool fwd = false;
	void *data, *data_end;
	int rc;

	if (want > skb->len)
		want = skb->len;
	if ((void *)(long)skb->data + want > (void *)(long)skb->data_end)
		bpf_skb_pull_data(skb, want);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;

	rc = pr_parse(data, data_end, skb->len, &p);
	if (rc == PR_PARSE_ICMP)
		rc = pr_icmp_handle(&p, data, data_end, hook);
	if (rc == PR_PARSE_FRAG) {
		if (pr_frag_lookup(&p, hook, &x))
			goto xlate;
		rc = PR_R_PASS_FRAGMENT;
	}
	if (rc >= 0) {
		if (hook == PR_HOOK_INGRESS || rc == PR_R_XLATE_ICMP)
			pr_count(rc);
		return TC_ACT_OK;
	}
	rc = pr_decide(skb, &p, hook, &x, &reason);
	if (rc != PR_V_XLATE) {
		if (hook == PR_HOOK_INGRESS)
			pr_count(reason);
		return rc == PR_V_DROP ? TC_ACT_SHOT : TC_ACT_OK;
	}
	if (p.frag == PR_FRAG_FIRST)
		pr_frag_record(&p, &x);
xlate:
	/* Ingress routes the packet as translated before touching it: it goes
	 * straight to the egress device when it can. A reply that cannot is
	 * left untranslated, since the stack would drop it as martian once its
	 * source is one of this host's addresses; the egress hook of the
	 * interface the stack picks translates it there. */
	if (hook == PR_HOOK_INGRESS) {
		fwd = pr_fib_lookup(skb, &fib, data, data_end, skb->ingress_ifindex, &p, &x, !skb->gso_size) == 0;
		if (!fwd && x.dir == PR_DIR_REPLY) {
			pr_count(PR_R_PASS_REPLY_EGRESS);
			return TC_ACT_OK;
		}
	}
	if (pr_tc_rewrite(skb, &p, &x)) {
		pr_count(PR_R_DROP_REWRITE);
		return TC_ACT_SHOT;
	}
	pr_account(&x, bytes);
	if (p.frag != PR_FRAG_NONE)
		pr_count(PR_R_XLATE_FRAG);
	if (!fwd)
		return TC_ACT_OK;
	data = (void *)(long)skb->data; /* the helpers invalidated the old pointers */
	data_end = (void *)(long)skb->data_end;
	if (!pr_fib_apply(&fib, data, data_end, p.family))
		return TC_ACT_OK;
	pr_count(PR_R_REDIRECT);
	return bpf_redirect(fib.ifindex, 0);
}

SEC("tc")
int pr_tc_ingress(struct __sk_buff *skb)
{
	void *meta = (void *)(long)skb->data_meta;
	void *data = (void *)(long)skb->data;

	/* XDP already translated or cleared this packet */
	if (meta + sizeof(__u32) <= data && *(__u32 *)meta == PR_META_DONE)
		return TC_ACT_OK;
	return pr_tc(skb, PR_HOOK_INGRESS);
}

SEC("tc")
int pr_tc_egress(struct __sk_buff *skb)
{
	return pr_tc(skb, PR_HOOK_EGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
