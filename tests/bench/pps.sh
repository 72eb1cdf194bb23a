#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Benchmark case 1: 64-byte UDP packets per second delivered to the server, client -> router -> server over veth or into a tap.
#
# Usage: tests/bench/pps.sh OUTDIR [ROUNDS [SECS]]     (root; defaults 5 rounds of 5 s)
# Writes OUTDIR/pps.md (table) and OUTDIR/pps.dat ("contender mpps", for gnuplot);
# with PPS_TOPO=tap, OUTDIR/pps-tap.md and OUTDIR/pps-tap.dat.
# Environment:
#   PPS_TOPO=veth|tap     where the server is: behind a veth in its own namespace
#                         (default), or behind a tap whose far end is a counting
#                         reader (tap_reader count, pinned to the router CPU), a VM
#   PPS_GEN=xdp|trafgen   generator (default xdp: build/xdp_gen on BPF_PROG_RUN live frames)
#   PPS_EXPERIMENTS=1     also run the native XDP redirect experiment (into pps.md)
#   PPS_CONTENDERS="..."  run only these contenders, without the checksum samples
#   O=DIR                 build directory (default build)
#
# CPU placement (2 CPUs): the generator runs on CPU 0, the router on CPU 1.
#   client c0: TSO off (so rc's NAPI takes trafgen's skbs, see below)
#   router rc: GRO on (gives it NAPI), NAPI threaded, its napi/rc-* kthread pinned to CPU 1
#   server s0: an XDP program counts and drops; that gives s0 NAPI, which runs as a
#              softirq on the CPU that fills it, i.e. CPU 1 behind the router
#   tap rt:    (PPS_TOPO=tap) its reader, a process, also on CPU 1 behind the router
# tests/bench/NOTES.md (case 1) explains why.
set -u
OUT=${1:-}
ROUNDS=${2:-5}
SECS=${3:-5}
[ -n "$OUT" ] && [ "$ROUNDS" -ge 1 ] 2>/dev/null && [ "$SECS" -ge 1 ] 2>/dev/null ||
	{ echo "usage: $0 OUTDIR [ROUNDS [SECS]]" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
O=${O:-build}
case "$O" in /*) BUILD=$O ;; *) BUILD=$TOP/$O ;; esac
GEN=${PPS_GEN:-xdp}
TOPO=${PPS_TOPO:-veth}
case "$TOPO" in veth) SFX= EG=rs ;; tap) SFX=-tap EG=rt ;; *) echo "pps: PPS_TOPO must be veth or tap, not '$TOPO'" >&2; exit 2 ;; esac
GEN_CPU=0 RTR_CPU=1
TAG=prp$$
source "$TOP/tests/lib.sh"
source "$HERE/tap.sh"
BPIN=/sys/fs/bpf/${TAG}b
TMP=$(mktemp -d /tmp/portredir-pps.XXXXXX)
finish() {
	set +e
	[ -n "${NS_R:-}" ] && in_ns "$NS_R" nft delete table ip prpps 2>/dev/null
	tap_down
	cleanup # our background PIDs, the namespaces (and with them every program attached there), $PIN
	rm -rf "$BPIN" "$TMP"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

FWD_OBJ=$BUILD/tests/bench/xdp_fwd.bpf.o
[ "$(id -u)" -eq 0 ] || { echo "pps: run as root" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "pps: needs 2 CPUs (generator on 0, router on 1)" >&2; exit 1; }
for t in bpftool ethtool nft tcpdump taskset python3 $([ "$GEN" = trafgen ] && echo trafgen); do
	command -v $t >/dev/null || { echo "pps: $t missing (make bench installs it)" >&2; exit 1; }
done
for f in "$PR_BIN" "$FWD_OBJ" $([ "$GEN" = xdp ] && echo "$BUILD/xdp_gen"); do
	[ -e "$f" ] || { echo "pps: $f missing (make bench builds it)" >&2; exit 1; }
done
case "$GEN" in xdp|trafgen) ;; *) echo "pps: PPS_GEN must be xdp or trafgen" >&2; exit 2 ;; esac
mkdir -p "$OUT" || exit 1

# Flows: 13 source ports x 1000 destination ports (coprime, so 13,000 distinct
# 5-tuples, each repeating every 13,000 packets). The router listens on
# R_CIP:10000-10999 and maps port for port onto S_IP:20000-20999.
LPORT=10000 TPORT=20000 NPORTS=1000 SPORT=40000 NSPORTS=13
SIZE=60 # bytes without the FCS: 64 on an Ethernet wire

topo_up || { echo "pps: cannot build namespaces" >&2; exit 1; }
if [ "$TOPO" = tap ]; then
	tap_up count ${PPS_TAP_CPU:-$RTR_CPU} $S_IP $TPORT-$((TPORT + NPORTS - 1)) || { echo "pps: cannot build the tap" >&2; exit 1; }
fi

mac() { in_ns "$1" ip -j link show "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])'; }
ifidx() { in_ns "$1" ip -j link show "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["ifindex"])'; }
le32() { printf '%d %d %d %d' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
# sysfs of a namespace's device: nsenter --net keeps the root namespace's /sys,
# ip netns exec mounts the namespace's own (and only there do we write).
ns_sysfs() { ip netns exec "$1" sh -c "test -e /sys/class/net/$2/$3 && echo $4 > /sys/class/net/$2/$3"; }
# EG: the router's server side, rs (a veth to s0) or rt (the tap); S0_MAC the server's MAC
C0_MAC=$(mac "$NS_C" c0) RC_MAC=$(mac "$NS_R" rc) RS_MAC=$(mac "$NS_R" $EG)
S0_MAC=$([ "$TOPO" = tap ] && echo $VM_MAC || mac "$NS_S" s0)
RS_IDX=$(ifidx "$NS_R" $EG)

# --- CPU placement and NAPI ---------------------------------------------------
# veth hands an skb to its peer's NAPI only if the sender has no TSO (or for
# socket skbs with rx-udp-gro-forwarding); otherwise netif_rx runs the whole
# router on the sender's CPU. trafgen's skbs need this; live frames don't care.
in_ns "$NS_C" ethtool -K c0 tso off >/dev/null
in_ns "$NS_R" ethtool -K rc gro on >/dev/null
ns_sysfs "$NS_R" rc threaded 1 || { echo "pps: cannot make rc's NAPI threaded" >&2; exit 1; }
# GRO on s0 gives it NAPI even while its XDP counter is swapped for the TC one
[ "$TOPO" = veth ] && in_ns "$NS_S" ethtool -K s0 gro on >/dev/null
# no ARP in the measurement, and the XDP FIB lookup always finds a neighbour
in_ns "$NS_R" ip neigh replace $S_IP lladdr "$S0_MAC" dev $EG nud permanent
in_ns "$NS_C" ip neigh replace $R_CIP lladdr "$RC_MAC" dev c0 nud permanent

# Pin rc's NAPI kthread(s) to the router CPU; re-run after every change of
# rc's programs, in case its NAPI was re-created with a new thread.
pin_router() {
	local pids p
	pids=$(in_ns "$NS_R" python3 "$HERE/napi_threads.py" rc | awk '$2 > 0 { print $2 }')
	[ -n "$pids" ] || { echo "pps: rc has no threaded NAPI" >&2; return 1; }
	for p in $pids; do taskset -pc $RTR_CPU "$p" >/dev/null || return 1; done
}

# --- helper programs: bare forwarder, drop, server counters --------------------
mkdir -p "$BPIN" && bpftool prog loadall "$FWD_OBJ" "$BPIN" pinmaps "$BPIN/maps" ||
	{ echo "pps: cannot load $FWD_OBJ" >&2; exit 1; }
cfg=$(python3 - "$S0_MAC" "$RS_MAC" $S_IP $TPORT $((TPORT + NPORTS - 1)) <<-'PY'
	import socket, struct, sys
	mac = lambda s: bytes(int(x, 16) for x in s.split(":"))
	b = mac(sys.argv[1]) + mac(sys.argv[2]) + socket.inet_aton(sys.argv[3]) + struct.pack("<HH", int(sys.argv[4]), int(sys.argv[5]))
	print(" ".join(str(x) for x in b))
	PY
)
bpftool map update pinned "$BPIN/maps/fwd_cfg" key 0 0 0 0 value $cfg || exit 1
# a devmap resolves the ifindex in the updating process's namespace: the router's
in_ns "$NS_R" bpftool map update pinned "$BPIN/maps/fwd_tx" key 0 0 0 0 value $(le32 "$RS_IDX") || exit 1

# server counter: xdp (count_xdp, measurements) or tc (count_tc, so tcpdump sees packets).
# xdp also has count_tc behind it: a packet TC ingress on rc delivered with
# bpf_redirect_peer (portredir tc and auto: rs's peer is s0) enters s0 past its
# XDP program, and only TC sees it; what XDP counts it drops, so none is counted twice.
server_counter() {
	[ "$TOPO" = tap ] && return 0 # tap_reader counts
	in_ns "$NS_S" ip link set dev s0 xdp off 2>/dev/null
	in_ns "$NS_S" tc qdisc del dev s0 clsact 2>/dev/null
	case "$1" in
	xdp) in_ns "$NS_S" bpftool net attach xdpdrv pinned "$BPIN/count_xdp" dev s0 &&
		in_ns "$NS_S" tc qdisc add dev s0 clsact &&
		in_ns "$NS_S" tc filter add dev s0 ingress bpf da object-pinned "$BPIN/count_tc" ;;
	tc) in_ns "$NS_S" tc qdisc add dev s0 clsact && in_ns "$NS_S" tc filter add dev s0 ingress bpf da object-pinned "$BPIN/count_tc" ;;
	none) ;;
	esac
}
server_counter xdp || { echo "pps: cannot attach the server counter" >&2; exit 1; }

# counts: "fwd drop xlated other csum0 csum_bad", each summed over CPUs; on
# a tap the last four are tap_reader's (csum_bad: IPv4 or UDP checksum wrong,
# which only the reader checks on every frame: 0 on veth)
counts() {
	[ "$TOPO" = tap ] && { tap_snapshot || echo "pps: tap_reader did not answer" >&2; }
	bpftool -j map dump pinned "$BPIN/maps/fwd_cnt" | python3 -c '
import json, sys
v = {e["formatted"]["key"]: sum(c["value"] for c in e["formatted"]["values"]) for e in json.load(sys.stdin)}
c = [v.get(k, 0) for k in range(5)] + [0]
if len(sys.argv) > 1:
    t = open(sys.argv[1]).read().split()
    t = dict(zip(t[::2], (int(x) for x in t[1::2])))
    c[2:] = [t["xlated"], t["other"], t["csum0"], t["csum_bad"]]
print(" ".join(str(x) for x in c))' $([ "$TOPO" = tap ] && echo "$TAP_STATS")
}

# --- generator ------------------------------------------------------------------
# gen DST DPORT SECS [COUNT]: prints "packets N secs T"
gen() {
	local dst=$1 dport=$2 secs=$3 count=${4:-$(($3 * 20000000))} out
	if [ "$GEN" = xdp ]; then
		out=$(in_ns "$NS_C" timeout $((secs + 10)) taskset -c $GEN_CPU "$BUILD/xdp_gen" --dev c0 \
			--smac "$C0_MAC" --dmac "$RC_MAC" --src $C_IP --dst "$dst" --sport $SPORT:$NSPORTS \
			--dport "$dport:$NPORTS" --secs "$secs" --count "$count" --size $SIZE 2>&1)
		awk '/^packets/ { print "packets", $2, "secs", $4; f = 1 } END { exit !f }' <<<"$out" ||
			{ echo "pps: xdp_gen failed: $out" >&2; echo "packets 0 secs $secs"; }
	else
		# 18 payload bytes: 14 + 20 + 8 + 18 = 60. A 256 KiB ring (128 frames)
		# keeps trafgen's skbs in flight below the socket's send buffer, which
		# a child namespace cannot raise: more, and sendto fails with EAGAIN.
		cat >"$TMP/trafgen.cfg" <<-CFG
		{
		  eth(da=$RC_MAC, sa=$C0_MAC, type=0x0800),
		  ipv4(saddr=$C_IP, daddr=$dst, ttl=64, df),
		  udp(sp=dinc($SPORT, $((SPORT + NSPORTS - 1))), dp=dinc($dport, $((dport + NPORTS - 1)))),
		  fill(0x41, $((SIZE - 42))),
		}
		CFG
		out=$(in_ns "$NS_C" timeout -s INT "$secs" taskset -c $GEN_CPU trafgen -i "$TMP/trafgen.cfg" -o c0 \
			-P 1 -n "$count" -S 256KiB --no-sock-mem --notouch-irq 2>&1)
		tr -d '\r' <<<"$out" | awk '/packets outgoing/ { n = $1 } /usec on CPU/ { s = $1 + $3 / 1e6 } END { if (!s) exit 1; print "packets", n, "secs", s }' ||
			{ echo "pps: trafgen failed: $(tail -3 <<<"$out")" >&2; echo "packets 0 secs $secs"; }
	fi
}

# --- contenders -------------------------------------------------------------------
# nft_rules [masq]: DNAT port for port; with masq, masquerade out of rs too (full NAT)
nft_rules() {
	local elems post=
	elems=$(python3 -c "print(', '.join('%d : %d' % ($LPORT + i, $TPORT + i) for i in range($NPORTS)))")
	[ "${1:-}" = masq ] && post="chain post { type nat hook postrouting priority 100; oifname \"$EG\" masquerade; }"
	in_ns "$NS_R" nft -f - <<-NFT
	table ip prpps {
		chain pre {
			type nat hook prerouting priority -100;
			iifname "rc" udp dport $LPORT-$((LPORT + NPORTS - 1)) dnat to $S_IP : udp dport map { $elems }
		}
		$post
	}
	NFT
}
xdp_off() { in_ns "$NS_R" ip link set dev rc xdp off 2>/dev/null; }
# setup C / teardown C leave rc as they found it: GRO on, threaded, no program
setup() {
	case "$1" in
	generator) in_ns "$NS_R" bpftool net attach xdpdrv pinned "$BPIN/drop_xdp" dev rc ;;
	bare-xdp) in_ns "$NS_R" bpftool net attach xdpdrv pinned "$BPIN/fwd_xdp" dev rc ;;
	routed) ;;
	nftables) nft_rules ;;
	nftables-masq) nft_rules masq ;;
	portredir-masq)
		# full NAT: rs too, whose address masquerade takes; the whole port range, as nftables has it
		pr attach rc >/dev/null && pr attach $EG >/dev/null &&
			pr add udp :$LPORT-$((LPORT + NPORTS - 1)) $S_IP:$TPORT-$((TPORT + NPORTS - 1)) --masquerade \
				--snat-ports 1024-65535 >/dev/null || return 1
		;;
	portredir-*|x-native-redirect)
		local m=${1#portredir-}
		[ "$1" = x-native-redirect ] && m=native
		# rc's NAPI is threaded on a CPU of its own (above), which native XDP needs said
		pr attach rc --mode "$m" $([ "$m" = native ] && echo --allow-threaded-napi) >/dev/null && pr add udp :$LPORT-$((LPORT + NPORTS - 1)) $S_IP:$TPORT-$((TPORT + NPORTS - 1)) >/dev/null || return 1
		# the server's side is attached too, as an operator would (replies come
		# back there) and as the --masquerade contender must, in the same mode:
		# a VM's tap in native (and auto, which picks native on a tap) is then
		# in pr_tx, the devices XDP may redirect to
		pr attach $EG --mode "$m" >/dev/null || return 1
		# the experiment: let XDP redirect into the veth rs, as the loader never does
		[ "$1" = x-native-redirect ] && { in_ns "$NS_R" bpftool map update pinned "$PIN/pr_tx" key $(le32 "$RS_IDX") value $(le32 "$RS_IDX") || return 1; }
		;;
	*) return 1 ;;
	esac
	pin_router
}
teardown() {
	case "$1" in
	generator|bare-xdp) xdp_off ;;
	nftables|nftables-masq) in_ns "$NS_R" nft delete table ip prpps ;;
	portredir-masq) pr del udp :$LPORT-$((LPORT + NPORTS - 1)) >/dev/null; pr detach rc >/dev/null; pr detach $EG >/dev/null ;;
	portredir-*|x-native-redirect)
		pr del udp :$LPORT-$((LPORT + NPORTS - 1)) >/dev/null; pr detach rc >/dev/null; pr detach $EG >/dev/null ;;
	esac
	xdp_off
	return 0
}
# where the client sends: the server itself when nothing translates
dst_of() { [ "$1" = routed ] && echo "$S_IP $TPORT" || echo "$R_CIP $LPORT"; }
# which server count is a delivery: untranslated for the bare forwarder
# (it rewrites only MACs), translated for everyone else; the generator run
# counts what the router's XDP_DROP absorbed
good_col() { case "$1" in generator) echo 2 ;; bare-xdp) echo 4 ;; *) echo 3 ;; esac; }
bad_col() { case "$1" in generator) echo 0 ;; bare-xdp) echo 3 ;; *) echo 4 ;; esac; }

# run C SECS: one measurement; prints "offered_mpps delivered_mpps wrong
# csum_bad udp_seen" (the last two: of the UDP frames the server saw, how many
# had a wrong checksum, which only a tap's reader checks, and how many in all)
run() {
	local c=$1 secs=$2 a b g good bad
	setup "$c" || { echo "pps: setup of $c failed" >&2; teardown "$c"; echo "0 0 0 0 0"; return 1; }
	a=$(counts)
	g=$(gen $(dst_of "$c") "$secs")
	sleep 0.2 # let the rings (2 x 256) drain
	b=$(counts)
	teardown "$c"
	python3 - "$a" "$b" "$g" "$(good_col "$c")" "$(bad_col "$c")" <<-'PY'
	import sys
	a, b = ([int(x) for x in s.split()] for s in sys.argv[1:3])
	g = sys.argv[3].split()
	n, t = float(g[1]), float(g[3]) or 1.0
	good, bad = int(sys.argv[4]), int(sys.argv[5])
	d = [y - x for x, y in zip(a, b)]
	print("%.4f %.4f %d %d %d" % (n / t / 1e6, d[good - 1] / t / 1e6, d[bad - 1] if bad else 0, d[5], d[2] + d[3]))
	PY
}

# --- correctness: every contender delivers, translated, with valid checksums -----
# sample C: 3000 packets with the TC counter on s0 so tcpdump -vv sees them; prints
# "udp-sum-ok bad-udp-sum sampled translated-in-sample"
sample() {
	local c=$1 out=$TMP/td.$1 dst dport pid
	read -r dst dport <<<"$(dst_of "$c")"
	server_counter tc
	setup "$c" || { teardown "$c"; server_counter xdp; echo "0 0 0 0"; return; }
	in_ns "$NS_S" timeout 10 tcpdump -l -n -vv -c 200 -i s0 udp >"$out" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	wait_until 5 grep -q "listening on" "$out"
	# three bursts of 1000; tcpdump keeps the first 200 it sees
	for _ in 1 2 3; do gen "$dst" "$dport" 1 1000 >/dev/null; done
	wait "$pid" 2>/dev/null
	teardown "$c"
	server_counter xdp
	echo "$(grep -c 'udp sum ok' "$out") $(grep -c 'bad udp cksum' "$out") $(grep -c ' > ' "$out") $(grep -c " > $S_IP\.2[0-9]*: " "$out")"
}

CONTENDERS=${PPS_CONTENDERS:-generator routed nftables portredir-tc portredir-native portredir-auto bare-xdp nftables-masq portredir-masq}
echo "# case 1 ($TOPO): 64-byte UDP pps, generator $GEN on CPU $GEN_CPU, router on CPU $RTR_CPU, $ROUNDS rounds of ${SECS}s"
: >"$TMP/sample"
for c in $CONTENDERS; do
	# on a tap the reader checks every frame's checksums in the rounds themselves
	[ "$c" = generator ] || [ -n "${PPS_CONTENDERS:-}" ] || [ "$TOPO" = tap ] && continue
	s=$(sample "$c")
	echo "$c $s" >>"$TMP/sample"
	echo "#   check $c: udp sum ok/bad/sampled/translated: $s"
done
: >"$TMP/raw"
for round in $(seq "$ROUNDS"); do
	for c in $CONTENDERS; do
		r=$(run "$c" "$SECS")
		[ "$TOPO" = tap ] && { tap_alive || exit 1; }
		echo "$c $r" >>"$TMP/raw"
		echo "#   round $round $c: offered/delivered Mpps, wrong class: $r"
	done
done
XRAW=
if [ "${PPS_EXPERIMENTS:-0}" != 0 ]; then
	XRAW=$TMP/xraw
	# native XDP: translated packets XDP_PASSed to the stack (as shipped) vs
	# redirected into rs (rs put into pr_tx by hand), alternating
	: >"$XRAW"
	for round in $(seq "$ROUNDS"); do
		for c in portredir-native x-native-redirect; do
			r=$(run "$c" "$SECS")
			echo "$c $r" >>"$XRAW"
			echo "#   experiment round $round $c: $r"
		done
	done
	echo "x-native-redirect $(sample x-native-redirect)" >>"$TMP/sample"
fi

python3 - "$TMP/raw" "$TMP/sample" "$OUT/pps$SFX.dat" "$GEN" "$ROUNDS" "$SECS" "$(nproc) CPUs, kernel $(uname -r), $(date -u +%Y-%m-%d)" \
	"$TOPO" "$XRAW" "$HERE/paired.py" >"$OUT/pps$SFX.md" <<'PY'
import statistics, sys
raw, samp, dat, gen, rounds, secs, host, topo = sys.argv[1:9]
xraw = sys.argv[9] if len(sys.argv) > 9 and sys.argv[9] else None
exec(open(sys.argv[10]).read())  # paired()
tap = topo == "tap"

def load(path):
    rows, order = {}, []
    for line in open(path):
        c, off, dl, bad, cbad, seen = line.split()
        if c not in rows:
            rows[c] = []
            order.append(c)
        rows[c].append((float(off), float(dl), int(bad), int(cbad), int(seen)))
    return rows, order

rows, order = load(raw)
med = lambda c, i=1: statistics.median(r[i] for r in rows[c]) if c in rows else 0.0
rng = lambda c, i=1: (min(r[i] for r in rows[c]), max(r[i] for r in rows[c]))
nft, bare, genr, rtd = med("nftables"), med("bare-xdp"), med("generator", 0), med("routed")
names = {"generator": "generator alone (router: XDP_DROP on rc)", "routed": "routed, no NAT",
         "nftables": "nftables DNAT", "portredir-tc": "portredir tc", "portredir-native": "portredir native XDP",
         "portredir-auto": "portredir auto (tc on rc%s)" % (", native on rt" if tap else ""),
         "bare-xdp": "bare XDP forwarder (no lookups)",
         "x-native-redirect": "portredir native, redirect into rs (experiment)",
         "nftables-masq": "nftables DNAT + masquerade", "portredir-masq": "portredir auto --masquerade"}
gname = "BPF_PROG_RUN live frames (xdp_gen)" if gen == "xdp" else "trafgen"
if tap:
    print("## Packets per second (case 1, tap): 64-byte UDP, client -> router -> a VM's tap")
    where = ("translated packets read from the router's tap rt by tap_reader (a VM's virtio backend: one read() a "
             "frame, counted and discarded), pinned to CPU 1 with the router; portredir attaches rt too, in the "
             "contender's mode")
else:
    print("## Packets per second (case 1, veth): 64-byte UDP, client -> router -> server over veth")
    where = ("translated packets counted by an XDP program on the server's s0; portredir attaches rs too, in the "
             "contender's mode")
print()
print("Run on %s. Generator: %s on CPU 0; router (rc's threaded NAPI) on CPU 1. %s rounds of %s s, " % (host, gname, rounds, secs) +
      "contenders alternating within each round; median (min-max) of the rounds. 13,000 flows: 13 source "
      "ports x 1000 destination ports, mapped port for port (10000-10999 -> 20000-20999). Delivered = " + where + ".")
print()
print("| contender | delivered Mpps | ratio to nftables | ratio to routed | ratio to bare forwarder | offered Mpps | delivered / generator alone |")
print("|---|---|---|---|---|---|---|")
out = open(dat, "w")
warn = []
for c in order:
    m, (lo, hi) = med(c), rng(c)
    if c == "generator":
        g, (glo, ghi) = med(c, 0), rng(c, 0)
        print("| %s | %.3f (%.3f-%.3f) absorbed | | | | %.3f (%.3f-%.3f) | 1.00 (offered) |" % (names[c], m, lo, hi, g, glo, ghi))
        continue
    frac = m / genr if genr else 0
    print("| %s | %.3f (%.3f-%.3f) | %.2fx | %.2fx | %.2fx | %.3f | %.2f |" % (names.get(c, c), m, lo, hi, m / nft if nft else 0,
          m / rtd if rtd else 0, m / bare if bare else 0, med(c, 0), frac))
    out.write("%s %.4f\n" % (c, m))
    if frac >= 0.9:
        warn.append(c)
    bad = sum(r[2] for r in rows[c])
    if bad:
        warn.append("%s: %d packets of the wrong class (untranslated or mistranslated)" % (c, bad))
    cbad = sum(r[3] for r in rows[c])
    if cbad:
        warn.append("%s: %d packets with a wrong IPv4 or UDP checksum" % (c, cbad))
print()
print("Generator alone: %.3f Mpps offered (median), of which the router's XDP_DROP absorbed %.3f Mpps." % (genr, med("generator")))
gen_bound = [w for w in warn if ":" not in w]
if gen == "trafgen":
    print("trafgen's 128-frame ring paces it to what the router takes (offered = delivered), and its own rate is low: "
          "compare each contender with the generator-alone rate.")
if gen_bound:
    print("**Generator-bound:** %s delivered at least 90%% of the generator's own rate, so for them the figure is a lower bound." % ", ".join(gen_bound))
else:
    print("Every contender delivered less than 90% of the generator's own rate: the generator is not the bottleneck.")
for w in warn:
    if ":" in w:
        print("**Wrong packets:** " + w)
print()
best = max(("portredir-native", "portredir-auto", "portredir-tc"), key=med)
def target(name, have, want):
    ok = have >= want
    return "%s: %.2fx, %s." % (name, have, "met" if ok else "MISSED by %.0f%%" % (100 * (1 - have / want)))
print("Best portredir mode here: %s (%.3f Mpps, %.2fx nftables, %.2fx bare)." % (best, med(best), med(best) / nft if nft else 0,
      med(best) / bare if bare else 0))
print()
a = med("portredir-auto")
into = "a tap" if tap else "a container (veth)"
print("* " + target("Target: 64 B UDP into %s, auto mode, at least 3x nftables DNAT" % into, a / nft if nft else 0, 3.0))
print("* " + target("Target: 64 B UDP into %s, auto mode, at least 0.6x the bare XDP forwarder" % into, a / bare if bare else 0, 0.6))
if tap:
    n_ = med("portredir-native")
    print("* native mode, what auto picks when the traffic comes in by a NIC rather than a veth like rc: "
          "%.2fx nftables, %.2fx bare." % (n_ / nft if nft else 0, n_ / bare if bare else 0))
fm, fn = med("portredir-masq"), med("nftables-masq")
if fm and fn:
    print("* " + target("Target: full NAT into %s (--masquerade against nftables DNAT + masquerade) at least the DNAT ratio (%.2fx)"
                        % (into, a / nft if nft else 0), fm / fn, a / nft if nft else 0))
    d = lambda c: [r[1] for r in rows.get(c, [])]
    print("  " + paired(d("portredir-masq"), d("nftables-masq"), d("portredir-auto"), d("nftables")))
if tap:
    print()
    print("Checksums, checked by the reader on every UDP frame of the rounds (IPv4 header and UDP):")
    print()
    print("| contender | UDP frames read | wrong checksum |")
    print("|---|---|---|")
    for c in order:
        if c != "generator":
            print("| %s | %d | %d |" % (names.get(c, c), sum(r[4] for r in rows[c]), sum(r[3] for r in rows[c])))
if not tap:
    print()
    print("Checksums and translation, from a tcpdump -vv sample on s0 (200 packets each):")
    print()
    print("| contender | udp sum ok | bad udp cksum | to the target address |")
    print("|---|---|---|---|")
    for line in open(samp):
        f = line.split()
        print("| %s | %s | %s | %s |" % (names.get(f[0], f[0]), f[1], f[2], f[4]))
if xraw:
    x, xo = load(xraw)
    print()
    print("Experiment: native XDP with translated packets XDP_PASSed to the stack (as shipped) vs redirected into rs:")
    print()
    print("| variant | delivered Mpps | offered Mpps |")
    print("|---|---|---|")
    for c in xo:
        v = [r[1] for r in x[c]]
        print("| %s | %.3f (%.3f-%.3f) | %.3f |" % (names.get(c, c), statistics.median(v), min(v), max(v),
              statistics.median(r[0] for r in x[c])))
PY
cat "$OUT/pps$SFX.md"
