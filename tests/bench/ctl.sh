#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Benchmark case 5, the control plane: time to load 100,000 rules with `portredir apply` against `nft -f` loading the same mapping as one nftables map. Usage: tests/bench/ctl.sh OUTDIR [ROUNDS]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: tests/bench/ctl.sh OUTDIR [ROUNDS]}
ROUNDS=${2:-5}
N=100000
TAG=prctl$$
source "$HERE/../lib.sh"
TMP=$(mktemp -d /tmp/portredir-ctl.XXXXXX)
trap 'cleanup; rm -rf "$TMP"' EXIT

[ "$(id -u)" -eq 0 ] || { echo "ctl.sh: run as root" >&2; exit 1; }
command -v nft >/dev/null || { echo "ctl.sh: nft missing (make deps BENCH=1 installs nftables)" >&2; exit 1; }
[ -x "$PR_BIN" ] || { echo "ctl.sh: $PR_BIN missing; run make first" >&2; exit 1; }
case "$ROUNDS" in '' | *[!0-9]* | 0) echo "ctl.sh: ROUNDS must be a positive number" >&2; exit 1 ;; esac
mkdir -p "$OUT" || exit 1
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ip netns add "$NS_R" || { echo "ctl.sh: cannot create namespace $NS_R" >&2; exit 1; }
in_ns "$NS_R" ip link add rc type veth peer name rc_p
in_ns "$NS_R" ip link set rc up

# The same mapping three times, as portredir rule files and as nftables
# tables: 100,000 listens (198.51.100.1 ports 1-60000, then 198.51.100.2),
# each to a target in 203.0.113.0/24. "1pct" changes 1% of it: 600 targets
# move, 200 rules go and 200 new ones come.
python3 - "$TMP" "$N" <<'PY'
import sys
tmp, n = sys.argv[1], int(sys.argv[2])
base = []
for i in range(n):
    base.append(("198.51.100.%d" % (1 + i // 60000), 1 + i % 60000, "203.0.113.%d" % (1 + i % 254), 1024 + i % 50000))
step = n // 1000  # spread the changes over the table
pct = list(base)
for k in range(600):
    la, lp, ta, tp = pct[k * step]
    pct[k * step] = (la, lp, "203.0.113.%d" % (1 + (k + 100) % 254), tp + 1)
gone = {k * step + 1 for k in range(200)}
pct = [r for i, r in enumerate(pct) if i not in gone]
pct += [("198.51.100.3", 1 + k, "203.0.113.%d" % (1 + k % 254), 8000 + k) for k in range(200)]
for name, rules in (("base", base), ("1pct", pct)):
    with open("%s/%s.rules" % (tmp, name), "w") as f:
        f.writelines("tcp %s:%d %s:%d\n" % r for r in rules)
    with open("%s/%s.nft" % (tmp, name), "w") as f:
        # "table + delete table" first makes the file replace the table in one transaction
        f.write("table ip prctl\ndelete table ip prctl\n")
        f.write("table ip prctl {\n\tchain pre {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n")
        f.write("\t\tdnat ip to ip daddr . tcp dport map {\n")
        f.write(",\n".join("\t\t\t%s . %d : %s . %d" % r for r in rules))
        f.write("\n\t\t}\n\t}\n}\n")
PY
[ -s "$TMP/base.rules" ] && [ -s "$TMP/1pct.nft" ] || { echo "ctl.sh: cannot generate the rule files" >&2; exit 1; }

# timed CMD...: wall seconds of CMD (its output kept in $TMP/last.out), or
# "FAIL" when it fails or runs past 120 s.
timed() {
	local t0 t1
	t0=$(date +%s%N)
	if ! timeout 120 "$@" >"$TMP/last.out" 2>&1; then
		echo "# FAILED: $* : $(tail -1 "$TMP/last.out")" >&2
		echo FAIL
		return
	fi
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'
}

# What an operator runs on the router (timeout needs commands, not functions).
PRC=(nsenter --net=/run/netns/"$NS_R" "$PR_BIN" --pin-dir "$PIN")
NFT=(nsenter --net=/run/netns/"$NS_R" nft)

# A fresh state each round: new maps, attached to a veth, for portredir; no
# table for nftables. Only the loads themselves are timed.
run_portredir() {
	local t
	pr detach rc >/dev/null 2>&1
	rm -rf "$PIN"
	pr attach rc --mode tc >/dev/null || { echo "ctl.sh: attach failed" >&2; return 1; }
	t=$(timed "${PRC[@]}" apply "$TMP/base.rules")
	grep -q "^added $N, " "$TMP/last.out" || t=FAIL
	echo "portredir-load $t" >>"$TMP/raw"
	t=$(timed "${PRC[@]}" apply "$TMP/base.rules")
	grep -q "unchanged $N " "$TMP/last.out" || t=FAIL
	echo "portredir-noop $t" >>"$TMP/raw"
	t=$(timed "${PRC[@]}" apply "$TMP/1pct.rules")
	grep -q "^added 200, replaced 600, deleted 200, " "$TMP/last.out" || t=FAIL
	echo "portredir-1pct $t" >>"$TMP/raw"
	pr apply /dev/null >/dev/null
}
run_nft() {
	in_ns "$NS_R" nft delete table ip prctl 2>/dev/null
	echo "nft-load $(timed "${NFT[@]}" -f "$TMP/base.nft")" >>"$TMP/raw"
	echo "nft-noop $(timed "${NFT[@]}" -f "$TMP/base.nft")" >>"$TMP/raw"
	echo "nft-1pct $(timed "${NFT[@]}" -f "$TMP/1pct.nft")" >>"$TMP/raw"
	in_ns "$NS_R" nft delete table ip prctl 2>/dev/null
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq "$ROUNDS"); do
	# alternate which contender goes first
	if [ $((round % 2)) -eq 1 ]; then run_portredir; run_nft; else run_nft; run_portredir; fi
	echo "# round $round: $(tail -6 "$TMP/raw" | tr '\n' ' ')"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$TMP/raw" "$OUT/ctl.dat" "$ROUNDS" "$N" "$load_before" "$load_after" >"$OUT/ctl.md" <<'PY'
import sys, statistics, os
raw, dat, rounds, n, lb, la = sys.argv[1:7]
vals = {}
for line in open(raw):
    c, v = line.split()
    vals.setdefault(c, []).append(None if v == "FAIL" else float(v))
def stat(c):
    v = [x for x in vals.get(c, []) if x is not None]
    if not v:
        return None
    return statistics.median(v), min(v), max(v), len(vals[c]) - len(v)
def cell(s):
    return "failed" if s is None else "%.3f (%.3f-%.3f)%s" % (s[0], s[1], s[2], ", %d failed" % s[3] if s[3] else "")
rows = [("load %s rules into an empty table" % format(int(n), ","), "load"),
        ("same file again (no-op for portredir; nft reloads the table)", "noop"),
        ("change 1%: 600 targets, 200 gone, 200 new", "1pct")]
print("## Control plane (case 5): loading %s rules" % format(int(n), ","))
print()
print("`portredir apply FILE` against `nft -f FILE` loading the same mapping as one map")
print("(`dnat ip to ip daddr . tcp dport map { ... }` in a prerouting nat chain; the file")
print("replaces the table in one transaction). Wall seconds, process start included: median")
print("(min-max) of %s rounds, each on a fresh table, the contenders alternating. Machine: %d CPUs," % (rounds, os.cpu_count()))
print("kernel %s; load average %s before, %s after." % (os.uname().release, lb, la))
print()
print("| operation | portredir apply (s) | nft -f (s) | portredir / nft |")
print("|---|---|---|---|")
out = open(dat, "w")
for label, key in rows:
    p, f = stat("portredir-" + key), stat("nft-" + key)
    ratio = "%.2fx" % (p[0] / f[0]) if p and f and f[0] else "-"
    print("| %s | %s | %s | %s |" % (label, cell(p), cell(f), ratio))
    for c, s in (("portredir-" + key, p), ("nft-" + key, f)):
        out.write("%s %.3f\n" % (c, s[0] if s else 0))
print()
p = stat("portredir-load")
if p is None:
    print("* Target: 100k rules in at most 1 s: no data, MISSED.")
else:
    m = p[0]
    print("* Target: 100k rules in at most 1 s: %.3f s, %s by %.0f%%." % (m, "met" if m <= 1.0 else "MISSED", abs(1.0 - m) * 100))
PY
cat "$OUT/ctl.md"
