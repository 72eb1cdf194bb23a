#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs every suite and merges them into one KTAP stream ending in "N passed, N failed". Usage: tests/run.sh [unit|integration]
set -u
cd "$(dirname "$0")/.."
O=${O:-build}
export O
WHAT=${1:-all}

# Without root only the root-free suites run; the rest is one skip.
ROOT=yes; [ "$(id -u)" -eq 0 ] || ROOT=
bins=("$O/test_rules"); [ -n "$ROOT" ] && bins+=("$O/portredir" "$O/test_datapath")
for b in "${bins[@]}"; do
	[ -x "$b" ] || { echo "tests/run.sh: $b is missing; run 'make' first" >&2; exit 1; }
done
if [ -n "$ROOT" ]; then
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	# libbpf before 1.2 does not lift RLIMIT_MEMLOCK on kernels that still charge it (< 5.11).
	ulimit -l unlimited 2>/dev/null || true
fi

suites=()
[ "$WHAT" = integration ] || suites+=("rules:$O/test_rules")
[ "$WHAT" = integration ] || [ -z "$ROOT" ] || suites+=("unit:$O/test_datapath" "fuzz:tests/fuzz/run.sh check")
if [ "$WHAT" != unit ] && [ -n "$ROOT" ]; then
	suites+=("cli:tests/integration/cli.sh" "apply:tests/integration/apply.sh" "install:tests/integration/install.sh" "coexist:tests/integration/coexist.sh" "service:tests/integration/service.sh")
	for m in tc native generic; do suites+=("redirect-$m:tests/integration/redirect.sh $m"); done
	# local clients (socket hooks): the attach mode decides how a frame from outside meets a loopback rule
	for m in tc native generic; do suites+=("local-$m:tests/integration/local.sh $m"); done
	for m in tc native generic; do suites+=("nat-$m:tests/integration/nat.sh $m"); done
	# check: test runs on private state and the host settings in the way, live flows across it
	suites+=("check:tests/integration/check.sh")
	# portredir monitor: the datapath's events (the XDP modes run redirect.sh's case_monitor)
	suites+=("monitor:tests/integration/monitor.sh tc")
	# this build attached over the previous release under live flows
	suites+=("upgrade:tests/integration/upgrade.sh")
	# this build migrating the previous schema's maps under live flows, interrupted and resumed
	suites+=("migrate:tests/integration/migrate.sh")
	# the CNI plugin with Debian's bridge plugin (and portmap beside it), then under podman
	suites+=("cni:tests/integration/cni.sh" "podman:tests/integration/podman.sh")
	# man pages and bash completion against the CLI's own usage
	suites+=("docs:tests/integration/docs.sh")
fi
# PR_SKIP="NAME...": suites not run, each reported as one skip (CI's VM stage
# leaves out those that test nothing of the kernel: its host stage runs them).
skipped=()
if [ -n "${PR_SKIP:-}" ]; then
	kept=()
	for s in "${suites[@]}"; do
		if [[ " $PR_SKIP " == *" ${s%%:*} "* ]]; then skipped+=("${s%%:*}"); else kept+=("$s"); fi
	done
	suites=("${kept[@]}")
fi

N=0 PASS=0 FAIL=0 SKIP=0
# Suites run in PR_JOBS lanes at once (default: the CPU count, at most 2;
# PR_JOBS=1 streams each suite's lines as they come). Every suite has its
# own namespaces, pin dir and files, so lanes share nothing; the report
# keeps the suites' order. A suite's time limit: 300 s on a fast host, times
# this machine's measured slowness (tests/lib.sh pr_scale, which
# KSFT_MACHINE_SLOW=yes stretches) and the number of lanes; the suites
# inherit that PR_SCALE for their own waits, which only ever bound a wait
# for a condition, so a larger one slows a failing check, never a passing one.
JOBS=${PR_JOBS:-$(nproc 2>/dev/null || echo 1)}
case "$JOBS" in '' | *[!0-9]* | 0) JOBS=1 ;; esac
[ "$JOBS" -gt 2 ] && [ -z "${PR_JOBS:-}" ] && JOBS=2
source tests/lib.sh
PR_SCALE=$((PR_SCALE * JOBS))
export PR_SCALE
LIMIT=$((300 * PR_SCALE))
echo "# kernel $(uname -r)${KSFT_MACHINE_SLOW:+, KSFT_MACHINE_SLOW=$KSFT_MACHINE_SLOW}, $JOBS lane(s), time scale x$PR_SCALE (suite limit ${LIMIT} s)"
echo "TAP version 13"

# run_suite CMD: the suite's output, then its exit status and time in seconds.
run_suite() {
	local t0=$(date +%s)
	timeout $LIMIT $1 2>&1
	echo "# suite-exit $?"
	echo "# suite-time $(( $(date +%s) - t0 ))"
}

# report NAME: a suite's lines renumbered into the one stream, and its verdict.
report() {
	local name=$1 before=$N fails_at_start=$FAIL rc=0 secs=0 line
	while IFS= read -r line; do
		case "$line" in
		"TAP version"*|1..*|"# Totals:"*|"# unit:"*|"# rules:"*) ;;
		"ok "*"# SKIP"*) N=$((N + 1)); SKIP=$((SKIP + 1)); echo "ok $N - $name: ${line#* - }" ;;
		"ok "*) N=$((N + 1)); PASS=$((PASS + 1)); echo "ok $N - $name: ${line#* - }" ;;
		"not ok "*) N=$((N + 1)); FAIL=$((FAIL + 1)); echo "not ok $N - $name: ${line#* - }" ;;
		"# suite-exit "*) rc=${line#\# suite-exit } ;;
		"# suite-time "*) secs=${line#\# suite-time } ;;
		*) echo "$line" ;;
		esac
	done
	# a suite that died (or timed out) without reporting a failure still fails
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 4 ] && [ "$FAIL" -eq "$fails_at_start" ]; then
		N=$((N + 1)); FAIL=$((FAIL + 1)); echo "not ok $N - $name: suite exited with status $rc"
	fi
	echo "# suite $name: $secs s"
	if [ "$N" -eq "$before" ]; then
		N=$((N + 1)); FAIL=$((FAIL + 1)); echo "not ok $N - $name: suite reported no results"
	fi
}

if [ "$JOBS" -eq 1 ]; then
	for s in "${suites[@]}"; do
		echo "# suite ${s%%:*}: ${s#*:}"
		report "${s%%:*}" < <(run_suite "${s#*:}")
	done
else
	OUT=$(mktemp -d /tmp/portredir-run.XXXXXX)
	declare -a PID
	launched=0
	trap 'for p in "${PID[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$OUT"' EXIT
	for i in "${!suites[@]}"; do
		# keep the next JOBS suites running while this one is reported
		while [ "$launched" -lt $((i + JOBS)) ] && [ "$launched" -lt "${#suites[@]}" ]; do
			run_suite "${suites[$launched]#*:}" >"$OUT/$launched" &
			PID[$launched]=$!
			launched=$((launched + 1))
		done
		wait "${PID[$i]}"
		echo "# suite ${suites[$i]%%:*}: ${suites[$i]#*:}"
		report "${suites[$i]%%:*}" <"$OUT/$i"
	done
fi
for s in "${skipped[@]}"; do
	N=$((N + 1)); SKIP=$((SKIP + 1))
	echo "ok $N - $s # SKIP in PR_SKIP (not run here)"
done
if [ -z "$ROOT" ]; then
	N=$((N + 1)); SKIP=$((SKIP + 1))
	echo "ok $N - datapath and integration suites # SKIP needs root (BPF, namespaces): run 'sudo make check'"
fi
echo "1..$N"
echo "# Totals: pass:$PASS fail:$FAIL xfail:0 xpass:0 skip:$SKIP error:0"
echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -gt 0 ] && exit 1
[ -z "$ROOT" ] && exit 4
[ "$PASS" -eq 0 ] && [ "$SKIP" -gt 0 ] && exit 4
exit 0
