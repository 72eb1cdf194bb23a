#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End-to-end redirect through a router namespace running portredir in one mode (tc, native or generic), with real TCP and UDP.
# Usage: redirect.sh [MODE [CASE...]]; each case starts with rc attached in MODE, no rules, no flows, no servers.
set -u
MODE=${1:-tc}
[ $# -gt 0 ] && shift
HERE=$(cd "$(dirname "$0")" && pwd)
TAG=pr${MODE:0:3}$$
source "$HERE/../lib.sh"
TMP=$(mktemp -d /tmp/portredir-it.XXXXXX)
trap 'cleanup; rm -rf "$TMP"' EXIT

# ---- servers: each names itself and the peer it sees ----

# srv_echo ADDR PORT NAME: TCP, one "NAME PEER LINE" per line received
srv_echo() {
	local l=TCP-LISTEN b=$1
	case "$1" in *:*) l=TCP6-LISTEN b="[$1]" ;; esac
	serve "$NS_S" tcp "$1" "$2" socat $l:"$2",bind="$b",fork,reuseaddr SYSTEM:"while read l; do echo $3 \$SOCAT_PEERADDR \$l; done"
}
# srv_peer ADDR PORT NAME: TCP, "NAME PEER" after one line
srv_peer() { serve "$NS_S" tcp "$1" "$2" socat TCP-LISTEN:"$2",bind="$1",fork,reuseaddr SYSTEM:"read l; echo $3 \$SOCAT_PEERADDR"; }
# srv_local: the router's own service on its port 80
srv_local() { serve "$NS_R" tcp $R_CIP 80 socat TCP-LISTEN:80,bind=$R_CIP,fork,reuseaddr SYSTEM:"read l; echo LOCAL \$SOCAT_PEERADDR"; }
# srv_udp ADDR PORT NAME: UDP, "NAME PEER LINE"
srv_udp() { serve_reply "$NS_S" udp "$@"; }
# srv_count ADDR PORT: TCP, the byte count of what it received
srv_count() {
	local l=TCP-LISTEN b=$1
	case "$1" in *:*) l=TCP6-LISTEN b="[$1]" ;; esac
	serve "$NS_S" tcp "$1" "$2" socat $l:"$2",bind="$b",fork,reuseaddr SYSTEM:"wc -c"
}

tcp_get() { tcp_req "$NS_C" "$@"; }
# add ARGS...: a rule the case needs (a failure is shown, the checks then say what it broke)
add() { pr add "$@" >/dev/null || diag "setup: add $* failed"; }

# Back to the suite's fixed state: rc attached in MODE as the suite attached
# it, nothing else of ours attached, no rules, no flows, the router's links
# and firewall as topo_up made them. A fresh attach costs seconds (minutes
# under TCG), so rc is attached again only if a case changed it.
ifaces() { pr -j status 2>/dev/null | json_get '.interfaces[] | "\(.interface) \(.mode) \(.forward)"'; }
# A case that changes the router beyond portredir (a foreign qdisc, a
# firewall table, an MTU) says so first, and the reset undoes it; the rest
# cost no process start (each takes most of a second under TCG).
router_dirty() { : >"$TMP/.router-dirty"; }
case_reset() {
	local i now
	pr apply /dev/null >/dev/null || diag "reset: apply /dev/null failed"
	pr conntrack flush >/dev/null || diag "reset: conntrack flush failed"
	now=$(ifaces)
	if [ "$now" != "$STD_IFACES" ]; then
		grep -q '^rs ' <<<"$now" && pr detach rs >/dev/null 2>&1
		now=$(ifaces)
	fi
	if [ "$now" != "$STD_IFACES" ]; then
		for i in rs rc; do
			pr detach $i >/dev/null 2>&1
			# what a failed detach left behind must not reach the next case
			if in_ns "$NS_R" ip link show $i | grep -q xdp; then
				diag "reset: removing an XDP program left on $i"
				in_ns "$NS_R" ip link set $i xdp off
			fi
			in_ns "$NS_R" tc qdisc del dev $i clsact 2>/dev/null
		done
		pr attach rc --mode "$MODE" >/dev/null || diag "reset: attach rc --mode $MODE failed"
	fi
	if [ -e "$TMP/.router-dirty" ]; then
		in_ns "$NS_R" sh -c 'tc qdisc del dev rs clsact 2>/dev/null; nft delete table inet prfwd 2>/dev/null; ip link set rs mtu 1500'
		in_ns "$NS_C" sh -c 'nft delete table netdev prbig 2>/dev/null; ip link set dev c0 gso_max_size 65536'
		in_ns "$NS_C" python3 -S "$PR_HELPERS/gso_ipv4.py" c0 65536 >/dev/null 2>&1
	fi
	rm -rf "${TMP:?}"/* "$TMP/.router-dirty"
}

# ---- cases ----

case_attach() {
	local out rc st
	pr detach rc >/dev/null
	out=$(pr attach rc --mode "$MODE" 2>&1)
	expect_contains "attach rc --mode $MODE" "in $MODE mode" "$out"
	out=$(pr attach rc --mode "$MODE" 2>&1); rc=$?
	expect_begin "attach again is idempotent (exit 0, 'already attached')"
	expect_eq "exit status" 0 "$rc"
	expect_contains "output" "already attached" "$out"
	expect_end
	st=$(pr -j status)
	expect_begin "status shows rc in $MODE mode with live programs"
	expect_eq "rc's mode" "$MODE" "$(json_get '.interfaces[] | select(.interface == "rc") | .mode' <<<"$st")"
	expect_eq "rc ok" true "$(json_get '.interfaces[] | select(.interface == "rc") | .ok' <<<"$st")"
	expect_gt "tc ingress program id" 0 "$(json_get '.interfaces[] | select(.interface == "rc") | .tc_ingress_prog_id' <<<"$st")"
	expect_gt "tc egress program id" 0 "$(json_get '.interfaces[] | select(.interface == "rc") | .tc_egress_prog_id' <<<"$st")"
	if [ "$MODE" = tc ]; then
		expect_eq "no XDP program in tc mode" 0 "$(json_get '.interfaces[] | select(.interface == "rc") | .xdp_prog_id' <<<"$st")"
	else
		expect_gt "an XDP program in $MODE mode" 0 "$(json_get '.interfaces[] | select(.interface == "rc") | .xdp_prog_id' <<<"$st")"
	fi
	expect_end
}

case_tcp_udp() {
	srv_echo $S_IP 80 A; srv_udp $S_IP 53 U; srv_local
	add tcp :8080 $S_IP:80 --name web
	add udp $R_CIP:5353 $S_IP:53 --name dns
	add tcp :9090 $R_CIP:80 --name local
	expect_eq "TCP through the redirect reaches backend A, which sees the real client address" \
		"A $C_IP hello" "$(tcp_get $R_CIP 8080)"
	expect_eq "a second client address is seen as itself" "A $C_IP2 hello" "$(tcp_get $R_CIP 8080 $C_IP2)"
	expect_eq "UDP request and reply through the redirect (reply source restored)" \
		"U $C_IP hello" "$(udp_req "$NS_C" $R_CIP 5353 <<<hello 2>&1)"
	expect_eq "redirect to a local port of the router" "LOCAL $C_IP" "$(tcp_get $R_CIP 9090)"
}

# IPv6 through the same router and rules of the same shape (socat prints peers in full)
case_ipv6() {
	local long
	long=$(python3 -S -c "import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]).exploded)" $C_IP6)
	srv_echo $S_IP6 80 A6; srv_udp $S_IP6 53 U6
	add tcp :8080 "[$S_IP6]:80" --name web6
	add udp "[$R_CIP6]:5353" "[$S_IP6]:53" --name dns6
	expect_eq "IPv6 TCP through the redirect reaches the IPv6 backend, which sees the real client" \
		"A6 [$long] hello" "$(tcp_get $R_CIP6 8080)"
	expect_eq "IPv6 UDP request and reply through the redirect" \
		"U6 [$long] hello" "$(udp_req "$NS_C" $R_CIP6 5353 <<<hello 2>&1)"
}

# portredir monitor in this mode (tests/integration/monitor.sh has the rest):
# a new TCP flow over IPv4 and a UDP one over IPv6 each give one -j line,
# whichever program (XDP or TC) opened the flow.
case_monitor() {
	local out
	srv_echo $S_IP 80 A; srv_udp $S_IP6 53 U6
	add tcp :8080 $S_IP:80 --name web
	add udp "[$R_CIP6]:5353" "[$S_IP6]:53" --name dns6
	mon_start "$TMP/mon" -j monitor --count 2 || return 1
	tcp_get $R_CIP 8080 >/dev/null
	udp_req "$NS_C" $R_CIP6 5353 <<<hello >/dev/null 2>&1
	wait_until 5 eval '! kill -0 $MON_PID 2>/dev/null'
	mon_stop
	out=$(python3 -S "$PR_HELPERS/json_lines.py" "$TMP/mon" event proto client listen target rule_name iface)
	expect_begin "monitor: one event per new flow, IPv4 TCP and IPv6 UDP, then --count 2 ends it"
	expect_match "tcp" "^new	tcp	$C_IP:[0-9]+	$R_CIP:8080	$S_IP:80	web	rc$" "$(sed -n 1p <<<"$out")"
	expect_match "udp" "^new	udp	\[$C_IP6\]:[0-9]+	\[$R_CIP6\]:5353	\[$S_IP6\]:53	dns6	rc$" "$(sed -n 2p <<<"$out")"
	expect_eq "it ended by itself, with status 0" 0 "$MON_RC"
	expect_end
}

# Complete-checksum UDP from a raw socket: the XDP modes translate it in XDP itself.
case_raw_udp() {
	local punt
	serve "$NS_S" udp $S_IP 54 socat -u UDP-RECVFROM:54,bind=$S_IP,fork OPEN:"$TMP/raw.log",creat,append
	add udp :5454 $S_IP:54 --name raw
	punt=$(stat_global pass_partial_csum_to_tc)
	in_ns "$NS_C" python3 -S "$PR_HELPERS/raw_udp.py" $C_IP $R_CIP 40000 5454 3
	wait_until 5 sh -c "[ \$(grep -c '^raw' '$TMP/raw.log' 2>/dev/null) -ge 3 ]"
	expect_eq "UDP with a complete checksum arrives intact at the backend (3 datagrams)" \
		3 "$(grep -c '^raw' "$TMP/raw.log" 2>/dev/null)"
	[ "$MODE" = tc ] ||
		expect_eq "XDP translated the complete-checksum datagrams itself (no punt to TC)" \
			"$punt" "$(stat_global pass_partial_csum_to_tc)"
}

# A 4000-byte UDP datagram over 1500-byte links: fragmented both ways, echoed whole.
case_fragments() {
	local before after
	serve "$NS_S" udp $S_IP 55 socat -T5 UDP-RECVFROM:55,bind=$S_IP,fork SYSTEM:cat
	add udp :5555 $S_IP:55 --name big
	head -c 4000 /dev/urandom >"$TMP/big.in"
	before=$(stat_global xlate_fragment)
	udp_req "$NS_C" $R_CIP 5555 4000 <"$TMP/big.in" >"$TMP/big.out" 2>"$TMP/big.err"
	check "a 4000-byte UDP datagram reaches the backend whole and its fragmented echo returns intact" \
		sh -c 'cat "$2"; cmp "$1" "$3"' _ "$TMP/big.in" "$TMP/big.err" "$TMP/big.out"
	# the reply's last fragment is counted before it is delivered
	after=$(wait_ge $((before + 6)) stat_global xlate_fragment)
	expect_eq "fragments were counted as translated (6 = 3 each way)" 6 $((after - before))
}

# A live flow survives --replace; new flows take the new target.
case_replace_live() {
	local out
	srv_echo $S_IP 80 A; srv_echo $S_IP2 80 B
	add tcp :8080 $S_IP:80 --name web
	session_open "$TMP/session.out" $R_CIP 8080
	out=$(pr add tcp :8080 $S_IP2:80 --replace 2>&1)
	expect_contains "add --replace swaps the target" "$S_IP2:80" "$out"
	session_close "$TMP/session.out"
	expect_eq "the live TCP flow keeps its old backend across --replace" \
		"$(printf 'A %s first\nA %s second' $C_IP $C_IP)" "$(cat "$TMP/session.out")"
	expect_eq "a new TCP flow after --replace reaches backend B" "B $C_IP hello" "$(tcp_get $R_CIP 8080)"
}

# A port range, port for port: first, middle and last
case_range() {
	local p
	for p in 9000 9050 9099; do srv_peer $S_IP $p P$p; done
	add tcp :7000-7099 $S_IP:9000-9099 --name range
	expect_eq "range: first port 7000 reaches 9000" "P9000 $C_IP" "$(tcp_get $R_CIP 7000)"
	expect_eq "range: middle port 7050 reaches 9050" "P9050 $C_IP" "$(tcp_get $R_CIP 7050)"
	expect_eq "range: last port 7099 reaches 9099" "P9099 $C_IP" "$(tcp_get $R_CIP 7099)"
}

# A source allowlist, seen from two client addresses
case_allowlist() {
	local out
	srv_peer $S_IP 8181 P8181
	add tcp :8500 $S_IP:8181 --allow $C_IP/32 --name allow
	expect_eq "allowlist: the allowed client address is redirected" "P8181 $C_IP" "$(tcp_get $R_CIP 8500)"
	# no answer is the expected outcome: the bound only limits the wait
	out=$(in_ns "$NS_C" timeout "$(tmo 3)" socat -T2 - TCP:$R_CIP:8500,bind=$C_IP2,connect-timeout=2 <<<"hello" 2>&1)
	expect_no_match "allowlist: another client address is dropped (no answer)" P8181 "$out"
	expect_begin "allowlist: the denial is counted for the rule"
	expect_ge "denied" 1 "$(stat_rule allow denied)"
	expect_ge "flows" 1 "$(stat_rule allow flows)"
	expect_end
}

# DMZ: unmapped ports go to one host, specific rules still win, local services stay local
case_dmz() {
	srv_peer $S_IP 8181 P8181; srv_echo $S_IP2 80 B; srv_local
	add tcp :8080 $S_IP2:80 --name web
	add tcp :* $S_IP --name dmz
	expect_eq "DMZ: an unmapped port (8181) reaches the DMZ host on the same port" "P8181 $C_IP" "$(tcp_get $R_CIP 8181)"
	expect_eq "DMZ: a specific rule (8080) still wins" "B $C_IP hello" "$(tcp_get $R_CIP 8080)"
	expect_eq "DMZ: the router's own service on port 80 is not taken" "LOCAL $C_IP" "$(tcp_get $R_CIP 80)"
}

case_stats() {
	local i st
	srv_echo $S_IP 80 A; srv_udp $S_IP 53 U
	add tcp :8080 $S_IP:80 --name web
	add udp $R_CIP:5353 $S_IP:53 --name dns
	for i in 1 2 3; do tcp_get $R_CIP 8080 >/dev/null; done
	udp_req "$NS_C" $R_CIP 5353 <<<hello >/dev/null 2>&1
	session_open "$TMP/session.out" $R_CIP 8080 # a fourth flow, live while we look
	st=$(pr -j stats)
	expect_begin "stats count flows, packets and bytes for the rules"
	expect_ge "web flows" 4 "$(json_get '.rules[] | select(.name == "web") | .flows' <<<"$st")"
	expect_gt "web packets_in" 0 "$(json_get '.rules[] | select(.name == "web") | .packets_in' <<<"$st")"
	expect_gt "web bytes_out" 0 "$(json_get '.rules[] | select(.name == "web") | .bytes_out' <<<"$st")"
	expect_ge "dns flows" 1 "$(json_get '.rules[] | select(.name == "dns") | .flows' <<<"$st")"
	expect_ge "dns packets_out" 1 "$(json_get '.rules[] | select(.name == "dns") | .packets_out' <<<"$st")"
	expect_gt "global xlate_forward" 0 "$(json_get '.global.xlate_forward' <<<"$st")"
	expect_gt "global xlate_reply" 0 "$(json_get '.global.xlate_reply' <<<"$st")"
	expect_ge "conntrack flows (the open session)" 1 "$(json_get '.conntrack.flows' <<<"$st")"
	expect_ge "conntrack live entries" 2 "$(json_get '.conntrack.live' <<<"$st")"
	expect_eq "conntrack table size" 262144 "$(json_get '.conntrack.max' <<<"$st")"
	expect_eq "conntrack live entries evicted" 0 "$(json_get '.conntrack.evicted' <<<"$st")"
	expect_end
	expect_match "conntrack list shows the flows with client, listen and target" \
		"$C_IP:.* $R_CIP:8080 .* $S_IP:80 " "$(pr conntrack list)"
	# the Prometheus form does not depend on the mode: checked once
	[ "$MODE" = tc ] && prometheus_checks "$st"
	session_close "$TMP/session.out"
}

# prom_get FILE SAMPLE: the value of the sample (name and labels as written) in FILE
prom_get() { local l; while read -r l; do [ "${l% *}" = "$2" ] && { echo "${l##* }"; return; }; done <"$1"; echo none; }
# web_vals STATS_JSON: web's flows, packets_in and bytes_out, xlate_reply and evictions, tab-separated
web_vals() {
	json_get '[(.rules[] | select(.name == "web") | .flows, .packets_in, .bytes_out), .global.xlate_reply,
		.conntrack.evicted] | @tsv' <<<"$1"
}
# prometheus_checks STATS_JSON: the exporter, scraped over TCP from the client
# namespace while the case's flows are up, serves what a real parser
# (promtool) accepts, with the values `stats -j` gives before and after, the
# same series as `stats --prometheus`, 404 and 405 where due, and ends with
# status 0 on SIGTERM.
prometheus_checks() {
	local pid codes rc url=http://$R_CIP:9567 w="%{http_code}\n" f0 pi0 bo0 xr0 ev0 f1 pi1 bo1 xr1 ev1 v web='rule="web"'
	command -v promtool >/dev/null || { skip "Prometheus output" "promtool missing (make deps installs prometheus)"; return 0; }
	# nsenter itself, not in_ns: $! must be the exporter, not a subshell around it
	nsenter --net=/run/netns/"$NS_R" "$PR_BIN" --pin-dir "$PIN" exporter --listen $R_CIP:9567 >"$TMP/exporter.log" 2>&1 &
	pid=$!
	PIDS+=($pid)
	wait_until 5 listening "$NS_R" tcp 9567 $R_CIP || diag "exporter did not listen: $(cat "$TMP/exporter.log")"
	codes=$(in_ns "$NS_C" curl -sS --max-time "$(tmo 5)" -o "$TMP/scrape" -w "$w" $url/metrics \
		--next -sS -o /dev/null -w "$w" $url/other --next -sS -o /dev/null -w "$w" -X POST $url/metrics \
		--next -sS -I -o "$TMP/head" -w "$w" $url/metrics 2>&1 | tr '\n' ' ')
	IFS=$'\t' read -r f0 pi0 bo0 xr0 ev0 < <(web_vals "$1")
	IFS=$'\t' read -r f1 pi1 bo1 xr1 ev1 < <(web_vals "$(pr -j stats)")
	pr stats --prometheus >"$TMP/stats.prom"
	expect_begin "exporter: /metrics over TCP is the text format promtool accepts, with stats' values"
	expect_eq "status codes: /metrics, /other, POST, HEAD" "200 404 405 200 " "$codes"
	expect_match "HEAD's content type" "^Content-Type: text/plain; version=0.0.4; charset=utf-8" "$(tr -d '\r' <"$TMP/head")"
	expect_eq "promtool check metrics" "" "$(promtool check metrics <"$TMP/scrape" 2>&1 || echo "failed ($?)")"
	expect_eq "the series of stats --prometheus" "$(sed 's/ [0-9]*$//' "$TMP/stats.prom")" "$(sed 's/ [0-9]*$//' "$TMP/scrape")"
	expect_eq "web flows" "$f1" "$(prom_get "$TMP/scrape" "portredir_rule_flows_total{$web}")"
	v=$(prom_get "$TMP/scrape" "portredir_rule_packets_total{$web,direction=\"in\"}")
	expect_ge "web packets in: stats -j before ($pi0) <= the scrape's" "$pi0" "$v"
	expect_ge "  ...<= stats -j after ($pi1)" "$v" "$pi1"
	v=$(prom_get "$TMP/scrape" "portredir_rule_bytes_total{$web,direction=\"out\"}")
	expect_ge "web bytes out: stats -j before ($bo0) <= the scrape's" "$bo0" "$v"
	expect_ge "  ...<= stats -j after ($bo1)" "$v" "$bo1"
	expect_eq "xlate_reply by reason" "$xr1" "$(prom_get "$TMP/scrape" 'portredir_packets_total{reason="xlate_reply"}')"
	expect_ge "conntrack flows gauge" 1 "$(prom_get "$TMP/scrape" portredir_conntrack_flows)"
	expect_eq "conntrack size gauge" 262144 "$(prom_get "$TMP/scrape" portredir_conntrack_entries_limit)"
	expect_eq "evictions" "$ev1" "$(prom_get "$TMP/scrape" portredir_conntrack_evictions_total)"
	expect_end
	kill -TERM $pid; wait $pid; rc=$?
	expect_eq "exporter: SIGTERM ends it with status 0" 0 "$rc"
}

# Path MTU discovery through the redirect: the router's server-side link is
# smaller, the client's segments carry DF, and only a translated frag-needed
# tells the client's socket (which talks to the listen address) to shrink.
# upload ADDR PORT: bytes the server counted of a 300 kB upload
upload() {
	local a="TCP:$1:$2"
	case "$1" in *:*) a="TCP6:[$1]:$2" ;; esac
	head -c 300000 /dev/urandom | in_ns "$NS_C" timeout "$(tmo 20)" socat -t "$(tmo 5)" -T "$(tmo 15)" - "$a" 2>&1 | tr -d ' '
}
case_pmtu() {
	local before after out
	srv_count $S_IP 81; srv_count $S_IP6 81
	add tcp :8090 $S_IP:81 --name upload
	add tcp '[::]:8091' "[$S_IP6]:81" --name upload6
	router_dirty
	in_ns "$NS_R" ip link set rs mtu 1280
	before=$(stat_global xlate_icmp_error)
	out=$(upload $R_CIP 8090)
	after=$(stat_global xlate_icmp_error)
	expect_eq "PMTU: a 300 kB upload with DF over a 1280-byte link completes through the redirect" 300000 "$out"
	expect_gt "PMTU: the router's frag-needed was translated for the client" "$before" "$after"
	# the same over IPv6, where only packet-too-big can shrink the path
	before=$after
	out=$(upload $R_CIP6 8091)
	after=$(stat_global xlate_icmp_error)
	expect_begin "PMTU over IPv6: the upload completes and packet-too-big was translated"
	expect_eq "bytes the server counted" 300000 "$out"
	expect_gt "xlate_icmp_error" "$before" "$after"
	expect_end
}

# Translated packets go straight to the egress device (bpf_redirect from TC,
# or XDP_REDIRECT where the devmap allows), past the router's forward path;
# --via-stack keeps them on it, so the host's firewall sees them.
fwd_setup() {
	srv_echo $S_IP 80 A
	router_dirty
	in_ns "$NS_R" nft -f - <<'NFT'
table inet prfwd {
	chain fw {
		type filter hook forward priority 0
		tcp dport 80 counter
		tcp sport 80 counter
	}
}
NFT
	in_ns "$NS_R" ping -c1 -W"$(tmo 2)" $S_IP >/dev/null 2>&1 # neighbours known
	in_ns "$NS_R" ping -c1 -W"$(tmo 2)" $C_IP >/dev/null 2>&1
}
fwd_pkts() {
	in_ns "$NS_R" nft -j list chain inet prfwd fw |
		json_get '[.nftables[] | .rule? // empty | .expr[] | .counter? // empty | .packets] | add // 0'
}
# one_flow LABEL: a TCP exchange through rule web; sets out (the reply without
# its backend letter) and dr, df (packets sent straight out, and packets the
# router's forward chain saw)
one_flow() {
	local r0 f0
	r0=$(stat_global redirect) f0=$(fwd_pkts)
	out=$(tcp_get $R_CIP 8080)
	out=${out#? }
	dr=$(($(stat_global redirect) - r0)) df=$(($(fwd_pkts) - f0))
	echo "# $1: redirect counter +$dr, router forward chain +$df, reply '$out'"
}
case_direct() {
	local out dr df
	fwd_setup
	pr attach rs --mode "$MODE" >/dev/null # replies arrive there: both directions go straight
	add tcp :8080 $S_IP:80 --name web
	one_flow direct
	expect_begin "a translated flow goes straight to the egress device: redirect counter up, router forward chain untouched"
	expect_eq "reply" "$C_IP hello" "$out"
	expect_ge "redirect counter increase" 6 "$dr"
	expect_eq "forward chain packets" 0 "$df"
	expect_end
}
# A bulk upload through a DNAT rule: the client's socket hands veth GSO
# bursts (in tc mode; an XDP program on rc turns GSO off), each checked by
# its segments' length and sent straight out like a single packet, so the
# router's forward chain sees none of them.
case_direct_bulk() {
	local r0 f0 out dr df
	fwd_setup
	srv_count $S_IP 81
	in_ns "$NS_R" nft add rule inet prfwd fw tcp dport 81 counter
	pr attach rs --mode "$MODE" >/dev/null
	add tcp :8090 $S_IP:81 --name upload
	r0=$(stat_global redirect) f0=$(fwd_pkts)
	out=$(upload $R_CIP 8090)
	dr=$(($(stat_global redirect) - r0)) df=$(($(fwd_pkts) - f0))
	echo "# redirect counter +$dr, router forward chain +$df"
	expect_begin "a 300 kB upload (GSO bursts in tc mode) goes straight out: router forward chain untouched"
	expect_eq "bytes the server counted" 300000 "$out"
	expect_gt "redirect counter increase" 0 "$dr"
	expect_eq "forward chain packets" 0 "$df"
	expect_end
}
# BIG TCP (gso_max_size, and for IPv4 gso_ipv4_max_size, over 64 KiB on
# the client's veth, as a container may have it): the client's socket sends
# GSO bursts over 64 KiB whose IP length field is 0. Passed untranslated as
# malformed, they reached the router's own listen address, which reset the
# connection. Now each is translated like any segment of its flow (generic
# XDP leaves such a burst to TC unmarked). A netdev egress counter on c0
# shows the socket built bursts over 64 KiB; with native XDP on rc, c0
# segments them (no GSO towards an XDP veth), so that mode checks only that
# nothing breaks. IPv4 needs Linux 6.3, and sets the size over rtnetlink
# (helpers/gso_ipv4.py: Debian 12's iproute2 has no gso_ipv4_max_size).
big_upload() {
	local fam=$1 lport=$2 out m0 big
	in_ns "$NS_C" nft reset counters table netdev prbig >/dev/null
	m0=$(stat_global pass_malformed)
	out=$(in_ns "$NS_C" timeout "$(tmo 40)" python3 -S "$PR_HELPERS/bulk_send.py" "$3" "$lport" "$(tmo 20)" \
		"netdev prbig out" 2>&1)
	big=$(in_ns "$NS_C" nft -j list chain netdev prbig out |
		json_get '[.nftables[] | .rule? // empty | .expr[] | .counter? // empty | .packets] | add // 0')
	echo "# $fam: bursts over 64 KiB from c0: $big"
	expect_begin "an $fam BIG TCP upload (bursts over 64 KiB, IP length 0) through a DNAT rule: not reset, all of it arrives"
	expect_match "bytes the server counted: all it was sent" '^([0-9]+) \1$' "$out"
	expect_eq "pass_malformed" "$m0" "$(stat_global pass_malformed)"
	[ "$MODE" = native ] || expect_gt "bursts over 64 KiB from c0" 0 "$big"
	expect_end
}
case_big_tcp() {
	local v4
	srv_count $S_IP 81; srv_count $S_IP6 81
	router_dirty
	pr attach rs --mode "$MODE" >/dev/null
	add tcp :8090 $S_IP:81 --name upload
	add tcp '[::]:8091' "[$S_IP6]:81" --name upload6
	in_ns "$NS_C" ip link set dev c0 gso_max_size 180000
	v4=$(in_ns "$NS_C" python3 -S "$PR_HELPERS/gso_ipv4.py" c0 180000 2>&1)
	in_ns "$NS_C" nft -f - <<'NFT'
table netdev prbig {
	chain out {
		type filter hook egress device c0 priority 0
		meta length > 65535 counter
	}
}
NFT
	big_upload IPv6 8091 $R_CIP6
	if [ "$v4" = 180000 ]; then
		big_upload IPv4 8090 $R_CIP
	else
		skip "an IPv4 BIG TCP upload through a DNAT rule" "$v4"
	fi
}
# The server's port-unreachable travels back through rs, where ingress must
# not translate it: from the listen address the stack would drop it as
# martian. rc's egress translates it, and the client sees the refusal.
case_port_unreachable() {
	local rc
	pr attach rs --mode "$MODE" >/dev/null
	add udp :5999 $S_IP:5999 --name closed
	udp_req "$NS_C" $R_CIP 5999 <<<x >/dev/null 2>&1; rc=$?
	expect_eq "with both sides attached, the server's port-unreachable reaches the client translated" \
		refused "$(case $rc in 0) echo answered ;; 3) echo refused ;; 4) echo timeout ;; *) echo "exit $rc" ;; esac)"
}
case_via_stack() {
	local out dr df rc
	fwd_setup
	pr detach rc >/dev/null
	pr attach rs --mode "$MODE" --via-stack >/dev/null
	out=$(pr attach rc --mode "$MODE" --via-stack 2>&1)
	expect_contains "attach --via-stack" "in $MODE mode" "$out"
	expect_match "status shows forward stack" '^  rc .* forward stack' "$(pr status)"
	add tcp :8080 $S_IP:80 --name web
	one_flow "via stack"
	expect_begin "with --via-stack the flow takes the router's forward path and still works"
	expect_eq "reply" "$C_IP hello" "$out"
	expect_eq "redirect counter increase" 0 "$dr"
	expect_ge "forward chain packets" 6 "$df"
	expect_end
	out=$(pr attach rc --mode "$MODE" 2>&1); rc=$?
	expect_begin "attach without --via-stack over a --via-stack attachment asks for a detach first"
	expect_gt "exit status" 0 "$rc"
	expect_contains "message" "with --via-stack; detach it first" "$out"
	expect_end
}

# Delete stops redirecting, for new and live flows.
case_del() {
	srv_echo $S_IP2 80 B
	add tcp :8080 $S_IP2:80 --name web
	session_open "$TMP/session.out" $R_CIP 8080
	check "del by name succeeds" pr del --name web
	session_close "$TMP/session.out"
	expect_no_match "after del a live flow is no longer redirected" 'B .* second' "$(cat "$TMP/session.out")"
	expect_match "after del a new connection is not redirected (refused by the router)" \
		'[Rr]efused|[Rr]eset' "$(tcp_get $R_CIP 8080)"
	expect_no_match "rule list no longer has the rule" ' web ' "$(pr list)"
}

# Detach removes everything of ours and nothing else.
case_detach() {
	add tcp :9090 $R_CIP:80 --name local
	check "detach succeeds" pr detach rc
	expect_no_match "no XDP program left on rc" xdp "$(in_ns "$NS_R" ip link show rc)"
	expect_no_match "no clsact qdisc left on rc (we created it)" clsact "$(in_ns "$NS_R" tc qdisc show dev rc)"
	expect_match "after detach traffic is not translated" '[Rr]efused|[Rr]eset' "$(tcp_get $R_CIP 9090)"
	expect_match "rules survive detach (restart loses no rules)" ' local ' "$(pr list)"
}

# Someone else's clsact qdisc and filter survive our attach and detach.
case_foreign_qdisc() {
	router_dirty
	in_ns "$NS_R" tc qdisc add dev rs clsact
	in_ns "$NS_R" tc filter add dev rs ingress prio 7 protocol all u32 match u32 0 0 classid 1:1
	pr attach rs --mode "$MODE" >/dev/null && pr detach rs >/dev/null
	expect_match "detach leaves another user's clsact qdisc and filter in place" \
		'pref 7 u32' "$(in_ns "$NS_R" tc filter show dev rs ingress)"
	check "detach of an interface we are not on fails cleanly" sh -c "! '$PR_BIN' --pin-dir '$PIN' detach lo 2>/dev/null"
}

# Verified TC programs are pinned in PIN/progs and shared: a second
# interface's attach loads nothing. An entry bound to another pin dir's maps
# is not used, and one of another build goes when a new one is put; the
# client's flow enters by rc, which then runs the reloaded programs.
case_prog_cache() {
	local st in_c in_s ls2 old a
	pr attach rs --mode "$MODE" >/dev/null
	st=$(pr -j status)
	in_c=$(json_get '.interfaces[] | select(.interface == "rc") | .tc_ingress_prog_id' <<<"$st")
	in_s=$(json_get '.interfaces[] | select(.interface == "rs") | .tc_ingress_prog_id' <<<"$st")
	expect_begin "rc and rs run the same cached TC programs"
	expect_gt "rc's ingress program" 0 "$in_c"
	expect_eq "rs's ingress program" "$in_c" "$in_s"
	expect_match "the pin dir holds them" '^tc-[0-9a-f]{16}-s0-ingress$' "$(ls "$PIN/progs")"
	expect_end
	[ "$MODE" = tc ] || return 0
	# Programs bound to another pin dir's maps, put in place of ours.
	in_ns "$NS_S" "$PR_BIN" --pin-dir "$PIN-b" attach s0 --mode tc >/dev/null
	old=$(in_ns "$NS_S" "$PR_BIN" --pin-dir "$PIN-b" -j status | json_get '.interfaces[0].tc_ingress_prog_id')
	ls2=$(cd "$PIN/progs" && ls)
	for a in $ls2; do
		rm "$PIN/progs/$a"
		bpftool prog pin id "$old" "$PIN/progs/$a"
	done
	bpftool prog pin id "$old" "$PIN/progs/tc-0000000000000000-s0-ingress"
	in_ns "$NS_S" "$PR_BIN" --pin-dir "$PIN-b" detach --all >/dev/null
	rm -rf "$PIN-b"
	pr detach rc >/dev/null
	pr attach rc --mode "$MODE" >/dev/null
	in_c=$(pr -j status | json_get '.interfaces[] | select(.interface == "rc") | .tc_ingress_prog_id')
	expect_begin "an entry bound to other maps is loaded again, and another build's entry goes"
	expect_gt "rc's ingress program" 0 "$in_c"
	expect_eq "not the foreign program" 1 "$([ "$in_c" != "$old" ] && echo 1)"
	expect_eq "entries" "$ls2" "$(cd "$PIN/progs" && ls)"
	expect_end
	add tcp :8080 $S_IP:80 --name web
	srv_echo $S_IP 80 A
	expect_eq "a flow through the reloaded programs" "A $C_IP hello" "$(tcp_get $R_CIP 8080)"
}

# A veth whose NAPI is threaded drops bursts under native XDP (docs/design.md,
# "Threaded NAPI on veth"): attach --mode native refuses it, naming the
# setting, and status warns when it is switched on after the attach. On a
# veth pair of its own in the router, gone with the case; native mode only.
case_threaded_napi() {
	local out rc st
	in_ns "$NS_R" ip link add prt0 type veth peer name prt1 || { not_ok "a veth pair for the case"; return; }
	in_ns "$NS_R" ip link set prt0 up && in_ns "$NS_R" ip link set prt1 up
	pr attach prt0 --mode native >/dev/null || diag "attach prt0 --mode native failed"
	# sysfs of the router's namespace: ip netns exec mounts it (nsenter would write the host's)
	ip netns exec "$NS_R" sh -c 'echo 1 > /sys/class/net/prt0/threaded' || diag "cannot make prt0's NAPI threaded"
	st=$(pr -j status)
	expect_begin "threaded after a native attach: status warns"
	expect_eq "napi_threaded" true "$(json_get '.interfaces[] | select(.interface == "prt0") | .napi_threaded' <<<"$st")"
	expect_eq "rc, not threaded, has no such field" null "$(json_get '.interfaces[] | select(.interface == "rc") | .napi_threaded' <<<"$st")"
	expect_match "text" '^  prt0 .*warning: its NAPI is threaded now' "$(pr status)"
	expect_end
	pr detach prt0 >/dev/null
	out=$(pr attach prt0 --mode native 2>&1); rc=$?
	expect_begin "attach --mode native on a veth with threaded NAPI is refused"
	expect_eq "exit status" 1 "$rc"
	expect_eq "one line" 1 "$(wc -l <<<"$out")"
	expect_contains "names the setting" "veth with threaded NAPI (/sys/class/net/prt0/threaded is not 0)" "$out"
	expect_eq "nothing attached" "" "$(pr -j status | json_get '.interfaces[] | select(.interface == "prt0") | .mode')"
	expect_eq "no XDP left on it" "" "$(in_ns "$NS_R" ip link show prt0 | grep -o 'xdp[a-z]*')"
	expect_end
	out=$(pr attach prt0 2>&1)
	expect_contains "auto picks tc there, which is safe" "in tc mode" "$out"
	pr detach prt0 >/dev/null
	out=$(pr attach prt0 --mode native --allow-threaded-napi 2>&1); rc=$?
	st=$(pr -j status)
	expect_begin "--allow-threaded-napi attaches native all the same, recorded"
	expect_eq "exit status" 0 "$rc"
	expect_eq "mode" native "$(json_get '.interfaces[] | select(.interface == "prt0") | .mode' <<<"$st")"
	expect_eq "napi_threaded shown" true "$(json_get '.interfaces[] | select(.interface == "prt0") | .napi_threaded' <<<"$st")"
	expect_no_match "no warning in the text" 'prt0 .*warning' "$(pr status)"
	expect_contains "save writes it" "interface prt0 --mode native --allow-threaded-napi" "$(pr save)"
	expect_end
	pr detach prt0 >/dev/null
	in_ns "$NS_R" ip link del prt0
}

# XDP into a veth (docs/design.md, "XDP into a veth"): rc's XDP sends a
# translated frame routed to rs straight into it only where the kernel said,
# at the last attach or apply, that rs's far end s0 takes XDP frames (an XDP
# program or GRO on s0 gives it NAPI); when s0 loses it mid-stream, the
# first frame the kernel refuses turns rs off and the flow goes on by the
# stack. The client's checksums are completed in software (c0 tx off), as a
# NIC's frames arrive: a local socket's CHECKSUM_PARTIAL would go to TC
# instead ("Why XDP leaves some packets to TC"). s0's NAPI stays softirq
# (threaded 0, the default): threaded NAPI drops bursts ("Threaded NAPI on veth").
PASS_OBJ=$PR_BUILD/tests/bench/xdp_pass.bpf.o
vx_get() { pr -j status | json_get '.xdp_into_veths.veths[] | select(.veth == "rs") | .[$f]' f "$1"; }
vx_sent() { stat_global redirect_xdp_veth; }
vx_refused() { stat_global drop_xdp_veth_refused; }
vx_rearm() { pr apply - <<<"tcp :8080 $S_IP:80 --name web" >/dev/null || diag "apply failed"; }
# vx_flowing HOW DESC: while the stream runs, redirect_xdp_veth grows over
# half a second of it (HOW xdp) or does not (HOW stack)
vx_flowing() {
	local a b
	sleep 0.3 # what the change had in flight
	a=$(vx_sent); sleep 0.5; b=$(vx_sent)
	if [ "$1" = stack ]; then expect_eq "$2: redirect_xdp_veth stays" "$a" "$b"
	else expect_gt "$2: redirect_xdp_veth grows" "$a" "$b"; fi
}
# vx_lose WHAT CMD...: CMD takes s0's NAPI away mid-stream; the frames
# refused after it are 1 or 2 (one a CPU that found out), then the stack
vx_lose() {
	local r0 r
	r0=$(vx_refused)
	"${@:2}"
	r=$(wait_ge $((r0 + 1)) vx_refused)
	expect_begin "$1 mid-stream: the first refused frame turns rs off"
	expect_ge "drop_xdp_veth_refused increase" 1 "$((r - r0))"
	expect_ge "no more than one a CPU" "$((r - r0))" 2
	expect_eq "xdp_redirect" false "$(vx_get xdp_redirect)"
	expect_eq "refused" true "$(vx_get refused)"
	expect_end
	vx_flowing stack "after $1"
}
# s0 gets the XDP_PASS program in native mode. Through bpftool, not ip's
# "xdpdrv obj", which leaves tc/, xdp/ and ip under /sys/fs/bpf behind: the
# pin goes as soon as the program is attached.
s0_xdp_pass() {
	local p=/sys/fs/bpf/${TAG}pass rc
	in_ns "$NS_S" bpftool prog load "$PASS_OBJ" "$p" type xdp &&
		in_ns "$NS_S" bpftool net attach xdpdrv pinned "$p" dev s0
	rc=$?
	rm -f "$p"
	return $rc
}
case_xdp_veth() {
	local st v0 out dr df avail bare_df
	[ -r "$PASS_OBJ" ] || { not_ok "the XDP_PASS object is built ($PASS_OBJ)"; return; }
	command -v ethtool >/dev/null || { not_ok "ethtool is installed (make deps installs it)"; return; }
	fwd_setup
	stream_servers
	add tcp :8080 $S_IP:80 --name web
	router_dirty
	in_ns "$NS_C" ethtool -K c0 tx off >/dev/null || diag "cannot complete c0's checksums in software"
	st=$(pr -j status)
	avail=$(json_get '.xdp_into_veths.available' <<<"$st")
	v0=$(vx_sent)
	one_flow "s0 bare"
	bare_df=$df
	expect_begin "s0 with no XDP program and no GRO: rs is not redirected into, frames take the stack"
	if [ "$avail" = true ]; then
		expect_eq "xdp_redirect" false "$(vx_get xdp_redirect)"
		expect_match "text" '^  rs +ifindex [0-9]+ +xdp-redirect no: its far end has no XDP program and no GRO' "$(pr status)"
	else
		expect_eq "no veth armed where the kernel cannot say" 0 "$(json_get '.xdp_into_veths.veths | length' <<<"$st")"
		expect_match "text" '^xdp into veths: the kernel has no netdev netlink family' "$(pr status)"
	fi
	expect_eq "reply" "$C_IP hello" "$out"
	expect_eq "redirect_xdp_veth" "$v0" "$(vx_sent)"
	expect_gt "the router's forward chain saw them" 0 "$df"
	expect_end
	s0_xdp_pass || diag "cannot give s0 an XDP program"
	if [ "$avail" != true ]; then
		# Linux before 6.3: no netdev family to ask, so never into a veth
		vx_rearm
		v0=$(vx_sent)
		one_flow "no netdev family"
		expect_begin "the kernel cannot say: frames to rs take the stack even with s0's XDP program"
		expect_eq "reply" "$C_IP hello" "$out"
		expect_eq "redirect_xdp_veth" "$v0" "$(vx_sent)"
		expect_gt "the router's forward chain saw them" 0 "$df"
		expect_contains "status says why" "netdev netlink family" "$(json_get '.xdp_into_veths.why_not' <<<"$st")"
		expect_end
		in_ns "$NS_S" ip link set dev s0 xdpdrv off
		in_ns "$NS_C" ethtool -K c0 tx on >/dev/null
		return
	fi
	expect_begin "s0 given an XDP program: status sees the far end's NAPI, the next apply uses it"
	# sysfs of the server's namespace: ip netns exec mounts it
	expect_eq "s0's NAPI is softirq, not threaded" 0 "$(ip netns exec "$NS_S" cat /sys/class/net/s0/threaded)"
	expect_eq "far_end_napi" true "$(vx_get far_end_napi)"
	expect_eq "xdp_redirect before the apply" false "$(vx_get xdp_redirect)"
	vx_rearm
	expect_eq "xdp_redirect after it" true "$(vx_get xdp_redirect)"
	expect_end
	v0=$(vx_sent)
	one_flow "s0 with XDP"
	expect_begin "a flow while s0 has an XDP program: its forward frames are XDP-redirected into rs"
	expect_eq "reply" "$C_IP hello" "$out"
	expect_gt "redirect_xdp_veth" "$v0" "$(vx_sent)"
	expect_gt "the router's forward chain saw fewer: only the replies" "$df" "$bare_df"
	expect_end
	stream tcp 8080
	wait_until 10 grep -q started "$TMP/tcp.out"
	expect_eq "a TCP stream through rule web" "started A $C_IP 0" "$(head -1 "$TMP/tcp.out")"
	vx_flowing xdp "s0 with XDP"
	vx_lose "s0's XDP program removed" in_ns "$NS_S" ip link set dev s0 xdpdrv off
	in_ns "$NS_S" ethtool -K s0 gro on >/dev/null || diag "cannot turn GRO on on s0"
	vx_rearm
	expect_eq "GRO on s0, then an apply: rs is redirected into again" true "$(vx_get xdp_redirect)"
	vx_flowing xdp "s0 with GRO"
	vx_lose "GRO off on s0" in_ns "$NS_S" ethtool -K s0 gro off
	touch "$TMP/stop-tcp"
	wait "$STREAM_tcp" 2>/dev/null
	expect_match "every exchange of the stream answered, in order, across the changes" "^ok [0-9]+ A $C_IP [0-9]+$" \
		"$(tail -1 "$TMP/tcp.out")"
	# a stale yes: GRO switched off while s0 was down leaves veth saying
	# s0 takes XDP frames; its ndo_xdp_xmit refuses the first bulk
	in_ns "$NS_S" ethtool -K s0 gro on >/dev/null
	in_ns "$NS_S" ip link set s0 down
	in_ns "$NS_S" ethtool -K s0 gro off >/dev/null
	in_ns "$NS_S" ip link set s0 up
	# what the down took: the routes through s0, and its IPv6 address
	in_ns "$NS_S" ip route replace default via $R_SIP
	in_ns "$NS_S" ip addr replace $S_IP6/64 dev s0 nodad
	in_ns "$NS_S" ip -6 route replace default via $R_SIP6
	wait_until 5 in_ns "$NS_R" ping -c1 -W1 $S_IP
	vx_rearm
	expect_eq "GRO off while s0 was down: the kernel's stale yes is armed" true "$(vx_get xdp_redirect)"
	v0=$(vx_refused)
	out=$(tcp_get $R_CIP 8080)
	expect_begin "the first bulk it refuses turns rs off: the flow completes by the stack (TCP resends)"
	expect_eq "reply" "A $C_IP hello" "$out"
	expect_gt "drop_xdp_veth_refused" "$v0" "$(vx_refused)"
	expect_eq "xdp_redirect" false "$(vx_get xdp_redirect)"
	expect_end
	in_ns "$NS_C" ethtool -K c0 tx on >/dev/null
	local links=() id gone=0
	for id in "$PIN"/vxmit/*; do links+=("$(bpftool -j link show pinned "$id" | json_get .id)"); done
	pr detach rc >/dev/null # the case_reset attaches it again
	for id in "${links[@]}"; do bpftool link show id "$id" >/dev/null 2>&1 || gone=$((gone + 1)); done
	expect_begin "the last detach removes the guard programs' links and empties this namespace's slots"
	expect_eq "links pinned before" 2 "${#links[@]}"
	expect_eq "links gone from the kernel" 2 "$gone"
	expect_eq "PIN/vxmit" absent "$([ -e "$PIN/vxmit" ] && echo present || echo absent)"
	expect_eq "veths armed" 0 "$(pr -j status | json_get '.xdp_into_veths.veths | length')"
	expect_end
}

# Containers behind veth (docs/design.md): rs's peer s0 is in the server's
# namespace, so TC ingress delivers translated packets into it directly
# (bpf_redirect_peer), the route's next hop being s0's own MAC; an entry
# whose MAC is not the next hop's is not used. tc mode only (XDP goes into
# a veth only where its far end takes XDP frames: case_xdp_veth).
case_peer() {
	local out dr df p0 peers= idx mac i
	fwd_setup
	pr attach rs --mode "$MODE" >/dev/null
	add tcp :8080 $S_IP:80 --name web
	for i in rc rs; do
		idx=$(in_ns "$NS_R" ip -j link show $i | json_get '.[0].ifindex')
		peers+="$(bpftool -j map lookup pinned "$PIN/pr_peer" key $((idx & 255)) $((idx >> 8 & 255)) 0 0 |
			json_get '.value[6]') "
	done
	expect_eq "pr_peer has rc's and rs's slots set: their peers are in other namespaces" "0x01 0x01 " "$peers"
	p0=$(stat_global redirect_peer)
	one_flow peer
	expect_begin "both directions go straight into the peers: redirect_peer counts every redirect"
	expect_eq "reply" "$C_IP hello" "$out"
	expect_ge "redirects" 6 "$dr"
	expect_eq "redirect_peer increase" "$dr" "$(($(stat_global redirect_peer) - p0))"
	expect_end
	idx=$(in_ns "$NS_R" ip -j link show rs | json_get '.[0].ifindex')
	bpftool map update pinned "$PIN/pr_peer" key $((idx & 255)) $((idx >> 8 & 255)) 0 0 \
		value 0x02 0 0 0 0 0x99 1 0 || diag "cannot write a wrong MAC for rs"
	p0=$(stat_global redirect_peer)
	one_flow "wrong MAC"
	expect_begin "an entry with another MAC than the next hop's: a plain redirect"
	expect_eq "reply" "$C_IP hello" "$out"
	expect_ge "redirects" 6 "$dr"
	p0=$(($(stat_global redirect_peer) - p0))
	expect_gt "redirect_peer increase: rc's direction still" 0 "$p0"
	expect_gt "but not rs's: fewer than the redirects" "$p0" "$dr"
	expect_end
	pr apply - <<<"tcp :8080 $S_IP:80 --name web" >/dev/null
	mac=$(bpftool -j map lookup pinned "$PIN/pr_peer" key $((idx & 255)) $((idx >> 8 & 255)) 0 0 | json_get '.value[0:6] | join(",")')
	expect_eq "apply refreshes it with s0's MAC" \
		"$(in_ns "$NS_S" ip -j link show s0 | json_get '.[0].address | split(":") | map("0x" + . ) | join(",")')" "$mac"
}

tap_plan
echo "# mode $MODE, namespaces $NS_C $NS_R $NS_S, pin dir $PIN, time scale x$PR_SCALE"
topo_up || { echo "Bail out! cannot build namespaces"; exit 1; }
out=$(pr attach rc --mode "$MODE" 2>&1)
if [ $? -ne 0 ] && [ "$MODE" = native ] && grep -qi 'not supported\|Operation not supported' <<<"$out"; then
	skip "attach rc --mode native" "native XDP unsupported here: $out"
	tap_done; exit $?
fi
STD_IFACES=$(ifaces)
echo "# fixed state between cases: $STD_IFACES"
if [ $# -gt 0 ]; then PR_CASES="$*"; fi
run_cases case_attach case_tcp_udp case_ipv6 case_monitor case_raw_udp case_fragments case_replace_live case_range \
	case_allowlist case_dmz case_stats case_pmtu case_direct case_direct_bulk case_big_tcp case_port_unreachable case_via_stack \
	case_del case_detach case_foreign_qdisc case_prog_cache \
	$([ "$MODE" = native ] && echo case_threaded_napi case_xdp_veth) $([ "$MODE" = tc ] && echo case_peer)
tap_done
