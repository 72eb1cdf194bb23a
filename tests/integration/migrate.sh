#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Migration across map schemas under live flows: the previous schema's build (build/prev-schema, schema 4) attaches and carries a TCP and a UDP stream, then this build migrates its maps, interrupted by a failure, a kill while copying and a kill while renaming, each repaired by the next attach or apply; the streams carry on byte for byte, rules, allowlists, counters and conntrack carry over, and a newer or unknown schema is refused in one line with no change.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TAG=prmig$$
source "$HERE/../lib.sh"
TMP=$(mktemp -d /tmp/portredir-mig.XXXXXX)
PIN_X=/sys/fs/bpf/${TAG}x
trap 'cleanup; rm -rf "$TMP" "$PIN_X"' EXIT
OLD_BIN=$PR_BUILD/prev-schema/portredir
old() { in_ns "$NS_R" "$OLD_BIN" --pin-dir "$PIN" "$@"; }
# traced CMD...: this build under strace, its bpf() calls into $TMP/trace
traced() { in_ns "$NS_R" strace -f -qq -o "$TMP/trace" -e trace=bpf,mkdir,mkdirat,rename,renameat,renameat2,sendto,sendmsg "$@" "$PR_BIN" --pin-dir "$PIN" ${CMD[@]}; }
one_line() { [ "$(printf '%s\n' "$1" | wc -l)" = 1 ] && echo yes || echo "no: $1"; }
pins() { (cd "$1" && find . | sort); }

tap_plan
echo "# namespaces $NS_C $NS_R $NS_S, pin dir $PIN, schema 4 build $OLD_BIN, time scale x$PR_SCALE"
older_build "$OLD_BIN" "the previous schema's build" || { tap_done; exit $?; }
if ! command -v strace >/dev/null; then
	not_ok "strace is there (make deps installs it): the interrupted migrations inject failures and kills with it"
	tap_done; exit $?
fi
topo_up || { echo "Bail out! cannot build namespaces"; exit 1; }

stream_servers

# ---- schema 4, with live flows ----
out=$(old attach rc --mode tc 2>&1 && old attach rs --mode generic 2>&1 &&
	old add tcp :8080 $S_IP:80 --name web --allow 198.51.100.0/24 --allow 192.0.2.128/25 2>&1 &&
	old add udp :5353 $S_IP:53 --name dns 2>&1 &&
	old add tcp :9000-9009 $S_IP:7000 --name range --allow 192.0.2.0/24 --deny-action drop 2>&1)
check "the schema 4 build attaches rc (tc) and rs (generic) and adds three rules, two with allowlists" test $? -eq 0 || diag "$out"
expect_eq "the previous schema's build makes schema 4 maps" "map schema 4" "$(old --version | grep -o 'map schema [0-9]*')"
streams_begin "both streams run through the schema 4 programs"
sleep 1
rules_of() { json_get '[.[] | {name, proto, listen, target, allow}] | sort_by(.name)'; }
rules_before=$(old -j list | rules_of)
flows_of() { json_get '.[] | "\(.proto) \(.client) \(.listen) \(.target) \(.rule) \(.state)"' | sort; }
ct_before=$(old -j conntrack list)
stats_before=$(old -j stats)
pkts_before=$(json_get '.rules[] | select(.name == "web") | .packets_in' <<<"$stats_before")
flows_before=$(json_get '.rules[] | select(.name == "web") | .flows' <<<"$stats_before")
fwd_before=$(json_get '.global.xlate_forward' <<<"$stats_before")
pins_before=$(pins "$PIN")

# ---- refusals that change nothing ----
out=$(pr status 2>&1); rc=$?
expect_begin "status of this build refuses the schema 4 pin dir in one line naming the commands that migrate"
expect_eq "exit status" 1 "$rc"
expect_eq "one line" yes "$(one_line "$out")"
expect_contains "message" "have schema 4, this portredir needs 5: run 'portredir attach' or 'portredir apply' to migrate them" "$out"
expect_end
printf '%s\n' "interface rc --mode tc" "interface rs --mode generic" \
	"tcp :8080 $S_IP:80 --name web --allow 198.51.100.0/24 --allow 192.0.2.128/25" "udp :5353 $S_IP:53 --name dns" \
	"tcp :9000-9009 $S_IP:7000 --name range --allow 192.0.2.0/24 --deny-action drop" >"$TMP/conf"
out=$(pr apply --dry-run "$TMP/conf" 2>&1); rc=$?
expect_begin "apply --dry-run refuses it too: a dry run migrates nothing"
expect_eq "exit status" 1 "$rc"
expect_contains "message" "have schema 4" "$out"
expect_eq "pin dir unchanged" "$pins_before" "$(pins "$PIN")"
expect_end

# a failure before the first staged map (mkdir of PIN/migrating refused)
CMD=(attach rc --mode tc)
out=$(traced -e inject=mkdir,mkdirat:error=EACCES:when=1 2>&1); rc=$?
pre=$(grep -c '^[0-9]* *bpf(' "$TMP/trace")
expect_begin "a migration that fails before staging says why in one line and changes nothing"
expect_eq "exit status" 1 "$rc"
expect_contains "message" "cannot create $PIN/migrating" "$out"
expect_eq "pin dir unchanged" "$pins_before" "$(pins "$PIN")"
expect_contains "the schema 4 build still runs it" "rc" "$(old status 2>&1)"
expect_end

# kill -9 while the staged maps are made: the old programs run on, the next
# command says what to run, and that command starts over
out=$(traced -e inject=bpf:signal=KILL:when=$((pre + 6)) 2>&1); rc=$?
out2=$(pr list 2>&1); rc2=$?
expect_begin "killed while copying (bpf() call $((pre + 6))): a staging dir is left, and list refuses in one line saying to run attach or apply"
expect_eq "killed" 137 "$rc"
expect_eq "staging dir" yes "$([ -d "$PIN/migrating" ] && echo yes)"
expect_eq "exit status" 1 "$rc2"
expect_eq "one line" yes "$(one_line "$out2")"
expect_contains "message" "holds an unfinished migration to schema 5: run 'portredir attach' or 'portredir apply' to finish it" "$out2"
expect_end

# kill -9 in the switch, at its fifth netlink message (TC's queries and
# replacements): some programs run on the staged maps, some on the old ones
out=$(traced -e inject=sendto,sendmsg:signal=KILL:when=5 2>&1); rc=$?
out2=$(pr list 2>&1); rc2=$?
expect_begin "killed while switching the programs: list refuses in one line, and new flows work"
expect_eq "killed" 137 "$rc"
expect_eq "staging dir" yes "$([ -d "$PIN/migrating" ] && echo yes)"
expect_eq "exit status" 1 "$rc2"
expect_contains "message" "unfinished migration" "$out2"
expect_eq "a new flow works meanwhile" "A $C_IP hello" "$(tcp_req "$NS_C" $R_CIP 8080 | tr -d '\n')"
expect_end

# kill -9 at the fifth rename (of eleven): this build's programs run on the
# staged maps, pr_ct among the pins moved, pr_rstats not; the next command finishes
CMD=(attach rc --mode tc)
out=$(traced -e inject=rename,renameat,renameat2:signal=KILL:when=5 2>&1); rc=$?
diag "left in the staging dir: $(ls "$PIN/migrating" | tr '\n' ' ')"
st=$(pr status 2>&1); rc2=$?
expect_begin "killed at the fifth rename: status refuses in one line, and new flows work"
expect_eq "killed" 137 "$rc"
expect_eq "exit status" 1 "$rc2"
expect_eq "one line" yes "$(one_line "$st")"
expect_contains "message" "unfinished migration" "$st"
expect_eq "a new flow works meanwhile" "A $C_IP hello" "$(tcp_req "$NS_C" $R_CIP 8080 | tr -d '\n')"
expect_end

out=$(pr apply --keep-flows "$TMP/conf" 2>&1); rc=$?
expect_begin "apply finishes the migration and finds every rule as the file says"
expect_eq "exit status" 0 "$rc"
expect_contains "note" "finished the migration of $PIN from schema 4 to 5 that an earlier command began" "$out"
expect_contains "rules" "added 0, replaced 0, deleted 0, unchanged 3" "$out"
expect_contains "interfaces" "unchanged 2" "$out"
expect_eq "no staging dir" no "$([ -e "$PIN/migrating" ] && echo yes || echo no)"
expect_end
st=$(pr -j status)
expect_begin "status: schema 5 maps, both interfaces on this build's programs, nothing to repair"
expect_eq "rc build" "this" "$(json_get '.interfaces[] | select(.interface == "rc") | .build' <<<"$st")"
expect_eq "rs build" "this" "$(json_get '.interfaces[] | select(.interface == "rs") | .build' <<<"$st")"
expect_eq "rc ok" true "$(json_get '.interfaces[] | select(.interface == "rc") | .ok' <<<"$st")"
expect_eq "rs ok" true "$(json_get '.interfaces[] | select(.interface == "rs") | .ok' <<<"$st")"
expect_eq "the schema 4 build now refuses it" 1 "$(old status >/dev/null 2>&1; echo $?)"
expect_contains "the records and the datapath maps agree" "tables: consistent" "$(pr status)"
expect_no_match "nothing unfinished" "did not finish" "$(pr status)"
expect_end
expect_eq "rules and allowlists carried over" "$rules_before" "$(pr -j list | rules_of)"
stats_after=$(pr -j stats)
expect_begin "counters carried over"
expect_ge "web: packets in" "$pkts_before" "$(json_get '.rules[] | select(.name == "web") | .packets_in' <<<"$stats_after")"
expect_eq "web: flows, the stream's and the two opened meanwhile" "$((flows_before + 2))" \
	"$(json_get '.rules[] | select(.name == "web") | .flows' <<<"$stats_after")"
expect_ge "global: forward packets translated" "$fwd_before" "$(json_get '.global.xlate_forward' <<<"$stats_after")"
expect_end
ct_after=$(pr -j conntrack list)
expect_begin "the streams' conntrack entries carried over"
expect_eq "flows before (the two streams)" 2 "$(flows_of <<<"$ct_before" | grep -c " $C_IP:")"
expect_eq "flows missing after" "" "$(comm -23 <(flows_of <<<"$ct_before") <(flows_of <<<"$ct_after"))"
expect_end

streams_end "the TCP and UDP streams opened on schema 4 carried on through all of it, no exchange lost or changed"
expect_eq "new flows work after the migration" "A $C_IP hello|U $C_IP hello" \
	"$(tcp_req "$NS_C" $R_CIP 8080 | tr -d '\n')|$(udp_req "$NS_C" $R_CIP 5353 <<<hello 2>&1 | tr -d '\n')"

# ---- in one go: schema 4 again, with new streams, and one attach of this build ----
pr detach --all >/dev/null 2>&1
rm -rf "$PIN"
out=$(old attach rc --mode tc 2>&1 && old attach rs --mode generic 2>&1 &&
	old add tcp :8080 $S_IP:80 --name web 2>&1 && old add udp :5353 $S_IP:53 --name dns 2>&1)
check "schema 4 again: rc (tc), rs (generic), a TCP and a UDP rule" test $? -eq 0 || diag "$out"
streams_begin "both new streams run through the schema 4 programs"
sleep 0.5
out=$(pr attach rc --mode tc 2>&1); rc=$?
diag "$out"
expect_begin "one attach migrates it, switches both interfaces and says what it carried over"
expect_eq "exit status" 0 "$rc"
expect_match "note" "^portredir: attach: migrated $PIN from schema 4 to 5: 2 rules and 2 flows carried over, 2 interfaces on this build's programs; [0-9]+ flows caught in the [0-9]+ ms switch window$" "$out"
expect_contains "then the attach" "already attached to rc in tc mode" "$out"
expect_eq "no staging dir" no "$([ -e "$PIN/migrating" ] && echo yes || echo no)"
expect_eq "status: both on this build" "this this" "$(pr -j status | json_get '[.interfaces[].build] | join(" ")')"
expect_contains "status: the records and the datapath maps agree, no change left unfinished" "tables: consistent" "$(pr status)"
expect_no_match "status: nothing unfinished" "did not finish" "$(pr status)"
expect_end
sleep 0.5
streams_end "the streams carried on through it, no exchange lost or changed"
expect_eq "the web rule counted its one flow, carried over" 1 \
	"$(pr -j stats | json_get '.rules[] | select(.name == "web") | .flows')"

# ---- add migrates too: a schema 4 pin dir with a rule and no interface ----
ln_x() { in_ns "$NS_R" "$PR_BIN" --pin-dir "$PIN_X" "$@"; }
in_ns "$NS_R" "$OLD_BIN" --pin-dir "$PIN_X" add tcp :1 $S_IP:1 --name x >/dev/null 2>&1
# an interface of another network namespace (the client's) in it first
in_ns "$NS_C" "$OLD_BIN" --pin-dir "$PIN_X" attach c0 --mode tc >/dev/null 2>&1
px=$(pins "$PIN_X")
out=$(ln_x add tcp :2 $S_IP:2 --name y 2>&1); rc=$?
expect_begin "interfaces attached in another network namespace: add refuses in one line and changes nothing"
expect_eq "exit status" 1 "$rc"
expect_eq "one line" yes "$(one_line "$out")"
expect_contains "message" "1 interface(s) are attached in another network namespace" "$out"
expect_eq "pin dir unchanged" "$px" "$(pins "$PIN_X")"
expect_end
in_ns "$NS_C" "$OLD_BIN" --pin-dir "$PIN_X" detach c0 >/dev/null 2>&1
out=$(ln_x add tcp :2 $S_IP:2 --name y 2>&1); rc=$?
diag "$out"
expect_begin "add migrates a schema 4 pin dir and then adds"
expect_eq "exit status" 0 "$rc"
expect_contains "note" "migrated $PIN_X from schema 4 to 5: 1 rules and 0 flows carried over, 0 interfaces" "$out"
expect_eq "rules" "x y" "$(ln_x -j list | json_get '[.[].name] | sort | join(" ")')"
expect_end
# killed after the last rename (pr_info's), before the staging dir went
mkdir "$PIN_X/migrating"
out=$(ln_x list 2>&1); rc=$?
out2=$(ln_x add tcp :3 $S_IP:3 --name z 2>&1); rc2=$?
expect_begin "a staging dir left after the last rename: list refuses, add removes it and adds"
expect_eq "list's exit status" 1 "$rc"
expect_contains "list's message" "unfinished migration" "$out"
expect_eq "add's exit status" 0 "$rc2"
expect_eq "no staging dir" no "$([ -e "$PIN_X/migrating" ] && echo yes || echo no)"
expect_eq "rules" "x y z" "$(ln_x -j list | json_get '[.[].name] | sort | join(" ")')"
expect_end
# ---- a schema this build cannot migrate: newer, and older than it knows ----
st=$(pr -j status)
for v in 6 3; do
	bpftool map update pinned "$PIN_X/pr_info" key 0 0 0 0 value 0x52 0x44 0x52 0x50 $v 0 0 0
	px=$(pins "$PIN_X")
	out=$(ln_x attach rc --mode tc 2>&1); rc=$?
	expect_begin "a pin dir of schema $v: attach refuses in one line and changes nothing"
	expect_eq "exit status" 1 "$rc"
	expect_eq "one line" yes "$(one_line "$out")"
	expect_contains "message" "have schema $v" "$out"
	expect_contains "says nothing changed" "(nothing changed)" "$out"
	expect_eq "pin dir unchanged" "$px" "$(pins "$PIN_X")"
	expect_eq "rc's programs unchanged" "$(json_get '.interfaces[] | select(.interface == "rc") | .tc_ingress_prog_id' <<<"$st")" \
		"$(pr -j status | json_get '.interfaces[] | select(.interface == "rc") | .tc_ingress_prog_id')"
	expect_end
done
tap_done
