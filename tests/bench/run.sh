#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `make bench`: portredir against nftables DNAT and plain routing on one client/router/server topology, contenders alternated in every round.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
O=${O:-build}
case "$O" in /*) BUILD=$O ;; *) BUILD=$TOP/$O ;; esac
QUICK=${QUICK:-}
CASES=${CASES:-1 2 3 4 5} # a subset, e.g. CASES="2 3", for work on one figure
want() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }
ROUNDS=5
SECS=$([ -n "$QUICK" ] && [ "$QUICK" != 0 ] && echo 1 || echo 8)
RES=$HERE/results
mkdir -p "$RES"
TAG=prb$$
source "$TOP/tests/lib.sh"
TMP=$(mktemp -d /tmp/portredir-bench.XXXXXX)
trap 'in_ns "$NS_R" nft delete table ip prbench 2>/dev/null; cleanup; rm -rf "$TMP"' EXIT

[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (sudo make bench)" >&2; exit 1; }
for t in iperf3 nft; do command -v $t >/dev/null || { echo "bench: $t missing (make bench installs it)" >&2; exit 1; }; done

host="$(nproc) cores, kernel $(uname -r), $(date -u +%Y-%m-%d)"
{
	echo "# portredir benchmark"
	echo
	echo "Run: \`sudo make bench${QUICK:+ QUICK=$QUICK}\` on $host."
	echo "Every figure is the median (min-max) of $ROUNDS rounds; contenders alternate within each round."
	echo
} >"$TMP/latest.md"

if want 4; then
echo "# case 4: datapath cost (BPF_PROG_TEST_RUN)"
QUICK=$QUICK "$BUILD/bench_datapath" "$TMP/datapath.dat" | tee "$TMP/datapath.txt"
{
	echo "## Datapath cost (case 4)"
	echo
	echo '```'
	cat "$TMP/datapath.txt"
	echo '```'
	echo
} >>"$TMP/latest.md"
fi

echo "# case 2: TCP bulk, iperf3 ${SECS}s, 1 and 4 streams"
topo_up || exit 1
bg_ns "$NS_S" iperf3 -s -B $S_IP -p 5201
wait_until 5 listening "$NS_S" tcp 5201 || { echo "bench: iperf3 server did not start" >&2; exit 1; }

# setup CONTENDER LPORT TPORT: forward router port LPORT to the server's TPORT
# the contender's way; teardown undoes it. Each leaves the router as it found
# it (portredir detaches between contenders, so native and tc never overlap).
setup() {
	case "$1" in
	routed) ;;
	nftables)
		in_ns "$NS_R" nft -f - <<-NFT
		table ip prbench {
			chain pre { type nat hook prerouting priority -100; iifname "rc" tcp dport $2 dnat to $S_IP:$3; }
		}
		NFT
		;;
	portredir-*)
		pr attach rc --mode "${1#portredir-}" >/dev/null && pr add tcp :$2 $S_IP:$3 >/dev/null ;;
	esac
}
teardown() {
	case "$1" in
	nftables) in_ns "$NS_R" nft delete table ip prbench ;;
	portredir-*) pr del tcp :$2 >/dev/null; pr detach rc >/dev/null ;;
	esac
}
target() { [ "$1" = routed ] && echo $S_IP || echo $R_CIP; }

CONTENDERS="routed nftables portredir-tc portredir-native portredir-auto"
want 2 && for streams in 1 4; do
	for round in $(seq $ROUNDS); do
		for c in $CONTENDERS; do
			setup $c 5201 5201
			gbps=$(in_ns "$NS_C" timeout $((SECS + 15)) iperf3 -c "$(target $c)" -p 5201 -t $SECS -P $streams -J 2>/dev/null |
				python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))' 2>/dev/null)
			teardown $c 5201
			echo "$streams $c ${gbps:-0}" >>"$TMP/bulk.raw"
			echo "#   streams $streams round $round $c: ${gbps:-FAILED} Gbit/s"
		done
	done
done

want 2 && python3 - "$TMP/bulk.raw" "$TMP/bulk.dat" >"$TMP/bulk.md" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
order = []
for s, c, v in rows:
    if c not in order: order.append(c)
out = open(sys.argv[2], "w")
print("| contender | 1 stream Gbit/s | ratio to nftables | 4 streams Gbit/s | ratio to nftables |")
print("|---|---|---|---|---|")
med = {}
for s in ("1", "4"):
    for c in order:
        v = [float(x[2]) for x in rows if x[0] == s and x[1] == c]
        med[s, c] = (statistics.median(v), min(v), max(v))
for c in order:
    cells = []
    for s in ("1", "4"):
        m, lo, hi = med[s, c]
        n = med[s, "nftables"][0]
        cells += ["%.2f (%.2f-%.2f)" % (m, lo, hi), "%.2fx" % (m / n if n else 0)]
    print("| %s | %s |" % (c, " | ".join(cells)))
    out.write("%s %.3f %.3f\n" % (c, med["1", c][0], med["4", c][0]))
a, n = med["1", "portredir-auto"][0], med["1", "nftables"][0]
print()
print("Target: auto mode at least 1.0x nftables for bulk TCP: %.2fx, %s." % (a / n if n else 0, "met" if n and a >= n else "MISSED by %.0f%%" % (100 * (1 - a / n)) if n else "no data"))
PY
cat "$TMP/bulk.md"

echo "# case 3: new TCP connections per second (wrk, Connection: close, against nginx)"
mkdir -p "$TMP/www"
echo ok >"$TMP/www/index.html"
cat >"$TMP/nginx.conf" <<NGX
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/nginx.err;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $TMP/ngx-body; proxy_temp_path $TMP/ngx-proxy;
	fastcgi_temp_path $TMP/ngx-fcgi; uwsgi_temp_path $TMP/ngx-uwsgi; scgi_temp_path $TMP/ngx-scgi;
	server { listen $S_IP:80; root $TMP/www; keepalive_timeout 0; }
}
NGX
# No TIME_WAIT on the server: contenders share its (client, port) tuple
# space, and a SYN meeting a TIME_WAIT left by another contender whose
# timestamps ran on another offset (the client's TS offset depends on the
# address it dials: the server for routed, the router for the rest) is
# dropped by PAWS and retried a second later. That made routed look slowest.
in_ns "$NS_S" sysctl -qw net.ipv4.tcp_max_tw_buckets=0
bg_ns "$NS_S" nginx -c "$TMP/nginx.conf" -g 'daemon off;'
wait_until 5 listening "$NS_S" tcp 80 || { echo "bench: nginx did not start" >&2; exit 1; }
url() { [ "$1" = routed ] && echo "http://$S_IP:80/" || echo "http://$R_CIP:8080/"; }
want 3 && for round in $(seq $ROUNDS); do
	for c in $CONTENDERS; do
		setup $c 8080 80
		rps=$(in_ns "$NS_C" timeout $((SECS + 15)) wrk -t1 -c16 -d${SECS}s -H "Connection: close" "$(url $c)" 2>/dev/null |
			awk '/^Requests\/sec:/ { print $2 }')
		teardown $c 8080
		echo "$c ${rps:-0}" >>"$TMP/conn.raw"
		echo "#   round $round $c: ${rps:-FAILED} connections/s"
	done
done
want 3 && python3 - "$TMP/conn.raw" "$TMP/conn.dat" >"$TMP/conn.md" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
order = []
for c, v in rows:
    if c not in order: order.append(c)
med = {c: [float(v) for x, v in rows if x == c] for c in order}
n = statistics.median(med["nftables"])
out = open(sys.argv[2], "w")
print("| contender | connections/s | ratio to nftables |")
print("|---|---|---|")
for c in order:
    v = med[c]; m = statistics.median(v)
    print("| %s | %.0f (%.0f-%.0f) | %.2fx |" % (c, m, min(v), max(v), m / n if n else 0))
    out.write("%s %.1f\n" % (c, m))
a = statistics.median(med["portredir-auto"])
print()
print("Target: new connections/s at least 1.5x nftables: %.2fx, %s." % (a / n if n else 0, "met" if n and a >= 1.5 * n else "MISSED by %.0f%%" % (100 * (1 - a / (1.5 * n))) if n else "no data"))
PY
cat "$TMP/conn.md"
{
	echo "## TCP bulk (case 2): iperf3, ${SECS}s a run, client -> router (rc) -> server over veth"
	echo
	cat "$TMP/bulk.md"
	echo
	echo "## New connections (case 3): wrk -c16 with Connection: close against nginx, ${SECS}s a run"
	echo
	cat "$TMP/conn.md"
	echo
	echo "Not measured yet: case 1 (64-byte pps with trafgen) and case 5 (100k rules load);"
	echo "see tests/bench/NOTES.md."
} >>"$TMP/latest.md"

if command -v gnuplot >/dev/null; then
	gnuplot <<-GP
	set terminal pngcairo size 1300,420
	set output "$RES/latest.png"
	set multiplot layout 1,3
	set title "TCP bulk through the router (Gbit/s, median)"
	set style data histograms; set style fill solid 0.8; set boxwidth 0.8
	set xtics rotate by -30; set key top left
	plot "$TMP/bulk.dat" using 2:xtic(1) title "1 stream", "" using 3 title "4 streams"
	set title "New TCP connections/s (median)"
	plot "$TMP/conn.dat" using 2:xtic(1) title "connections/s"
	set title "XDP datapath cost vs rules (ns/packet)"
	set style data linespoints; set logscale x; set xtics norotate; set key top left
	plot "$TMP/datapath.dat" using 1:3 title "established", "" using 1:4 title "reply", "" using 1:5 title "non-matching", "" using 1:6 title "tc established"
	unset multiplot
	GP
	echo "![results](latest.png)" >>"$TMP/latest.md"
fi
if [ "$CASES" = "1 2 3 4 5" ]; then
	cp "$TMP/latest.md" "$RES/latest.md"
	echo "# results in tests/bench/results/latest.md"
else
	echo "# CASES=\"$CASES\" is a partial run: tests/bench/results/ left as it was"
fi
