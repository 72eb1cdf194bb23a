#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# An upgrade under live flows: the previous release (build/prev, from `make check`) attaches and carries a TCP and a UDP flow, then this build attaches over it, by attach and by apply, and both flows carry on without a lost exchange.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TAG=prupg$$
source "$HERE/../lib.sh"
TMP=$(mktemp -d /tmp/portredir-upg.XXXXXX)
trap 'cleanup; rm -rf "$TMP"' EXIT
PREV_BIN=$PR_BUILD/prev/portredir
old() { in_ns "$NS_R" "$PREV_BIN" --pin-dir "$PIN" "$@"; }
iface_field() { pr -j status | json_get '.interfaces[] | select(.interface == $i) | .[$f]' i "$1" f "$2"; }

tap_plan
echo "# namespaces $NS_C $NS_R $NS_S, pin dir $PIN, previous release $PREV_BIN, time scale x$PR_SCALE"
older_build "$PREV_BIN" "the previous release" || { tap_done; exit $?; }
topo_up || { echo "Bail out! cannot build namespaces"; exit 1; }

stream_servers

# ---- the previous release, with live flows ----
out=$(old attach rc --mode tc 2>&1 && old attach rs --mode generic 2>&1 &&
	old add tcp :8080 $S_IP:80 --name web 2>&1 && old add udp :5353 $S_IP:53 --name dns 2>&1)
check "the previous release attaches rc (tc) and rs (generic) and adds a TCP and a UDP rule" test $? -eq 0 || diag "$out"
streams_begin "both flows run through the previous release"
st=$(pr -j status)
in_before=$(json_get '.interfaces[] | select(.interface == "rc") | .tc_ingress_prog_id' <<<"$st")
xdp_before=$(json_get '.interfaces[] | select(.interface == "rs") | .xdp_prog_id' <<<"$st")
links_before=$(json_get '[.local_clients.hooks[].link_id] | join(",")' <<<"$st")
hprog_before=$(json_get '.local_clients.hooks[0].prog_id' <<<"$st")
expect_begin "this build's status says another build's programs run"
expect_eq "rc" "other" "$(json_get '.interfaces[] | select(.interface == "rc") | .build' <<<"$st")"
expect_eq "rs" "other" "$(json_get '.interfaces[] | select(.interface == "rs") | .build' <<<"$st")"
expect_eq "socket hooks" "other" "$(json_get '.local_clients.build' <<<"$st")"
expect_match "text" '^  rc .*ok, running another build.s programs' "$(pr status)"
expect_end

out=$(pr monitor 2>&1); rc=$?
expect_begin "the previous release's maps have no monitor maps: stats reads them, monitor says what to do"
expect_eq "stats -j: monitor.emitted" 0 "$(pr -j stats | json_get .monitor.emitted)"
expect_eq "monitor's exit status" 1 "$rc"
expect_contains "its line" "has no monitor maps: they come with this build's first attach" "$out"
expect_end

# ---- this build over it: rc by attach, rs by apply (as the service's restart does) ----
out=$(pr attach rc --mode tc 2>&1); rc=$?
expect_begin "attach replaces the previous release's programs on rc in place"
expect_eq "exit status" 0 "$rc"
expect_contains "output" "replaced another build's programs on rc in tc mode" "$out"
expect_end
printf '%s\n' "interface rc --mode tc" "interface rs --mode generic" \
	"tcp :8080 $S_IP:80 --name web" "udp :5353 $S_IP:53 --name dns" >"$TMP/conf"
out=$(pr apply --keep-flows "$TMP/conf" 2>&1); rc=$?
expect_begin "apply replaces them on rs and leaves the rules alone"
expect_eq "exit status" 0 "$rc"
expect_contains "rules" "added 0, replaced 0, deleted 0, unchanged 2" "$out"
expect_contains "interfaces" "interfaces: attached 0, changed 1, detached 0, unchanged 1" "$out"
expect_end
st=$(pr -j status)
expect_begin "both interfaces and the socket hooks run this build's programs now"
expect_eq "rc build" "this" "$(json_get '.interfaces[] | select(.interface == "rc") | .build' <<<"$st")"
expect_eq "rs build" "this" "$(json_get '.interfaces[] | select(.interface == "rs") | .build' <<<"$st")"
expect_eq "rc ok" true "$(json_get '.interfaces[] | select(.interface == "rc") | .ok' <<<"$st")"
expect_eq "rs ok" true "$(json_get '.interfaces[] | select(.interface == "rs") | .ok' <<<"$st")"
expect_eq "socket hooks' build" "this" "$(json_get '.local_clients.build' <<<"$st")"
expect_eq "socket hooks attached" true "$(json_get '.local_clients.attached' <<<"$st")"
expect_eq "in the same links" "$links_before" "$(json_get '[.local_clients.hooks[].link_id] | join(",")' <<<"$st")"
expect_eq "a hook's program changed" 1 \
	"$([ "$(json_get '.local_clients.hooks[0].prog_id' <<<"$st")" != "$hprog_before" ] && echo 1)"
expect_eq "rc's TC program changed" 1 \
	"$([ "$(json_get '.interfaces[] | select(.interface == "rc") | .tc_ingress_prog_id' <<<"$st")" != "$in_before" ] && echo 1)"
expect_eq "rs's XDP program changed" 1 \
	"$([ "$(json_get '.interfaces[] | select(.interface == "rs") | .xdp_prog_id' <<<"$st")" != "$xdp_before" ] && echo 1)"
expect_end
out=$(pr attach rc --mode tc 2>&1)
expect_begin "attaching again with this build is a no-op"
expect_contains "output" "already attached to rc" "$out"
expect_eq "same program" "$(json_get '.interfaces[] | select(.interface == "rc") | .tc_ingress_prog_id' <<<"$st")" \
	"$(iface_field rc tc_ingress_prog_id)"
expect_end

# a monitor over the upgraded pin dir (its maps came with the attach), the flows still running
mon_start "$TMP/mon" -j monitor --count 1
tcp_req "$NS_C" $R_CIP 8080 >/dev/null
wait_until 5 eval '! kill -0 $MON_PID 2>/dev/null'
mon_stop
expect_match "after the upgrade a monitor gets the next new flow's event" '^\{"time":"[^"]*","event":"new","proto":"tcp"' \
	"$(cat "$TMP/mon")"

# the flows carried on across it; stop them
streams_end "the TCP and UDP flows opened before the upgrade carried on, no exchange lost"
expect_eq "new flows work after the upgrade, from a client and from the host itself" \
	"A $C_IP hello|U $C_IP hello|A $R_SIP hello" \
	"$(tcp_req "$NS_C" $R_CIP 8080 | tr -d '\n')|$(udp_req "$NS_C" $R_CIP 5353 <<<hello 2>&1 | tr -d '\n')|$(tcp_req "$NS_R" $R_CIP 8080 | tr -d '\n')"
tap_done
