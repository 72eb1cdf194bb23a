#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Full NAT end to end in one attach mode (tc, native or generic): relays (--snat, --masquerade) to a target with no route back, hairpin from the target's neighbour, 2,000 connections through one masquerade, closed flows giving their ports to new ones, live flows across --replace and apply, del flushing full-NAT flows, path MTU through a smaller link, the default port range and interface addresses.
# Usage: nat.sh [MODE [CASE...]]; each case starts with rc and rs attached in MODE, no rules, no flows, no servers.
set -u
MODE=${1:-tc}
[ $# -gt 0 ] && shift
HERE=$(cd "$(dirname "$0")" && pwd)
TAG=pn${MODE:0:3}$$
source "$HERE/../lib.sh"
TMP=$(mktemp -d /tmp/portredir-nat.XXXXXX)
# a neighbour of the target, on the server's link (a bridge in the server namespace)
NS_N=${TAG}n N_IP=203.0.113.4
# a next hop that does not exist: a target routed there cannot answer the client directly
NOWHERE=203.0.113.99
trap 'cleanup; ip netns del "$NS_N" 2>/dev/null; rm -rf "$TMP"' EXIT

# The server's s0 becomes a port of bridge br0, which also reaches the neighbour's n0.
nbr_up() {
	ip netns add "$NS_N" || return 1
	in_ns "$NS_S" ip link add br0 type bridge || return 1
	in_ns "$NS_S" ip addr flush dev s0
	in_ns "$NS_S" ip link set s0 master br0
	ip link add sn netns "$NS_S" type veth peer name n0 netns "$NS_N"
	in_ns "$NS_S" ip link set sn master br0
	in_ns "$NS_S" ip link set sn up
	in_ns "$NS_S" ip link set br0 up
	in_ns "$NS_S" ip addr add $S_IP/24 dev br0
	in_ns "$NS_S" ip addr add $S_IP2/24 dev br0
	in_ns "$NS_S" ip route replace default via $R_SIP
	in_ns "$NS_S" ip addr add $S_IP6/64 dev br0 nodad
	in_ns "$NS_S" ip -6 route replace default via $R_SIP6
	in_ns "$NS_N" ip link set lo up
	in_ns "$NS_N" ip link set n0 up
	in_ns "$NS_N" ip addr add $N_IP/24 dev n0
	in_ns "$NS_N" ip route add default via $R_SIP
}

# srv_peer ADDR PORT NAME: TCP, "NAME PEER PEERPORT" after one line
srv_peer() {
	serve "$NS_S" tcp "$1" "$2" socat TCP-LISTEN:"$2",bind="$1",fork,reuseaddr \
		SYSTEM:"read l; echo $3 \$SOCAT_PEERADDR \$SOCAT_PEERPORT"
}
# srv_echo ADDR PORT NAME: TCP, "NAME PEER LINE" for each line
srv_echo() {
	serve "$NS_S" tcp "$1" "$2" socat TCP-LISTEN:"$2",bind="$1",fork,reuseaddr \
		SYSTEM:"while read l; do echo $3 \$SOCAT_PEERADDR \$l; done"
}
add() { pr add "$@" >/dev/null || diag "setup: add $* failed"; }
# quick_req NS ADDR PORT: like tcp_req, but gives up after tmo 2 (for answers that must not come)
quick_req() { in_ns "$1" timeout "$(tmo 2)" socat -t 1 -T "$(tmo 2)" - TCP:"$2":"$3" <<<"hello" 2>&1; }
# flows_of RULE_ID: the full-NAT flows of a rule, "CLIENT SOURCE" a line
flows_of() {
	pr -j conntrack list | json_get '.[] | select(.rule == ($id | tonumber) and .full_nat) | "\(.client) \(.source)"' id "$1"
}
rule_id() { rule_get "$1" id; }
# in_range PORT LO-HI
in_range() { local lo=${2%-*} hi=${2#*-}; [ "$1" -ge "$lo" ] && [ "$1" -le "$hi" ]; }

ifaces() { pr -j status 2>/dev/null | json_get '[.interfaces[] | "\(.interface) \(.mode)"] | sort | join(",")'; }
STD_IFACES="rc $MODE,rs $MODE"
case_reset() {
	local i
	pr apply /dev/null >/dev/null || diag "reset: apply /dev/null failed"
	pr conntrack flush >/dev/null || diag "reset: conntrack flush failed"
	in_ns "$NS_S" ip route replace default via $R_SIP
	in_ns "$NS_S" ip -6 route replace default via $R_SIP6
	in_ns "$NS_R" sysctl -qw net.ipv4.ip_local_port_range="32768 60999"
	in_ns "$NS_R" ip link del prd0 2>/dev/null
	if [ "$(ifaces)" != "$STD_IFACES" ]; then
		for i in rc rs; do pr detach $i >/dev/null 2>&1; done
		for i in rc rs; do pr attach $i --mode "$MODE" >/dev/null || diag "reset: attach $i --mode $MODE failed"; done
	fi
	rm -rf "${TMP:?}"/*
}

# ---- relays: the target's default route points elsewhere ----

case_relay_needs_full_nat() {
	srv_peer $S_IP 80 A
	in_ns "$NS_S" ip route replace default via $NOWHERE
	add tcp :8080 $S_IP:80 --name dnat
	expect_no_match "with DNAT only, a target that routes elsewhere never answers the client" "^A " \
		"$(quick_req "$NS_C" $R_CIP 8080)"
}

case_relay_snat() {
	local out port
	srv_peer $S_IP 80 A
	in_ns "$NS_S" ip route replace default via $NOWHERE
	add tcp :8080 $S_IP:80 --name relay --snat $R_SIP --snat-ports 40000-40099
	out=$(tcp_req "$NS_C" $R_CIP 8080)
	port=${out##* }
	expect_begin "--snat: the relay answers; the target sees the SNAT address and a port of --snat-ports"
	expect_match "reply" "^A $R_SIP [0-9]+$" "$out"
	in_range "${port:-0}" 40000-40099; expect_eq "port $port in 40000-40099" 0 $?
	expect_end
	expect_eq "list shows the source NAT" "$R_SIP 40000-40099" "$(rule_get relay snat) $(rule_get relay snat_ports)"
}

case_relay_masquerade() {
	local out f id
	srv_peer $S_IP 80 A
	in_ns "$NS_S" ip route replace default via $NOWHERE
	add tcp :8080 $S_IP:80 --name masq --masquerade
	session_open "$TMP/s" $R_CIP 8080 # held open, so conntrack shows it
	out=$(head -n1 "$TMP/s")
	expect_match "--masquerade: the relay answers; the target sees rs's address (the egress interface)" \
		"^A $R_SIP [0-9]+$" "$(tcp_req "$NS_C" $R_CIP 8080)"
	id=$(rule_id masq)
	f=$(flows_of "$id")
	expect_begin "conntrack list -j shows both translations of the masqueraded flow"
	expect_match "client and the source the target sees" "^$C_IP:[0-9]+ $R_SIP:(6[1-5][0-9]{3})$" "$f"
	expect_match "text: the SOURCE column" "$R_SIP:6[1-5][0-9]{3} " "$(pr conntrack list)"
	expect_end
	session_close "$TMP/s"
	expect_eq "rule masq shows its default ports" "masquerade 61000-65535" "$(rule_get masq snat) $(rule_get masq snat_ports)"
	[ -n "$out" ] || diag "the held session got no first reply"
}

# Where the route lookup names the source the kernel would choose
# (BPF_FIB_LOOKUP_SRC: mainline 6.8, backported to some older kernels such as
# Debian's 6.1) masquerade takes it: a new address on rs applies to the next
# flow with no apply. Elsewhere it takes the address read at attach and apply.
case_masq_follows() {
	local k maj min new=203.0.113.8 out required=1
	k=$(uname -r) maj=${k%%.*} min=${k#*.}
	min=${min%%.*}
	{ [ "$maj" -lt 6 ] || { [ "$maj" -eq 6 ] && [ "$min" -lt 8 ]; }; } && required=
	srv_peer $S_IP 80 A
	add tcp :8080 $S_IP:80 --name masq --masquerade
	expect_match "before: the target sees rs's address" "^A $R_SIP [0-9]+$" "$(tcp_req "$NS_C" $R_CIP 8080)"
	in_ns "$NS_R" ip addr del $R_SIP/24 dev rs
	in_ns "$NS_R" ip addr add $new/24 dev rs
	out=$(quick_req "$NS_C" $R_CIP 8080)
	in_ns "$NS_R" ip addr del $new/24 dev rs
	in_ns "$NS_R" ip addr add $R_SIP/24 dev rs
	if [ -z "$required" ] && ! [[ $out =~ ^A\ $new\  ]]; then
		skip "--masquerade follows an address change without an apply" "Linux $k has no BPF_FIB_LOOKUP_SRC: it takes the address read at attach and apply (case_ifaddr)"
		return
	fi
	expect_match "rs's address changed, no apply: the next flow's target sees the new address" "^A $new [0-9]+$" "$out"
}

case_relay_ipv6() {
	local long
	long=$(python3 -S -c "import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]).exploded)" $R_SIP6)
	serve "$NS_S" tcp $S_IP6 80 socat TCP6-LISTEN:80,bind="[$S_IP6]",fork,reuseaddr SYSTEM:"read l; echo A6 \$SOCAT_PEERADDR"
	in_ns "$NS_S" ip -6 route replace default via 2001:db8:2::99
	add tcp '[::]:8080' "[$S_IP6]:80" --name snat6 --snat $R_SIP6
	add tcp '[::]:8081' "[$S_IP6]:80" --name masq6 --masquerade
	expect_eq "IPv6 --snat: the relay answers; the target sees the SNAT address" "A6 [$long]" "$(tcp_req "$NS_C" $R_CIP6 8080)"
	expect_eq "IPv6 --masquerade: the target sees rs's IPv6 address" "A6 [$long]" "$(tcp_req "$NS_C" $R_CIP6 8081)"
}

# ---- hairpin: a neighbour of the target connects to the listen address ----

case_hairpin_auto() {
	srv_peer $S_IP 80 A
	add tcp :8080 $S_IP:80 --name hp
	expect_match "hairpin auto: the target's neighbour reaches the listen address; the target sees the router" \
		"^A $R_SIP [0-9]+$" "$(tcp_req "$NS_N" $R_SIP 8080)"
	expect_match "a client outside still is seen as itself" "^A $C_IP [0-9]+$" "$(tcp_req "$NS_C" $R_CIP 8080)"
}

case_hairpin_off() {
	srv_peer $S_IP 80 A
	add tcp :8080 $S_IP:80 --name hp --hairpin off
	expect_no_match "hairpin off: the neighbour's connection hangs or is refused (the target answers it directly)" \
		"^A " "$(quick_req "$NS_N" $R_SIP 8080)"
	expect_eq "list shows hairpin off" off "$(rule_get hp hairpin)"
}

# ---- 2,000 concurrent connections from one client address through one masquerade ----

case_many_masquerade() {
	local n=2000 id f ports distinct bad
	serve "$NS_S" tcp $S_IP 90 python3 -S "$PR_HELPERS/many_conns.py" server $S_IP 90 || return 1
	add tcp :9090 $S_IP:90 --name many --masquerade
	in_ns "$NS_C" timeout "$(tmo 120)" python3 -S "$PR_HELPERS/many_conns.py" client $R_CIP 9090 $n "$TMP/go" "$(tmo 100)" \
		>"$TMP/many" 2>&1 &
	PIDS+=($!)
	wait_until 60 grep -q '^open' "$TMP/many"
	expect_eq "$n connections from $C_IP open at once through --masquerade, each answered" \
		"open $n answered $n" "$(head -n1 "$TMP/many")"
	id=$(rule_id many)
	f=$(flows_of "$id")
	ports=$(awk '{ sub(/.*:/, "", $2); print $2 }' <<<"$f")
	distinct=$(sort -u <<<"$ports" | grep -c .)
	bad=$(awk '$1 < 61000 || $1 > 65535' <<<"$ports" | grep -c .)
	expect_begin "conntrack: $n full-NAT flows, each with its own allocated port in 61000-65535"
	expect_eq "flows" "$n" "$(grep -c . <<<"$f")"
	expect_eq "distinct source ports" "$n" "$distinct"
	expect_eq "ports outside the range" 0 "$bad"
	expect_eq "source addresses other than $R_SIP" 0 "$(awk '$2 !~ /^'"$R_SIP"':/' <<<"$f" | grep -c .)"
	expect_end
	touch "$TMP/go"
	wait_until 60 grep -q '^completed' "$TMP/many"
	expect_eq "all $n connections complete" "completed $n" "$(tail -n1 "$TMP/many")"
	expect_eq "no flow was refused for want of a port" 0 "$(stat_rule many snat_exhausted)"
}

# Two ports, two live flows: a third flow finds no port, is dropped and counted.
case_exhausted() {
	local g
	srv_echo $S_IP 80 A
	add tcp :8080 $S_IP:80 --name ex --snat $R_SIP --snat-ports 40000-40001
	session_open "$TMP/s1" $R_CIP 8080
	session_open "$TMP/s2" $R_CIP 8080
	g=$(stat_global drop_snat_exhausted)
	expect_no_match "a third flow, with both ports of the range taken, gets no answer" "^A " \
		"$(quick_req "$NS_C" $R_CIP 8080)"
	expect_begin "it is counted per rule (stats -j snat_exhausted, EXHAUSTED) and globally"
	expect_ge "snat_exhausted of rule ex" 1 "$(stat_rule ex snat_exhausted)"
	expect_gt "drop_snat_exhausted" "$g" "$(stat_global drop_snat_exhausted)"
	expect_match "stats text has the column" "EXHAUSTED" "$(pr stats | head -n1)"
	expect_end
	expect_eq "the two live flows still work" "A $R_SIP first" "$(head -n1 "$TMP/s1")"
	touch "$TMP/s1.go" "$TMP/s2.go"
}

# Four ports, forty connections one after another: each closed flow gives
# its port to the next SYN (xlate_port_reused) rather than holding it for
# its 10 s in CLOSING, so none waits and none is refused.
case_port_reuse() {
	local n=40 i out ok=0 bad=0 r g
	srv_peer $S_IP 80 R
	add tcp :8080 $S_IP:80 --name reuse --masquerade --snat-ports 40010-40013
	r=$(stat_global xlate_port_reused)
	for i in $(seq $n); do
		out=$(quick_req "$NS_C" $R_CIP 8080)
		case "$out" in
		"R $R_SIP "*) in_range "${out##* }" 40010-40013 && ok=$((ok + 1)) || bad=$((bad + 1)) ;;
		*) bad=$((bad + 1)) ;;
		esac
	done
	expect_begin "$n connections in a row through a 4-port --masquerade range, each answered from a port of the range"
	expect_eq "answered from the range" "$n" "$ok"
	expect_eq "unanswered or outside the range" 0 "$bad"
	expect_end
	expect_begin "closed flows gave up their ports: counted, and no flow refused"
	expect_ge "xlate_port_reused" $((r + n - 4)) "$(stat_global xlate_port_reused)"
	expect_eq "snat_exhausted of rule reuse" 0 "$(stat_rule reuse snat_exhausted)"
	expect_end
}

# ---- live flows of each kind across --replace and apply, and del ----

# open_three: a held session through each of dnat (:8080), snat (:8081), masq (:8082)
open_three() {
	srv_echo $S_IP 80 A; srv_echo $S_IP2 80 B
	add tcp :8080 $S_IP:80 --name dnat
	add tcp :8081 $S_IP:80 --name snat --snat $R_SIP
	add tcp :8082 $S_IP:80 --name masq --masquerade
	session_open "$TMP/dnat" $R_CIP 8080
	session_open "$TMP/snat" $R_CIP 8081
	session_open "$TMP/masq" $R_CIP 8082
}
# second_lines: let the three sessions send their second line, and check they kept target A
second_lines() {
	local k want
	touch "$TMP/dnat.go" "$TMP/snat.go" "$TMP/masq.go"
	for k in dnat snat masq; do wait_until 10 sh -c "[ \$(wc -l <'$TMP/$k') -ge 2 ]"; done
	expect_begin "$1: live DNAT, SNAT and masquerade flows keep their target and source"
	for k in dnat snat masq; do
		want="A $R_SIP second"
		[ $k = dnat ] && want="A $C_IP second"
		expect_eq "$k" "$want" "$(sed -n 2p "$TMP/$k")"
	done
	expect_end
}

case_live_replace() {
	open_three
	add tcp :8080 $S_IP2:80 --name dnat --replace
	add tcp :8081 $S_IP2:80 --name snat --snat $R_SIP --replace
	add tcp :8082 $S_IP2:80 --name masq --masquerade --replace
	expect_match "a new flow takes the replaced rule's new target" "^B $R_SIP hello" "$(tcp_req "$NS_C" $R_CIP 8082)"
	second_lines "add --replace"
}

case_live_apply() {
	local out
	open_three
	printf '%s\n' "tcp :8080 $S_IP2:80 --name dnat" "tcp :8081 $S_IP2:80 --name snat --snat $R_SIP" \
		"tcp :8082 $S_IP2:80 --name masq --masquerade" >"$TMP/rules"
	out=$(pr apply "$TMP/rules")
	expect_contains "apply replaces the three rules" "replaced 3" "$out"
	expect_contains "applying the same file again leaves them alone" "unchanged 3" "$(pr apply "$TMP/rules")"
	second_lines "apply"
}

case_del_flushes() {
	local id
	srv_echo $S_IP 80 A
	add tcp :8082 $S_IP:80 --name masq --masquerade
	session_open "$TMP/masq" $R_CIP 8082
	id=$(rule_id masq)
	expect_eq "the held session is a full-NAT flow" 1 "$(flows_of "$id" | grep -c .)"
	pr del --name masq >/dev/null
	expect_eq "del removes the rule's full-NAT flows" 0 "$(flows_of "$id" | grep -c .)"
	touch "$TMP/masq.go"
	wait_until 10 sh -c "[ \$(wc -l <'$TMP/masq') -ge 2 ]"
	expect_no_match "the flushed flow is no longer translated" "^A " "$(sed -n 2p "$TMP/masq")"
}

# ---- path MTU: the router's server-side link is smaller ----

# srv_count ADDR PORT: TCP, the byte count of what it received
srv_count() {
	local l=TCP-LISTEN b=$1
	case "$1" in *:*) l=TCP6-LISTEN b="[$1]" ;; esac
	serve "$NS_S" tcp "$1" "$2" socat $l:"$2",bind="$b",fork,reuseaddr SYSTEM:"wc -c"
}
# upload ADDR PORT: bytes the server counted of a 300 kB upload from the
# client. It takes well under a second here; 3 s without progress ends it,
# not TCP's 15 minutes of retransmitting a segment that never gets through.
upload() {
	local a="TCP:$1:$2"
	case "$1" in *:*) a="TCP6:[$1]:$2" ;; esac
	head -c 300000 /dev/urandom | in_ns "$NS_C" timeout "$(tmo 10)" socat -t "$(tmo 3)" -T "$(tmo 3)" - "$a" 2>&1 | tr -d ' '
}

# The client's segments (DF, or IPv6) are too big for rs. A full-NAT packet
# leaves from TC, past the router's stack, so only portredir's own
# frag-needed or packet-too-big can tell the client to shrink them.
case_pmtu() {
	local g out
	srv_count $S_IP 81; srv_count $S_IP6 81
	add tcp :8090 $S_IP:81 --name up --masquerade
	add tcp '[::]:8091' "[$S_IP6]:81" --name up6 --masquerade
	in_ns "$NS_R" ip link set rs mtu 1280
	g=$(stat_global drop_too_big_icmp_sent)
	out=$(upload $R_CIP 8090)
	expect_begin "PMTU through --masquerade: a 300 kB upload over a 1280-byte link completes; the client learned MTU 1280"
	expect_eq "bytes the server counted" 300000 "$out"
	expect_match "the client's route cache (ip route get)" " mtu 1280 " "$(in_ns "$NS_C" ip route get $R_CIP)"
	expect_end
	out=$(upload $R_CIP6 8091)
	expect_begin "the same over IPv6, with packet-too-big"
	expect_eq "bytes the server counted" 300000 "$out"
	expect_match "the client's route cache (ip -6 route get)" " mtu 1280 " "$(in_ns "$NS_C" ip -6 route get $R_CIP6)"
	expect_end
	expect_gt "the errors were counted (drop_too_big_icmp_sent)" "$g" "$(stat_global drop_too_big_icmp_sent)"
	in_ns "$NS_R" ip link set rs mtu 1500
}

# ---- what needs no datapath: the default range and the interface addresses ----

case_default_ports() {
	local err rc
	in_ns "$NS_R" sysctl -qw net.ipv4.ip_local_port_range="20000 50000"
	add tcp :8080 $S_IP:80 --name m --masquerade
	expect_eq "the default --snat-ports lies above this namespace's ip_local_port_range" 50001-65535 \
		"$(rule_get m snat_ports)"
	in_ns "$NS_R" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
	err=$(pr add tcp :8081 $S_IP:80 --masquerade 2>&1); rc=$?
	expect_begin "no room for a default range: --masquerade without --snat-ports is refused (exit 2)"
	expect_eq "exit status" 2 "$rc"
	expect_contains "message" "no room for a default --snat-ports: ip_local_port_range is 1024-65535" "$err"
	expect_end
	add tcp :8082 $S_IP:80 --name d
	expect_eq "a DNAT-only rule is still added, its range not shown" null "$(rule_get d snat_ports)"
}

case_save_roundtrip() {
	local ids out
	add tcp :8080 $S_IP:80 --name a --snat $R_SIP --snat-ports 40000-40999
	add tcp :8081 $S_IP:80 --name b --masquerade --hairpin off
	add udp :5353 $S_IP:53 --name c --snat-ports 30000-30099
	add tcp '[::]:8080' "[$S_IP6]:80" --name d --snat $R_SIP6
	ids=$(pr -j list | jq -c '[.[] | .id]')
	pr save >"$TMP/conf"
	expect_eq "save writes the source NAT options as given" \
		"tcp :8080 $S_IP:80 --name a --snat $R_SIP --snat-ports 40000-40999|tcp :8081 $S_IP:80 --name b --masquerade --hairpin off|udp :5353 $S_IP:53 --name c --snat-ports 30000-30099|tcp [::]:8080 [$S_IP6]:80 --name d --snat $R_SIP6" \
		"$(grep -v '^interface' "$TMP/conf" | paste -sd'|')"
	out=$(pr apply "$TMP/conf")
	expect_begin "save > f; apply f changes nothing (identity includes the source NAT)"
	expect_contains "summary" "added 0, replaced 0, deleted 0, unchanged 4" "$out"
	expect_eq "ids" "$ids" "$(pr -j list | jq -c '[.[] | .id]')"
	expect_end
	sed -i 's/--snat-ports 40000-40999/--snat-ports 40000-41999/; s/ --hairpin off//' "$TMP/conf"
	expect_contains "a changed range or hairpin is a replace" "added 0, replaced 2, deleted 0, unchanged 2" "$(pr apply "$TMP/conf")"
	expect_eq "the replace took the new range and hairpin" "40000-41999 null" "$(rule_get a snat_ports) $(rule_get b hairpin)"
}

# ifaddr_of IFACE: "v4 has_v4" of IFACE's pr_ifaddr entry, "none" without one
ifaddr_of() {
	local idx
	idx=$(in_ns "$NS_R" ip -j link show dev "$1" 2>/dev/null | jq '.[0].ifindex') || return 1
	in_ns "$NS_R" bpftool -j map lookup pinned "$PIN/pr_ifaddr" key $((idx & 255)) $((idx >> 8 & 255)) 0 0 2>/dev/null |
		jq -er '.formatted.value // empty | "\(.v4) \(.has_v4)"' 2>/dev/null || echo none
}
# le32 ADDR: an IPv4 address as bpftool prints a __be32 read on this host
le32() { python3 -S -c 'import socket,struct,sys; print(struct.unpack("=I", socket.inet_aton(sys.argv[1]))[0])' "$1"; }

case_ifaddr() {
	in_ns "$NS_R" ip link add prd0 type veth peer name prd1
	in_ns "$NS_R" ip link set prd1 up
	in_ns "$NS_R" ip link set prd0 up
	in_ns "$NS_R" ip addr add 192.0.2.1/24 dev prd0
	pr attach prd0 --mode tc >/dev/null || diag "setup: attach prd0 failed"
	expect_eq "attach writes the interface's address" "$(le32 192.0.2.1) 1" "$(ifaddr_of prd0)"
	expect_eq "the other attached interfaces have theirs" "$(le32 $R_SIP) 1" "$(ifaddr_of rs)"
	in_ns "$NS_R" ip addr flush dev prd0
	in_ns "$NS_R" ip addr add 192.0.2.9/24 dev prd0
	expect_eq "an address change is not seen before apply" "$(le32 192.0.2.1) 1" "$(ifaddr_of prd0)"
	pr save >"$TMP/conf" && pr apply "$TMP/conf" >/dev/null
	expect_eq "apply refreshes it" "$(le32 192.0.2.9) 1" "$(ifaddr_of prd0)"
	in_ns "$NS_R" ip addr flush dev prd0
	pr attach prd0 --mode tc >/dev/null
	expect_eq "attach again refreshes it (no address: has_v4 0)" "0 0" "$(ifaddr_of prd0)"
	pr detach prd0 >/dev/null
	expect_eq "detach removes the entry" none "$(ifaddr_of prd0)"
}

tap_plan
topo_up || { echo "Bail out! cannot build the namespaces"; exit 1; }
nbr_up || { echo "Bail out! cannot build the neighbour's bridge"; exit 1; }
for i in rc rs; do pr attach $i --mode "$MODE" >/dev/null || { echo "Bail out! attach $i --mode $MODE failed"; exit 1; }; done
[ $# -gt 0 ] && PR_CASES="$*"
run_cases case_default_ports case_ifaddr case_save_roundtrip case_relay_needs_full_nat case_relay_snat \
	case_relay_masquerade case_masq_follows case_relay_ipv6 \
	case_hairpin_auto case_hairpin_off case_many_masquerade case_exhausted case_port_reuse case_live_replace case_live_apply case_del_flushes \
	case_pmtu
tap_done
