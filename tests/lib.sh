# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Shared shell helpers: a client <-> router <-> server topology in fresh namespaces, TAP output, cleanup.
# Source it. topo_up sets an EXIT trap running cleanup unless the caller has
# set one already (which must call cleanup), so a caller's own cleanup of its
# temporary files is never replaced.

O=${O:-build}
case "$O" in
/*) PR_BUILD=$O ;;
*) PR_BUILD=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/$O ;;
esac
PR_BIN=${PR_BIN:-$PR_BUILD/portredir}
TAG=${TAG:-pr$$}
NS_C=${TAG}c NS_R=${TAG}r NS_S=${TAG}s
PIN=/sys/fs/bpf/${TAG}
# Documentation ranges only.
C_IP=198.51.100.2 R_CIP=198.51.100.1 R_SIP=203.0.113.1 S_IP=203.0.113.2 S_IP2=203.0.113.3 C_IP2=198.51.100.3
C_IP6=2001:db8:1::2 R_CIP6=2001:db8:1::1 R_SIP6=2001:db8:2::1 S_IP6=2001:db8:2::2
PIDS=()
TAP_N=0 TAP_PASS=0 TAP_FAIL=0 TAP_SKIP=0
# Slow machines (VMs under TCG) stretch every timeout.
SLOW=1; [ "${KSFT_MACHINE_SLOW:-}" = yes ] && SLOW=4

in_ns() { local ns=$1; shift; nsenter --net=/run/netns/"$ns" "$@"; }
pr() { in_ns "$NS_R" "$PR_BIN" --pin-dir "$PIN" "$@"; }

# Start a background command in a namespace and remember its PID for cleanup.
# Its output goes to a log, never to our stdout (a forked child holding the
# TAP pipe open would hang whoever reads it).
bg_ns() {
	local ns=$1; shift
	setsid nsenter --net=/run/netns/"$ns" "$@" >>"${BG_LOG:-/dev/null}" 2>&1 </dev/null &
	PIDS+=($!)
}

# End what we started: each bg_ns command leads its own process group, so the
# group takes socat's per-connection children with it.
cleanup() {
	local p
	set +e # an EXIT trap under set -e would stop at the first killed server's status
	for p in "${PIDS[@]}"; do kill -TERM -- -"$p" 2>/dev/null || kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for ns in "$NS_C" "$NS_R" "$NS_S"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$PIN"
}

# Build the three namespaces. Router forwards; client and server route via it.
topo_up() {
	[ -n "$(trap -p EXIT)" ] || trap cleanup EXIT
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	ip netns add "$NS_C" && ip netns add "$NS_R" && ip netns add "$NS_S" || return 1
	ip link add rc netns "$NS_R" type veth peer name c0 netns "$NS_C"
	ip link add rs netns "$NS_R" type veth peer name s0 netns "$NS_S"
	in_ns "$NS_C" ip addr add $C_IP/24 dev c0
	in_ns "$NS_C" ip addr add $C_IP2/24 dev c0
	in_ns "$NS_R" ip addr add $R_CIP/24 dev rc
	in_ns "$NS_R" ip addr add $R_SIP/24 dev rs
	in_ns "$NS_S" ip addr add $S_IP/24 dev s0
	in_ns "$NS_S" ip addr add $S_IP2/24 dev s0
	for ns in "$NS_C" "$NS_R" "$NS_S"; do in_ns "$ns" ip link set lo up; done
	in_ns "$NS_C" ip link set c0 up
	in_ns "$NS_R" ip link set rc up
	in_ns "$NS_R" ip link set rs up
	in_ns "$NS_S" ip link set s0 up
	in_ns "$NS_C" ip route add default via $R_CIP
	in_ns "$NS_S" ip route add default via $R_SIP
	in_ns "$NS_R" sysctl -qw net.ipv4.ip_forward=1
	# IPv6 without duplicate address detection, so addresses work at once
	in_ns "$NS_C" ip addr add $C_IP6/64 dev c0 nodad
	in_ns "$NS_R" ip addr add $R_CIP6/64 dev rc nodad
	in_ns "$NS_R" ip addr add $R_SIP6/64 dev rs nodad
	in_ns "$NS_S" ip addr add $S_IP6/64 dev s0 nodad
	in_ns "$NS_C" ip -6 route add default via $R_CIP6
	in_ns "$NS_S" ip -6 route add default via $R_SIP6
	in_ns "$NS_R" sysctl -qw net.ipv6.conf.all.forwarding=1
}

# Wait until cmd succeeds, polling; seconds are scaled on slow machines.
wait_until() {
	local secs=$1; shift
	local end=$(( $(date +%s) + secs * SLOW ))
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# True once something listens on proto/port in namespace ns.
listening() { in_ns "$1" ss -Hln"$( [ "$2" = udp ] && echo u || echo t )" "sport = :$3" | grep -q .; }

tap_plan() { echo "TAP version 13"; [ -n "${1:-}" ] && echo "1..$1"; }
ok() { TAP_N=$((TAP_N + 1)); TAP_PASS=$((TAP_PASS + 1)); echo "ok $TAP_N - $*"; }
not_ok() { TAP_N=$((TAP_N + 1)); TAP_FAIL=$((TAP_FAIL + 1)); echo "not ok $TAP_N - $*"; }
skip() { TAP_N=$((TAP_N + 1)); TAP_SKIP=$((TAP_SKIP + 1)); echo "ok $TAP_N - $1 # SKIP $2"; }
# check DESC CMD...: one TAP line from a command's exit status; output shown on failure.
check() {
	local desc=$1 out; shift
	if out=$("$@" 2>&1); then ok "$desc"; else not_ok "$desc"; printf '%s\n' "$out" | sed 's/^/# /'; fi
}
tap_done() {
	[ -z "${TAP_PLANNED:-}" ] && echo "1..$TAP_N"
	echo "# Totals: pass:$TAP_PASS fail:$TAP_FAIL xfail:0 xpass:0 skip:$TAP_SKIP error:0"
	[ "$TAP_FAIL" -eq 0 ]
}
