#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Local clients: the router's own processes reach the mappings through the socket hooks (listen address, any local address, loopback), and nothing else is captured.
# Usage: local.sh [MODE [CASE...]]; each case starts with rc attached in MODE (which brings the hooks), no rules, no flows, no servers.
# The hooks sit on this machine's cgroup2 root but act only on the router namespace's sockets;
# the EXIT trap removes them with the pin dir whatever happens.
set -u
MODE=${1:-tc}
[ $# -gt 0 ] && shift
HERE=$(cd "$(dirname "$0")" && pwd)
TAG=prl${MODE:0:3}$$
source "$HERE/../lib.sh"
TMP=$(mktemp -d /tmp/portredir-local.XXXXXX)
trap 'pr detach --all >/dev/null 2>&1; cleanup; rm -rf "$TMP"' EXIT

# srv_echo NS ADDR PORT NAME: TCP, "NAME PEER LINE" for a line; srv_udp the same over UDP
srv_echo() { serve_reply "$1" tcp "$2" "$3" "$4"; }
srv_udp() { serve_reply "$1" udp "$2" "$3" "$4"; }
add() { pr add "$@" >/dev/null || diag "setup: add $* failed"; }
# lc MODE ADDR PORT [NS]: helpers/local_client.py from the router (or NS): "peer P: REPLY" or "peer P from F: REPLY"
lc() { in_ns "${4:-$NS_R}" timeout "$(tmo 5)" python3 -S "$PR_HELPERS/local_client.py" "$1" "$2" "$3" "$(tmo 3)" 2>&1; }
local_json() { pr -j status | json_get ".local_clients$1"; }
# our_progs: the program ids of this namespace's hooks that bpftool sees on the cgroup2 root
CG=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
cg_tree() { bpftool cgroup tree "$CG" 2>&1; }
ids_in_tree() { local id n=0; [ -n "$1" ] || { echo "no ids given"; return; }; for id in $1; do grep -qE "^$id[[:space:]]" <<<"$(cg_tree)" && n=$((n + 1)); done; echo $n; }
links_in_pin() { find "$PIN" -path "$PIN/local-*" 2>/dev/null | wc -l; }

ifaces() { pr -j status 2>/dev/null | json_get '.interfaces[] | "\(.interface) \(.mode)"'; }
case_reset() {
	pr apply /dev/null >/dev/null || diag "reset: apply /dev/null failed"
	pr conntrack flush >/dev/null || diag "reset: conntrack flush failed"
	if [ "$(ifaces)" != "$STD_IFACES" ] || [ "$(local_json .explicit)" != false ]; then
		pr detach --all >/dev/null 2>&1
		pr attach rc --mode "$MODE" >/dev/null || diag "reset: attach rc --mode $MODE failed"
	fi
	rm -rf "${TMP:?}"/*
}

# ---- cases ----

case_hooks() {
	local st ids
	st=$(pr -j status)
	ids=$(json_get '.local_clients.hooks[].prog_id' <<<"$st")
	expect_begin "attach rc brings the socket hooks: 8 links on the cgroup2 root, shown by status"
	expect_eq "attached" true "$(json_get .local_clients.attached <<<"$st")"
	expect_eq "cgroup" "$CG" "$(json_get .local_clients.cgroup <<<"$st")"
	expect_eq "hooks" "connect4 connect6 sendmsg4 sendmsg6 recvmsg4 recvmsg6 getpeername4 getpeername6" \
		"$(json_get '[.local_clients.hooks[].hook] | join(" ")' <<<"$st")"
	expect_eq "link ids" 8 "$(json_get '[.local_clients.hooks[].link_id | select(. > 0)] | length' <<<"$st")"
	expect_eq "our programs in bpftool cgroup tree $CG" 8 "$(ids_in_tree "$ids")"
	expect_eq "links pinned in the pin dir" 9 "$(links_in_pin)"
	expect_end
	expect_match "status text names the cgroup and the hooks" "local clients: attached to cgroup $CG .*with the interfaces" \
		"$(pr status)"
}

case_tcp() {
	local out
	srv_echo "$NS_S" $S_IP 80 A
	add tcp :8080 $S_IP:80 --name web
	expect_eq "the router reaches a :PORT rule through the listen address" "A $R_SIP hello" "$(tcp_req "$NS_R" $R_CIP 8080)"
	expect_eq "... through another local address" "A $R_SIP hello" "$(tcp_req "$NS_R" $R_SIP 8080)"
	expect_eq "... through 127.0.0.1" "A $R_SIP hello" "$(tcp_req "$NS_R" 127.0.0.1 8080)"
	expect_eq "getpeername shows the address connected to, not the target" "peer 127.0.0.1:8080: A $R_SIP hello" \
		"$(lc tcp 127.0.0.1 8080)"
	expect_begin "local connects are counted: a flow each, xlate_local_socket"
	expect_ge "flows" 4 "$(stat_rule web flows)"
	expect_ge "xlate_local_socket" 4 "$(stat_global xlate_local_socket)"
	expect_end
	expect_eq "an outside client still reaches it through the datapath" "A $C_IP hello" "$(tcp_req "$NS_C" $R_CIP 8080)"
}

case_ipv6() {
	local r
	r=$(python3 -S -c "import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]).exploded)" $R_SIP6)
	srv_echo "$NS_S" $S_IP6 80 A6
	add tcp '[::]:8080' "[$S_IP6]:80" --name web6
	expect_eq "the router reaches an IPv6 rule through [::1]" "A6 [$r] hello" "$(tcp_req "$NS_R" ::1 8080)"
	expect_eq "... and through its IPv6 listen address" "A6 [$r] hello" "$(tcp_req "$NS_R" $R_CIP6 8080)"
	expect_eq "getpeername over IPv6 shows [::1]:8080" "peer [::1]:8080: A6 [$r] hello" "$(lc tcp ::1 8080)"
}

case_udp() {
	srv_udp "$NS_S" $S_IP 53 U
	add udp :5353 $S_IP:53 --name dns
	expect_eq "UDP from the router, unconnected: the reply comes from the address it sent to (127.0.0.1)" \
		"peer - from 127.0.0.1:5353: U $R_SIP hello" "$(lc udp 127.0.0.1 5353)"
	expect_eq "... sent to the listen address, the reply comes from it" \
		"peer - from $R_CIP:5353: U $R_SIP hello" "$(lc udp $R_CIP 5353)"
	expect_eq "UDP from the router, connected: getpeername and the reply's source are the address connected to" \
		"peer 127.0.0.1:5353 from 127.0.0.1:5353: U $R_SIP hello" "$(lc udpc 127.0.0.1 5353)"
}

case_udp6() {
	local r
	r=$(python3 -S -c "import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]).exploded)" $R_SIP6)
	srv_udp "$NS_S" $S_IP6 53 U6
	add udp '[::]:5353' "[$S_IP6]:53" --name dns6
	expect_eq "IPv6 UDP from the router: the reply comes from [::1]" \
		"peer - from [::1]:5353: U6 [$r] hello" "$(lc udp ::1 5353)"
}

# A dual-stack AF_INET6 socket reaches IPv4 through IPv4-mapped addresses
# (::ffff:a.b.c.d): the IPv4 rules serve it, and it reads back the mapped
# address it asked for (Java's and many runtimes' default sockets).
case_mapped() {
	srv_echo "$NS_S" $S_IP 80 A
	srv_udp "$NS_S" $S_IP 53 U
	add tcp :8080 $S_IP:80 --name web
	add udp :5353 $S_IP:53 --name dns
	expect_eq "TCP to ::ffff:127.0.0.1 takes the IPv4 rule; getpeername shows the mapped address" \
		"peer [::ffff:127.0.0.1]:8080: A $R_SIP hello" "$(lc tcp ::ffff:127.0.0.1 8080)"
	expect_eq "... and to the mapped listen address" "peer [::ffff:$R_CIP]:8080: A $R_SIP hello" \
		"$(lc tcp ::ffff:$R_CIP 8080)"
	expect_eq "UDP, unconnected: the reply comes from the mapped address sent to" \
		"peer - from [::ffff:127.0.0.1]:5353: U $R_SIP hello" "$(lc udp ::ffff:127.0.0.1 5353)"
	expect_eq "UDP, connected: getpeername and the reply's source are the mapped address" \
		"peer [::ffff:127.0.0.1]:5353 from [::ffff:127.0.0.1]:5353: U $R_SIP hello" "$(lc udpc ::ffff:127.0.0.1 5353)"
	expect_ge "flows counted on the IPv4 rule" 2 "$(stat_rule web flows)"
	expect_match "a mapped address with no rule is left alone" '[Rr]efused' "$(lc tcp ::ffff:127.0.0.1 8081)"
}

# Listening on loopback: local clients only, never from outside (not even a frame sent to 127.0.0.1 by MAC).
case_loopback_listen() {
	local mac before
	srv_echo "$NS_S" $S_IP 80 A; srv_udp "$NS_S" $S_IP 53 U
	add tcp 127.0.0.1:8080 $S_IP:80 --name lo
	add udp 127.0.0.1:5353 $S_IP:53 --name lodns
	expect_eq "a 127.0.0.1 rule serves the router" "A $R_SIP hello" "$(tcp_req "$NS_R" 127.0.0.1 8080)"
	expect_match "... but not through the router's other addresses (refused)" '[Rr]efused' "$(tcp_req "$NS_R" $R_CIP 8080)"
	expect_match "an outside client gets no mapping at the listen port (refused)" '[Rr]efused' "$(tcp_req "$NS_C" $R_CIP 8080)"
	mac=$(in_ns "$NS_R" ip -j link show rc | json_get '.[0].address')
	before=$(stat_global pass_loopback_dst)
	in_ns "$NS_C" python3 -S "$PR_HELPERS/l2_udp.py" c0 "$mac" $C_IP 127.0.0.1 40000 5353
	expect_begin "a frame from outside to 127.0.0.1:5353 is not translated"
	expect_eq "counted as pass_loopback_dst" 1 $(( $(wait_ge $((before + 1)) stat_global pass_loopback_dst) - before ))
	expect_eq "the rule's forward packets" 0 "$(stat_rule lodns packets_in)"
	expect_end
}

# A :PORT rule never captures the router's own connections to remote hosts on that port.
case_remote_port() {
	srv_echo "$NS_S" $S_IP 80 A; srv_echo "$NS_S" $S_IP2 81 B
	add tcp :80 $S_IP2:81 --name web
	expect_eq "the router's connection to a remote host's port 80 reaches that host" "A $R_SIP hello" \
		"$(tcp_req "$NS_R" $S_IP 80)"
	expect_eq "while its connection to 127.0.0.1:80 takes the rule" "B $R_SIP hello" "$(tcp_req "$NS_R" 127.0.0.1 80)"
}

# A DMZ rule never captures local connections.
case_dmz() {
	srv_echo "$NS_S" $S_IP2 7000 B
	add tcp :* $S_IP2 --name dmz
	expect_match "a local connect to 127.0.0.1:7000 is not sent to the DMZ host (refused)" '[Rr]efused' \
		"$(tcp_req "$NS_R" 127.0.0.1 7000)"
	expect_match "nor one to the listen address" '[Rr]efused' "$(tcp_req "$NS_R" $R_CIP 7000)"
	expect_eq "an outside client does reach the DMZ host" "B $C_IP hello" "$(tcp_req "$NS_C" $R_CIP 7000)"
}

# Allowlists: a local client is the host, admitted when the allowlist admits the loopback address.
case_allowlist() {
	srv_echo "$NS_S" $S_IP 8181 P
	add tcp :8500 $S_IP:8181 --allow $C_IP/32 --deny-action drop --name drop
	add tcp :8501 $S_IP:8181 --allow $C_IP/32 --deny-action pass --name pass
	add tcp :8502 $S_IP:8181 --allow $C_IP/32 --allow 127.0.0.1/32 --name host
	expect_match "not admitted, --deny-action drop: the connect fails with EPERM" 'not permitted' "$(tcp_req "$NS_R" 127.0.0.1 8500)"
	expect_match "not admitted, --deny-action pass: the connect is left alone (refused)" '[Rr]efused' \
		"$(tcp_req "$NS_R" 127.0.0.1 8501)"
	expect_eq "--allow 127.0.0.1/32 admits the router" "P $R_SIP hello" "$(tcp_req "$NS_R" 127.0.0.1 8502)"
	expect_begin "local denials are counted per rule"
	expect_ge "drop denied" 1 "$(stat_rule drop denied)"
	expect_ge "pass denied" 1 "$(stat_rule pass denied)"
	expect_end
}

# Another namespace's sockets are never rewritten: the client namespace's own 127.0.0.1:8080.
case_other_netns() {
	local before
	srv_echo "$NS_S" $S_IP 80 A; srv_echo "$NS_C" 127.0.0.1 8080 C-LOCAL
	add tcp :8080 $S_IP:80 --name web
	before=$(stat_global xlate_local_socket)
	expect_eq "a connect to 127.0.0.1:8080 in another namespace reaches its own server" "C-LOCAL 127.0.0.1 hello" \
		"$(tcp_req "$NS_C" 127.0.0.1 8080)"
	expect_eq "and the hooks translated nothing" "$before" "$(stat_global xlate_local_socket)"
}

# Local clients without any interface: attach --local, detach --local.
# Other suites' hooks may sit on the root too (run.sh's lanes): ours are told by program id.
case_local_only() {
	local out st ids
	srv_echo "$NS_S" $S_IP 80 A
	add tcp :8080 $S_IP:80 --name web
	ids=$(local_json '.hooks[].prog_id')
	pr detach rc >/dev/null
	expect_begin "the last detach removes the hooks"
	expect_eq "status attached" false "$(local_json .attached)"
	expect_eq "links in the pin dir" 0 "$(links_in_pin)"
	expect_eq "our programs in bpftool cgroup tree" 0 "$(ids_in_tree "$ids")"
	expect_end
	expect_match "without hooks the router's connect is not translated" '[Rr]efused' "$(tcp_req "$NS_R" 127.0.0.1 8080)"
	out=$(pr attach --local 2>&1)
	expect_contains "attach --local with no interface" "serving local clients (socket hooks on cgroup $CG)" "$out"
	st=$(pr -j status)
	expect_begin "status: hooks attached by attach --local, no interface"
	expect_eq "attached" true "$(json_get .local_clients.attached <<<"$st")"
	expect_eq "explicit" true "$(json_get .local_clients.explicit <<<"$st")"
	expect_eq "interfaces" 0 "$(json_get '.interfaces | length' <<<"$st")"
	expect_end
	expect_eq "the router reaches the rule with no interface attached" "A $R_SIP hello" "$(tcp_req "$NS_R" 127.0.0.1 8080)"
	expect_contains "attach --local again" "already serving" "$(pr attach --local 2>&1)"
	pr attach rc --mode "$MODE" >/dev/null && pr detach rc >/dev/null
	expect_eq "after attach --local, detaching the last interface keeps the hooks" true "$(local_json .attached)"
	ids=$(local_json '.hooks[].prog_id')
	out=$(pr detach --local 2>&1)
	expect_begin "detach --local removes them"
	expect_contains "output" "stopped serving local clients" "$out"
	expect_eq "status attached" false "$(local_json .attached)"
	expect_eq "links in the pin dir" 0 "$(links_in_pin)"
	expect_eq "our programs in bpftool cgroup tree" 0 "$(ids_in_tree "$ids")"
	expect_end
	local rc
	out=$(pr detach --local 2>&1); rc=$?
	expect_begin "detach --local with none fails cleanly"
	expect_eq "exit status" 1 "$rc"
	expect_contains "message" "local clients are not served in this network namespace" "$out"
	expect_end
	out=$(pr attach --local rc 2>&1); rc=$?
	expect_begin "attach --local with an interface is bad usage"
	expect_eq "exit status" 2 "$rc"
	expect_contains "message names the token" "'rc'" "$out"
	expect_end
}

# The config file's `local` line is attach --local: apply serves local
# clients with no interface, keeps that across save and apply, and drops it
# for a file that has interface lines and no local line.
case_config_local() {
	local out st rc
	srv_echo "$NS_S" $S_IP 80 A
	pr detach rc >/dev/null
	printf 'local\ntcp :8080 %s:80 --name web\n' $S_IP >"$TMP/local.conf"
	out=$(pr apply --dry-run "$TMP/local.conf" 2>&1)
	expect_begin "apply --dry-run of a file with a local line"
	expect_contains "says what it would do" "would serve local clients with no interface (line 1)" "$out"
	expect_eq "and does nothing" false "$(local_json .attached)"
	expect_end
	out=$(pr apply "$TMP/local.conf" 2>&1)
	st=$(pr -j status)
	expect_begin "apply of 'local' and a rule, with no interface attached"
	expect_contains "output" "serving local clients with no interface (line 1)" "$out"
	expect_eq "hooks attached" true "$(json_get .local_clients.attached <<<"$st")"
	expect_eq "explicit, as attach --local" true "$(json_get .local_clients.explicit <<<"$st")"
	expect_eq "interfaces" 0 "$(json_get '.interfaces | length' <<<"$st")"
	expect_end
	expect_eq "the router reaches the rule" "A $R_SIP hello" "$(tcp_req "$NS_R" 127.0.0.1 8080)"
	expect_eq "save prints the local line first" "local" "$(pr save | head -1)"
	out=$(pr save | pr -j apply -)
	expect_begin "save | apply - changes nothing"
	expect_eq "local" keep "$(json_get .interfaces.local <<<"$out")"
	expect_eq "rules unchanged" 1 "$(json_get .unchanged <<<"$out")"
	expect_eq "interfaces attached" 0 "$(json_get .interfaces.attached <<<"$out")"
	expect_end
	printf 'interface rc --mode %s\ntcp :8080 %s:80 --name web\n' "$MODE" $S_IP >"$TMP/iface.conf"
	out=$(pr apply "$TMP/iface.conf" 2>&1)
	expect_begin "a file with an interface line and no local line"
	expect_contains "output" "local clients stay served while interfaces are attached" "$out"
	expect_eq "hooks stay" true "$(local_json .attached)"
	expect_eq "no longer explicit" false "$(local_json .explicit)"
	expect_end
	out=$(pr -j apply "$TMP/local.conf" 2>&1)
	st=$(pr -j status)
	expect_begin "back to the local line: rc detached, the hooks kept"
	expect_eq "local" serve "$(json_get .interfaces.local <<<"$out")"
	expect_eq "detached" 1 "$(json_get .interfaces.detached <<<"$out")"
	expect_eq "hooks attached" true "$(json_get .local_clients.attached <<<"$st")"
	expect_eq "interfaces" 0 "$(json_get '.interfaces | length' <<<"$st")"
	expect_end
	expect_eq "the router still reaches the rule" "A $R_SIP hello" "$(tcp_req "$NS_R" 127.0.0.1 8080)"
	out=$(printf 'tcp :8080 %s:80 --name web\n' $S_IP | pr apply - 2>&1)
	expect_eq "a file without interface or local lines leaves them alone" true "$(local_json .explicit)"
	for bad in 'local now' 'local
local'; do
		printf '%s\n' "$bad" >"$TMP/bad.conf"
		out=$(pr apply "$TMP/bad.conf" 2>&1); rc=$?
		expect_begin "a bad local line: $(tr '\n' ' ' <<<"$bad")"
		expect_eq "exit status" 2 "$rc"
		expect_eq "one line" 1 "$(wc -l <<<"$out")"
		expect_match "names the token or line" "'now' after 'local'|:2: 'local' is already on line 1" "$out"
		expect_eq "nothing changed" true "$(local_json .explicit)"
		expect_end
	done
	printf 'interface rc --mode %s\n' "$MODE" >"$TMP/iface.conf"
	pr apply "$TMP/iface.conf" >/dev/null
	pr detach rc >/dev/null
	expect_eq "without the local line, the last detach removes the hooks" false "$(local_json .attached)"
}

# detach --all and the removal of the pin dir leave nothing behind.
case_teardown() {
	local ids
	pr attach --local >/dev/null
	ids=$(local_json '.hooks[].prog_id')
	pr detach --all >/dev/null
	expect_begin "detach --all removes the hooks, even those of attach --local"
	expect_eq "our programs in bpftool cgroup tree" 0 "$(ids_in_tree "$ids")"
	expect_eq "links in the pin dir" 0 "$(links_in_pin)"
	expect_end
	pr attach --local >/dev/null
	ids=$(local_json '.hooks[].prog_id')
	rm -rf "$PIN"
	expect_eq "removing the pin dir detaches the hooks" 0 "$(ids_in_tree "$ids")"
}

tap_plan
echo "# mode $MODE, namespaces $NS_C $NS_R $NS_S, pin dir $PIN, cgroup2 $CG, time scale x$PR_SCALE"
[ -n "$CG" ] || { skip "local clients" "no cgroup2 mount"; tap_done; exit $?; }
topo_up || { echo "Bail out! cannot build namespaces"; exit 1; }
out=$(pr attach rc --mode "$MODE" 2>&1)
if [ $? -ne 0 ] && [ "$MODE" = native ] && grep -qi 'not supported\|Operation not supported' <<<"$out"; then
	skip "attach rc --mode native" "native XDP unsupported here: $out"
	tap_done; exit $?
fi
STD_IFACES=$(ifaces)
if [ $# -gt 0 ]; then PR_CASES="$*"; fi
run_cases case_hooks case_tcp case_ipv6 case_udp case_udp6 case_mapped case_loopback_listen case_remote_port case_dmz \
	case_allowlist case_other_netns case_local_only case_config_local case_teardown
tap_done
