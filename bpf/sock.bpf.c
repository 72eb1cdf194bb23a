// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Local clients: the cgroup sock_addr entry points (connect, sendmsg, recvmsg, getpeername, IPv4 and IPv6). */
#include "lib/sock.h"

SEC("cgroup/connect4")
int pr_connect4(struct bpf_sock_addr *ctx)
{
	return pr_sock_fwd(ctx, PR_AF_INET, true);
}

SEC("cgroup/connect6")
int pr_connect6(struct bpf_sock_addr *ctx)
{
	return pr_sock_fwd(ctx, PR_AF_INET6, true);
}

SEC("cgroup/sendmsg4")
int pr_sendmsg4(struct bpf_sock_addr *ctx)
{
	return pr_sock_fwd(ctx, PR_AF_INET, false);
}

SEC("cgroup/sendmsg6")
int pr_sendmsg6(struct bpf_sock_addr *ctx)
{
	return pr_sock_fwd(ctx, PR_AF_INET6, false);
}

SEC("cgroup/recvmsg4")
int pr_recvmsg4(struct bpf_sock_addr *ctx)
{
	return pr_sock_back(ctx, PR_AF_INET);
}

SEC("cgroup/recvmsg6")
int pr_recvmsg6(struct bpf_sock_addr *ctx)
{
	return pr_sock_back(ctx, PR_AF_INET6);
}

SEC("cgroup/getpeername4")
int pr_getpeername4(struct bpf_sock_addr *ctx)
{
	return pr_sock_back(ctx, PR_AF_INET);
}

SEC("cgroup/getpeername6")
int pr_getpeername6(struct bpf_sock_addr *ctx)
{
	return pr_sock_back(ctx, PR_AF_INET6);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
