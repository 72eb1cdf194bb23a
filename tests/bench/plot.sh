#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Draw DIR/latest.png from the .dat files a `make bench` run leaves in DIR (tests/bench/results keeps them). Usage: tests/bench/plot.sh DIR
set -u
D=${1:?usage: tests/bench/plot.sh DIR}
command -v gnuplot >/dev/null || { echo "plot: gnuplot missing (make deps BENCH=1)" >&2; exit 1; }
bars="set style data histograms; set style fill solid 0.8; set xtics rotate by -30; unset logscale x; set yrange [0:*]"
plots=()
[ -s "$D/pps.dat" ] && plots+=("set title 'Case 1: 64-byte UDP delivered (Mpps, median)'; $bars; plot '$D/pps.dat' using 2:xtic(1) notitle")
[ -s "$D/bulk.dat" ] && plots+=("set title 'Case 2: TCP bulk (Gbit/s, median)'; $bars; plot '$D/bulk.dat' using 2:xtic(1) title '1 stream', '' using 3 title '4 streams'")
[ -s "$D/conn.dat" ] && plots+=("set title 'Case 3: new TCP connections/s (median)'; $bars; plot '$D/conn.dat' using 2:xtic(1) notitle")
[ -s "$D/datapath.dat" ] && plots+=("set title 'Case 4: datapath ns/packet vs rules (1M conntrack entries)'; set style data linespoints; set logscale x; set xtics norotate; set yrange [0:*]; plot '$D/datapath.dat' using 1:3 title 'xdp established', '' using 1:5 title 'xdp non-matching', '' using 1:6 title 'tc established', '' using 1:8 title 'tc reply', '' using 1:7 title 'tc non-matching'")
[ -s "$D/ctl.dat" ] && plots+=("set title 'Case 5: seconds to load 100,000 rules (median)'; $bars; plot '$D/ctl.dat' using 2:xtic(1) notitle")
n=${#plots[@]}
[ "$n" -gt 0 ] || { echo "plot: no .dat files in $D" >&2; exit 1; }
cols=$((n < 3 ? n : 3)) rows=$((n > 3 ? 2 : 1))
{
	echo "set terminal pngcairo size $((440 * cols)),$((420 * rows))"
	echo "set output '$D/latest.png'"
	echo "set key top left; set boxwidth 0.8"
	echo "set multiplot layout $rows,$cols"
	printf '%s\n' "${plots[@]}"
	echo "unset multiplot"
} | gnuplot
