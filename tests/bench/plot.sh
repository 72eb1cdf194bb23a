#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Draw DIR/latest.png from the .dat files a `make bench` run leaves in DIR (tests/bench/results keeps them). Usage: tests/bench/plot.sh DIR
set -u
D=${1:?usage: tests/bench/plot.sh DIR}
command -v gnuplot >/dev/null || { echo "plot: gnuplot missing (make deps BENCH=1)" >&2; exit 1; }
bars="set style data histograms; set style fill solid 0.8; set xtics rotate by -30; unset logscale x; set yrange [0:*]"
plots=()
# series NAME COLS...: the plot clauses of NAME.dat (veth) and NAME-tap.dat (tap)
# that exist, each column COL as "using COL title LABEL"; the first names the x tics
series() {
	local name=$1 f t col label out= first=1; shift
	for t in veth tap; do
		f=$D/$name$([ $t = tap ] && echo -tap).dat
		[ -s "$f" ] || continue
		for col in "$@"; do
			label=
			case "$col" in *:*) label=${col#*:} col=${col%%:*} ;; esac
			out+="${out:+, }'$f' using $col$([ $first = 1 ] && echo ':xtic(1)') title '$t${label:+ $label}'"
			first=0
		done
	done
	echo "$out"
}
p=$(series pps 2) && [ -n "$p" ] && plots+=("set title 'Case 1: 64-byte UDP delivered (Mpps, median)'; $bars; plot $p")
p=$(series bulk "2:1 stream" "3:4 streams") && [ -n "$p" ] && plots+=("set title 'Case 2: TCP bulk (Gbit/s, median)'; $bars; plot $p")
p=$(series conn 2) && [ -n "$p" ] && plots+=("set title 'Case 3: new TCP connections/s (median)'; $bars; plot $p")
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
