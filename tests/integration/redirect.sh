#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End-to-end redirect through a router namespace running portredir in one mode (tc, native or generic), with real TCP and UDP.
set -u
MODE=${1:-tc}
HERE=$(cd "$(dirname "$0")" && pwd)
TAG=pr${MODE:0:3}$$
source "$HERE/../lib.sh"
HELP=$HERE/../helpers
TMP=$(mktemp -d /tmp/portredir-it.XXXXXX)
trap 'cleanup; rm -rf "$TMP"' EXIT

tap_plan
echo "# mode $MODE, namespaces $NS_C $NS_R $NS_S, pin dir $PIN"
topo_up || { echo "Bail out! cannot build namespaces"; exit 1; }

# Backends: A on S_IP, B on S_IP2, each naming itself and the peer it sees.
srv_tcp() { bg_ns "$NS_S" socat TCP-LISTEN:"$2",bind="$1",fork,reuseaddr SYSTEM:"while read l; do echo $3 \$SOCAT_PEERADDR \$l; done"; }
srv_tcp $S_IP 80 A
srv_tcp $S_IP2 80 B
bg_ns "$NS_S" socat -T5 UDP-RECVFROM:53,bind=$S_IP,fork SYSTEM:"read l; echo U \$SOCAT_PEERADDR \$l"
bg_ns "$NS_S" socat -u UDP-RECVFROM:54,bind=$S_IP,fork OPEN:"$TMP/raw.log",creat,append
bg_ns "$NS_R" socat TCP-LISTEN:80,bind=$R_CIP,fork,reuseaddr SYSTEM:"read l; echo LOCAL \$SOCAT_PEERADDR"
bg_ns "$NS_S" socat TCP-LISTEN:81,bind=$S_IP,fork,reuseaddr SYSTEM:"wc -c"
bg_ns "$NS_S" socat -T5 UDP-RECVFROM:55,bind=$S_IP,fork SYSTEM:cat
for port in 9000 9050 9099 8181; do
	bg_ns "$NS_S" socat TCP-LISTEN:$port,bind=$S_IP,fork,reuseaddr SYSTEM:"read l; echo P$port \$SOCAT_PEERADDR"
done
bg_ns "$NS_S" socat TCP6-LISTEN:81,bind=[$S_IP6],fork,reuseaddr SYSTEM:"wc -c"
bg_ns "$NS_S" socat TCP6-LISTEN:80,bind=[$S_IP6],fork,reuseaddr SYSTEM:"while read l; do echo A6 \$SOCAT_PEERADDR \$l; done"
bg_ns "$NS_S" socat -T5 UDP6-RECVFROM:53,bind=[$S_IP6],fork SYSTEM:"read l; echo U6 \$SOCAT_PEERADDR \$l"
wait_until 5 listening "$NS_S" tcp 80 && wait_until 5 listening "$NS_S" udp 53 && wait_until 5 listening "$NS_S" tcp 81 && wait_until 5 listening "$NS_S" udp 55 &&
	wait_until 5 listening "$NS_S" tcp 80 && wait_until 5 listening "$NS_S" udp 53 &&
	wait_until 5 listening "$NS_S" tcp 9099 && wait_until 5 listening "$NS_S" tcp 8181 &&
	wait_until 5 listening "$NS_S" udp 54 && wait_until 5 listening "$NS_R" tcp 80 ||
	{ echo "Bail out! servers did not start"; exit 1; }

# tcp_get ADDR PORT [SRC]: one line through a fresh connection.
tcp_get() { in_ns "$NS_C" timeout $((5 * SLOW)) socat -T3 - TCP:"$1":"$2"${3:+,bind=$3} <<<"hello" 2>&1; }
udp_get() { in_ns "$NS_C" timeout $((5 * SLOW)) socat -T3 - UDP:"$1":"$2" <<<"hello" 2>&1; }

out=$(pr attach rc --mode "$MODE" 2>&1)
if [ $? -ne 0 ] && [ "$MODE" = native ] && grep -qi 'not supported\|Operation not supported' <<<"$out"; then
	skip "attach rc --mode native" "native XDP unsupported here: $out"
	tap_done; exit $?
fi
check "attach rc --mode $MODE" grep -q "in $MODE mode" <<<"$out"
out=$(pr attach rc --mode "$MODE" 2>&1); rc=$?
check "attach again is idempotent (exit 0, 'already attached')" test $rc -eq 0 -a -n "$(grep 'already attached' <<<"$out")"
st=$(pr -j status)
check "status shows rc in $MODE mode with live programs" python3 -c "
import json,sys; s=json.loads(sys.argv[1]); i=[x for x in s['interfaces'] if x['interface']=='rc']
assert i and i[0]['mode']=='$MODE' and i[0]['ok'] and i[0]['tc_ingress_prog_id'] and i[0]['tc_egress_prog_id'], s
assert ('$MODE'=='tc') == (i[0]['xdp_prog_id']==0), s" "$st"

pr add tcp :8080 $S_IP:80 --name web >/dev/null
pr add udp $R_CIP:5353 $S_IP:53 --name dns >/dev/null
pr add udp :5454 $S_IP:54 --name raw >/dev/null
pr add tcp :9090 $R_CIP:80 --name local >/dev/null

out=$(tcp_get $R_CIP 8080)
check "TCP through the redirect reaches backend A, which sees the real client address" \
	test "$out" = "A $C_IP hello"
out=$(tcp_get $R_CIP 8080 $C_IP2)
check "a second client address is seen as itself" test "$out" = "A $C_IP2 hello"
out=$(udp_get $R_CIP 5353)
check "UDP request and reply through the redirect (reply source restored)" test "$out" = "U $C_IP hello"
out=$(tcp_get $R_CIP 9090)
check "redirect to a local port of the router" test "$out" = "LOCAL $C_IP"

# IPv6 through the same router and rules of the same shape (socat prints peers in full)
C_IP6_LONG=$(python3 -c "import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]).exploded)" $C_IP6)
pr add tcp :8080 "[$S_IP6]:80" --name web6 >/dev/null
pr add udp "[$R_CIP6]:5353" "[$S_IP6]:53" --name dns6 >/dev/null
out=$(in_ns "$NS_C" timeout $((5 * SLOW)) socat -T3 - "TCP6:[$R_CIP6]:8080" <<<"hello" 2>&1)
check "IPv6 TCP through the redirect reaches the IPv6 backend, which sees the real client" \
	test "$out" = "A6 [$C_IP6_LONG] hello"
out=$(in_ns "$NS_C" timeout $((5 * SLOW)) socat -T3 - "UDP6:[$R_CIP6]:5353" <<<"hello" 2>&1)
check "IPv6 UDP request and reply through the redirect" test "$out" = "U6 [$C_IP6_LONG] hello"

# Complete-checksum UDP from a raw socket: the XDP modes translate it in XDP itself.
before=$(pr -j stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["global"]["xlate_forward"])')
punt_before=$(pr -j stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["global"]["pass_partial_csum_to_tc"])')
in_ns "$NS_C" python3 "$HELP/raw_udp.py" $C_IP $R_CIP 40000 5454 3
wait_until 5 sh -c "[ \$(grep -c '^raw' '$TMP/raw.log' 2>/dev/null) -ge 3 ]"
check "UDP with a complete checksum arrives intact at the backend (3 datagrams)" \
	test "$(grep -c '^raw' "$TMP/raw.log" 2>/dev/null)" = 3
if [ "$MODE" != tc ]; then
	punt_after=$(pr -j stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["global"]["pass_partial_csum_to_tc"])')
	check "XDP translated the complete-checksum datagrams itself (no punt to TC)" test "$punt_after" = "$punt_before"
fi

# A 4000-byte UDP datagram over 1500-byte links: fragmented both ways, echoed whole.
pr add udp :5555 $S_IP:55 --name big >/dev/null
head -c 4000 /dev/urandom >"$TMP/big.in"
frag_before=$(pr -j stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["global"]["xlate_fragment"])')
in_ns "$NS_C" timeout $((5 * SLOW)) socat -T3 - UDP:$R_CIP:5555 <"$TMP/big.in" >"$TMP/big.out" 2>/dev/null
frag_after=$(pr -j stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["global"]["xlate_fragment"])')
check "a 4000-byte UDP datagram reaches the backend whole and its fragmented echo returns intact" \
	cmp "$TMP/big.in" "$TMP/big.out"
check "fragments were counted as translated (6 = 3 each way)" test $((frag_after - frag_before)) -eq 6

# A live flow survives --replace; new flows take the new target.
rm -f "$TMP/go"
in_ns "$NS_C" timeout $((30 * SLOW)) python3 "$HELP/tcp_session.py" $R_CIP 8080 "$TMP/go" $((20 * SLOW)) >"$TMP/session.out" 2>&1 </dev/null &
PIDS+=($!); sess=$!
wait_until 10 grep -q . "$TMP/session.out"
out=$(pr add tcp :8080 $S_IP2:80 --replace 2>&1)
check "add --replace swaps the target" grep -q "$S_IP2:80" <<<"$out"
touch "$TMP/go"; wait "$sess" 2>/dev/null
check "the live TCP flow keeps its old backend across --replace" \
	test "$(cat "$TMP/session.out")" = "$(printf 'A %s first\nA %s second' $C_IP $C_IP)"
out=$(tcp_get $R_CIP 8080)
check "a new TCP flow after --replace reaches backend B" test "$out" = "B $C_IP hello"

# A port range, port for port: first, middle and last
pr add tcp :7000-7099 $S_IP:9000-9099 --name range >/dev/null
check "range: first port 7000 reaches 9000" test "$(tcp_get $R_CIP 7000)" = "P9000 $C_IP"
check "range: middle port 7050 reaches 9050" test "$(tcp_get $R_CIP 7050)" = "P9050 $C_IP"
check "range: last port 7099 reaches 9099" test "$(tcp_get $R_CIP 7099)" = "P9099 $C_IP"

# A source allowlist, seen from two client addresses
pr add tcp :8500 $S_IP:8181 --allow $C_IP/32 --name allow >/dev/null
check "allowlist: the allowed client address is redirected" test "$(tcp_get $R_CIP 8500)" = "P8181 $C_IP"
out=$(in_ns "$NS_C" timeout $((3 * SLOW)) socat -T2 - TCP:$R_CIP:8500,bind=$C_IP2,connect-timeout=2 <<<"hello" 2>&1)
check "allowlist: another client address is dropped (no answer)" sh -c "! printf %s '$out' | grep -q P8181"
check "allowlist: the denial is counted for the rule" python3 -c "
import json,sys; r={x['name']:x for x in json.loads(sys.argv[1])['rules']}
assert r['allow']['denied']>=1 and r['allow']['flows']>=1, r['allow']" "$(pr -j stats)"

# DMZ: unmapped ports go to one host, specific rules still win, local services stay local
pr add tcp :* $S_IP --name dmz >/dev/null
check "DMZ: an unmapped port (8181) reaches the DMZ host on the same port" \
	test "$(tcp_get $R_CIP 8181)" = "P8181 $C_IP"
check "DMZ: a specific rule (8080) still wins" test "$(tcp_get $R_CIP 8080)" = "B $C_IP hello"
check "DMZ: the router's own service on port 80 is not taken" test "$(tcp_get $R_CIP 80)" = "LOCAL $C_IP"
pr del --name dmz >/dev/null

st=$(pr -j stats)
check "stats count flows, packets and bytes for the rules" python3 -c "
import json,sys; s=json.loads(sys.argv[1]); r={x['name']:x for x in s['rules']}
assert r['web']['flows']>=4 and r['web']['packets_in']>0 and r['web']['bytes_out']>0, r['web']
assert r['dns']['flows']>=1 and r['dns']['packets_out']>=1, r['dns']
assert s['global']['xlate_forward']>0 and s['global']['xlate_reply']>0, s['global']" "$st"
check "conntrack list shows the flows with client, listen and target" \
	sh -c "'$PR_BIN' --pin-dir '$PIN' conntrack list | grep -q '$C_IP:.* $R_CIP:8080 .* $S_IP:80 '"

# Path MTU discovery through the redirect: the router's server-side link is
# smaller, the client's segments carry DF, and only a translated frag-needed
# tells the client's socket (which talks to the listen address) to shrink.
pr add tcp :8090 $S_IP:81 --name upload >/dev/null
in_ns "$NS_R" ip link set rs mtu 1280
icmp_before=$(pr -j stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["global"]["xlate_icmp_error"])')
out=$(head -c 300000 /dev/urandom | in_ns "$NS_C" timeout $((20 * SLOW)) socat -t5 -T$((15 * SLOW)) - TCP:$R_CIP:8090 2>&1)
icmp_after=$(pr -j stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["global"]["xlate_icmp_error"])')
check "PMTU: a 300 kB upload with DF over a 1280-byte link completes through the redirect" \
	test "$(tr -d ' ' <<<"$out")" = 300000
check "PMTU: the router's frag-needed was translated for the client" test "$icmp_after" -gt "$icmp_before"
# the same over IPv6, where only packet-too-big can shrink the path
pr add tcp '[::]:8091' "[$S_IP6]:81" --name upload6 >/dev/null
icmp_before=$icmp_after
out=$(head -c 300000 /dev/urandom | in_ns "$NS_C" timeout $((20 * SLOW)) socat -t5 -T$((15 * SLOW)) - "TCP6:[$R_CIP6]:8091" 2>&1)
icmp_after=$(pr -j stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["global"]["xlate_icmp_error"])')
check "PMTU over IPv6: the upload completes and packet-too-big was translated" \
	sh -c '[ "$1" = 300000 ] && [ "$2" -gt "$3" ]' _ "$(tr -d ' ' <<<"$out")" "$icmp_after" "$icmp_before"
in_ns "$NS_R" ip link set rs mtu 1500

# Translated packets go straight to the egress device (bpf_redirect from TC,
# or XDP_REDIRECT where the devmap allows), past the router's forward path;
# --via-stack keeps them on it, so the host's firewall sees them.
in_ns "$NS_R" nft -f - <<'NFT'
table inet prfwd {
	chain fw {
		type filter hook forward priority 0
		tcp dport 80 counter
		tcp sport 80 counter
	}
}
NFT
gstat() { pr -j stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["global"][sys.argv[1]])' "$1"; }
fwd_pkts() { in_ns "$NS_R" nft -j list chain inet prfwd fw | python3 -c '
import json,sys; print(sum(e["counter"]["packets"] for r in json.load(sys.stdin)["nftables"] if "rule" in r for e in r["rule"]["expr"] if "counter" in e))'; }
in_ns "$NS_R" ping -c1 -W2 $S_IP >/dev/null 2>&1; in_ns "$NS_R" ping -c1 -W2 $C_IP >/dev/null 2>&1 # neighbours known
# one_flow LABEL: a TCP exchange through the web rule; sets out (the reply
# without its backend letter) and dr, df (packets sent straight out, and
# packets the router's forward chain saw)
one_flow() {
	local r0 f0
	r0=$(gstat redirect) f0=$(fwd_pkts)
	out=$(tcp_get $R_CIP 8080)
	out=${out#? }
	dr=$(($(gstat redirect) - r0)) df=$(($(fwd_pkts) - f0))
	echo "# $1: redirect counter +$dr, router forward chain +$df, reply '$out'"
}
pr attach rs --mode "$MODE" >/dev/null # replies arrive there: both directions go straight
one_flow direct
check "a translated flow goes straight to the egress device: redirect counter up, router forward chain untouched" \
	test "$out" = "$C_IP hello" -a $dr -ge 6 -a $df -eq 0
# The server's port-unreachable travels back through rs, where ingress must
# not translate it: from the listen address the stack would drop it as
# martian. rc's egress translates it, and the client sees the refusal.
pr add udp :5999 $S_IP:5999 --name closed >/dev/null
out=$(in_ns "$NS_C" timeout $((5 * SLOW)) python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.connect((sys.argv[1], 5999)); s.send(b"x")
try: s.recv(10); print("answered")
except ConnectionRefusedError: print("refused")
except socket.timeout: print("timeout")' $R_CIP 2>&1)
check "with both sides attached, the server's port-unreachable reaches the client translated" test "$out" = refused
pr del --name closed >/dev/null
pr detach rc >/dev/null; pr detach rs >/dev/null
pr attach rs --mode "$MODE" --via-stack >/dev/null
out=$(pr attach rc --mode "$MODE" --via-stack 2>&1)
check "attach --via-stack" grep -q "in $MODE mode" <<<"$out"
out=$(pr status)
check "status shows forward stack" grep -qE '^  rc .* forward stack' <<<"$out"
one_flow "via stack"
check "with --via-stack the flow takes the router's forward path and still works" \
	test "$out" = "$C_IP hello" -a $dr -eq 0 -a $df -ge 6
out=$(pr attach rc --mode "$MODE" 2>&1); rc=$?
check "attach without --via-stack over a --via-stack attachment asks for a detach first" \
	test $rc -ne 0 -a -n "$(grep -- 'with --via-stack; detach it first' <<<"$out")"
pr detach rc >/dev/null; pr detach rs >/dev/null; pr attach rc --mode "$MODE" >/dev/null
in_ns "$NS_R" nft delete table inet prfwd

# Delete stops redirecting, for new and live flows.
rm -f "$TMP/go"
in_ns "$NS_C" timeout $((30 * SLOW)) python3 "$HELP/tcp_session.py" $R_CIP 8080 "$TMP/go" $((20 * SLOW)) >"$TMP/session2.out" 2>&1 </dev/null &
PIDS+=($!); sess=$!
wait_until 10 grep -q . "$TMP/session2.out"
check "del by name succeeds" pr del --name web
touch "$TMP/go"; wait "$sess" 2>/dev/null
check "after del a live flow is no longer redirected" sh -c "! grep -q 'B .* second' '$TMP/session2.out'"
out=$(tcp_get $R_CIP 8080)
check "after del a new connection is not redirected (refused by the router)" grep -qi "refused\|reset" <<<"$out"
check "rule list no longer has the rule" sh -c "! '$PR_BIN' --pin-dir '$PIN' list | grep -q ' web '"

# Detach removes everything of ours and nothing else.
check "detach succeeds" pr detach rc
check "no XDP program left on rc" sh -c "! nsenter --net=/run/netns/$NS_R ip link show rc | grep -q 'xdp'"
check "no clsact qdisc left on rc (we created it)" sh -c "! nsenter --net=/run/netns/$NS_R tc qdisc show dev rc | grep -q clsact"
out=$(tcp_get $R_CIP 9090)
check "after detach traffic is not translated" grep -qi "refused\|reset" <<<"$out"
check "rules survive detach (restart loses no rules)" sh -c "'$PR_BIN' --pin-dir '$PIN' list | grep -q ' local '"

# Someone else's clsact qdisc and filter survive our attach and detach.
in_ns "$NS_R" tc qdisc add dev rs clsact
in_ns "$NS_R" tc filter add dev rs ingress prio 7 protocol all u32 match u32 0 0 classid 1:1
pr attach rs --mode "$MODE" >/dev/null && pr detach rs >/dev/null
check "detach leaves another user's clsact qdisc and filter in place" \
	sh -c "nsenter --net=/run/netns/$NS_R tc filter show dev rs ingress | grep -q 'pref 7 u32'"
check "detach of an interface we are not on fails cleanly" sh -c "! '$PR_BIN' --pin-dir '$PIN' detach lo 2>/dev/null"

tap_done
