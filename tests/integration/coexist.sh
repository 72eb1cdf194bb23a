#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# portredir shares an interface with another libxdp program (xdp-filter) through the libxdp dispatcher.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TAG=prcx$$
source "$HERE/../lib.sh"
tap_plan
topo_up || { echo "Bail out! cannot build namespaces"; exit 1; }
filter_unload() { in_ns "$NS_R" xdp-filter unload rc >/dev/null 2>&1; }
trap 'filter_unload; cleanup' EXIT

if ! command -v xdp-filter >/dev/null; then
	skip "coexistence with another XDP program" "xdp-filter (xdp-tools) not installed"
	tap_done; exit 0
fi
bg_ns "$NS_S" socat TCP-LISTEN:80,bind=$S_IP,fork,reuseaddr SYSTEM:"read l; echo A \$SOCAT_PEERADDR"
wait_until 5 listening "$NS_S" tcp 80

if ! out=$(in_ns "$NS_R" xdp-filter load -m native rc 2>&1); then
	skip "coexistence with another XDP program" "xdp-filter would not load: $(tail -1 <<<"$out")"
	tap_done; exit 0
fi
if ! in_ns "$NS_R" xdp-loader status rc 2>/dev/null | grep -q xdp_dispatcher; then
	# Seen on 6.18 with lockdown=integrity: the dispatcher's compat check fails with
	# EPERM and libxdp falls back to one program per interface.
	skip "coexistence with another XDP program" \
		"libxdp multi-program dispatcher unavailable on this kernel ($(uname -r)); programs cannot chain"
	tap_done; exit 0
fi
check "attach native next to xdp-filter" pr attach rc --mode native
status=$(in_ns "$NS_R" xdp-loader status rc 2>&1)
check "both programs run in the libxdp dispatcher" \
	sh -c 'echo "$1" | grep -q pr_xdp && echo "$1" | grep -q xdpfilt' _ "$status"
pr add tcp :8080 $S_IP:80 >/dev/null
out=$(in_ns "$NS_C" timeout $((5 * SLOW)) socat -T3 - TCP:$R_CIP:8080 </dev/null 2>&1)
check "redirect works through the chain" test "$out" = "A $C_IP"
check "detach" pr detach rc
status=$(in_ns "$NS_R" xdp-loader status rc 2>&1)
check "detach removes only pr_xdp; xdp-filter stays" \
	sh -c 'echo "$1" | grep -q xdpfilt && ! echo "$1" | grep -q pr_xdp' _ "$status"
tap_done
