#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The CNI plugin driven as a runtime drives it: Debian's bridge and host-local plugins, then ours (or portmap, for the comparison in the README), with a network namespace per container, all inside a host namespace of the test's own.
# Usage: cni.sh [CASE...]. The cases run in order and build on each other, as a
# runtime's life does: container 1 publishes ports and lives through most of them.
# Topology: client namespace X (198.51.100.2) -- up0 of the host namespace H
# (198.51.100.1, default route via X), bridge cbr0 (203.0.113.1/24) in H with the
# containers behind it. Nothing touches the root namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TAG=pcni$$
source "$HERE/../lib.sh"
TMP=$(mktemp -d /tmp/portredir-cni.XXXXXX)
CNI_DIR=${CNI_DIR:-/usr/lib/cni}
PLUGIN=$PR_BUILD/cni/portredir
NS_H=$NS_R NS_X=$NS_C
H_IP=198.51.100.1 X_IP=198.51.100.2 BR_IP=203.0.113.1
NET=prnet
# the plugin's own pin dir is the suite's (lib.sh's $PIN)

# Containers: number N has namespace ${TAG}kN and a 64-hex id whose first 12
# characters (what rule names carry) differ per container.
cid() { printf 'c0ffee%02d%056x' "$1" "$1"; }
id12() { local c; c=$(cid "$1"); echo "${c:0:12}"; }
cns() { echo "${TAG}k$1"; }

cleanup_all() {
	local ns
	pr detach --all >/dev/null 2>&1
	for ns in $(ip netns list 2>/dev/null | awk -v p="${TAG}k" 'index($1, p) == 1 { print $1 }'); do
		ip netns del "$ns" 2>/dev/null
	done
	cleanup
	rm -rf "$TMP"
}
trap cleanup_all EXIT

topo() {
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	ip netns add "$NS_H" && ip netns add "$NS_X" || return 1
	ip link add up0 netns "$NS_H" type veth peer name x0 netns "$NS_X" || return 1
	in_ns "$NS_H" ip addr add $H_IP/24 dev up0
	in_ns "$NS_X" ip addr add $X_IP/24 dev x0
	in_ns "$NS_H" ip link set lo up
	in_ns "$NS_X" ip link set lo up
	in_ns "$NS_H" ip link set up0 up
	in_ns "$NS_X" ip link set x0 up
	# the host's default route: what the plugin attaches besides the bridge
	in_ns "$NS_H" ip route add default via $X_IP
	in_ns "$NS_H" sysctl -qw net.ipv4.ip_forward=1
}

# ---- a runtime, in a few lines ----

# The bridge plugin's config: the network's first plugin, host-local IPAM
# keeping its leases under $TMP (never /var/lib/cni).
VER=1.0.0
bridge_conf() {
	printf '{"cniVersion":"%s","name":"%s","type":"bridge","bridge":"cbr0","isGateway":true,"hairpinMode":true,"ipam":{"type":"host-local","ranges":[[{"subnet":"203.0.113.0/24","gateway":"%s"}]],"routes":[{"dst":"0.0.0.0/0"}],"dataDir":"%s/ipam"}}' \
		"$VER" "$NET" "$BR_IP" "$TMP"
}
# chain_conf TYPE MAPPINGS [PREV [EXTRA]]: the chained plugin's config as the
# runtime derives it (runtimeConfig from the capability, prevResult)
chain_conf() {
	printf '{"cniVersion":"%s","name":"%s","type":"%s","pinDir":"%s","capabilities":{"portMappings":true}%s,"runtimeConfig":{"portMappings":%s}%s}' \
		"$VER" "$NET" "$1" "$PIN" "${4:+,$4}" "$2" "${3:+,\"prevResult\":$3}"
}
# plugin CMD N BIN: run a plugin for container N in the host namespace with
# the CNI environment, config on stdin; its stdout, and its exit status.
plugin() {
	in_ns "$NS_H" env CNI_COMMAND="$1" CNI_CONTAINERID="$(cid "$2")" CNI_NETNS=/run/netns/"$(cns "$2")" \
		CNI_IFNAME=eth0 CNI_PATH="$CNI_DIR" "$3"
}
ours() { plugin "$1" "$2" "$PLUGIN"; }
# ctr_add N MAPPINGS [TYPE]: create container N and ADD it: bridge, then
# TYPE (default ours) with bridge's result; the final result is kept in
# $TMP/res.N for DEL and CHECK, TYPE's output (result or error) goes to
# $TMP/out.N, and TYPE's exit status is returned.
ctr_add() {
	local n=$1 maps=$2 type=${3:-portredir} prev bin rc
	bin=$PLUGIN; [ "$type" = portredir ] || bin=$CNI_DIR/$type
	ip netns list | grep -q "^$(cns "$n")\b" || ip netns add "$(cns "$n")" || return 1
	prev=$(bridge_conf | plugin ADD "$n" "$CNI_DIR/bridge") || { echo "bridge ADD failed: $prev" >"$TMP/out.$n"; return 1; }
	echo "$prev" >"$TMP/bridge.$n"
	chain_conf "$type" "$maps" "$prev" | plugin ADD "$n" "$bin" >"$TMP/out.$n"; rc=$?
	[ "$rc" -eq 0 ] && cp "$TMP/out.$n" "$TMP/res.$n"
	return $rc
}
# ctr_del N [TYPE]: DEL in reverse order with the ADD's result (the bridge's
# when TYPE failed), then remove the namespace; TYPE's exit status.
ctr_del() {
	local n=$1 type=${2:-portredir} prev bin rc
	bin=$PLUGIN; [ "$type" = portredir ] || bin=$CNI_DIR/$type
	prev=$(cat "$TMP/res.$n" 2>/dev/null || cat "$TMP/bridge.$n" 2>/dev/null)
	chain_conf "$type" "$(cat "$TMP/maps.$n" 2>/dev/null || echo '[]')" "$prev" | plugin DEL "$n" "$bin" >"$TMP/del.$n"; rc=$?
	bridge_conf | plugin DEL "$n" "$CNI_DIR/bridge" >/dev/null 2>&1
	ip netns del "$(cns "$n")" 2>/dev/null
	rm -f "$TMP/res.$n" "$TMP/bridge.$n"
	return $rc
}
# maps HOSTPORT:CPORT/PROTO[@HOSTIP]...: a portMappings list, also kept for DEL as the runtime keeps it
maps_json() {
	local m out= sep=
	for m in "$@"; do
		local hp=${m%%:*} rest=${m#*:} hip=
		case "$rest" in *@*) hip=${rest#*@} rest=${rest%@*} ;; esac
		out+="$sep{\"hostPort\":$hp,\"containerPort\":${rest%/*},\"protocol\":\"${rest#*/}\"${hip:+,\"hostIP\":\"$hip\"}}"
		sep=,
	done
	echo "[$out]"
}
# ctr_ip N: the address bridge gave container N
ctr_ip() { json_get '.ips[0].address | sub("/.*"; "")' <"$TMP/bridge.$1"; }
# srv N PORT: a TCP server in container N answering "kN PEER LINE"
srv() { serve_reply "$(cns "$1")" tcp 0.0.0.0 "$2" "k$1"; }
# names PREFIX: the names of our rules starting with PREFIX, one line
names() { pr -j list | json_get "[.[] | .name | select(startswith(\$p))] | join(\" \")" p "$1"; }
# code: the error code in a plugin's JSON output (stdin)
code() { json_get '.code // "none"'; }
attached() { pr -j status 2>/dev/null | json_get '[.interfaces[].interface] | sort | join(" ")'; }

# ---- cases: portredir ----

case_version() {
	local out
	out=$(CNI_COMMAND=VERSION "$PLUGIN" <<<'{"cniVersion":"1.0.0"}')
	expect_eq "VERSION answers the asked version and lists 0.4.0, 1.0.0 and 1.1.0" \
		'1.0.0 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0' "$(json_get '"\(.cniVersion) \(.supportedVersions | join(" "))"' <<<"$out")"
	out=$(in_ns "$NS_H" env CNI_COMMAND=STATUS "$PLUGIN" <<<"{\"cniVersion\":\"1.1.0\",\"name\":\"$NET\",\"type\":\"portredir\",\"pinDir\":\"$PIN\"}"; echo "rc=$?")
	expect_eq "STATUS before any ADD: ready (the first ADD creates the maps), no output" "rc=0" "$out"
}

case_add() {
	local out m
	m=$(maps_json 8080:80/tcp 5353:53/udp)
	echo "$m" >"$TMP/maps.1"
	ctr_add 1 "$m"; out="rc=$? $(cat "$TMP/out.1")"
	expect_match "ADD of container 1 with two mappings succeeds" '^rc=0 \{' "$out"
	expect_eq "ADD passes prevResult through unchanged" "$(jq -cS . "$TMP/bridge.1")" "$(jq -cS . "$TMP/out.1" 2>&1)"
	expect_eq "one rule per mapping, named cni-NETWORK-ID12-N" "cni-$NET-$(id12 1)-1 cni-$NET-$(id12 1)-2" "$(names cni-)"
	expect_eq "rule 1: tcp :8080 to the container's port 80" ":8080 $(ctr_ip 1):80 tcp" \
		"$(rule_get "cni-$NET-$(id12 1)-1" listen) $(rule_get "cni-$NET-$(id12 1)-1" target) $(rule_get "cni-$NET-$(id12 1)-1" proto)"
	expect_eq "the host's default-route interface and the bridge are attached, in tc mode" "cbr0 tc,up0 tc" \
		"$(pr -j status | json_get '[.interfaces[] | "\(.interface) \(.mode)"] | sort | join(",")')"
}

case_reach() {
	srv 1 80 || return 1
	expect_match "a client outside reaches container 1 through the published port, and it sees the client's own address" \
		"^k1 $X_IP hello" "$(tcp_req "$NS_X" $H_IP 8080)"
	ctr_add 2 '[]'
	expect_match "container 2, on the same bridge, reaches container 1 through the host's published address (hairpin)" \
		"^k1 $BR_IP hello" "$(tcp_req "$(cns 2)" $H_IP 8080)"
	expect_match "the host itself reaches it through its own address" "^k1 " "$(tcp_req "$NS_H" $H_IP 8080)"
	expect_match "the host itself reaches it through 127.0.0.1" "^k1 " "$(tcp_req "$NS_H" 127.0.0.1 8080)"
}

STATUS_CONF="{\"cniVersion\":\"1.1.0\",\"name\":\"$NET\",\"type\":\"portredir\",\"pinDir\":\"$PIN\"}"
case_status() {
	local out
	out=$(in_ns "$NS_H" env CNI_COMMAND=STATUS "$PLUGIN" <<<"$STATUS_CONF"; echo "rc=$?")
	expect_eq "STATUS with the datapath attached: ready" "rc=0" "$out"
}

case_check() {
	local out r1="cni-$NET-$(id12 1)-1"
	# a repeated ADD (the runtime retrying, no DEL between) puts everything back
	chain_conf portredir "$(cat "$TMP/maps.1")" "$(cat "$TMP/res.1")" | ours ADD 1 >/dev/null
	expect_eq "a repeated ADD keeps the attachments and the rules" "cbr0 up0|$r1 cni-$NET-$(id12 1)-2" \
		"$(attached)|$(names "cni-$NET-$(id12 1)")"
	out=$(chain_conf portredir "$(cat "$TMP/maps.1")" "$(cat "$TMP/res.1")" | ours CHECK 1; echo "rc=$?")
	expect_eq "CHECK after ADD succeeds" "rc=0" "$out"
	pr add tcp :8080 203.0.113.99:80 --name "$r1" --replace >/dev/null
	out=$(chain_conf portredir "$(cat "$TMP/maps.1")" "$(cat "$TMP/res.1")" | ours CHECK 1)
	expect_begin "CHECK fails when a rule points elsewhere"
	expect_eq "code" 103 "$(code <<<"$out")"
	expect_contains "details" "rule $r1 is 'tcp :8080 203.0.113.99:80" "$out"
	expect_end
	pr del --name "$r1" >/dev/null
	out=$(chain_conf portredir "$(cat "$TMP/maps.1")" "$(cat "$TMP/res.1")" | ours CHECK 1)
	expect_eq "CHECK fails when a rule is missing" "103 rule $r1 (tcp :8080 $(ctr_ip 1):80) is missing" \
		"$(json_get '"\(.code) \(.details)"' <<<"$out")"
	chain_conf portredir "$(cat "$TMP/maps.1")" "$(cat "$TMP/res.1")" | ours ADD 1 >/dev/null
	out=$(chain_conf portredir "$(cat "$TMP/maps.1")" "$(cat "$TMP/res.1")" | ours CHECK 1; echo "rc=$?")
	expect_eq "after another ADD, CHECK succeeds again" "rc=0" "$out"
}

case_conflict() {
	local out
	echo '[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]' >"$TMP/maps.3"
	ctr_add 3 "$(cat "$TMP/maps.3")"; out=$(cat "$TMP/out.3")
	expect_begin "ADD of another container on a taken hostPort fails with code 100, naming the owner"
	expect_eq "code" 100 "$(code <<<"$out")"
	expect_contains "owner" "container $(id12 1) of network $NET, rule" "$(json_get .details <<<"$out")"
	expect_end
	ctr_del 3; out="rc=$?"
	expect_eq "the runtime's DEL after the failed ADD succeeds, and container 1 keeps its rules" \
		"rc=0 cni-$NET-$(id12 1)-1 cni-$NET-$(id12 1)-2" "$out $(names cni-)"
}

case_host_ip() {
	local out r="cni-$NET-$(id12 3)-1"
	echo "[]" >"$TMP/maps.3"
	ctr_add 3 "$(maps_json 8081:80/tcp@192.0.2.77)"; out=$(cat "$TMP/out.3")
	expect_eq "a hostIP that is not the host's is refused (code 101)" \
		"101 portMappings[0]: hostIP 192.0.2.77 is not an address of any interface here" \
		"$(json_get '"\(.code) \(.details)"' <<<"$out")"
	chain_conf portredir "$(maps_json 8081:80/tcp@$H_IP)" "$(cat "$TMP/bridge.3")" | ours ADD 3 >"$TMP/out.3"
	expect_eq "a hostIP of the host makes a rule on that address only" "$H_IP:8081" "$(rule_get "$r" listen)"
	ctr_del 3
	expect_eq "DEL removes it" "" "$(names "cni-$NET-$(id12 3)")"
}

case_versions() {
	local v out r="cni-$NET-$(id12 3)-1"
	for v in 0.4.0 1.1.0; do
		ctr_add 3 "$(maps_json 8082:80/tcp)" >/dev/null
		out=$(sed "s/\"cniVersion\":\"$VER\"/\"cniVersion\":\"$v\"/" <<<"$(chain_conf portredir "$(maps_json 8082:80/tcp)" "$(cat "$TMP/bridge.3")")" |
			ours ADD 3; echo "rc=$?")
		expect_eq "ADD with cniVersion $v" "rc=0 :8082" "$(tail -n1 <<<"$out") $(rule_get "$r" listen)"
		ctr_del 3
	done
}

case_errors() {
	local out c='{"cniVersion":"1.0.0","name":"'$NET'","type":"portredir","pinDir":"'$PIN'"'
	local prev="\"prevResult\":$(cat "$TMP/res.1")"
	err_is() { # DESC CODE OUTPUT
		expect_eq "$1" "$2 rc=1" "$(json_get '.code' <<<"${3%rc=*}") ${3##*$'\n'}"
	}
	err_is "no CNI_COMMAND: code 4" 4 "$(in_ns "$NS_H" "$PLUGIN" <<<"$c}"; echo "rc=$?")"
	err_is "a config that is not JSON: code 6" 6 "$(ours ADD 9 <<<"$c"; echo "rc=$?")"
	err_is "an unknown cniVersion: code 1" 1 "$(ours ADD 9 <<<"${c/1.0.0/9.9.9}}"; echo "rc=$?")"
	err_is "ADD without prevResult (not chained): code 7" 7 \
		"$(ours ADD 9 <<<"$c,\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":1,\"containerPort\":1}]}}"; echo "rc=$?")"
	err_is "an sctp mapping: code 2 (unsupported field)" 2 \
		"$(ours ADD 9 <<<"$c,$prev,\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":9,\"containerPort\":9,\"protocol\":\"sctp\"}]}}"; echo "rc=$?")"
	err_is "portmap's conditionsV4: code 2 (portredir cannot narrow)" 2 \
		"$(ours ADD 9 <<<"$c,\"conditionsV4\":[\"-s\",\"1.2.3.4\"]}"; echo "rc=$?")"
	err_is "a bad CNI_CONTAINERID: code 4" 4 \
		"$(in_ns "$NS_H" env CNI_COMMAND=DEL CNI_CONTAINERID=../x CNI_IFNAME=eth0 "$PLUGIN" <<<"$c}"; echo "rc=$?")"
	err_is "GC with cniVersion 1.0.0: code 1 (GC came with 1.1.0)" 1 \
		"$(in_ns "$NS_H" env CNI_COMMAND=GC "$PLUGIN" <<<"$c,\"cni.dev/valid-attachments\":[]}"; echo "rc=$?")"
	expect_eq "after the errors, only container 1's rules exist" "cni-$NET-$(id12 1)-1 cni-$NET-$(id12 1)-2" "$(names "")"
}

# Four containers ADD at once, as a runtime starting a pod set does: the lock
# serializes them, and no rule is lost.
case_parallel() {
	local n pids=() want= got
	# the namespaces first: the runtime makes them before it calls any plugin
	for n in 4 5 6 7; do ip netns add "$(cns $n)"; done
	for n in 4 5 6 7; do
		echo "[{\"hostPort\":900$n,\"containerPort\":80,\"protocol\":\"tcp\"}]" >"$TMP/maps.$n"
		ctr_add $n "$(cat "$TMP/maps.$n")" & pids+=($!)
		want+="cni-$NET-$(id12 $n)-1 "
	done
	for n in "${pids[@]}"; do wait "$n"; done
	got=$(names cni- | tr ' ' '\n' | grep -v "$(id12 1)" | sort | tr '\n' ' ')
	expect_eq "four parallel ADDs: four rules" "$want" "$got"
	srv 6 80 && expect_match "one of them answers through its port" "^k6 $X_IP " "$(tcp_req "$NS_X" $H_IP 9006)"
	pids=()
	for n in 4 5 6 7; do ctr_del $n & pids+=($!); done
	for n in "${pids[@]}"; do wait "$n"; done
	expect_eq "four parallel DELs: only container 1's rules remain" "cni-$NET-$(id12 1)-1 cni-$NET-$(id12 1)-2" "$(names cni-)"
}

case_gc() {
	local out conf
	echo '[{"hostPort":9008,"containerPort":80,"protocol":"tcp"}]' >"$TMP/maps.8"
	ctr_add 8 "$(cat "$TMP/maps.8")"
	# the runtime forgets the DEL: the container and its namespace just go
	ip netns del "$(cns 8)"
	conf="{\"cniVersion\":\"1.1.0\",\"name\":\"$NET\",\"type\":\"portredir\",\"pinDir\":\"$PIN\",\"cni.dev/valid-attachments\":[{\"containerID\":\"$(cid 1)\",\"ifname\":\"eth0\"},{\"containerID\":\"$(cid 2)\",\"ifname\":\"eth0\"}]}"
	out=$(in_ns "$NS_H" env CNI_COMMAND=GC CNI_PATH="$CNI_DIR" "$PLUGIN" <<<"$conf"; echo "rc=$?")
	expect_eq "GC removes the rules of a container missing from cni.dev/valid-attachments, and only those" \
		"rc=0 cni-$NET-$(id12 1)-1 cni-$NET-$(id12 1)-2" "$out $(names cni-)"
	rm -f "$TMP/res.8" "$TMP/bridge.8"
}

case_del() {
	local out id
	id=$(rule_get "cni-$NET-$(id12 1)-2" id)
	in_ns "$NS_X" timeout "$(tmo 3)" socat -T 1 - UDP:$H_IP:5353 <<<"hello" >/dev/null 2>&1
	expect_ge "a UDP request to the published 5353 makes a flow" 1 \
		"$(pr -j conntrack list | json_get "[.[] | select(.rule == $id)] | length")"
	# (here, where the interfaces go anyway: attaching again costs time in CI's VM)
	pr detach cbr0 >/dev/null
	out=$(in_ns "$NS_H" env CNI_COMMAND=STATUS "$PLUGIN" <<<"$STATUS_CONF")
	expect_begin "STATUS after the bridge lost portredir: code 51 (limited connectivity), naming it"
	expect_eq "code" 51 "$(code <<<"$out")"
	expect_contains "details" "interface cbr0" "$out"
	expect_end
	pr add tcp :7000 203.0.113.50:80 --name op >/dev/null
	ctr_del 1; out="rc=$?"
	expect_eq "DEL of container 1 removes its rules" "rc=0 op" "$out $(names "")"
	expect_eq "and its flows: no UDP flow to the dead container" 0 \
		"$(pr -j conntrack list | json_get "[.[] | select(.rule == $id)] | length")"
	expect_eq "with an operator's rule left, the interfaces stay attached" "up0" "$(attached)"
	pr del --name op >/dev/null
	ctr_del 1; out="rc=$?"
	expect_eq "a second DEL (namespace gone, rules gone) succeeds, and detaches what the network attached" \
		"rc=0|" "$out|$(attached)"
	ctr_del 2; out="rc=$?"
	expect_eq "DEL of the container without mappings succeeds" "rc=0" "$out"
	expect_eq "nothing is left in the pin dir of the plugin's records" "" \
		"$(find "$PIN/cni/if" -mindepth 1 2>/dev/null)"
}

# ---- the same with portmap (iptables DNAT in the host namespace) ----

case_portmap() {
	local out
	command -v iptables >/dev/null || { skip "portmap" "no iptables (portmap's backend in containernetworking-plugins $(dpkg-query -W -f='${Version}' containernetworking-plugins 2>/dev/null))"; return 0; }
	echo '[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]' >"$TMP/maps.11"
	cp "$TMP/maps.11" "$TMP/maps.13"
	ctr_add 11 "$(cat "$TMP/maps.11")" portmap; out="rc=$?"
	expect_eq "portmap: ADD of container 11 succeeds" "rc=0" "$out"
	srv 11 80 || return 1
	expect_match "portmap: a client outside reaches the container, which sees the client's address" \
		"^k11 $X_IP hello" "$(tcp_req "$NS_X" $H_IP 8080)"
	ctr_add 12 '[]' portmap
	expect_match "portmap: a container on the same bridge reaches it through the host's address (hairpin)" \
		"^k11 $BR_IP hello" "$(tcp_req "$(cns 12)" $H_IP 8080)"
	expect_match "portmap: the host itself reaches it through its own address" "^k11 " "$(tcp_req "$NS_H" $H_IP 8080)"
	expect_match "portmap: the host itself reaches it through 127.0.0.1" "^k11 " "$(tcp_req "$NS_H" 127.0.0.1 8080)"
	ctr_add 13 "$(cat "$TMP/maps.13")" portmap; out="rc=$?"
	srv 13 80 || return 1
	expect_eq "portmap: ADD of a second container on the same hostPort succeeds without a word" "rc=0" "$out"
	expect_match "portmap: new connections still go to the first container" "^k11 " "$(tcp_req "$NS_X" $H_IP 8080)"
	ctr_del 11 portmap
	expect_match "portmap: once the first goes, the port passes silently to the second" "^k13 " "$(tcp_req "$NS_X" $H_IP 8080)"
	out=$(chain_conf portmap "$(cat "$TMP/maps.13")" "$(cat "$TMP/res.13")" | plugin CHECK 13 "$CNI_DIR/portmap"; echo "rc=$?")
	diag "portmap CHECK: $out"
	out=$(in_ns "$NS_H" env CNI_COMMAND=GC CNI_PATH="$CNI_DIR" "$CNI_DIR/portmap" \
		<<<"{\"cniVersion\":\"1.1.0\",\"name\":\"$NET\",\"type\":\"portmap\",\"cni.dev/valid-attachments\":[]}")
	expect_match "portmap: has no GC (an error for cniVersion 1.1.0)" '"code"' "$out"
	ctr_del 13 portmap
	ctr_del 12 portmap
	expect_eq "portmap: DEL of every container leaves no DNAT rule for them" 0 \
		"$(in_ns "$NS_H" iptables-save -t nat | grep -c -- '-j CNI-DN-')"
}

tap_plan
[ -x "$CNI_DIR/bridge" ] && [ -x "$CNI_DIR/host-local" ] || {
	skip "cni" "Debian's containernetworking-plugins is not installed ($CNI_DIR/bridge)"; tap_done; exit $?; }
command -v jq >/dev/null || { skip "cni" "jq is missing"; tap_done; exit $?; }
topo || { echo "Bail out! cannot build the namespaces"; exit 1; }
run_cases case_version case_add case_reach case_status case_check case_conflict case_host_ip case_versions \
	case_errors case_parallel case_gc case_del case_portmap
tap_done
