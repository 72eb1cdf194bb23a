// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* XDP ingress: translate IPv4 and IPv6 forward and reply packets whose checksums are complete; leave the rest to TC. */
#include "lib/rewrite.h"
#include "lib/fib.h"
#include "lib/icmp.h"
#include "lib/frag.h"

/* Reserve 4 bytes of metadata and return a pointer to them, zeroed, or NULL. */
static __always_inline __u32 *pr_meta_reserve(struct xdp_md *ctx)
{
	__u32 *meta;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(__u32)))
		return NULL;
	meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > (void *)(long)ctx->data)
		return NULL;
	*meta = 0;
	return meta;
}

SEC("xdp")
int pr_xdp(struct xdp_md *ctx)
{
	struct bpf_fib_lookup fib;
	struct pr_xlate x = {};
	struct pr_pkt p = {};
	void *data, *data_end;
	bool fwd;
	__u32 *meta, reason;
	int rc;

	/* Without the mark TC cannot tell our work from untouched packets, so
	 * translate nothing here and let TC do all of it. */
	meta = pr_meta_reserve(ctx);
	if (!meta) {
		pr_count(PR_R_PASS_NO_META);
		return XDP_PASS;
	}
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;

	rc = pr_parse(data, data_end, data_end - data, &p);
	if (rc == PR_PARSE_ICMP)
		rc = pr_icmp_handle(&p, data, data_end, PR_HOOK_INGRESS);
	if (rc == PR_PARSE_FRAG) {
		/* Unknown here may be known to TC: its first fragment can still
		 * be in the same receive batch. Leave it unmarked. */
		if (!pr_frag_lookup(&p, PR_HOOK_INGRESS, &x))
			return XDP_PASS;
		goto xlate;
	}
	if (rc >= 0) {
		pr_count(rc);
		goto done;
	}
	/* fragments are never CHECKSUM_PARTIAL: the stack completes it before fragmenting */
	if (p.frag == PR_FRAG_NONE &&
	    pr_csum_maybe_partial(*(__u16 *)p.l4_csum,
				  pr_pseudo(&p.saddr, &p.daddr, p.proto, p.l4_len))) {
		pr_count(PR_R_PASS_CSUM_PUNT);
		return XDP_PASS; /* meta stays 0: TC ingress handles it */
	}
	rc = pr_decide(ctx, &p, PR_HOOK_INGRESS, &x, &reason);
	if (rc != PR_V_XLATE) {
		pr_count(reason);
		if (rc == PR_V_DROP)
			return XDP_DROP;
		goto done;
	}
	if (p.frag == PR_FRAG_FIRST)
		pr_frag_record(&p, &x);
xlate:
	/* Route first, as in TC (see pr_tc()): out through the devmap when the
	 * egress device takes XDP frames, else to the stack, except a reply,
	 * which is left untranslated for the egress hook. */
	fwd = pr_fib_lookup(ctx, &fib, data, data_end, ctx->ingress_ifindex, &p, &x, true) == 0 &&
	      bpf_map_lookup_elem(&pr_tx, &fib.ifindex);
	if (!fwd && x.dir == PR_DIR_REPLY) {
		pr_count(PR_R_PASS_REPLY_EGRESS);
		goto done;
	}
	pr_xdp_rewrite(&p, &x, data_end);
	pr_account(&x, data_end - data);
	*meta = PR_META_DONE;
	if (p.frag != PR_FRAG_NONE)
		pr_count(PR_R_XLATE_FRAG);
	if (!fwd || !pr_fib_apply(&fib, data, data_end, p.family))
		return XDP_PASS;
	pr_count(PR_R_REDIRECT);
	return bpf_redirect_map(&pr_tx, fib.ifindex, XDP_PASS);
done:
	*meta = PR_META_DONE;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
