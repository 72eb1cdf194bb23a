#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `make bench`: portredir against nftables DNAT, plain routing and a bare XDP forwarder on one client/router/server topology, contenders alternated in every round.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
O=${O:-build}
case "$O" in /*) BUILD=$O ;; *) BUILD=$TOP/$O ;; esac
QUICK=${QUICK:-}
[ "$QUICK" = 0 ] && QUICK=
CASES=${CASES:-1 2 3 4 5} # a subset, e.g. CASES="2 3", for work on one figure
# BENCH_TOPO: where cases 1-3 put the server, "veth" (its own namespace behind a
# veth), "tap" (behind a tap with a reader, a VM's port) or both, in that order
TOPOS=${BENCH_TOPO:-veth tap}
for t in $TOPOS; do case "$t" in veth|tap) ;; *) echo "bench: BENCH_TOPO: unknown topology '$t' (veth, tap)" >&2; exit 2 ;; esac; done
[ -n "${TOPOS//[[:space:]]/}" ] || { echo "bench: BENCH_TOPO is empty (veth, tap)" >&2; exit 2; }
# BENCH_CONTENDERS reorders the five contenders of cases 2 and 3 (to test order effects)
want() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }
# QUICK is a smoke check of about 5 minutes: 3 rounds (2 for cases 1 and 5)
# of 1 s runs, both topologies. A full run has 5 rounds of longer runs everywhere.
ROUNDS=$([ -n "$QUICK" ] && echo 3 || echo 5)
SECS=$([ -n "$QUICK" ] && echo 1 || echo 8)
PPS_SECS=$([ -n "$QUICK" ] && echo 1 || echo 5)
# The tap topology's runs are shorter in a full run (4 s, 3 s for case 1), so
# it adds about 11 minutes; its ratios are taken within the topology
TAP_SECS=$([ -n "$QUICK" ] && echo 1 || echo 4)
TAP_PPS_SECS=$([ -n "$QUICK" ] && echo 1 || echo 3)
VETH_SECS=$SECS
OWN_ROUNDS=$([ -n "$QUICK" ] && echo 2 || echo $ROUNDS) # cases 1 and 5, which build their own namespaces
RES=$HERE/results
mkdir -p "$RES"
TAG=prb$$
source "$TOP/tests/lib.sh"
source "$HERE/tap.sh"
TMP=$(mktemp -d /tmp/portredir-bench.XXXXXX)
finish() { in_ns "$NS_R" nft delete table ip prbench 2>/dev/null; tap_down; cleanup; rm -rf "$TMP"; }
trap finish EXIT

[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (sudo make bench)" >&2; exit 1; }
for t in iperf3 nft wrk nginx; do command -v $t >/dev/null || { echo "bench: $t missing (make bench installs it)" >&2; exit 1; }; done

host="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r), $(date -u +%Y-%m-%d)"
{
	echo "# portredir benchmark"
	echo
	echo "Run: \`sudo make bench${QUICK:+ QUICK=$QUICK}\` on $host."
	echo "Every figure is the median (min-max) of its rounds; contenders alternate within each round."
	echo "A run is void if anything else shared the machine."
	echo
} >"$TMP/latest.md"

# ---- case 4: datapath cost ----
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

# ---- case 5: control plane ----
if want 5; then
	echo "# case 5: loading 100,000 rules, portredir apply against nft -f, $OWN_ROUNDS rounds"
	if O=$O "$HERE/ctl.sh" "$TMP" $OWN_ROUNDS >"$TMP/ctl.log" 2>&1; then
		cat "$TMP/ctl.md"
		{ cat "$TMP/ctl.md"; echo; } >>"$TMP/latest.md"
	else
		echo "bench: case 5 failed:" >&2; tail -5 "$TMP/ctl.log" >&2
	fi
fi

# ---- case 1: 64-byte packets per second ----
for t in $TOPOS; do
	want 1 || break
	sfx=$([ "$t" = tap ] && echo -tap)
	secs=$([ "$t" = tap ] && echo $TAP_PPS_SECS || echo $PPS_SECS)
	echo "# case 1 ($t): 64-byte UDP pps, $OWN_ROUNDS rounds of ${secs}s"
	if O=$O PPS_TOPO=$t "$HERE/pps.sh" "$TMP" $OWN_ROUNDS $secs >"$TMP/pps$sfx.log" 2>&1; then
		cat "$TMP/pps$sfx.md"
		{ cat "$TMP/pps$sfx.md"; echo; } >>"$TMP/latest.md"
	else
		echo "bench: case 1 ($t) failed:" >&2; tail -5 "$TMP/pps$sfx.log" >&2
	fi
done

# ---- cases 2 and 3 share one topology ----
# setup CONTENDER PROTO LPORT TPORT: forward router port LPORT to the
# server's TPORT the contender's way; teardown undoes it. portredir attaches
# both router interfaces (rc and EG, the server side: rs or the tap rt), as
# an operator would (replies then go straight back too), and detaches
# between contenders, so modes never overlap.
setup() {
	case "$1" in
	routed) ;;
	nftables)
		in_ns "$NS_R" nft -f - <<-NFT
		table ip prbench {
			chain pre { type nat hook prerouting priority -100; iifname "rc" $2 dport $3 dnat to $S_IP:$4; }
		}
		NFT
		;;
	nftables-masq)
		in_ns "$NS_R" nft -f - <<-NFT
		table ip prbench {
			chain pre { type nat hook prerouting priority -100; iifname "rc" $2 dport $3 dnat to $S_IP:$4; }
			chain post { type nat hook postrouting priority 100; oifname "$EG" masquerade; }
		}
		NFT
		;;
	portredir-masq)
		pr attach rc >/dev/null && pr attach $EG >/dev/null && pr add $2 :$3 $S_IP:$4 --masquerade >/dev/null ;;
	portredir-*)
		pr attach rc --mode "${1#portredir-}" >/dev/null && pr attach $EG --mode "${1#portredir-}" >/dev/null &&
			pr add $2 :$3 $S_IP:$4 >/dev/null ;;
	esac
}
teardown() {
	case "$1" in
	nftables|nftables-masq) in_ns "$NS_R" nft delete table ip prbench ;;
	portredir-*) pr del $2 :$3 >/dev/null; pr detach rc >/dev/null; pr detach $EG >/dev/null ;;
	esac
}
target() { [ "$1" = routed ] && echo $S_IP || echo $R_CIP; }
# nftables-masq and portredir-masq: full NAT (DNAT plus masquerade out of rs; portredir in auto mode)
CONTENDERS=${BENCH_CONTENDERS:-routed nftables portredir-tc portredir-native portredir-auto nftables-masq portredir-masq}

# Cases 2 and 3 once a topology, one after the other: the server behind a
# veth (s0), then behind a tap (st, relayed to the router's rt by
# tap_reader relay, a VM's virtio backend in userspace). Each topology's
# contenders alternate within every round; ratios are within a topology.
for TOPO in $TOPOS; do
	case "$TOPO" in
	veth) EG=rs SFX= VIA="over veth" SECS=$VETH_SECS ;;
	tap) EG=rt SFX=-tap VIA="into a tap, relayed to the server" SECS=$TAP_SECS ;;
	esac
	if want 2 || want 3; then
		topo_up || exit 1
		[ "$TOPO" = tap ] && { tap_up relay || exit 1; }
		# neighbours known from the start, as on a router that has seen traffic
		in_ns "$NS_R" ping -c1 -W2 $S_IP >/dev/null; in_ns "$NS_R" ping -c1 -W2 $C_IP >/dev/null
	fi

	if want 2; then
		echo "# case 2 ($TOPO): TCP bulk, iperf3 ${SECS}s, 1 and 4 streams"
		bg_ns "$NS_S" iperf3 -s -B $S_IP -p 5201
		wait_until 5 listening "$NS_S" tcp 5201 || { echo "bench: iperf3 server did not start" >&2; exit 1; }
		for streams in 1 4; do
			for round in $(seq $ROUNDS); do
				for c in $CONTENDERS; do
					setup $c tcp 5201 5201
					gbps=$(in_ns "$NS_C" timeout $((SECS + 15)) iperf3 -c "$(target $c)" -p 5201 -t $SECS -P $streams -J 2>/dev/null |
						python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))' 2>/dev/null)
					teardown $c tcp 5201
					[ "$TOPO" = tap ] && { tap_alive || exit 1; }
					echo "$streams $c ${gbps:-0}" >>"$TMP/bulk$SFX.raw"
					echo "#   streams $streams round $round $c: ${gbps:-FAILED} Gbit/s"
				done
			done
		done
		python3 - "$TMP/bulk$SFX.raw" "$TMP/bulk$SFX.dat" "$TOPO" "$HERE/paired.py" >"$TMP/bulk$SFX.md" <<-'PY'
	import sys, statistics
	topo = sys.argv[3]
	exec(open(sys.argv[4]).read())
	rows = [l.split() for l in open(sys.argv[1])]
	order = []
	for s, c, v in rows:
	    if c not in order: order.append(c)
	out = open(sys.argv[2], "w")
	print("| contender | 1 stream Gbit/s | ratio to nftables | ratio to routed | 4 streams Gbit/s | ratio to nftables | ratio to routed |")
	print("|---|---|---|---|---|---|---|")
	vals, med = {}, {}
	for s in ("1", "4"):
	    for c in order:
	        v = vals[s, c] = [float(x[2]) for x in rows if x[0] == s and x[1] == c]
	        med[s, c] = (statistics.median(v), min(v), max(v))
	for c in order:
	    cells = []
	    for s in ("1", "4"):
	        m, lo, hi = med[s, c]
	        n, rt = med[s, "nftables"][0], med.get((s, "routed"), (0,))[0]  # BENCH_CONTENDERS may leave routed out
	        cells += ["%.2f (%.2f-%.2f)" % (m, lo, hi), "%.2fx" % (m / n if n else 0), "%.2fx" % (m / rt if rt else 0)]
	    print("| %s | %s |" % (c, " | ".join(cells)))
	    out.write("%s %.3f %.3f\n" % (c, med["1", c][0], med["4", c][0]))
	print()
	for s in ("1", "4"):
	    a, n = med[s, "portredir-auto"][0], med[s, "nftables"][0]
	    r = a / n if n else 0
	    print("* Target (%s): TCP bulk in auto mode at least 1.0x nftables, %s stream%s: %.2fx, %s." %
	          (topo, s, "" if s == "1" else "s", r, "met" if r >= 1 else "MISSED by %.0f%%" % (100 * (1 - r))))
	    if ("1", "portredir-masq") in med and med[s, "nftables-masq"][0]:
	        f = med[s, "portredir-masq"][0] / med[s, "nftables-masq"][0]
	        print("* Target (%s): full NAT bulk (--masquerade against nftables DNAT + masquerade) at least the DNAT ratio, "
	              "%s stream%s: %.2fx against %.2fx, %s." % (topo, s, "" if s == "1" else "s", f, r, "met" if f >= r else "missed"))
	        print("  " + paired(vals[s, "portredir-masq"], vals[s, "nftables-masq"], vals[s, "portredir-auto"],
	                            vals[s, "nftables"]))
	PY
		cat "$TMP/bulk$SFX.md"
		{
			echo "## TCP bulk (case 2, $TOPO): iperf3, ${SECS}s a run, client -> router -> server $VIA"
			echo
			cat "$TMP/bulk$SFX.md"
			echo
		} >>"$TMP/latest.md"
	fi

	if want 3; then
		echo "# case 3 ($TOPO): new TCP connections per second (wrk, Connection: close, against nginx)"
		mkdir -p "$TMP/www"
		echo ok >"$TMP/www/index.html"
		# nginx's worker runs unprivileged: without this every answer was a 403
		chmod 755 "$TMP" "$TMP/www" && chmod 644 "$TMP/www/index.html"
		cat >"$TMP/nginx.conf" <<-NGX
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
		# Nor on the client: behind the tap wrk closed first on most connections,
		# its TIME_WAITs filled the 14,000 ports one client has for one
		# destination within a few runs, and the rate fell to 500 connections/s
		# (on veth a few hundred TIME_WAITs, far from running out).
		in_ns "$NS_C" sysctl -qw net.ipv4.tcp_max_tw_buckets=0
		bg_ns "$NS_S" nginx -c "$TMP/nginx.conf" -g 'daemon off;'
		wait_until 5 listening "$NS_S" tcp 80 || { echo "bench: nginx did not start" >&2; exit 1; }
		url() { [ "$1" = routed ] && echo "http://$S_IP:80/" || echo "http://$R_CIP:8080/"; }
		for round in $(seq $ROUNDS); do
			for c in $CONTENDERS; do
				setup $c tcp 8080 80
				in_ns "$NS_C" timeout $((SECS + 15)) wrk -t1 -c16 -d${SECS}s -H "Connection: close" "$(url $c)" \
					>"$TMP/wrk.out" 2>/dev/null
				rps=$(awk '/^Requests\/sec:/ { print $2 }' "$TMP/wrk.out")
				# a run whose answers were errors measured something else: void
				grep -q 'Non-2xx' "$TMP/wrk.out" && { echo "#   $c: $(grep 'Non-2xx' "$TMP/wrk.out" | sed 's/^ *//'): void" >&2; rps=0; }
				teardown $c tcp 8080
				[ "$TOPO" = tap ] && { tap_alive || exit 1; }
				echo "$c ${rps:-0}" >>"$TMP/conn$SFX.raw"
				echo "#   round $round $c: ${rps:-FAILED} connections/s"
			done
		done
		python3 - "$TMP/conn$SFX.raw" "$TMP/conn$SFX.dat" "$TOPO" "$HERE/paired.py" >"$TMP/conn$SFX.md" <<-'PY'
	import sys, statistics
	topo = sys.argv[3]
	exec(open(sys.argv[4]).read())
	rows = [l.split() for l in open(sys.argv[1])]
	order = []
	for c, v in rows:
	    if c not in order: order.append(c)
	med = {c: [float(v) for x, v in rows if x == c] for c in order}
	n = statistics.median(med["nftables"])
	r = statistics.median(med["routed"]) if "routed" in med else 0  # BENCH_CONTENDERS may leave routed out
	out = open(sys.argv[2], "w")
	print("| contender | connections/s | ratio to nftables | ratio to routed |")
	print("|---|---|---|---|")
	for c in order:
	    v = med[c]; m = statistics.median(v)
	    print("| %s | %.0f (%.0f-%.0f) | %.2fx | %.2fx |" % (c, m, min(v), max(v), m / n if n else 0, m / r if r else 0))
	    out.write("%s %.1f\n" % (c, m))
	a = statistics.median(med["portredir-auto"])
	print()
	# issue 14: at least plain routing's ratio to nftables, measured in the same run
	if n and r:
	    print("* Target (%s): new connections/s in auto mode at least plain routing's ratio to nftables (%.2fx): %.2fx, %s." %
	          (topo, r / n, a / n, "met" if a >= r else "MISSED by %.0f%%" % (100 * (1 - a / r))))
	else:
	    print("* Target (%s): new connections/s: no nftables or routed figure in this run" % topo)
	if "portredir-masq" in med and "nftables-masq" in med and n:
	    f = statistics.median(med["portredir-masq"]) / statistics.median(med["nftables-masq"])
	    print("* Target (%s): full NAT new connections/s (--masquerade against nftables DNAT + masquerade) at least the DNAT ratio: %.2fx against %.2fx, %s." %
	          (topo, f, a / n, "met" if f >= a / n else "missed"))
	    print("  " + paired(med["portredir-masq"], med["nftables-masq"], med["portredir-auto"], med["nftables"]))
	print("* Client, server and router share this machine's cores, so the router's own cost is only part")
	print("  of what each connection costs.")
	PY
		cat "$TMP/conn$SFX.md"
		{
			echo "## New connections (case 3, $TOPO): wrk -c16 with Connection: close against nginx, ${SECS}s a run, $VIA"
			echo
			cat "$TMP/conn$SFX.md"
			echo
		} >>"$TMP/latest.md"
	fi
	if want 2 || want 3; then
		tap_down
		cleanup # servers, namespaces and pins, before the next topology
	fi
done

# ---- summary: every target line, then the plots ----
{
	echo "## Targets"
	echo
	grep -h '^#   tc established\|^#   established against the floor' "$TMP/datapath.txt" 2>/dev/null |
		sed 's/^#   /* Datapath: /'
	grep -h '^\* Target' "$TMP/pps.md" "$TMP/pps-tap.md" "$TMP/bulk.md" "$TMP/bulk-tap.md" "$TMP/conn.md" \
		"$TMP/conn-tap.md" "$TMP/ctl.md" 2>/dev/null
	echo
} >"$TMP/targets.md"
echo
cat "$TMP/targets.md"
cat "$TMP/targets.md" >>"$TMP/latest.md"

"$HERE/plot.sh" "$TMP" && echo "![results](latest.png)" >>"$TMP/latest.md"

if [ "$CASES" = "1 2 3 4 5" ] && [ "$TOPOS" = "veth tap" ]; then
	cp "$TMP/latest.md" "$RES/latest.md"
	rm -f "$RES"/*.dat
	cp "$TMP"/*.dat "$RES/" 2>/dev/null # the plot's data: tests/bench/plot.sh redraws it
	[ -f "$TMP/latest.png" ] && cp "$TMP/latest.png" "$RES/latest.png"
	echo "# results in tests/bench/results/latest.md"
else
	echo "# CASES=\"$CASES\" BENCH_TOPO=\"$TOPOS\" is a partial run: tests/bench/results/ left as it was"
fi
