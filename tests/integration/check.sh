#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# portredir check: the verdict of a test run and every host setting in the way, each failing point with its fix, and no change to the live maps while flows run.
# Usage: check.sh [CASE...]; each case starts with rc attached in tc mode, no rules, no flows, the router's sysctls and links as topo_up made them.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TAG=prck$$
source "$HERE/../lib.sh"
TMP=$(mktemp -d /tmp/portredir-check.XXXXXX)
trap 'cleanup; rm -rf "$TMP"' EXIT

add() { pr add "$@" >/dev/null || diag "setup: add $* failed"; }
# chk ARGS...: portredir check's text output in $OUT, its exit status in $RC
chk() { OUT=$(pr check "$@" 2>&1); RC=$?; }
# chkj ARGS...: the same under -j
chkj() { OUT=$(pr -j check "$@" 2>&1); RC=$?; }
# point CHECK: the status of that point in the JSON in $OUT
point() { json_get '.points[] | select(.check == $c) | .status' c "$1" <<<"$OUT"; }
fix_of() { json_get '.points[] | select(.check == $c) | .fix' c "$1" <<<"$OUT"; }
r() { in_ns "$NS_R" "$@"; }

case_reset() {
	pr apply /dev/null >/dev/null || diag "reset: apply /dev/null failed"
	pr conntrack flush >/dev/null || diag "reset: conntrack flush failed"
	r sh -c 'sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv6.conf.rc.forwarding=1 net.ipv4.conf.rc.forwarding=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.rc.rp_filter=0 net.ipv4.conf.rc.route_localnet=0; ip link del rx 2>/dev/null; nft delete table ip prck 2>/dev/null; nft delete table ip nat 2>/dev/null; true'
	if [ "$(pr -j status | json_get '[.interfaces[] | "\(.interface) \(.mode) \(.forward)"] | join(",")')" != "rc tc direct" ]; then
		pr detach --all >/dev/null 2>&1
		pr attach rc --mode tc >/dev/null || diag "reset: attach rc failed"
	fi
}

# ---- cases ----

case_works() {
	add tcp :8080 $S_IP:80 --name web
	chk tcp :8080 --from $C_IP:40001
	expect_begin "a working mapping: exit 0, the verdict and the rewritten target shown"
	expect_eq "exit status" 0 "$RC"
	expect_contains "ingress" "check tcp $R_CIP:8080 from $C_IP:40001, in by rc (tc)" "$OUT"
	expect_match "verdict" "^verdict: (redirect|pass) \(tc ingress\), rewritten $C_IP:40001 -> $S_IP:80" "$OUT"
	expect_contains "rule" "rule: tcp :8080 -> $S_IP:80 name web" "$OUT"
	expect_contains "route" "route: dev rs" "$OUT"
	expect_no_match "no failing point" "^FAIL" "$OUT"
	expect_contains "result" "result: works" "$OUT"
	expect_end
	add udp "[::]:5353" "[$S_IP6]:53" --name dns6
	chk udp "[$R_CIP6]:5353"
	expect_begin "IPv6 UDP, no --from: a host on rc's network is assumed, and it works"
	expect_eq "exit status" 0 "$RC"
	expect_contains "assumed client" "from [2001:db8:1::2]:43210 (assumed)" "$OUT"
	expect_contains "rewritten" "-> [$S_IP6]:53" "$OUT"
	expect_end
}

case_json() {
	add tcp :8080 $S_IP:80 --name web
	chkj tcp :8080 --from $C_IP:40001
	expect_begin "-j check: one JSON object with the verdict, the rewrite, the rule, the route and the points"
	expect_eq "exit status" 0 "$RC"
	expect_eq "works" true "$(json_get .works <<<"$OUT")"
	expect_eq "interface" rc "$(json_get .interface <<<"$OUT")"
	expect_eq "mode" tc "$(json_get .mode <<<"$OUT")"
	expect_eq "program" "tc ingress" "$(json_get .program <<<"$OUT")"
	expect_match "verdict" "^(redirect|pass)$" "$(json_get .verdict <<<"$OUT")"
	expect_eq "source" "$C_IP:40001" "$(json_get .source <<<"$OUT")"
	expect_eq "destination" "$S_IP:80" "$(json_get .destination <<<"$OUT")"
	expect_eq "the datapath's reason" true "$(json_get '.reasons | index("xlate_forward") != null' <<<"$OUT")"
	expect_eq "rule name" web "$(json_get .rule.name <<<"$OUT")"
	expect_eq "route dev" rs "$(json_get .route.dev <<<"$OUT")"
	expect_eq "every point has check, status and text" true \
		"$(json_get '[.points[] | has("check") and has("status") and has("text")] | all' <<<"$OUT")"
	expect_eq "no point failed" 0 "$(json_get '[.points[] | select(.status == "fail")] | length' <<<"$OUT")"
	expect_end
	pr check tcp :8080 --from $C_IP:40002 >"$TMP/a" 2>&1 & local pa=$!
	pr check tcp :8080 --from $C_IP:40003 >"$TMP/b" 2>&1 & local pb=$!
	wait $pa; local ra=$?; wait $pb; local rb=$?
	expect_begin "two checks at once take turns on the check's instance and both answer"
	expect_eq "first exit status" 0 "$ra"
	expect_eq "second exit status" 0 "$rb"
	expect_contains "first" "rewritten $C_IP:40002 -> $S_IP:80" "$(cat "$TMP/a")"
	expect_contains "second" "rewritten $C_IP:40003 -> $S_IP:80" "$(cat "$TMP/b")"
	expect_match "its programs kept verified in PIN/progs" "^check-[0-9a-f]{16}-s0-tc$" "$(ls "$PIN/progs")"
	expect_end
}

case_forwarding_off() {
	add tcp :8080 $S_IP:80 --name web
	r sysctl -qw net.ipv4.ip_forward=0
	chkj tcp :8080 --from $C_IP
	expect_begin "forwarding off: exit 1, the forwarding point fails with its fix"
	expect_eq "exit status" 1 "$RC"
	expect_eq "works" false "$(json_get .works <<<"$OUT")"
	expect_eq "forwarding" fail "$(point forwarding)"
	expect_eq "fix" "sysctl -w net.ipv4.ip_forward=1" "$(fix_of forwarding)"
	expect_end
	r sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.rc.forwarding=0
	chkj tcp :8080 --from $C_IP
	expect_begin "IPv4 forwarding off on the ingress interface only: exit 1, the fix names it, and no answer"
	expect_eq "exit status" 1 "$RC"
	expect_eq "forwarding" fail "$(point forwarding)"
	expect_eq "fix" "sysctl -w net.ipv4.conf.rc.forwarding=1" "$(fix_of forwarding)"
	serve_reply "$NS_S" tcp $S_IP 80 S4
	expect_no_match "a real client" "^S4 " "$(tcp_req "$NS_C" $R_CIP 8080)"
	expect_end
	r sysctl -qw net.ipv4.conf.rc.forwarding=1 net.ipv6.conf.rc.forwarding=0
	add tcp "[::]:8080" "[$S_IP6]:80" --name web6
	serve_reply "$NS_S" tcp $S_IP6 80 S6
	chkj tcp "[$R_CIP6]:8080" --from "[$C_IP6]:40001"
	expect_begin "IPv6 forwarding off on the ingress interface only: the stack still forwards (a warning), exit 0"
	expect_eq "exit status" 0 "$RC"
	expect_eq "forwarding" warn "$(point forwarding)"
	expect_eq "fix" "sysctl -w net.ipv6.conf.rc.forwarding=1" "$(fix_of forwarding)"
	expect_match "a real client is answered" "^S6 " "$(tcp_req "$NS_C" $R_CIP6 8080)"
	expect_end
}

# The client's packets come in by rc, but the route back to it leaves by
# rx: strict rp_filter drops what the stack sees of them.
case_rp_filter() {
	add tcp :8080 $S_IP:80 --name web
	r sh -c "ip link add rx type veth peer name rx1 && ip link set rx up && ip link set rx1 up && ip route add $C_IP/32 dev rx && ip neigh flush dev rs"
	r sysctl -qw net.ipv4.conf.all.rp_filter=1
	chkj tcp $R_CIP:8080 --from $C_IP
	expect_begin "rp_filter strict on an asymmetric path: exit 1, rp_filter fails with the loose fix"
	expect_eq "exit status" 1 "$RC"
	expect_eq "rp_filter" fail "$(point rp_filter)"
	expect_match "why" "strict on rc and the route back to $C_IP leaves by rx" \
		"$(json_get '.points[] | select(.check == "rp_filter") | .text' <<<"$OUT")"
	expect_match "fix" "rp_filter=2" "$(fix_of rp_filter)"
	expect_eq "replies leave by rx, not attached" fail "$(point reply)"
	expect_eq "reply fix" "portredir attach rx" "$(fix_of reply)"
	expect_end
	r sysctl -qw net.ipv4.conf.all.rp_filter=2
	chkj tcp $R_CIP:8080 --from $C_IP
	expect_eq "loose rp_filter passes the same path" ok "$(point rp_filter)"
}

# A translated packet to 127.0.0.1 from an interface is martian to the
# stack unless route_localnet: check says so, and real traffic agrees.
case_loopback_target() {
	add tcp :8080 127.0.0.1:80 --name lo
	serve "$NS_R" tcp 127.0.0.1 80 socat TCP-LISTEN:80,bind=127.0.0.1,fork,reuseaddr SYSTEM:"echo LOOPBACK"
	chkj tcp :8080 --from $C_IP
	expect_begin "a loopback target without route_localnet: exit 1, the route point fails with the sysctl"
	expect_eq "exit status" 1 "$RC"
	expect_eq "route" fail "$(point route)"
	expect_match "fix" "^sysctl -w net.ipv4.conf.rc.route_localnet=1" "$(fix_of route)"
	expect_no_match "and indeed a real client gets no answer" LOOPBACK "$(tcp_req "$NS_C" $R_CIP 8080)"
	expect_end
	r sysctl -qw net.ipv4.conf.rc.route_localnet=1
	chk tcp :8080 --from $C_IP
	expect_begin "with route_localnet: exit 0, and a real client is answered"
	expect_eq "exit status" 0 "$RC"
	expect_contains "real client" LOOPBACK "$(tcp_req "$NS_C" $R_CIP 8080)"
	expect_end
}

# Masquerade takes the address of the attached interface towards the target.
case_masquerade() {
	add tcp :8080 $S_IP:80 --name web --masquerade
	chkj tcp :8080 --from $C_IP
	expect_begin "masquerade with the target's interface not attached: exit 1, the fix attaches it"
	expect_eq "exit status" 1 "$RC"
	expect_eq "datapath" fail "$(point datapath)"
	expect_eq "the datapath's reason" true "$(json_get '.reasons | index("drop_snat_no_address") != null' <<<"$OUT")"
	expect_match "fix" "^portredir attach rs " "$(fix_of datapath)"
	expect_end
	pr attach rs --mode tc >/dev/null
	chkj tcp :8080 --from $C_IP
	expect_begin "with rs attached: exit 0, the source rewritten to rs's address"
	expect_eq "exit status" 0 "$RC"
	expect_match "source" "^$R_SIP:[0-9]+$" "$(json_get .source <<<"$OUT")"
	expect_eq "destination" "$S_IP:80" "$(json_get .destination <<<"$OUT")"
	expect_end
}

# With the target's neighbour known, TC sends the packet straight out;
# --via-stack hands it to the stack instead (its own cached instance).
case_redirect_via_stack() {
	local mac
	add tcp :8080 $S_IP:80 --name web
	mac=$(in_ns "$NS_S" ip -br link show s0 | awk '{print $3}')
	r ip neigh replace $S_IP lladdr "$mac" dev rs nud permanent
	chkj tcp :8080 --from $C_IP
	expect_begin "the neighbour known: verdict redirect, out rs, the neighbour's MAC shown"
	expect_eq "exit status" 0 "$RC"
	expect_eq "verdict" redirect "$(json_get .verdict <<<"$OUT")"
	expect_eq "egress" rs "$(json_get .egress <<<"$OUT")"
	expect_eq "neighbour" permanent "$(json_get .route.neighbour <<<"$OUT")"
	expect_eq "mac" "$mac" "$(json_get .route.mac <<<"$OUT")"
	expect_end
	pr detach rc >/dev/null
	pr attach rc --mode tc --via-stack >/dev/null || diag "setup: attach rc --via-stack failed"
	chkj tcp :8080 --from $C_IP
	expect_begin "--via-stack: verdict pass (to the stack), translated all the same"
	expect_eq "exit status" 0 "$RC"
	expect_eq "verdict" pass "$(json_get .verdict <<<"$OUT")"
	expect_eq "destination" "$S_IP:80" "$(json_get .destination <<<"$OUT")"
	expect_match "attached says so" "--via-stack" "$(json_get '.points[] | select(.check == "attached") | .text' <<<"$OUT")"
	expect_match "its own instance" "^check-[0-9a-f]{16}-s1-tc$" "$(ls "$PIN/progs")"
	expect_end
	r ip neigh del $S_IP dev rs
}

case_no_rule() {
	add tcp :8080 $S_IP:80 --name web
	chk tcp :9090 --from $C_IP
	expect_begin "no rule for the port: exit 1, the rule point fails"
	expect_eq "exit status" 1 "$RC"
	expect_match "verdict" "^verdict: pass \(tc ingress\), not rewritten: pass_nomatch" "$OUT"
	expect_match "rule point" "^FAIL +rule +no rule for tcp $R_CIP:9090" "$OUT"
	expect_contains "fix" "fix: portredir add PROTO LISTEN TARGET" "$OUT"
	expect_end
}

case_allowlist() {
	add tcp :8080 $S_IP:80 --name web --allow $C_IP2/32
	chkj tcp :8080 --from $C_IP
	expect_begin "an allowlist refusing --from: exit 1, the fix adds the source"
	expect_eq "exit status" 1 "$RC"
	expect_eq "allowlist" fail "$(point allowlist)"
	expect_eq "not translated" false "$(json_get .translated <<<"$OUT")"
	expect_eq "fix" "portredir add tcp :8080 $S_IP:80 --name web --allow $C_IP2/32 --replace --allow $C_IP/32" \
		"$(fix_of allowlist)"
	expect_end
	chk tcp :8080 --from $C_IP2
	expect_eq "an allowed source works (exit 0)" 0 "$RC"
}

case_local_socket() {
	add tcp :8080 $S_IP:80 --name web
	serve "$NS_R" tcp $R_CIP 8080 socat TCP-LISTEN:8080,bind=$R_CIP,fork,reuseaddr SYSTEM:"echo LOCAL"
	chkj tcp :8080 --from $C_IP
	expect_begin "a local socket on a rule's port: a warning (portredir takes the packets first), exit 0"
	expect_eq "exit status" 0 "$RC"
	expect_eq "socket" warn "$(point socket)"
	expect_match "names the socket" "tcp $R_CIP:8080" \
		"$(json_get '.points[] | select(.check == "socket") | .text' <<<"$OUT")"
	expect_end
	add tcp ":*" $S_IP --name dmz
	serve "$NS_R" tcp $R_CIP 8081 socat TCP-LISTEN:8081,bind=$R_CIP,fork,reuseaddr SYSTEM:"echo LOCAL"
	chkj tcp :8081 --from $C_IP
	expect_begin "a local socket on a DMZ port: the datapath leaves it to the host, exit 1"
	expect_eq "exit status" 1 "$RC"
	expect_eq "socket" fail "$(point socket)"
	expect_eq "the datapath's reason" true "$(json_get '.reasons | index("pass_dmz_local_socket") != null' <<<"$OUT")"
	expect_end
}

case_nft_dnat() {
	if ! r nft --version >/dev/null 2>&1; then
		skip "an nftables DNAT rule on the port fails the check" "nft is not installed"
		return 0
	fi
	add tcp :8080 $S_IP:80 --name web
	r nft -f - <<EOF
table ip prck {
	chain pre {
		type nat hook prerouting priority dstnat;
		tcp dport 8080 dnat to $S_IP2:80
	}
}
EOF
	chkj tcp :8080 --from $C_IP
	expect_begin "an nftables DNAT rule on the port: exit 1, the fix deletes it by handle"
	expect_eq "exit status" 1 "$RC"
	expect_eq "nftables" fail "$(point nftables)"
	expect_match "fix" "^nft delete rule ip prck pre handle [0-9]+$" "$(fix_of nftables)"
	expect_end
	r sh -c "$(fix_of nftables)"
	chk tcp :8080 --from $C_IP
	expect_eq "the fix works: exit 0 once the rule is gone" 0 "$RC"
	if r iptables-nft --version >/dev/null 2>&1; then
		r iptables-nft -t nat -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination $S_IP2:80
		chkj tcp :8080 --from $C_IP
		expect_begin "an iptables-nft DNAT rule on the port fails too"
		expect_eq "exit status" 1 "$RC"
		expect_eq "nftables" fail "$(point nftables)"
		expect_match "names the rule" "table ip nat chain PREROUTING handle [0-9]+" \
			"$(json_get '.points[] | select(.check == "nftables") | .text' <<<"$OUT")"
		expect_end
	else
		skip "an iptables-nft DNAT rule on the port fails too" "iptables-nft is not installed"
	fi
}

case_not_attached() {
	add tcp :8080 $S_IP:80 --name web
	pr attach rs --mode tc >/dev/null
	pr detach rc >/dev/null
	chkj tcp $R_CIP:8080 --from $C_IP
	expect_begin "the ingress interface not attached: exit 1, the fix attaches it"
	expect_eq "exit status" 1 "$RC"
	expect_eq "interface" rc "$(json_get .interface <<<"$OUT")"
	expect_eq "attached" fail "$(point attached)"
	expect_eq "fix" "portredir attach rc" "$(fix_of attached)"
	expect_end
	pr detach rs >/dev/null
	chk tcp :8080
	expect_begin "nothing attached at all: exit 1, said so"
	expect_eq "exit status" 1 "$RC"
	expect_match "attached point" "^FAIL +attached +no interface is attached in this network namespace" "$OUT"
	expect_end
}

case_generic_xdp() {
	pr detach rc >/dev/null
	pr attach rc --mode generic >/dev/null || diag "setup: attach rc --mode generic failed"
	add udp :5353 $S_IP:53 --name dns
	chkj udp :5353 --from $C_IP
	expect_begin "generic XDP: the XDP program runs first, a warning with the fix, exit 0"
	expect_eq "exit status" 0 "$RC"
	expect_match "program" "^xdp" "$(json_get .program <<<"$OUT")"
	expect_eq "destination" "$S_IP:53" "$(json_get .destination <<<"$OUT")"
	expect_eq "xdp_mode" warn "$(point xdp_mode)"
	expect_match "fix" "--mode native" "$(fix_of xdp_mode)"
	expect_end
}

case_local_client() {
	add tcp :8080 $S_IP:80 --name web
	chkj tcp :8080 --from $R_CIP
	expect_begin "--from an address of this host: a local client, its socket hooks and rule checked, exit 0"
	expect_eq "exit status" 0 "$RC"
	expect_eq "local client" true "$(json_get .local_client <<<"$OUT")"
	expect_eq "hooks" ok "$(json_get '[.points[] | select(.check == "local") | .status] | first' <<<"$OUT")"
	expect_eq "verdict" socket "$(json_get .verdict <<<"$OUT")"
	expect_eq "destination" "$S_IP:80" "$(json_get .destination <<<"$OUT")"
	expect_end
	add tcp :8081 $S_IP:80 --name only10 --allow 10.0.0.0/8
	chkj tcp :8081 --from $R_CIP
	expect_begin "a local client and an allowlist without loopback: exit 1, the fix allows 127.0.0.1"
	expect_eq "exit status" 1 "$RC"
	expect_eq "allowlist" fail "$(point allowlist)"
	expect_match "fix" "--replace --allow 127.0.0.1/32$" "$(fix_of allowlist)"
	expect_end
}

case_bad_tokens() {
	local args tok
	set -f # ':*' is a word, not a glob
	while IFS='|' read -r args tok; do
		# shellcheck disable=SC2086
		OUT=$(pr check $args 2>&1); RC=$?
		expect_begin "check $args: exit 2, one line naming '$tok'"
		expect_eq "exit status" 2 "$RC"
		expect_eq "one line" 1 "$(wc -l <<<"$OUT")"
		expect_contains "names the token" "$tok" "$OUT"
		expect_end
	done <<EOF
sctp :8080|sctp
any :8080|any
tcp :80-90|:80-90
tcp :*|:*
tcp :0|0
tcp :8080 --from 1.2.3|1.2.3
tcp :8080 --from $C_IP:0|0
tcp :8080 --from [2001:db8::1|[2001:db8::1
tcp $R_CIP:8080 --from $C_IP6|$C_IP6
tcp :8080 --bogus|--bogus
tcp|LISTEN
EOF
}

# Long-lived flows across check: the live conntrack and counters stay as
# they were, and both streams keep every exchange.
case_live_unaffected() {
	local ct0 ct1 st0 st1 sport
	add tcp :8080 $S_IP:80 --name web
	add udp :5353 $S_IP:53 --name dns
	serve "$NS_S" tcp $S_IP 80 socat TCP-LISTEN:80,bind=$S_IP,fork,reuseaddr SYSTEM:cat
	serve "$NS_S" udp $S_IP 53 socat UDP-RECVFROM:53,bind=$S_IP,fork SYSTEM:cat
	for p in tcp udp; do
		in_ns "$NS_C" timeout "$(tmo 120)" python3 -S "$PR_HELPERS/stream.py" $p $R_CIP \
			"$([ $p = tcp ] && echo 8080 || echo 5353)" "$TMP/stop-$p" "$(tmo 100)" 0.02 "$(tmo 5)" \
			>"$TMP/$p.out" 2>&1 </dev/null &
		PIDS+=($!)
		echo $! >>"$PR_STATE/pids"
		eval "PID_$p=$!"
	done
	wait_until 10 grep -q started "$TMP/tcp.out"
	wait_until 10 grep -q started "$TMP/udp.out"
	# conntrack as keys (no ages) and the rules' flow and deny counters
	ct_keys() { pr -j conntrack list | json_get '[.[] | [.proto, .client, .listen, .target, .state]] | sort | tostring'; }
	rule_counts() {
		pr -j stats | json_get '[.conntrack.entries, [.rules[] | [.name, .flows, .denied, .snat_exhausted]]] | tostring'
	}
	ct0=$(ct_keys) st0=$(rule_counts)
	sport=$(pr -j conntrack list | json_get '.[] | select(.proto == "tcp") | .client | split(":") | .[1]')
	chk tcp :8080 --from "$C_IP:$sport"
	local rc1=$RC
	chk udp :5353 --from $C_IP
	local rc2=$RC
	chk tcp :8080
	ct1=$(ct_keys) st1=$(rule_counts)
	expect_begin "check during live TCP and UDP flows (the TCP one's own source port too) changes no live map"
	expect_eq "check of the live TCP flow's tuple works" 0 "$rc1"
	expect_eq "check of the UDP rule works" 0 "$rc2"
	expect_match "two live flows" '"tcp".*"udp"' "$ct0"
	expect_eq "conntrack entries" "$ct0" "$ct1"
	expect_match "conntrack holds both flows' entries" '^\[4,' "$st0"
	expect_eq "conntrack entry count and rule counters (flows, denied, snat_exhausted)" "$st0" "$st1"
	expect_end
	touch "$TMP/stop-tcp" "$TMP/stop-udp"
	wait "$PID_tcp" "$PID_udp" 2>/dev/null
	expect_begin "the TCP and UDP streams kept every exchange across the checks"
	expect_match "tcp" "^ok [0-9]+ " "$(cat "$TMP/tcp.out")"
	expect_match "udp" "^ok [0-9]+ " "$(cat "$TMP/udp.out")"
	expect_end
}

tap_plan
echo "# namespaces $NS_C $NS_R $NS_S, pin dir $PIN, time scale x$PR_SCALE"
topo_up || { not_ok "topology"; tap_done; exit 1; }
pr attach rc --mode tc >/dev/null || not_ok "attach rc"
run_cases case_works case_json case_forwarding_off case_rp_filter case_loopback_target case_masquerade case_redirect_via_stack case_no_rule case_allowlist case_local_socket \
	case_nft_dnat case_not_attached case_generic_xdp case_local_client case_bad_tokens case_live_unaffected
tap_done
