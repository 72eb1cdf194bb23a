# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The bench's tap topology (a VM's port): the router's server side is a tap, rt, whose far end is tap_reader instead of a veth into the server namespace.
#
# Source it after tests/lib.sh, call topo_up first, then
#   tap_up count CPU DST LO-HI   rt with a counting reader pinned to CPU (case 1):
#                                no server namespace behind it; S_IP is a
#                                permanent neighbour with the made-up MAC VM_MAC
#   tap_up relay                 rt relayed to a tap st in the server namespace,
#                                which gets s0's addresses and routes (cases 2, 3)
# The reader runs under bg_ns, so cleanup ends it, and lives at most
# TAP_LIFE seconds (default 7200); the taps go with their namespaces.
# TAP_STATS is its stats file (tap_reader.c has the format), TAP_PID its PID.

VM_MAC=0a:00:00:00:00:02
TAP_READER=${PR_BUILD}/tap_reader

tap_up() {
	local mode=$1 end
	[ -x "$TAP_READER" ] || { echo "tap: $TAP_READER missing (make bench builds it)" >&2; return 1; }
	TAP_STATS=$(mktemp /tmp/portredir-tap.XXXXXX) || return 1
	rm -f "$TAP_STATS"
	in_ns "$NS_R" ip link del rs || return 1 # and s0 with it
	in_ns "$NS_R" ip tuntap add dev rt mode tap || return 1
	in_ns "$NS_R" ip addr add $R_SIP/24 dev rt
	in_ns "$NS_R" ip addr add $R_SIP6/64 dev rt nodad
	in_ns "$NS_R" ip link set rt up
	if [ "$mode" = count ]; then
		in_ns "$NS_R" ip neigh replace $S_IP lladdr $VM_MAC dev rt nud permanent
		bg_ns "$NS_R" taskset -c "$2" "$TAP_READER" count --dev rt --dst "$3" --ports "$4" --stats "$TAP_STATS" \
			--secs "${TAP_LIFE:-7200}"
	else
		in_ns "$NS_S" ip tuntap add dev st mode tap || return 1
		in_ns "$NS_S" ip addr add $S_IP/24 dev st
		in_ns "$NS_S" ip addr add $S_IP2/24 dev st
		in_ns "$NS_S" ip addr add $S_IP6/64 dev st nodad
		in_ns "$NS_S" ip link set st up
		in_ns "$NS_S" ip route add default via $R_SIP
		in_ns "$NS_S" ip -6 route add default via $R_SIP6
		bg_ns "$NS_R" "$TAP_READER" relay --dev rt --peer-netns /run/netns/"$NS_S" --peer-dev st \
			--stats "$TAP_STATS" --secs "${TAP_LIFE:-7200}"
	fi
	TAP_PID=${PIDS[${#PIDS[@]} - 1]}
	wait_until 5 test -s "$TAP_STATS" || { echo "tap: tap_reader $mode did not start" >&2; return 1; }
}

# tap_snapshot: make the reader write its counts now; they are in $TAP_STATS after
tap_snapshot() {
	local seq
	seq=$(awk '{ print $2 }' "$TAP_STATS")
	kill -USR1 "$TAP_PID" || return 1
	wait_until 2 awk -v s="$seq" '$2 == s { exit 1 }' "$TAP_STATS"
}

# tap_down: stop the reader (cleanup would too) and, once it is gone (it
# writes its counts as it exits), remove its stats file
tap_down() {
	local end=$(( EPOCHSECONDS + $(tmo 5) ))
	if [ -n "${TAP_PID:-}" ]; then
		kill -TERM -- -"$TAP_PID" 2>/dev/null
		while kill -0 "$TAP_PID" 2>/dev/null && [ "$EPOCHSECONDS" -lt "$end" ]; do sleep 0.1; done
		TAP_PID=
	fi
	rm -f "${TAP_STATS:-}" "${TAP_STATS:-}.tmp"
	return 0
}

# tap_alive: 0 while the reader runs; else 1, saying so (a tap without one drops every frame)
tap_alive() {
	kill -0 "$TAP_PID" 2>/dev/null && return 0
	echo "tap: tap_reader (pid $TAP_PID) is gone" >&2
	return 1
}
