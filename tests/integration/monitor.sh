#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# portredir monitor end to end in one attach mode: events for new flows (IPv4, IPv6), allowlist denials, refusals, evictions; filters; -j lines; the kernel's rate limit; one monitor at a time; nothing after it ends; live TCP and UDP streams untouched throughout.
# Usage: monitor.sh [MODE [CASE...]]; each case starts with rc and rs attached in MODE, no rules, no flows, no servers, no monitor.
set -u
MODE=${1:-tc}
[ $# -gt 0 ] && shift
HERE=$(cd "$(dirname "$0")" && pwd)
TAG=pm${MODE:0:3}$$
source "$HERE/../lib.sh"
TMP=$(mktemp -d /tmp/portredir-mon.XXXXXX)
trap 'cleanup; rm -rf "$TMP"' EXIT

# srv_peer ADDR PORT NAME: TCP, "NAME PEER" after one line (IPv6 ADDR without brackets)
srv_peer() {
	local l=TCP-LISTEN b=$1
	case "$1" in *:*) l=TCP6-LISTEN b="[$1]" ;; esac
	serve "$NS_S" tcp "$1" "$2" socat $l:"$2",bind="$b",fork,reuseaddr SYSTEM:"read l; echo $3 \$SOCAT_PEERADDR"
}
# srv_echo ADDR PORT: TCP, every line back
srv_echo() { serve "$NS_S" tcp "$1" "$2" socat TCP-LISTEN:"$2",bind="$1",fork,reuseaddr PIPE; }
# srv_uecho ADDR PORT: UDP, every datagram back to its sender
srv_uecho() { serve "$NS_S" udp "$1" "$2" socat UDP-LISTEN:"$2",bind="$1",fork PIPE; }
add() { pr add "$@" >/dev/null || diag "setup: add $* failed"; }
# quick_req ADDR PORT: a TCP request from the client that may get no answer (gives up after tmo 2)
quick_req() { in_ns "$NS_C" timeout "$(tmo 2)" socat -t 1 -T "$(tmo 2)" - TCP:"$1":"$2" <<<"hello" 2>&1; }
# udp_from SPORT PORT: one datagram from the client's port SPORT to the router's PORT, and its reply
udp_from() { in_ns "$NS_C" timeout "$(tmo 3)" socat -t "$(tmo 2)" - UDP:$R_CIP:"$2",sourceport="$1",reuseaddr <<<"ping $1" 2>&1; }

# ---- the monitor (mon_start, mon_stop, mon_field: tests/lib.sh) ----

# lines_ge FILE N: FILE has at least N lines
lines_ge() { [ "$(wc -l <"$1")" -ge "$2" ]; }
# events FILE KEY...: the -j lines of FILE through Python's json, KEYs tab-separated
events() { python3 -S "$PR_HELPERS/json_lines.py" "$@"; }

case_reset() {
	pr apply /dev/null >/dev/null || diag "reset: apply /dev/null failed"
	pr conntrack flush >/dev/null || diag "reset: conntrack flush failed"
	if [ "$(mon_field running)" != false ]; then
		diag "reset: a monitor still holds the lease"
	fi
	rm -rf "${TMP:?}"/*
}

# ---- cases ----

# A new flow over IPv4 and over IPv6: one -j line each, with the rule, the
# client, the listen, the target and the source the target sees.
case_new_flow() {
	local id id6 out
	srv_peer $S_IP 80 A
	srv_peer $S_IP6 80 A6
	add tcp :8080 $S_IP:80 --name web
	add tcp [::]:8080 [$S_IP6]:80 --name web6
	id=$(rule_get web id) id6=$(rule_get web6 id)
	mon_start "$TMP/m" -j monitor || return 1
	expect_eq "an IPv4 flow through the monitored router" "A $C_IP" "$(tcp_req "$NS_C" $R_CIP 8080)"
	wait_until 5 lines_ge "$TMP/m" 1
	expect_match "an IPv6 flow" "^A6 \[2001:0?db8:" "$(tcp_req "$NS_C" $R_CIP6 8080)"
	wait_until 5 lines_ge "$TMP/m" 2
	out=$(events "$TMP/m" event proto client listen target source full_nat rule rule_name iface reason)
	expect_begin "-j: one JSON object a line (Python's json reads each) per new flow, IPv4 then IPv6"
	expect_eq "lines" 2 "$(wc -l <<<"$out")"
	expect_match "IPv4: rule, client, listen, target, source, interface" \
		"^new	tcp	$C_IP:[0-9]+	$R_CIP:8080	$S_IP:80	$C_IP:[0-9]+	false	$id	web	rc	-$" "$(sed -n 1p <<<"$out")"
	expect_match "IPv6" \
		"^new	tcp	\[$C_IP6\]:[0-9]+	\[$R_CIP6\]:8080	\[$S_IP6\]:80	\[$C_IP6\]:[0-9]+	false	$id6	web6	rc	-$" \
		"$(sed -n 2p <<<"$out")"
	expect_match "the time is UTC, to the microsecond" '^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-9:]{8}\.[0-9]{6}Z$' \
		"$(events "$TMP/m" time | head -n1)"
	expect_end
	mon_stop
	expect_begin "SIGINT ends it with status 0 and its lease at once; under -j stderr stays empty"
	expect_eq "status" 0 "$MON_RC"
	expect_eq "stats -j: monitor.running" false "$(mon_field running)"
	expect_eq "stderr" "" "$(cat "$TMP/m.err")"
	expect_end
}

# An allowlist's denial (pass and drop), a refusal for want of a source
# port, and an eviction: each one event, with its reason.
case_denied_refused() {
	local out
	srv_echo $S_IP 80
	add tcp :8081 $S_IP:80 --name closed --allow 192.0.2.0/24 --deny-action pass
	add tcp :8082 $S_IP:80 --name shut --allow 192.0.2.0/24 --deny-action drop
	add tcp :8083 $S_IP:80 --name one --snat $R_SIP --snat-ports 40000-40000
	mon_start "$TMP/m" -j monitor || return 1
	quick_req $R_CIP 8081 >/dev/null
	wait_until 5 lines_ge "$TMP/m" 1
	quick_req $R_CIP 8082 >/dev/null
	wait_until 5 lines_ge "$TMP/m" 2
	session_open "$TMP/s1" $R_CIP 8083 || diag "setup: the session holding the one source port did not start"
	expect_no_match "a second flow of a rule with one source port, taken, gets no answer" "hello" \
		"$(quick_req $R_CIP 8083)"
	wait_until 5 lines_ge "$TMP/m" 4
	session_close "$TMP/s1"
	out=$(events "$TMP/m" event client listen target source rule_name reason)
	expect_begin "denied (pass and drop) and refused: the client, the listen, the reason; no source"
	expect_match "denied, passed" "^denied	$C_IP:[0-9]+	$R_CIP:8081	-	-	closed	pass_denied_source$" "$out"
	expect_match "denied, dropped" "^denied	$C_IP:[0-9]+	$R_CIP:8082	-	-	shut	drop_denied_source$" "$out"
	expect_match "the held session's flow" "^new	$C_IP:[0-9]+	$R_CIP:8083	$S_IP:80	$R_SIP:40000	one	-$" "$out"
	expect_match "refused: no free source port" "^refused	$C_IP:[0-9]+	$R_CIP:8083	$S_IP:80	-	one	drop_snat_exhausted$" \
		"$out"
	expect_eq "nothing else (a dropped SYN sent again is one event more)" 0 \
		"$(grep -cvE '^(denied|new|refused)	' <<<"$out")"
	expect_end
	expect_eq "the held session went on" "first second" "$(head -n2 "$TMP/s1" | tr '\n' ' ' | sed 's/ $//')"
	mon_stop
}

# The router's own processes (the socket hooks): a translated connect and a
# denied one, each an event marked local, with no client address.
case_local() {
	local out
	srv_peer $S_IP 80 A
	add tcp :8080 $S_IP:80 --name web
	add tcp :8081 $S_IP:80 --name nolocal --allow 192.0.2.0/24
	mon_start "$TMP/m" -j monitor || return 1
	expect_eq "the router's own connect to its :8080 reaches the target" "A $R_SIP" "$(tcp_req "$NS_R" $R_CIP 8080)"
	expect_match "its connect to :8081 is refused (allowlist, drop)" "Permission denied|Operation not permitted" \
		"$(tcp_req "$NS_R" $R_CIP 8081)"
	wait_until 5 lines_ge "$TMP/m" 2
	mon_stop
	out=$(events "$TMP/m" event local client listen target source rule_name reason iface)
	expect_begin "local clients: new and denied, marked local, no client, source or interface"
	expect_match "new" "^new	true	-	$R_CIP:8080	$S_IP:80	-	web	-	-$" "$out"
	expect_match "denied" "^denied	true	-	$R_CIP:8081	-	-	nolocal	drop_denied_source	-$" "$out"
	expect_eq "lines" 2 "$(wc -l <<<"$out")"
	expect_end
}

# The key of a UDP reply entry, as bpftool takes it: target S_IP:5300 to the client C_IP:SPORT.
reply_key() {
	local ip
	printf '%s ' $(for ip in $S_IP $C_IP; do
		printf '%02x ' ${ip//./ }
		printf '00 %.0s' $(seq 12)
	done)
	printf '%02x %02x %02x %02x 11 04 00 00\n' $((5300 >> 8)) $((5300 & 255)) $(($1 >> 8)) $(($1 & 255))
}
flow_age() { pr -j conntrack list | json_get '.[] | select(.client == $c) | .age_s' c "$C_IP:$1"; }
age_ge1() { [ "$(flow_age "$1")" -ge 1 ] 2>/dev/null; }

# A live flow whose reply entry went (as the LRU takes one): the flow's next
# packet makes it again, counted, and the monitor gets one event.
case_evicted() {
	local out ev0 sport=40555
	srv_uecho $S_IP 5300
	add udp :5300 $S_IP:5300 --name echo
	expect_eq "a UDP flow from a fixed port" "ping $sport" "$(udp_from $sport 5300)"
	ev0=$(pr -j stats | json_get .conntrack.evicted)
	mon_start "$TMP/m" -j monitor || return 1
	in_ns "$NS_R" bpftool map delete pinned "$PIN/pr_ct" key hex $(reply_key $sport) ||
		diag "setup: bpftool could not delete the reply entry"
	# the flow's entries are refreshed at most once a second: wait until one has passed
	wait_until 5 age_ge1 $sport
	expect_eq "its next datagram is answered through the entry made again" "ping $sport" "$(udp_from $sport 5300)"
	wait_until 5 lines_ge "$TMP/m" 1
	out=$(events "$TMP/m" event proto client listen target source rule_name state)
	expect_begin "evicted: one event with the flow's endpoints and state, and the eviction counted"
	expect_eq "event" "evicted	udp	$C_IP:$sport	$R_CIP:5300	$S_IP:5300	$C_IP:$sport	echo	UDP_REPLIED" "$out"
	expect_eq "conntrack.evicted" $((ev0 + 1)) "$(pr -j stats | json_get .conntrack.evicted)"
	expect_end
	mon_stop
}

# --rule, --addr and --event filter in the kernel; the text line.
case_filters() {
	local out
	srv_peer $S_IP 80 A
	srv_peer $S_IP2 80 B
	add tcp :8080 $S_IP:80 --name a
	add tcp :8081 $S_IP2:80 --name b
	add tcp :8082 $S_IP:80 --name c --allow 192.0.2.0/24
	mon_start "$TMP/m" monitor --rule a || return 1
	tcp_req "$NS_C" $R_CIP 8081 >/dev/null
	tcp_req "$NS_C" $R_CIP 8080 >/dev/null
	wait_until 5 lines_ge "$TMP/m" 1
	mon_stop
	expect_begin "--rule a: a's flow only (b's came first); the text line; the notes on stderr"
	expect_eq "lines" 1 "$(wc -l <"$TMP/m")"
	expect_eq "stderr" "portredir: monitor: monitoring $PIN (Ctrl-C ends)
portredir: monitor: 1 events, 0 dropped by --rate, 0 lost (ring full)" "$(cat "$TMP/m.err")"
	expect_match "line" \
		"^20[0-9-]{8}T[0-9:]{8}\.[0-9]{6}Z new +tcp $C_IP:[0-9]+ -> $R_CIP:8080 => $S_IP:80 from $C_IP:[0-9]+ rule $(rule_get a id) \(a\) on rc$" \
		"$(cat "$TMP/m")"
	expect_end

	mon_start "$TMP/m2" -j monitor --addr $S_IP2/32 || return 1
	tcp_req "$NS_C" $R_CIP 8080 >/dev/null
	tcp_req "$NS_C" $R_CIP 8081 >/dev/null
	wait_until 5 lines_ge "$TMP/m2" 1
	mon_stop
	expect_eq "--addr $S_IP2/32: the flow to that target only" "b" "$(events "$TMP/m2" rule_name)"

	mon_start "$TMP/m3" -j monitor --event denied,refused --addr 198.51.100.0/24 || return 1
	tcp_req "$NS_C" $R_CIP 8080 >/dev/null
	quick_req $R_CIP 8082 >/dev/null
	wait_until 5 lines_ge "$TMP/m3" 1
	mon_stop
	expect_eq "--event denied,refused --addr the client's network: the denial only (its SYN sent again too)" \
		"denied c" "$(events "$TMP/m3" event rule_name | tr '\t' ' ' | sort -u)"

	mon_start "$TMP/m4" -j monitor --count 2 --event new || return 1
	tcp_req "$NS_C" $R_CIP 8080 >/dev/null
	tcp_req "$NS_C" $R_CIP 8081 >/dev/null
	wait_until 5 eval '! kill -0 $MON_PID 2>/dev/null'
	mon_stop
	expect_begin "--count 2: it ends by itself after two events, with status 0 and its lease ended"
	expect_eq "status" 0 "$MON_RC"
	expect_eq "events" "a b" "$(events "$TMP/m4" rule_name | tr '\n' ' ' | sed 's/ $//')"
	expect_eq "running" false "$(mon_field running)"
	expect_end
}

# Bad input: one line naming the token, exit 2, and no monitor.
case_bad_input() {
	local out rc a
	for a in "--event new,lost" "--addr 203.0.113.300" "--rate 0" "--burst x" "--rule nosuch" "--count -1"; do
		out=$(pr monitor $a 2>&1); rc=$?
		expect_begin "monitor $a: refused in one line naming it, exit 2, no monitor"
		expect_eq "status" 2 "$rc"
		expect_eq "lines" 1 "$(wc -l <<<"$out")"
		expect_contains "names the token" "'${a#* }'" "$out"
		expect_eq "no lease" false "$(mon_field running)"
		expect_end
	done
}

# A second monitor on the pin dir is refused in one line; the first goes on,
# and portredir check's test runs never reach it.
case_second_refused() {
	local out rc
	srv_peer $S_IP 80 A
	add tcp :8080 $S_IP:80 --name web
	mon_start "$TMP/m" -j monitor || return 1
	out=$(pr monitor 2>&1); rc=$?
	expect_begin "a second monitor: exit 1, one line naming the first one's pid"
	expect_eq "status" 1 "$rc"
	expect_eq "the line" "portredir: monitor: another monitor (pid $MON_PID) is running on $PIN: one at a time" "$out"
	expect_eq "the first one holds the lease still" "$MON_PID" "$(mon_field pid)"
	expect_end
	tcp_req "$NS_C" $R_CIP 8080 >/dev/null
	expect_eq "and gets the next flow" 1 "$(wait_until 5 lines_ge "$TMP/m" 1 && wc -l <"$TMP/m")"
	pr check tcp :8080 --from $C_IP:40444 >"$TMP/check" 2>&1
	tcp_req "$NS_C" $R_CIP 8080 >/dev/null # a real flow after it: its event comes after any of the check's
	wait_until 5 lines_ge "$TMP/m" 2
	expect_begin "portredir check's test run, through an instance of its own, gives the monitor no event"
	expect_contains "the check's packet was translated" "rewritten $C_IP:40444 -> $S_IP:80" "$(cat "$TMP/check")"
	expect_eq "events of the check's client port" 0 "$(grep -c ":40444\"" "$TMP/m")"
	expect_eq "the real flow's" 2 "$(grep -c '"event":"new"' "$TMP/m")"
	expect_end
	mon_stop
}

# The kernel's rate limit under a bounded flood of new flows: what passes
# is emitted, the rest dropped and counted, and a line says how many.
case_rate_limit() {
	local e0 d0 e1 d1 n=200 out
	add udp :5400 $S_IP:5400 --name flood
	e0=$(mon_field emitted) d0=$(mon_field dropped)
	mon_start "$TMP/m" -j monitor --rate 1 --burst 3 || return 1
	expect_eq "a flood of $n new flows" "sent $n" \
		"$(in_ns "$NS_C" timeout "$(tmo 20)" python3 -S "$PR_HELPERS/udp_flood.py" $R_CIP 5400 42000 $n)"
	wait_until 5 grep -q '"event":"dropped"' "$TMP/m"
	mon_stop
	e1=$(mon_field emitted) d1=$(mon_field dropped)
	out=$(events "$TMP/m" event dropped)
	expect_begin "--rate 1 --burst 3: each flow is emitted or dropped, the drops counted and reported"
	expect_eq "emitted + dropped: one each flow" $n $(( (e1 - e0) + (d1 - d0) ))
	expect_ge "dropped in the kernel" $((n - 3 * $(nproc) - 2 * $(nproc) * $(tmo 5))) $((d1 - d0))
	expect_eq "the new lines: what was emitted" $((e1 - e0)) "$(grep -c '^new	' <<<"$out")"
	expect_eq "the dropped lines' sum, the last at its end: what stats counts" $((d1 - d0)) \
		"$(awk -F'\t' '$1 == "dropped" { s += $2 } END { print s + 0 }' <<<"$out")"
	expect_end
	mon_start "$TMP/m2" -j monitor || return 1
	in_ns "$NS_C" python3 -S "$PR_HELPERS/udp_flood.py" $R_CIP 5400 43000 5 >/dev/null
	wait_until 5 lines_ge "$TMP/m2" 5
	mon_stop
	expect_eq "the next monitor's rate limit starts afresh: 5 new flows, 5 events" "new new new new new" \
		"$(events "$TMP/m2" event | tr '\n' ' ' | sed 's/ $//')"
	e1=$(mon_field emitted)
	pr stats >"$TMP/stats"
	expect_match "stats: the monitor's counts" "^monitor: events emitted $e1, dropped by --rate $d1, lost \(ring full\) 0$" \
		"$(cat "$TMP/stats")"
	if command -v promtool >/dev/null; then
		pr stats --prometheus >"$TMP/prom"
		expect_begin "stats --prometheus: the monitor's families, which promtool accepts"
		expect_eq "promtool check metrics" "" "$(promtool check metrics <"$TMP/prom" 2>&1 || echo "failed ($?)")"
		expect_contains "emitted" "portredir_monitor_events_total $e1" "$(cat "$TMP/prom")"
		expect_contains "dropped" "portredir_monitor_dropped_total $d1" "$(cat "$TMP/prom")"
		expect_contains "running" "portredir_monitor_running 0" "$(cat "$TMP/prom")"
		expect_end
	else
		skip "stats --prometheus: the monitor's families" "promtool missing (make deps installs prometheus)"
	fi
}

# Nothing is emitted once the monitor ends: at once after SIGINT, and once
# the lease runs out (2 s) after SIGKILL, which gives it no chance to end it.
case_after_end() {
	local e0 t0
	srv_peer $S_IP 80 A
	add tcp :8080 $S_IP:80 --name web
	mon_start "$TMP/m" -j monitor || return 1
	e0=$(mon_field emitted)
	tcp_req "$NS_C" $R_CIP 8080 >/dev/null
	expect_eq "while it runs a new flow is emitted" $((e0 + 1)) "$(wait_ge $((e0 + 1)) mon_field emitted)"
	mon_stop INT
	e0=$(mon_field emitted)
	tcp_req "$NS_C" $R_CIP 8080 >/dev/null
	expect_eq "after SIGINT: a new flow emits nothing" "$e0" "$(mon_field emitted)"
	mon_start "$TMP/m2" -j monitor || return 1
	mon_stop KILL
	t0=$EPOCHSECONDS
	expect_eq "after SIGKILL the lease runs out by itself" 0 "$(wait_until 5 eval '[ "$(mon_field running)" = false ]'; echo $?)"
	diag "lease gone $((EPOCHSECONDS - t0)) s after the kill"
	e0=$(mon_field emitted)
	tcp_req "$NS_C" $R_CIP 8080 >/dev/null
	expect_eq "then a new flow emits nothing" "$e0" "$(mon_field emitted)"
	mon_start "$TMP/m3" -j monitor || return 1
	expect_eq "a new monitor takes the pin dir the killed one left" "$MON_PID" "$(mon_field pid)"
	mon_stop
}

# A TCP connection and a UDP stream through the router, exchanging numbered
# lines every 20 ms, across monitors started, flooded, filtered, refused,
# killed and ended: every reply is the line sent.
case_live_streams() {
	local tcp_pid udp_pid
	srv_echo $S_IP 8090
	srv_uecho $S_IP 5300
	add tcp :8090 $S_IP:8090 --name keep
	add udp :5300 $S_IP:5300 --name echo
	add udp :5400 $S_IP:5400 --name flood
	in_ns "$NS_C" timeout "$(tmo 120)" python3 -S "$PR_HELPERS/stream.py" tcp $R_CIP 8090 "$TMP/stop" "$(tmo 100)" 0.02 \
		>"$TMP/tcp.out" 2>&1 </dev/null &
	tcp_pid=$!; PIDS+=($tcp_pid); [ -n "$PR_STATE" ] && echo $tcp_pid >>"$PR_STATE/pids"
	in_ns "$NS_C" timeout "$(tmo 120)" python3 -S "$PR_HELPERS/stream.py" udp $R_CIP 5300 "$TMP/stop" "$(tmo 100)" 0.02 \
		"$(tmo 3)" >"$TMP/udp.out" 2>&1 </dev/null &
	udp_pid=$!; PIDS+=($udp_pid); [ -n "$PR_STATE" ] && echo $udp_pid >>"$PR_STATE/pids"
	wait_until 10 grep -q . "$TMP/tcp.out" && wait_until 10 grep -q . "$TMP/udp.out" ||
		diag "setup: the streams did not start"
	mon_start "$TMP/m1" -j monitor || return 1
	in_ns "$NS_C" python3 -S "$PR_HELPERS/udp_flood.py" $R_CIP 5400 43000 100 >/dev/null
	pr monitor >/dev/null 2>&1 # refused
	mon_stop
	mon_start "$TMP/m2" monitor --rate 1 --burst 1 --event new || return 1
	in_ns "$NS_C" python3 -S "$PR_HELPERS/udp_flood.py" $R_CIP 5400 44000 100 >/dev/null
	mon_stop KILL
	wait_until 5 eval '[ "$(mon_field running)" = false ]'
	in_ns "$NS_C" python3 -S "$PR_HELPERS/udp_flood.py" $R_CIP 5400 45000 100 >/dev/null
	mon_start "$TMP/m3" -j monitor --rule keep || return 1
	mon_stop
	touch "$TMP/stop"
	wait "$tcp_pid" "$udp_pid" 2>/dev/null
	expect_ge "meanwhile the first monitor had the flood's events" 50 "$(grep -c '"event":"new"' "$TMP/m1")"
	expect_begin "the TCP connection and the UDP stream never missed a reply, each the line sent"
	expect_match "tcp" '^ok [0-9]+ [0-9]+$' "$(tail -n1 "$TMP/tcp.out")"
	expect_match "udp" '^ok [0-9]+ [0-9]+$' "$(tail -n1 "$TMP/udp.out")"
	expect_end
	expect_eq "the monitors saw no event of theirs: no new flow, no eviction" "" \
		"$(grep -hE '"rule_name":"(keep|echo)"|\((keep|echo)\)' "$TMP"/m1 "$TMP"/m2 "$TMP"/m3)"
}

tap_plan
echo "# mode $MODE, namespaces $NS_C $NS_R $NS_S, pin dir $PIN, time scale x$PR_SCALE"
topo_up || { echo "Bail out! cannot build namespaces"; exit 1; }
for i in rc rs; do
	out=$(pr attach $i --mode "$MODE" 2>&1) || { echo "Bail out! attach $i --mode $MODE: $out"; exit 1; }
done
if [ $# -gt 0 ]; then PR_CASES="$*"; fi
run_cases case_new_flow case_denied_refused case_local case_evicted case_filters case_bad_input case_second_refused \
	case_rate_limit case_after_end case_live_streams
tap_done
