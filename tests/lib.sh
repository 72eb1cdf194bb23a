# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Shared shell helpers for the integration suites: a client <-> router <-> server topology in fresh namespaces, cases run one by one with a reset between them, TAP checks that print what they expected and what they got, JSON and counter readers, and waits bounded by this machine's speed.
#
# Source it. topo_up sets an EXIT trap running cleanup unless the caller has
# set one already (which must call cleanup), so a caller's own cleanup of its
# temporary files is never replaced. A suite is a list of case functions run by
# run_cases (docs/design.md, "Code map: Integration tests").

O=${O:-build}
case "$O" in
/*) PR_BUILD=$O ;;
*) PR_BUILD=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/$O ;;
esac
PR_BIN=${PR_BIN:-$PR_BUILD/portredir}
PR_HELPERS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/helpers
TAG=${TAG:-pr$$}
NS_C=${TAG}c NS_R=${TAG}r NS_S=${TAG}s
PIN=/sys/fs/bpf/${TAG}
# libxdp makes /sys/fs/bpf/xdp (its dispatchers' directory, also its lock) at
# a native attach and leaves it behind, empty: cleanup removes it if it was
# not there when the suite began and is empty then
[ -e /sys/fs/bpf/xdp ] && PR_XDP_DIR_KEEP=1 || PR_XDP_DIR_KEEP=
# Documentation ranges only.
C_IP=198.51.100.2 R_CIP=198.51.100.1 R_SIP=203.0.113.1 S_IP=203.0.113.2 S_IP2=203.0.113.3 C_IP2=198.51.100.3
C_IP6=2001:db8:1::2 R_CIP6=2001:db8:1::1 R_SIP6=2001:db8:2::1 S_IP6=2001:db8:2::2
PIDS=()
TAP_N=0 TAP_PASS=0 TAP_FAIL=0 TAP_SKIP=0
# PR_STATE: a directory run_cases creates, shared with the case subshells
# (their results and the servers they start); cleanup removes it.
PR_STATE=${PR_STATE:-}

# ---- machine speed ----

# Clocks from bash itself (5.0+), so timing costs no process start: that
# matters under TCG, where each start takes a large fraction of a second.
now_us() { echo "${EPOCHREALTIME//[!0-9]/}"; }

# pr_scale: how many times longer than on a fast host things may take here.
# Measured, not configured: ten starts of a shell running a two-process
# pipeline (what every server's reply costs: socat forks, sh, echo), against
# 10 ms each on a fast host, clamped to 1..30; under TCG a start costs 10-50
# times as much. KSFT_MACHINE_SLOW=yes stretches that by 4 more. Exported as
# PR_SCALE, so run.sh measures once for all its suites.
pr_scale() {
	local t0 i ms s
	t0=$(now_us)
	for i in 1 2 3 4 5 6 7 8 9 10; do sh -c 'echo | cat' >/dev/null; done
	ms=$(( ($(now_us) - t0) / 1000 ))
	s=$(( (ms + 99) / 100 ))
	[ "$s" -lt 1 ] && s=1
	[ "$s" -gt 30 ] && s=30
	[ "${KSFT_MACHINE_SLOW:-}" = yes ] && s=$((s * 4))
	echo "$s"
}
[ -n "${PR_SCALE:-}" ] || PR_SCALE=$(pr_scale)
export PR_SCALE
SLOW=$PR_SCALE # the name suites used before tmo
# tmo SECS: SECS as a time limit on this machine (what takes SECS on a fast host at worst).
tmo() { echo $(( $1 * PR_SCALE )); }

# ---- processes and namespaces ----

in_ns() { local ns=$1; shift; nsenter --net=/run/netns/"$ns" "$@"; }
pr() { in_ns "$NS_R" "$PR_BIN" --pin-dir "$PIN" "$@"; }

# Start a background command in a namespace and remember its PID for cleanup
# (also in $PR_STATE/pids, so one started by a case's subshell is found too).
# Its output goes to a log, never to our stdout (a forked child holding the
# TAP pipe open would hang whoever reads it).
bg_ns() {
	local ns=$1; shift
	setsid nsenter --net=/run/netns/"$ns" "$@" >>"${BG_LOG:-/dev/null}" 2>&1 </dev/null &
	PIDS+=($!)
	[ -n "$PR_STATE" ] && echo $! >>"$PR_STATE/pids"
	return 0
}

# stop_bg: end what bg_ns started. Each command leads its own process group,
# so the group takes socat's per-connection children with it.
stop_bg() {
	local p all=("${PIDS[@]}")
	[ -n "$PR_STATE" ] && [ -s "$PR_STATE/pids" ] && all+=($(cat "$PR_STATE/pids"))
	for p in "${all[@]}"; do kill -TERM -- -"$p" 2>/dev/null || kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	# a case's servers are not our children: wait for their exit by polling
	# (kill -0 is a builtin: no process start while nothing is left)
	local end=$(( EPOCHSECONDS + $(tmo 5) ))
	for p in "${all[@]}"; do
		while kill -0 "$p" 2>/dev/null && [ "$EPOCHSECONDS" -lt "$end" ]; do sleep 0.1; done
	done
	PIDS=()
	[ -n "$PR_STATE" ] && : >"$PR_STATE/pids"
	return 0
}

# End everything: background commands, namespaces, pins, the case state.
cleanup() {
	set +e # an EXIT trap under set -e would stop at the first killed server's status
	stop_bg
	for ns in "$NS_C" "$NS_R" "$NS_S"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$PIN"
	[ -n "$PR_STATE" ] && rm -rf "$PR_STATE"
	[ -z "$PR_XDP_DIR_KEEP" ] && rmdir /sys/fs/bpf/xdp 2>/dev/null
	return 0
}

# Build the three namespaces. Router forwards; client and server route via it.
topo_up() {
	[ -n "$(trap -p EXIT)" ] || trap cleanup EXIT
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	ip netns add "$NS_C" && ip netns add "$NS_R" && ip netns add "$NS_S" || return 1
	ip link add rc netns "$NS_R" type veth peer name c0 netns "$NS_C"
	ip link add rs netns "$NS_R" type veth peer name s0 netns "$NS_S"
	in_ns "$NS_C" ip addr add $C_IP/24 dev c0
	in_ns "$NS_C" ip addr add $C_IP2/24 dev c0
	in_ns "$NS_R" ip addr add $R_CIP/24 dev rc
	in_ns "$NS_R" ip addr add $R_SIP/24 dev rs
	in_ns "$NS_S" ip addr add $S_IP/24 dev s0
	in_ns "$NS_S" ip addr add $S_IP2/24 dev s0
	for ns in "$NS_C" "$NS_R" "$NS_S"; do in_ns "$ns" ip link set lo up; done
	in_ns "$NS_C" ip link set c0 up
	in_ns "$NS_R" ip link set rc up
	in_ns "$NS_R" ip link set rs up
	in_ns "$NS_S" ip link set s0 up
	in_ns "$NS_C" ip route add default via $R_CIP
	in_ns "$NS_S" ip route add default via $R_SIP
	in_ns "$NS_R" sysctl -qw net.ipv4.ip_forward=1
	# IPv6 without duplicate address detection, so addresses work at once
	in_ns "$NS_C" ip addr add $C_IP6/64 dev c0 nodad
	in_ns "$NS_R" ip addr add $R_CIP6/64 dev rc nodad
	in_ns "$NS_R" ip addr add $R_SIP6/64 dev rs nodad
	in_ns "$NS_S" ip addr add $S_IP6/64 dev s0 nodad
	in_ns "$NS_C" ip -6 route add default via $R_CIP6
	in_ns "$NS_S" ip -6 route add default via $R_SIP6
	in_ns "$NS_R" sysctl -qw net.ipv6.conf.all.forwarding=1
}

# ---- waiting for a condition ----

# wait_until SECS CMD...: 0 once CMD succeeds, polling; 1 if it has not after
# tmo SECS seconds. Bound it by what the condition takes on a fast host.
wait_until() {
	local secs=$1; shift
	local end=$(( EPOCHSECONDS + $(tmo "$secs") ))
	while ! "$@" >/dev/null 2>&1; do
		[ "$EPOCHSECONDS" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# wait_ge MIN CMD...: poll CMD (which prints an integer) until it prints at
# least MIN, within tmo 10; prints the last value either way, returns 1 if short.
wait_ge() {
	local min=$1 v end; shift
	end=$(( EPOCHSECONDS + $(tmo 10) ))
	while :; do
		v=$("$@" 2>/dev/null)
		[[ $v =~ ^-?[0-9]+$ ]] && [ "$v" -ge "$min" ] && { echo "$v"; return 0; }
		[ "$EPOCHSECONDS" -ge "$end" ] && { echo "$v"; return 1; }
		sleep 0.1
	done
}

# listening NS PROTO PORT [ADDR]: true once something listens on PROTO (tcp or
# udp) PORT in namespace NS, on ADDR if given (an IPv6 ADDR without brackets).
listening() {
	local out
	out=$(in_ns "$1" ss -Hln"$( [ "$2" = udp ] && echo u || echo t )" "sport = :$3") || return 1
	if [ -n "${4:-}" ]; then
		case "$4" in *:*) grep -qF "[$4]:$3 " <<<"$out " ;; *) grep -qF "$4:$3 " <<<"$out " ;; esac
	else
		[ -n "$out" ]
	fi
}

# serve NS PROTO ADDR PORT CMD...: start a server with bg_ns and wait until it
# listens on ADDR:PORT; 1 (with a diagnostic line) if it does not in time.
serve() {
	local ns=$1 proto=$2 addr=$3 port=$4; shift 4
	bg_ns "$ns" "$@"
	wait_until 5 listening "$ns" "$proto" "$port" "$addr" && return 0
	echo "# server $proto $addr:$port in $ns did not start: $*"
	return 1
}

# serve_reply NS tcp|udp ADDR PORT NAME: a server answering each request's
# first line with "NAME PEER LINE" (an IPv6 ADDR without brackets).
serve_reply() {
	local ns=$1 proto=$2 l b=$3
	l=$( [ "$proto" = udp ] && echo UDP-RECVFROM || echo TCP-LISTEN )
	case "$3" in *:*) l=${l/-/6-} b="[$3]" ;; esac
	if [ "$proto" = udp ]; then
		serve "$ns" udp "$3" "$4" socat -T5 $l:"$4",bind="$b",fork SYSTEM:"read l; echo $5 \$SOCAT_PEERADDR \$l"
	else
		serve "$ns" tcp "$3" "$4" socat $l:"$4",bind="$b",fork,reuseaddr SYSTEM:"read l; echo $5 \$SOCAT_PEERADDR \$l"
	fi
}

# ---- live streams across a change (upgrade.sh, migrate.sh) ----

# stream_servers: a TCP echo on $S_IP:80 (socat) and a UDP echo on $S_IP:53
# (one process: a datagram every 20 ms must not wait for a process start),
# each reply ending with the line's number
stream_servers() {
	serve "$NS_S" tcp $S_IP 80 socat TCP-LISTEN:80,bind=$S_IP,fork,reuseaddr SYSTEM:"while read l; do echo A \$SOCAT_PEERADDR \$l; done"
	serve "$NS_S" udp $S_IP 53 python3 -S -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
while True:
    d, a = s.recvfrom(2048)
    s.sendto(b"U %s %s" % (a[0].encode(), d), a)' $S_IP
}

# stream PROTO PORT: a numbered exchange every 20 ms from the client to
# $R_CIP:PORT until $TMP/stop-PROTO, printing into $TMP/PROTO.out; its pid in STREAM_PROTO
stream() {
	rm -f "$TMP/$1.out" "$TMP/stop-$1" # a previous stream's, which the waits below would read
	in_ns "$NS_C" timeout "$(tmo 300)" python3 -S "$PR_HELPERS/stream.py" "$1" $R_CIP "$2" "$TMP/stop-$1" \
		"$(tmo 240)" 0.02 "$(tmo 5)" >"$TMP/$1.out" 2>&1 </dev/null &
	PIDS+=($!)
	eval "STREAM_$1=$!"
}

# streams_begin DESC: a TCP stream to :8080 and a UDP stream to :5353 (the
# rules to stream_servers), expected to have started, as one check
streams_begin() {
	stream tcp 8080
	stream udp 5353
	wait_until 10 grep -q started "$TMP/tcp.out"
	wait_until 10 grep -q started "$TMP/udp.out"
	expect_begin "$1"
	expect_eq "tcp" "started A $C_IP 0" "$(head -1 "$TMP/tcp.out")"
	expect_eq "udp" "started U $C_IP 0" "$(head -1 "$TMP/udp.out")"
	expect_end
}

# streams_end DESC: stop both streams (stream tcp, stream udp) and expect
# each to have finished with every exchange answered, as one check
streams_end() {
	touch "$TMP/stop-tcp" "$TMP/stop-udp"
	wait "$STREAM_tcp" "$STREAM_udp" 2>/dev/null
	expect_begin "$1"
	expect_match "tcp" "^ok [0-9]+ A $C_IP [0-9]+$" "$(tail -1 "$TMP/tcp.out")"
	expect_match "udp" "^ok [0-9]+ U $C_IP [0-9]+$" "$(tail -1 "$TMP/udp.out")"
	expect_end
}

# older_build BIN WHAT: 0 when the older build BIN (built by make check from
# this repository's history) is there; else a failure, or a skip without git
# history (a tarball), and 1
older_build() {
	[ -x "$1" ] && return 0
	if git -C "$(dirname "${BASH_SOURCE[0]}")/.." rev-parse --git-dir >/dev/null 2>&1; then
		not_ok "$2 is built (make check builds it from git history: make $1)"
	else
		skip "$2" "no git history to build it from (a tarball)"
	fi
	return 1
}

# ---- clients: each returns as soon as the reply is complete ----

# tcp_req NS ADDR PORT [SRC]: send "hello" from SRC if given, print the reply;
# the server closing ends it. socat's -t (default 0.5 s, how long it waits for
# the reply after its own EOF) is the machine's, not socat's default.
tcp_req() {
	local ns=$1 addr=$2 port=$3 src=${4:-} t
	t=$(tmo 3)
	case "$addr" in *:*) addr="TCP6:[$addr]:$port" ;; *) addr="TCP:$addr:$port" ;; esac
	in_ns "$ns" timeout "$(tmo 5)" socat -t "$t" -T "$t" - "$addr${src:+,bind=$src}" <<<"hello" 2>&1
}

# udp_req NS ADDR PORT [BYTES]: send stdin as one datagram, print the reply
# (the first datagram, or datagrams until BYTES bytes); exit 3 when refused
# (ICMP port unreachable), 4 when no reply came within tmo 3 (helpers/udp_req.py).
udp_req() {
	in_ns "$1" python3 -S "$PR_HELPERS/udp_req.py" "$2" "$3" "$(tmo 3)" "${4:-0}"
}

# session_open OUT ADDR PORT: one TCP connection from the client namespace that
# sends "first" now and "second" once session_close OUT is called, its replies
# (or EOF, ERROR, TIMEOUT) going to OUT a line each (helpers/tcp_session.py);
# returns once the first reply is in, 1 if it did not come.
session_open() {
	rm -f "$1.go"
	in_ns "$NS_C" timeout "$(tmo 30)" python3 -S "$PR_HELPERS/tcp_session.py" "$2" "$3" "$1.go" "$(tmo 20)" "$(tmo 5)" \
		>"$1" 2>&1 </dev/null &
	SESSION_PID=$!
	PIDS+=($!)
	[ -n "$PR_STATE" ] && echo $! >>"$PR_STATE/pids"
	wait_until 10 grep -q . "$1"
}
session_close() { touch "$1.go"; wait "$SESSION_PID" 2>/dev/null; return 0; }

# ---- JSON and counters ----

# json_get FILTER [NAME VALUE]...: jq FILTER over the JSON on stdin, raw
# strings, with each NAME bound to VALUE as $NAME. Missing keys print null.
json_get() {
	local f=$1 a=(); shift
	while [ $# -ge 2 ]; do a+=(--arg "$1" "$2"); shift 2; done
	jq -r "${a[@]}" "$f"
}
# stat_global NAME: the global counter NAME of portredir -j stats.
stat_global() { pr -j stats | json_get '.global[$n]' n "$1"; }
# stat_rule RULE FIELD: FIELD of the stats of the rule named RULE.
stat_rule() { pr -j stats | json_get '.rules[] | select(.name == $r) | .[$f]' r "$1" f "$2"; }
# rule_get RULE FIELD: FIELD of the rule named RULE in portredir -j list.
rule_get() { pr -j list | json_get '.[] | select(.name == $r) | .[$f]' r "$1" f "$2"; }

# ---- TAP output ----

tap_plan() { echo "TAP version 13"; [ -n "${1:-}" ] && echo "1..$1"; }
_tap() { # _tap P|F|S LINE: count and print one result
	TAP_N=$((TAP_N + 1))
	case $1 in P) TAP_PASS=$((TAP_PASS + 1)) ;; F) TAP_FAIL=$((TAP_FAIL + 1)) ;; S) TAP_SKIP=$((TAP_SKIP + 1)) ;; esac
	[ -n "$PR_STATE" ] && echo "$1" >>"$PR_STATE/tap"
	echo "$2"
}
ok() { _tap P "ok $((TAP_N + 1)) - $*"; }
not_ok() { _tap F "not ok $((TAP_N + 1)) - $*"; }
skip() { _tap S "ok $((TAP_N + 1)) - $1 # SKIP $2"; }
# diag TEXT: TEXT as TAP comment lines.
diag() { printf '%s\n' "$*" | sed 's/^/# /'; }
# check DESC CMD...: one TAP line from a command's exit status; on failure the
# command, its status and its output.
check() {
	local desc=$1 out rc; shift
	out=$("$@" 2>&1); rc=$?
	if [ "$rc" -eq 0 ]; then
		_expect 1 "$desc"
	else
		_expect 0 "$desc" "exit status 0 from: $*" "exit status $rc${out:+, output:
$out}"
	fi
}
tap_done() {
	[ -z "${TAP_PLANNED:-}" ] && echo "1..$TAP_N"
	echo "# Totals: pass:$TAP_PASS fail:$TAP_FAIL xfail:0 xpass:0 skip:$TAP_SKIP error:0"
	[ "$TAP_FAIL" -eq 0 ]
}

# ---- expectations: each prints what it expected and what it got ----
#
# expect_eq DESC EXPECTED ACTUAL      strings equal
# expect_ge DESC MIN ACTUAL           integer ACTUAL >= MIN (expect_gt: >)
# expect_match DESC ERE ACTUAL        ACTUAL has a line matching ERE (expect_no_match: none)
# expect_contains DESC TEXT ACTUAL    ACTUAL contains TEXT
# Each is one TAP line, returning 0 or 1 -- or, between expect_begin DESC and
# expect_end, one part of the single TAP line DESC, which fails listing every
# part that failed.
_PR_GROUP= _PR_GROUP_ERR=
_expect() { # _expect 1|0 DESC [EXPECTED GOT]
	if [ -n "$_PR_GROUP" ]; then
		[ "$1" = 1 ] || _PR_GROUP_ERR+="$2: expected $3"$'\n'"    got $4"$'\n'
	elif [ "$1" = 1 ]; then
		ok "$2"
	else
		not_ok "$2"
		diag "expected: $3"
		diag "got:      $4"
	fi
	[ "$1" = 1 ]
}
_int() { [[ $1 =~ ^-?[0-9]+$ ]]; }
expect_eq() { [ "$2" = "$3" ]; _expect $((! $?)) "$1" "'$2'" "'$3'"; }
expect_ge() { _int "$3" && [ "$3" -ge "$2" ]; _expect $((! $?)) "$1" ">= $2" "'$3'"; }
expect_gt() { _int "$3" && [ "$3" -gt "$2" ]; _expect $((! $?)) "$1" "> $2" "'$3'"; }
expect_match() { grep -Eq -- "$2" <<<"$3"; _expect $((! $?)) "$1" "a line matching /$2/" "'$3'"; }
expect_no_match() { ! grep -Eq -- "$2" <<<"$3"; _expect $((! $?)) "$1" "no line matching /$2/" "'$3'"; }
expect_contains() { grep -qF -- "$2" <<<"$3"; _expect $((! $?)) "$1" "text containing '$2'" "'$3'"; }
expect_begin() { _PR_GROUP=$1 _PR_GROUP_ERR=; }
expect_end() {
	local desc=$_PR_GROUP err=$_PR_GROUP_ERR
	_PR_GROUP= _PR_GROUP_ERR=
	if [ -z "$err" ]; then ok "$desc"; return 0; fi
	not_ok "$desc"
	printf '%s' "$err" | sed 's/^/# /'
	return 1
}

# ---- cases ----

# run_cases CASE...: run each case function in a subshell of its own (its
# variables, exits and failures stay there), after stopping what the previous
# one started and calling the suite's case_reset if it defines one (which
# must put the suite's fixed state back: no rules, nothing attached...). A
# case that reports nothing, or exits non-zero without reporting a failure,
# is a failure. PR_CASES="a b" runs only those cases.
# TAP_N, TAP_PASS, TAP_FAIL, TAP_SKIP from the cases' results file, read by
# bash alone (the cases run in subshells, so their counts come back this way).
tap_count() {
	local l
	TAP_N=0 TAP_PASS=0 TAP_FAIL=0 TAP_SKIP=0
	while IFS= read -r l; do
		TAP_N=$((TAP_N + 1))
		case "$l" in P) TAP_PASS=$((TAP_PASS + 1)) ;; F) TAP_FAIL=$((TAP_FAIL + 1)) ;; S) TAP_SKIP=$((TAP_SKIP + 1)) ;; esac
	done <"$PR_STATE/tap"
}

run_cases() {
	local c rc n0 f0 t0 want=()
	[ -n "$PR_STATE" ] || PR_STATE=$(mktemp -d /tmp/portredir-cases.XXXXXX) || return 1
	: >"$PR_STATE/pids"
	{ for ((c = 0; c < TAP_PASS; c++)); do echo P; done
	  for ((c = 0; c < TAP_FAIL; c++)); do echo F; done
	  for ((c = 0; c < TAP_SKIP; c++)); do echo S; done; } >"$PR_STATE/tap"
	if [ -n "${PR_CASES:-}" ]; then want=($PR_CASES); else want=("$@"); fi
	for c in "${want[@]}"; do
		if ! declare -F "$c" >/dev/null; then not_ok "$c: no such case"; continue; fi
		t0=$(now_us)
		stop_bg
		declare -F case_reset >/dev/null && case_reset
		echo "# case $c (reset took $(( ($(now_us) - t0) / 1000 )) ms)"
		n0=$TAP_N f0=$TAP_FAIL t0=$(now_us)
		( "$c" ); rc=$?
		tap_count
		echo "# case $c: $(( ($(now_us) - t0) / 1000 )) ms"
		if [ "$TAP_N" -eq "$n0" ]; then
			not_ok "$c: case reported no results (exit status $rc)"
		elif [ "$rc" -ne 0 ] && [ "$TAP_FAIL" -eq "$f0" ]; then
			not_ok "$c: case exited with status $rc"
		fi
	done
	stop_bg
	return 0
}

# ---- portredir monitor ----

# mon_field FIELD: FIELD of stats -j's monitor object
mon_field() { pr -j stats | json_get ".monitor.$1"; }
mon_is() { [ "$(mon_field pid)" = "$1" ]; }
# mon_start OUT ARGS...: portredir ARGS (global options, then monitor and
# its own) in the router's namespace, stdout to OUT and stderr to OUT.err;
# returns once it holds the lease (stats -j names its pid). MON_PID is it.
mon_start() {
	local out=$1; shift
	# nsenter itself, not in_ns: $! must be portredir, not a subshell around it
	nsenter --net=/run/netns/"$NS_R" "$PR_BIN" --pin-dir "$PIN" "$@" >"$out" 2>"$out.err" </dev/null &
	MON_PID=$!
	PIDS+=($MON_PID)
	[ -n "$PR_STATE" ] && echo $MON_PID >>"$PR_STATE/pids"
	wait_until 5 mon_is $MON_PID || { diag "monitor $* did not start: $(cat "$out.err")"; return 1; }
}
# mon_stop [SIGNAL]: end it (SIGINT by default) and wait for its exit; its status in MON_RC
mon_stop() { kill -"${1:-INT}" "$MON_PID" 2>/dev/null; wait "$MON_PID" 2>/dev/null; MON_RC=$?; }
