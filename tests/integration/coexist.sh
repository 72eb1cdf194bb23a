#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# portredir shares an interface with another libxdp program (xdp-filter) through the libxdp dispatcher.
# Usage: coexist.sh [CASE...]; each case starts with xdp-filter alone on rc, no pins, no servers.
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

# xdp-filter stays loaded on rc across cases; portredir is detached and its pins go
case_reset() {
	pr detach rc >/dev/null 2>&1
	rm -rf "$PIN"
	in_ns "$NS_R" xdp-loader status rc 2>/dev/null | grep -q xdpfilt ||
		in_ns "$NS_R" xdp-filter load -m native rc >/dev/null 2>&1 || diag "reset: xdp-filter would not load"
}

case_chain() {
	local status
	serve "$NS_S" tcp $S_IP 80 socat TCP-LISTEN:80,bind=$S_IP,fork,reuseaddr SYSTEM:"read l; echo A \$SOCAT_PEERADDR"
	check "attach native next to xdp-filter" pr attach rc --mode native
	status=$(in_ns "$NS_R" xdp-loader status rc 2>&1)
	expect_begin "both programs run in the libxdp dispatcher"
	expect_contains "portredir's program" pr_xdp "$status"
	expect_contains "xdp-filter's program" xdpfilt "$status"
	expect_end
	pr add tcp :8080 $S_IP:80 >/dev/null
	expect_eq "redirect works through the chain" "A $C_IP" "$(tcp_req "$NS_C" $R_CIP 8080)"
}

case_detach() {
	local status
	pr attach rc --mode native >/dev/null || diag "setup: attach rc --mode native failed"
	check "detach" pr detach rc
	status=$(in_ns "$NS_R" xdp-loader status rc 2>&1)
	expect_begin "detach removes only pr_xdp; xdp-filter stays"
	expect_contains "xdp-filter's program" xdpfilt "$status"
	expect_no_match "portredir's program" pr_xdp "$status"
	expect_end
}

if [ $# -gt 0 ]; then PR_CASES="$*"; fi
run_cases case_chain case_detach
tap_done
