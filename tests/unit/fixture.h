/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The datapath test fixture: loaded XDP and TC programs over a private map set, emptied before and after every case. */
#ifndef PR_FIXTURE_H
#define PR_FIXTURE_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include "harness.h"
#include "libportredir.h"
#include "pkt.h"

struct fx {
	struct pr_ctx ctx;
	struct xdp_bpf *xskel;
	struct tc_bpf *tskel;
	__u32 meta; /* what XDP left in the metadata area of the last run (0: none) */
	__u32 skb_flags; /* test-run flags for TC runs (BPF_F_TEST_SKB_CHECKSUM_COMPLETE) */
	int run_err;     /* the last test run's error: 0, or a negative errno */
};

/* Addresses every case uses: the client, the listen address, the targets. */
#define CLIENT "198.51.100.2"
#define LISTEN "198.51.100.1"
#define TARGET "203.0.113.2"
#define TARGET2 "203.0.113.3"
#define CLIENT6 "2001:db8:1::2"
#define LISTEN6 "2001:db8:1::1"
#define TARGET6 "2001:db8:2::2"
#define CPORT 40000 /* the client's source port unless a case needs a second flow */

struct bpf_program *fx_xdp(struct fx *f);
struct bpf_program *fx_tc_in(struct fx *f);
struct bpf_program *fx_tc_eg(struct fx *f);
bool fx_is_xdp(struct bpf_program *prog);

/* One BPF_PROG_TEST_RUN of in through prog, ingress_ifindex set when nonzero.
 * Returns the verdict, or -1 if the kernel refused the run. XDP's metadata
 * is split off the output into f->meta. */
int fx_run(struct fx *f, struct bpf_program *prog, const struct pkt *in, struct pkt *out, __u32 ingress_ifindex);
/* The same for TC with the skb's gso_size set (a GSO burst of segments
 * that long), gso_size 0 as fx_run(). */
int fx_run_gso(struct fx *f, struct bpf_program *prog, const struct pkt *in, struct pkt *out, __u32 ingress_ifindex,
	       __u32 gso_size);

/* Add a single-port rule; proto "tcp" or "udp"; listen NULL is any address;
 * the target's family decides the rule's. Returns the rule id, 0 on failure
 * (a failed check). */
__u32 fx_rule(struct fx *f, const char *proto, const char *listen, __u16 lport, const char *target,
	      __u16 tport, bool replace);
/* The rules most cases start from: tcp :8080 -> TARGET:80, tcp LISTEN:8443 ->
 * TARGET:443, udp :5353 -> TARGET:53. Returns the id of the first. */
__u32 fx_base_rules(struct fx *f);
int fx_add_spec(struct fx *f, const struct pr_rule_spec *s, struct pr_rule_meta *out);
int fx_del_spec(struct fx *f, const struct pr_rule_spec *s);
__u64 fx_gstat(struct fx *f, unsigned int reason);

/* Full NAT, written straight into the maps (the loader's API for them is
 * the control plane's): the rule's source NAT in pr_rnat (mode enum
 * pr_snat_mode, addr NULL for none, ports lo..hi host order), extra
 * PR_RULE_F_* flags on its lookup entry for any address and lport, and an
 * interface's own addresses in pr_ifaddr (NULL: none of that family).
 * Each returns whether it worked (a failed check otherwise). */
bool fx_rnat(struct fx *f, __u32 id, __u8 mode, const char *addr, __u16 lo, __u16 hi);
bool fx_rule_flags(struct fx *f, const char *proto, __u16 lport, bool v6, __u32 flags);
/* ifindex's pr_vxmit slot armed for this namespace (or, other_ns, for
 * another one) with ok and failed. */
/* pr_peer[ifindex]: a veth whose peer (MAC mac) is in another namespace; set 0 empties the slot. */
bool fx_peer(struct fx *f, __u32 ifindex, const unsigned char *mac, bool set);
bool fx_vxmit(struct fx *f, __u32 ifindex, bool other_ns, __u32 ok, __u32 failed);
bool fx_ifaddr(struct fx *f, __u32 ifindex, const char *v4, const char *v6);
/* The rule's counters summed over CPUs. */
struct pr_rule_stats fx_rstat(struct fx *f, __u32 id);

/* Run in through prog and check the verdict and the whole output: want is
 * the packet expected (NULL: in, unchanged); a translated packet also has
 * to verify from scratch. out may be NULL. Returns whether all held. */
bool fx_expect_at(const char *file, int line, struct fx *f, struct bpf_program *prog, const struct pkt *in,
		  int verdict, const struct pkt *want, struct pkt *out, const char *what);
#define fx_expect(...) fx_expect_at(__FILE__, __LINE__, __VA_ARGS__)
/* The same from specs: in_spec built, run, compared with want_spec built
 * (NULL: unchanged). */
bool fx_expect_spec_at(const char *file, int line, struct fx *f, struct bpf_program *prog,
		       const struct pkt_spec *in_spec, int verdict, const struct pkt_spec *want_spec, const char *what);
#define fx_expect_spec(...) fx_expect_spec_at(__FILE__, __LINE__, __VA_ARGS__)
/* fx_expect_spec with want_spec = in_spec but for the destination dst:dport
 * (a forward translation). */
bool fx_expect_dnat_at(const char *file, int line, struct fx *f, struct bpf_program *prog,
		       const struct pkt_spec *in_spec, int verdict, const char *dst, __u16 dport, const char *what);
#define fx_expect_dnat(...) fx_expect_dnat_at(__FILE__, __LINE__, __VA_ARGS__)
/* Whole-buffer equality of two packets, with the first differing offset. */
#define ASSERT_PKT_EQ(got, want, what) ASSERT_MEM_EQ((got)->b, (got)->len, (want)->b, (want)->len, what)
/* IPv4 header (if IPv4) and L4 checksums verify from scratch. */
bool assert_csums(const char *file, int line, struct pkt *p, const char *what);
#define ASSERT_CSUMS_OK(p, what) assert_csums(__FILE__, __LINE__, p, what)

extern const struct pr_suite fx_suite_ops; /* init, fini, setup, teardown */

#endif
