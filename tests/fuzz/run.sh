#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs the datapath fuzzer: `run.sh check` a short fixed-seed run as KTAP, `run.sh SECONDS` a timed run with findings kept.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
BIN=$O/fuzz_datapath
MODE=${1:-check}
CHECK_RUNS=${FUZZ_CHECK_RUNS:-1500}

# libFuzzer's runtime, from libclang-rt-14-dev
have_libfuzzer() {
	local dir
	dir=$(clang -print-resource-dir 2>/dev/null) || return 1
	ls "$dir"/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1
}

# The counts line the harness prints at exit, or nothing.
summary() { grep -m1 '^portredir fuzz: [0-9]* inputs' "$1" | sed 's/^portredir fuzz: //'; }

if [ "$MODE" = check ]; then
	echo "TAP version 13"
	echo "1..1"
	if [ ! -x "$BIN" ]; then
		if have_libfuzzer; then
			echo "not ok 1 - harness $BIN did not build (make $BIN shows why)"; exit 1
		fi
		echo "ok 1 - fixed-seed run # SKIP libFuzzer not available (apt-get install libclang-rt-14-dev, or make deps)"
		exit 4
	fi
	tmp=$(mktemp -d /tmp/pr_fuzz.XXXXXX)
	trap 'rm -rf "$tmp"' EXIT
	mkdir "$tmp/corpus"
	PR_FUZZ_SEEDS=$tmp/corpus "$BIN" -seed=1 -runs="$CHECK_RUNS" -max_total_time=25 -max_len=2049 \
		-artifact_prefix="$tmp/" "$tmp/corpus" >"$tmp/log" 2>&1
	rc=$?
	s=$(summary "$tmp/log")
	if [ "$rc" -eq 0 ] && [ -n "$s" ]; then
		echo "ok 1 - seed 1, $s"
		exit 0
	fi
	grep -A3 'VIOLATION\|ERROR\|portredir fuzz:' "$tmp/log" | head -20 | sed 's/^/# /'
	echo "not ok 1 - seed 1, $CHECK_RUNS runs: exit status $rc (a violation or a crash; its input is printed above)"
	exit 1
fi

case "$MODE" in *[!0-9]*|'') echo "usage: tests/fuzz/run.sh check|SECONDS" >&2; exit 2 ;; esac
[ -x "$BIN" ] || { echo "tests/fuzz/run.sh: $BIN is missing; run 'make fuzz'" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "tests/fuzz/run.sh: needs root (BPF_PROG_TEST_RUN)" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mkdir -p "$O/fuzz-corpus" "$O/fuzz-findings"
log=$O/fuzz-findings/last.log
stamp=$O/fuzz-findings/.start
touch "$stamp"
PR_FUZZ_SEEDS=$O/fuzz-corpus "$BIN" -max_total_time="$MODE" -max_len=2049 -print_final_stats=1 \
	-artifact_prefix="$O/fuzz-findings/" "$O/fuzz-corpus" >"$log" 2>&1
rc=$?
echo "fuzz: ${MODE}s: $(summary "$log")"
grep -m1 'stat::number_of_executed_units' "$log" | sed 's/^stat::/fuzz: libFuzzer /'
if [ "$rc" -ne 0 ]; then
	grep -A3 'VIOLATION\|ERROR' "$log" | head -20
	echo "fuzz: FINDING (exit $rc): $(find "$O/fuzz-findings" -newer "$stamp" -name 'crash-*' | head -1)" \
		"(replay: $BIN FILE); log $log"
	exit 1
fi
echo "fuzz: 0 findings (corpus $O/fuzz-corpus, log $log)"
