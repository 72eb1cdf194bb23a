#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# portredir apply: the rule table becomes the file (adds, no-op re-applies, replaces and deletes under live flows, bad files, 100,000 rules, the one-by-one path, full tables, and changes killed or failing at every map write).
# Usage: apply.sh [CASE...]; each case starts with nothing attached, no pins, no servers.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TAG=prapl$$
source "$HERE/../lib.sh"
source "$HERE/cli_common.sh"
TMP=$(mktemp -d /tmp/portredir-apply.XXXXXX)
PIN_SMALL=${PIN}_small
F=$TMP/rules.txt
trap 'cleanup; rm -rf "$PIN_SMALL" "$TMP"' EXIT

# rules as sorted JSON, to compare states
rules_of() { pr -j list | jq -cS .; }
# expect_apply DESC EXIT =TEXT|~ERE ARGS...: one TAP line: pr apply ARGS exits
# EXIT and prints TEXT (or a line matching ERE); EXTRA_EXPECT, if set, is run
# as one more part of the check
expect_apply() {
	local desc=$1 want=$2 what=$3 out rc; shift 3
	out=$(pr apply "$@" 2>&1); rc=$?
	expect_begin "$desc"
	expect_eq "exit status" "$want" "$rc"
	case "$what" in
	=*) expect_eq "output" "${what#=}" "$out" ;;
	\~*) expect_match "output" "${what#\~}" "$out" ;;
	esac
	[ -z "${EXTRA_EXPECT:-}" ] || eval "$EXTRA_EXPECT"
	expect_end
}
# the file of the apply cases; with "noweb", without the web rule
write_rules() {
	printf '%s\n' "# the router's forwards" \
		"tcp :8080 $S_IP:80 --name web" \
		"udp $R_CIP:53 $S_IP:53 --name dns   # with a listen address" \
		"tcp :9000-9099 $S_IP:7000-7099 --name rng --allow 198.51.100.0/24 --deny-action pass" \
		"" \
		"any :* $S_IP2 --name dmz" \
		"tcp '[::]:8080' '[2001:db8::10]:80' --name web6" >"$F"
	[ "${1:-}" = noweb ] && sed -i '/--name web$/d' "$F"
	return 0
}
# the two backends behind web, attached rc and the file applied: a live flow can go through
apply_live() {
	pr attach rc --mode tc >/dev/null || diag "setup: attach rc failed"
	srv_ab
	write_rules
	pr apply "$F" >/dev/null || diag "setup: apply $F failed"
}
srv_ab() {
	local b
	for b in "$S_IP A" "$S_IP2 B"; do
		set -- $b
		serve "$NS_S" tcp "$1" 80 socat TCP-LISTEN:80,bind="$1",fork,reuseaddr SYSTEM:"while read l; do echo $2 \$SOCAT_PEERADDR \$l; done"
	done
}

case_apply_empty() {
	two_rules
	EXTRA_EXPECT='expect_eq "rules left" "[]" "$(pr -j list)"' \
		expect_apply "apply of an empty file deletes every rule" 0 \
		'~^added 0, replaced 0, deleted [1-9][0-9]*, unchanged 0' /dev/null
}

case_apply_file() {
	local l want
	pr attach rc --mode tc >/dev/null || diag "setup: attach rc failed" # save prints it
	write_rules
	expect_apply "apply into an empty table adds every rule of the file" 0 \
		"=added 5, replaced 0, deleted 0, unchanged 0 (0 conntrack entries removed)" "$F"
	l=$(pr -j list | jq -c 'map({(.name): .}) | add')
	expect_begin "list -j shows the file's rules: listen, target, allowlist, DMZ, IPv6"
	expect_eq "names" '["dmz","dns","rng","web","web6"]' "$(json_get 'keys | tojson' <<<"$l")"
	expect_eq "web listen" :8080 "$(json_get .web.listen <<<"$l")"
	expect_eq "web target" "$S_IP:80" "$(json_get .web.target <<<"$l")"
	expect_eq "dns proto" udp "$(json_get .dns.proto <<<"$l")"
	expect_eq "dns listen" "$R_CIP:53" "$(json_get .dns.listen <<<"$l")"
	expect_eq "rng target" "$S_IP:7000-7099" "$(json_get .rng.target <<<"$l")"
	expect_eq "rng allow" '["198.51.100.0/24"]' "$(json_get '.rng.allow | tojson' <<<"$l")"
	expect_eq "rng deny_action" pass "$(json_get .rng.deny_action <<<"$l")"
	expect_eq "dmz proto" any "$(json_get .dmz.proto <<<"$l")"
	expect_eq "dmz target" "$S_IP2:*" "$(json_get .dmz.target <<<"$l")"
	expect_eq "web6 listen" "[::]:8080" "$(json_get .web6.listen <<<"$l")"
	expect_end
	want=$(printf '%s\n' "interface rc --mode tc" "tcp :8080 $S_IP:80 --name web" "udp $R_CIP:53 $S_IP:53 --name dns" \
		"tcp :9000-9099 $S_IP:7000-7099 --name rng --allow 198.51.100.0/24 --deny-action pass" \
		"any :* $S_IP2 --name dmz" "tcp [::]:8080 [2001:db8::10]:80 --name web6")
	expect_eq "save prints the interface and the rules in the file format" "$want" "$(pr save 2>&1)"
	expect_eq "save | apply - changes nothing" \
		"$(printf 'added 0, replaced 0, deleted 0, unchanged 5 (0 conntrack entries removed)\ninterfaces: attached 0, changed 0, detached 0, unchanged 1')" \
		"$(pr save | pr apply - 2>&1)"
}

# a live flow through web gives it counters and conntrack entries; re-applying keeps them
case_apply_again() {
	local before flows pkts
	apply_live
	session_open "$TMP/s1.out" $R_CIP 8080
	expect_eq "a live flow through an applied rule reaches backend A" "A $C_IP first" "$(head -1 "$TMP/s1.out")"
	before=$(rules_of) flows=$(stat_rule web flows) pkts=$(stat_rule web packets_in)
	expect_apply "re-applying the same file changes nothing" 0 \
		"=added 0, replaced 0, deleted 0, unchanged 5 (0 conntrack entries removed)" "$F"
	expect_eq "re-apply keeps ids, names and targets" "$before" "$(rules_of)"
	expect_begin "re-apply keeps the counters ($flows flows, $pkts packets in)"
	expect_ge "flows before" 1 "$flows"
	expect_eq "flows after" "$flows" "$(stat_rule web flows)"
	expect_ge "packets in before" 1 "$pkts"
	expect_eq "packets in after" "$pkts" "$(stat_rule web packets_in)"
	expect_end
	session_close "$TMP/s1.out"
}

# change web's target: a replace; the live flow keeps A, new flows go to B
case_apply_replace() {
	local before flows web_id out rc
	apply_live
	session_open "$TMP/s1.out" $R_CIP 8080
	web_id=$(rule_get web id) flows=$(stat_rule web flows)
	sed -i "s|tcp :8080 $S_IP:80 --name web|tcp :8080 $S_IP2:80 --name web|" "$F"
	before=$(rules_of)
	out=$(pr apply --dry-run "$F" 2>&1); rc=$?
	expect_begin "apply --dry-run prints the replace and changes nothing"
	expect_eq "exit status" 0 "$rc"
	expect_match "the change" "^replace rule $web_id \(line 2\): tcp :8080 -> $S_IP2:80 name web" "$out"
	expect_contains "the summary" "would add 0, replace 1, delete 0; unchanged 4" "$out"
	expect_eq "rules" "$before" "$(rules_of)"
	expect_end
	out=$(pr -j apply --dry-run "$F" 2>&1)
	expect_begin "apply -j --dry-run lists the change as JSON"
	expect_eq "dry_run, replaced, added" "true 1 0" "$(json_get '"\(.dry_run) \(.replaced) \(.added)"' <<<"$out")"
	expect_eq "number of changes" 1 "$(json_get '.changes | length' <<<"$out")"
	expect_eq "action, line" "replace 2" "$(json_get '.changes[0] | "\(.action) \(.line)"' <<<"$out")"
	expect_eq "old target" "$S_IP:80" "$(json_get '.changes[0].old.target' <<<"$out")"
	expect_eq "new target" "$S_IP2:80" "$(json_get '.changes[0].rule.target' <<<"$out")"
	expect_end
	expect_apply "changing one target replaces that rule only" 0 \
		"=added 0, replaced 1, deleted 0, unchanged 4 (0 conntrack entries removed)" "$F"
	expect_begin "the replaced rule keeps its id and counters"
	expect_eq "id" "$web_id" "$(rule_get web id)"
	expect_eq "flows" "$flows" "$(stat_rule web flows)"
	expect_end
	session_close "$TMP/s1.out"
	expect_eq "the established flow keeps its old backend across the replace" \
		"$(printf 'A %s first\nA %s second' $C_IP $C_IP)" "$(cat "$TMP/s1.out")"
	expect_eq "a new flow after the replace reaches backend B" "B $C_IP hello" "$(tcp_req "$NS_C" $R_CIP 8080)"
}

# remove web from the file: deleted as del does, its live flow flushed
case_apply_delete() {
	local web_id
	apply_live
	session_open "$TMP/s2.out" $R_CIP 8080
	web_id=$(rule_get web id)
	write_rules noweb
	expect_apply "a rule no longer in the file is deleted and its flows flushed" 0 \
		'~^added 0, replaced 0, deleted 1, unchanged 4 \([1-9][0-9]* conntrack entries removed\)' "$F"
	expect_eq "no conntrack entry of the deleted rule is left" 0 \
		"$(pr -j conntrack list | json_get '[.[] | select(.rule == ($id | tonumber))] | length' id "$web_id")"
	session_close "$TMP/s2.out"
	expect_begin "the deleted rule's live flow is no longer redirected"
	expect_eq "first reply" "A $C_IP first" "$(head -1 "$TMP/s2.out")"
	expect_no_match "second reply" second "$(cat "$TMP/s2.out")"
	expect_end
	expect_no_match "list no longer has it" ' web ' "$(pr list)"
}

# Bad files: exit 2, one line "apply: FILE:LINE: ..." naming the token, nothing changed.
# bad_apply DESC LINE TOKEN CONTENT
bad_apply() {
	local desc=$1 line=$2 token=$3 f=$TMP/bad.txt before
	printf '%s\n' "$4" >"$f"
	before=$(state)
	bad_input "$desc" "$token" apply "$f"
	expect_contains "  ...naming the file and line $line" "apply: $f:$line: " "$(pr apply "$f" 2>&1)"
}
case_apply_bad() {
	local before out
	write_rules noweb
	pr apply "$F" >/dev/null || diag "setup: apply $F failed"
	bad_apply "a file with a bad port on line 3" 3 "'65536'" "$(head -2 "$F"; echo "tcp :65536 $S_IP:80"; tail -n +3 "$F")"
	bad_apply "a file with an unknown option" 2 "'--nmae'" "$(printf '# x\ntcp :1 %s:1 --nmae x' $S_IP)"
	bad_apply "a file whose rules overlap" 7 "'tcp :9050'" "$(cat "$F"; echo "tcp :9050 $S_IP:1")"
	bad_apply "a file with a name twice" 3 "'dns'" "$(head -2 "$F"; echo "tcp :1 $S_IP:1 --name dns")"
	bad_apply "a file with the same listen twice" 3 "'udp $R_CIP:53'" "$(head -2 "$F"; echo "udp $R_CIP:53 $S_IP:54")"
	bad_apply "a file with an unterminated quote" 1 "quote" "tcp ':1 $S_IP:1"
	bad_apply "a rule line with --name given twice" 2 "('a', then 'b')" "$(printf '# x\ntcp :1 %s:1 --name a --name b' $S_IP)"
	bad_apply "an interface line with --mode given twice" 1 "('tc', then 'native')" "interface rc --mode tc --mode native"
	bad_apply "a file with control bytes (escaped in the message)" 1 "'\x1b[2J\x07x'" "$(printf 'tcp :1 %s:1 --name \033[2J\007x' $S_IP)"
	expect_no_match "  ...and never echoed raw" $'[\x01-\x1f]' "$(pr apply "$TMP/bad.txt" 2>&1)"
	before=$(state)
	bad_input "a missing apply FILE" "FILE" apply
	bad_input "an apply FILE that does not exist" "'$TMP/nosuch'" apply "$TMP/nosuch"
	printf '\xff\xfet\0c\0' >"$TMP/bad.txt"
	bad_input "a UTF-16 file (its byte-order mark named)" "UTF-16 (byte-order mark FF FE)" apply "$TMP/bad.txt"
	out=$(printf '\xef\xbb\xbftcp :8081 %s:80 --name w2\n' $S_IP | pr apply --dry-run - 2>&1)
	expect_contains "a file opening with a UTF-8 byte-order mark is read as without it" "(line 1): tcp :8081 -> $S_IP:80 name w2" "$out"
	out=$(printf 'tcp :8081 %s:80 --name w2\n' $S_IP | pr apply --dry-run - 2>&1)
	expect_contains "apply - reads stdin (--dry-run: would delete the other 4)" "would add 1, replace 0, delete 4; unchanged 0" "$out"
	out=$(printf 'tcp :8081 %s:80 x\n' $S_IP | pr apply - 2>&1)
	expect_contains "a bad line from stdin is reported as <stdin>:1" "<stdin>:1: unexpected argument 'x'" "$out"
}

# 100,000 rules in one apply (correctness only; tests/bench/ctl.sh times it)
case_apply_100k() {
	local m err rc
	write_rules noweb
	pr apply "$F" >/dev/null || diag "setup: apply $F failed"
	python3 -S -c "
import sys
with open(sys.argv[1], 'w') as f:
    for i in range(100000):
        f.write('tcp 198.51.100.%d:%d 203.0.113.%d:%d\n' % (10 + i // 50000, 1 + i % 50000, 1 + i % 254, 1 + i % 60000))" "$TMP/big.txt"
	expect_apply "apply of 100,000 rules adds them all and deletes the other 4" 0 \
		'~^added 100000, replaced 0, deleted 4, unchanged 0' "$TMP/big.txt"
	pr list >"$TMP/list.txt"
	expect_begin "list shows 100,000 rules, the last one intact"
	expect_eq "lines" 100000 "$(wc -l <"$TMP/list.txt")"
	expect_match "the last rule" '^[0-9]+ +- +tcp +198\.51\.100\.11:50000 +203\.0\.113\.178:40000$' "$(tail -1 "$TMP/list.txt")"
	expect_end
	m=$(pr -j status | jq -c .maps)
	expect_begin "status counts 100,000 rules and as many lookup entries"
	expect_eq "rules" 100000 "$(json_get .rules <<<"$m")"
	expect_eq "rule_entries" 100000 "$(json_get .rule_entries <<<"$m")"
	expect_ge "rules_max" 131072 "$(json_get .rules_max <<<"$m")"
	expect_end
	expect_apply "re-applying the 100,000 rules is a no-op" 0 "~unchanged 100000" "$TMP/big.txt"
	sed -i '1s/203.0.113.1:1$/192.0.2.1:1/' "$TMP/big.txt"
	expect_apply "changing one of 100,000 rules replaces one" 0 "~replaced 1, deleted 0, unchanged 99999" "$TMP/big.txt"
	err=$(pr add tcp 198.51.100.10:5-9 192.0.2.1:1 2>&1); rc=$?
	refused "add next to 100,000 rules still finds the overlap (exit 1)" 1 overlap
	expect_apply "apply of an empty file removes the 100,000 rules" 0 "~deleted 100000" /dev/null
}

# Kernels without batch ops take the one-by-one path; force it: same result
case_apply_one_by_one() {
	local one_by_one out
	python3 -S -c "
import sys
with open(sys.argv[1], 'w') as f:
    for i in range(3000):
        f.write('%s 198.51.100.20:%d 203.0.113.%d:%d%s\n' % ('any' if i % 7 == 0 else 'tcp', 1 + 2 * i, 1 + i % 254, 80,
                ' --allow 192.0.2.0/24 --allow 198.51.100.%d' % (i % 250) if i % 10 == 0 else ''))" "$TMP/mixed.txt"
	PORTREDIR_BATCH=0 expect_apply "PORTREDIR_BATCH=0: apply element by element adds 3,000 rules" 0 \
		'~^added 3000, replaced 0, deleted 0' "$TMP/mixed.txt"
	one_by_one=$(rules_of)
	out=$(export PORTREDIR_BATCH=0; pr -j status | jq -c .maps)
	expect_begin "PORTREDIR_BATCH=0: status counts them without batch reads"
	expect_eq "rules" 3000 "$(json_get .rules <<<"$out")"
	expect_eq "rule_entries" $((3000 + 429)) "$(json_get .rule_entries <<<"$out")"
	expect_end
	EXTRA_EXPECT='expect_eq "rules left" "[]" "$(pr -j list)"' PORTREDIR_BATCH=0 \
		expect_apply "PORTREDIR_BATCH=0: and deletes them" 0 "~deleted 3000" /dev/null
	pr apply "$TMP/mixed.txt" >/dev/null
	expect_eq "the batch path gives the same rules, ids and allowlists" "$one_by_one" "$(rules_of)"
}

# Capacity: maps sized by attach --max-rules; a full table states its size
case_capacity() {
	local m err rc out i
	check "attach --max-rules 4 creates small maps" prs attach rs --mode tc --max-rules 4
	m=$(prs -j status | jq -c .maps)
	expect_begin "status shows the capacity and what the counters cost"
	expect_eq "rules_max" 4 "$(json_get .rules_max <<<"$m")"
	expect_eq "rule_counters_bytes" $((5 * 56 * $(json_get .possible_cpus <<<"$m"))) "$(json_get .rule_counters_bytes <<<"$m")"
	expect_eq "rule_nat_bytes" $((5 * 24)) "$(json_get .rule_nat_bytes <<<"$m")"
	expect_end
	err=$(prs attach rs --max-rules 8 2>&1); rc=$?
	refused "attach --max-rules cannot resize existing maps (exit 1, states the capacity)" 1 "hold 4 rules"
	for i in 1 2 3 4 5; do echo "tcp :$i $S_IP:$i"; done >"$TMP/five.txt"
	err=$(prs apply "$TMP/five.txt" 2>&1); rc=$?
	expect_begin "applying 5 rules into room for 4 fails at line 5 stating the capacity (exit 1)"
	expect_eq "exit status" 1 "$rc"
	expect_contains "message" ":5: rule table is full: the maps hold 4 rules" "$err"
	expect_eq "rules" "[]" "$(prs -j list)"
	expect_end
	head -4 "$TMP/five.txt" >"$TMP/four.txt"
	check "4 rules fit" prs apply "$TMP/four.txt"
	err=$(prs add tcp :99 $S_IP:1 2>&1); rc=$?
	refused "add into a full table fails stating the capacity (exit 1)" 1 "rule table is full: the maps hold 4 rules"
	for i in 11 12 13 14; do echo "tcp :$i $S_IP:$i"; done >"$TMP/four2.txt"
	out=$(prs apply "$TMP/four2.txt" 2>&1); rc=$?
	expect_begin "4 other rules replace them though both sets cannot fit at once (deletes go first)"
	expect_eq "exit status" 0 "$rc"
	expect_contains "output" "deleted rules went first" "$out"
	expect_contains "summary" "added 4, replaced 0, deleted 4" "$out"
	expect_eq "rules listed" 4 "$(prs list | wc -l)"
	expect_match "the last one" ' :14 ' "$(prs list)"
	expect_end
}

# ---- interrupted changes (docs/design.md, "Interrupted changes") ----

# The datapath as the maps hold it, read with bpftool (not the loader): the
# records without their creation time, every lookup entry, every allowed
# source, the source NAT of every rule, and the counters of the rules named
# in the JSON array $1, one sorted JSON line. Rule ids, which may differ
# after an interruption, are shown as rule names; an id no record has as
# "idN". Ids stay below 16 here (handed out lowest first).
DP_JQ='def ip: .b | map(tostring) | join(".");
  (.[0].output | map({key: (.formatted.key | tostring), value: .formatted.value.name}) | from_entries) as $n
  | def nm(id): $n[id | tostring] // "id\(id)";
  def slots(map): [.[3:][] | select(.command[3] | endswith(map)) | .output.formatted | select($n[.key | tostring])];
  {records: [.[0].output[].formatted.value | [.name, .key.family, (.key.addr | ip), .key.proto, .key.port, .port_last,
             (.rule.target | ip), .rule.target_port, .target_port_last, .rule.flags, nm(.rule.id), .cflags,
             [.allow[:.allow_count][] | "\(.addr | ip)/\(.len)"], [.nat | .mode, (.addr | ip), .port_lo, .port_hi]]] | sort,
   entries: [.[2].output[].formatted | [.key.family, (.key.addr | ip), .key.proto, .key.port,
             (.value.target | ip), .value.target_port, .value.flags, nm(.value.id)]] | sort,
   sources: [.[1].output[].formatted.key | [nm(.rule_id), .family, .prefixlen, (.addr | ip)]] | sort,
   nat: [slots("pr_rnat")[] | {(nm(.key)): [.value | .mode, (.addr | ip), .port_lo, .port_hi]}] | add,
   counters: [slots("pr_rstats")[] | select(nm(.key) as $x | $fresh | index($x))
              | {(nm(.key)): [.values[].value[]] | add}] | add}'
# dp_diff WANT GOT: how GOT differs, a few lines (only on a failure: it costs processes)
dp_diff() { diff <(jq -S . <<<"$1") <(jq -S . <<<"$2") | head -12; }
dp_cmds() {
	local m id
	{ for m in pr_rmeta pr_allow pr_rules; do echo "map dump pinned $PIN/$m"; done
	  for m in pr_rnat pr_rstats; do
		for ((id = 1; id < 16; id++)); do echo "map lookup pinned $PIN/$m key $id 0 0 0"; done
	  done; } >"$TMP/dp.cmds"
}
dp_state() { bpftool -j batch file "$TMP/dp.cmds" 2>&1 | jq -cS --argjson fresh "$1" "$DP_JQ" 2>&1; }
# writes_of ARGS...: the numbers, among its bpf() calls, of the map writes
# (updates and deletes) `portredir ARGS` makes from the state now, which it
# makes (strace -f, counted as `strace -e inject=bpf:when=N` counts)
writes_of() {
	in_ns "$NS_R" strace -f -qq -o "$TMP/trace" -e trace=bpf "$PR_BIN" --pin-dir "$PIN" "$@" >/dev/null 2>&1
	# from the journal's BUSY to its CLEAN (the first write, and the next to
	# that map): what comes after (interface addresses) is no commit's
	awk '/bpf\(/ { n++ } /bpf\(BPF_MAP_(UPDATE|DELETE)_(ELEM|BATCH)/ {
		match($0, /map_fd=[0-9]+/); fd = substr($0, RSTART, RLENGTH)
		printf "%d ", n
		if (!j) j = fd; else if (fd == j && /UPDATE_ELEM/) exit }' "$TMP/trace"
}
# inject N WHAT ARGS...: `portredir ARGS` with WHAT (signal=KILL, error=E2BIG...) at its Nth bpf() call
inject() {
	local n=$1 what=$2; shift 2
	in_ns "$NS_R" strace -f -qq -o /dev/null -e trace=bpf -e inject=bpf:$what:when=$n \
		"$PR_BIN" --pin-dir "$PIN" "$@" >/dev/null 2>&1
}
# The two files of the interrupted cases: B replaces web (another target)
# and rng (other sources), deletes gone and adds new and range (full NAT);
# keep and echo stay as they are, under a live TCP flow and a UDP stream.
write_ab() {
	printf '%s\n' "tcp :8090 $S_IP:80 --name keep" "udp :5300 $S_IP:5300 --name echo" \
		"tcp :9000-9009 $S_IP:7000-7009 --name rng --allow 198.51.100.0/24 --allow 192.0.2.0/24" >"$TMP/common"
	{ cat "$TMP/common"; printf '%s\n' "tcp :8080 $S_IP:80 --name web" "tcp :8082 $S_IP2:80 --name gone"; } >"$TMP/A"
	{ sed '$s|--allow 192.0.2.0/24|--allow 203.0.113.0/24 --deny-action pass|' "$TMP/common"
	  printf '%s\n' "tcp :8080 $S_IP2:80 --name web" "tcp :8081 $S_IP:80 --name new" \
		"any :6000-6003 $S_IP:6000-6003 --name range --snat $R_SIP"; } >"$TMP/B"
}
# real connections through the state file $1 (A or B) holds
conns_of() {
	if [ "$1" = A ]; then
		echo "web $(tcp_req "$NS_C" $R_CIP 8080) gone $(tcp_req "$NS_C" $R_CIP 8082)"
	else
		echo "web $(tcp_req "$NS_C" $R_CIP 8080) new $(tcp_req "$NS_C" $R_CIP 8081)"
	fi
}
interrupted_setup() {
	pr attach rc --mode tc >/dev/null || diag "setup: attach rc failed"
	srv_ab
	serve "$NS_S" udp "$S_IP" 5300 socat UDP-LISTEN:5300,bind="$S_IP" PIPE
	write_ab
	dp_cmds
	pr apply "$TMP/A" >/dev/null || diag "setup: apply A failed"
	REF_A=$(dp_state '["gone"]')
	pr apply "$TMP/B" >/dev/null || diag "setup: apply B failed"
	REF_B=$(dp_state '["new","range"]')
	pr apply "$TMP/A" >/dev/null || diag "setup: apply A failed"
}
# the long-lived flows across the interruptions: TCP through keep, UDP through echo
flows_open() {
	rm -f "$TMP/stop"
	in_ns "$NS_C" timeout "$(tmo 300)" python3 -S "$PR_HELPERS/stream.py" tcp $R_CIP 8090 "$TMP/stop" "$(tmo 280)" 0.02 \
		>"$TMP/tcp.out" 2>&1 </dev/null &
	PIDS+=($!); [ -n "$PR_STATE" ] && echo $! >>"$PR_STATE/pids"; TCP_PID=$!
	in_ns "$NS_C" timeout "$(tmo 300)" python3 -S "$PR_HELPERS/stream.py" udp $R_CIP 5300 "$TMP/stop" "$(tmo 280)" 0.02 "$(tmo 3)" \
		>"$TMP/udp.out" 2>&1 </dev/null &
	PIDS+=($!); [ -n "$PR_STATE" ] && echo $! >>"$PR_STATE/pids"; UDP_PID=$!
	wait_until 10 grep -q . "$TMP/tcp.out" && wait_until 10 grep -q . "$TMP/udp.out"
}
flows_close() {
	touch "$TMP/stop"
	wait "$TCP_PID" 2>/dev/null
	wait "$UDP_PID" 2>/dev/null
	expect_begin "$1: the TCP flow through keep and the UDP stream through echo never missed a reply"
	expect_match "tcp" '^ok [0-9]+ A '"$C_IP"' [0-9]+$' "$(tail -1 "$TMP/tcp.out")"
	expect_match "udp" '^ok [0-9]+ [0-9]+$' "$(tail -1 "$TMP/udp.out")"
	expect_end
}

# kill -9 at every map write of apply, both ways: the next apply makes the
# datapath exactly the file (maps read with bpftool), connections follow it
case_apply_killed() {
	local w_ab w_ba n i=0 t0=$EPOCHSECONDS bad=() conn=() got st want_a want_b
	interrupted_setup
	flows_open || diag "setup: the long-lived flows did not start"
	w_ab=($(pr apply "$TMP/B" >/dev/null; pr apply "$TMP/A" >/dev/null; writes_of apply "$TMP/B"))
	w_ba=($(writes_of apply "$TMP/A"))
	echo "# map writes: A -> B at bpf() calls ${w_ab[*]}; B -> A at ${w_ba[*]}"
	want_a="web A $C_IP hello gone B $C_IP hello" want_b="web B $C_IP hello new A $C_IP hello"
	expect_eq "before: connections follow A" "$want_a" "$(conns_of A)"
	while [ $i -lt ${#w_ab[@]} ] || [ $i -lt ${#w_ba[@]} ]; do
		for st in B A; do
			if [ $st = B ]; then n=${w_ab[$i]:-}; else n=${w_ba[$i]:-}; fi
			if [ -n "$n" ]; then
				inject "$n" signal=KILL apply "$TMP/$st"
				[ $? -eq 137 ] || bad+=("apply $st killed at bpf() call $n did not die by SIGKILL")
			fi
			pr apply "$TMP/$st" >/dev/null || bad+=("apply $st after a kill at $n failed")
			got=$(dp_state "$( [ $st = A ] && echo '["gone"]' || echo '["new","range"]')")
			[ $st = A ] && want=$REF_A || want=$REF_B
			[ "$got" = "$want" ] || bad+=("killed at bpf() call $n of apply $st, then apply $st: the datapath differs: $(dp_diff "$want" "$got")")
			# connections at the first write, the lookup entries' write and the last
			if [ $i -eq 0 ] || [ $i -eq $(( ${#w_ab[@]} / 2 )) ] || [ $i -eq $(( ${#w_ab[@]} - 1 )) ]; then
				[ $st = A ] && want=$want_a || want=$want_b
				got=$(conns_of $st)
				[ "$got" = "$want" ] || bad+=("after a kill at $n and apply $st: connections '$got', expected '$want'")
				conn+=("$n$st")
			fi
		done
		i=$((i + 1))
		if [ $i -ge 40 ] || [ $((EPOCHSECONDS - t0)) -gt "$(tmo 120)" ]; then
			bad+=("stopped after $i of ${#w_ab[@]} writes: the loop's bound (40 writes, $(tmo 120) s)")
			break
		fi
	done
	echo "# ${#w_ab[@]} + ${#w_ba[@]} kills in $((EPOCHSECONDS - t0)) s; connections checked after ${conn[*]}"
	expect_begin "kill -9 at each of the ${#w_ab[@]} + ${#w_ba[@]} map writes of apply A -> B and B -> A: the next apply makes the datapath exactly the file"
	expect_gt "writes found" 5 "${#w_ab[@]}"
	expect_eq "failures" "" "$(printf '%s\n' "${bad[@]}")"
	expect_end
	flows_close "kills of apply"
}

# status shows what an interrupted apply left; repair fixes it, apply of the
# live rules too; SIGINT and SIGTERM in a commit let it finish
case_apply_interrupted_status() {
	local w n out rc
	write_ab
	dp_cmds
	pr apply "$TMP/A" >/dev/null || diag "setup: apply A failed"
	REF_A=$(dp_state '["gone"]')
	pr apply "$TMP/B" >/dev/null && REF_B=$(dp_state '["new","range"]')
	pr apply "$TMP/A" >/dev/null
	w=($(writes_of apply "$TMP/B"))
	pr apply "$TMP/A" >/dev/null
	# the 6th write (journal, counters, records, sources, source NAT, lookup
	# entries): records are B's, entries A's
	n=${w[5]}
	inject "$n" signal=KILL apply "$TMP/B"
	out=$(pr status 2>&1)
	expect_begin "status after apply was killed before the lookup entries: what disagrees, counted"
	expect_contains "text" "tables: DISAGREE: 4 rules (9 lookup entries missing, 11 lookup entries pointing elsewhere), 1 allowed source of no rule; portredir repair (or apply) fixes it" "$out"
	expect_contains "unfinished" "last change: did not finish" "$out"
	expect_eq "json" '{"consistent":false,"rules":4,"entries_missing":9,"entries_wrong":11,"entries_stray":0,"sources_missing":0,"sources_stray":1,"nat_wrong":0,"change_in_progress":false,"last_change_unfinished":true}' \
		"$(pr -j status | jq -c .tables)"
	expect_end
	expect_eq "repair writes the 4 rules again and removes the stray source" \
		"repaired: 4 rules (9 lookup entries missing, 11 lookup entries pointing elsewhere), 1 allowed source of no rule" "$(pr repair 2>&1)"
	# the records are B's rules and A's gone (deletes come last): repair makes the datapath that
	expect_begin "after repair: the tables agree on the records (B and gone), repair again has nothing to do, apply B finishes"
	expect_eq "rules" "echo gone keep new range rng web" "$(pr -j list | jq -r '[.[].name] | sort | join(" ")')"
	expect_eq "status" '{"consistent":true,"unfinished":false}' "$(pr -j status | jq -c '.tables | {consistent, unfinished: .last_change_unfinished}')"
	expect_eq "repair" "nothing to repair: the tables agree" "$(pr repair 2>&1)"
	expect_contains "apply B" "added 0, replaced 0, deleted 1, unchanged 6" "$(pr apply "$TMP/B" 2>&1)"
	expect_eq "datapath" "$REF_B" "$(dp_state '["new","range"]')"
	expect_end
	# apply of the live rules (save | apply -) repairs too
	pr apply "$TMP/A" >/dev/null
	inject "$n" signal=KILL apply "$TMP/B"
	out=$(pr save | pr -j apply -)
	expect_begin "apply of the live rules (save | apply -) after a kill repairs the datapath"
	expect_eq "reconciled, repaired" "true 4" "$(json_get '"\(.reconciled) \(.repaired)"' <<<"$out")"
	expect_eq "status" '{"consistent":true,"unfinished":false}' "$(pr -j status | jq -c '.tables | {consistent, unfinished: .last_change_unfinished}')"
	expect_end
	# SIGINT or SIGTERM at a write inside the commit: it finishes, then the signal acts
	pr apply "$TMP/A" >/dev/null
	inject "$n" signal=INT apply "$TMP/B"; rc=$?
	expect_begin "SIGINT at the lookup entries' write: apply finishes the commit, then dies by SIGINT"
	expect_eq "exit status" 130 "$rc"
	expect_eq "datapath" "$REF_B" "$(dp_state '["new","range"]')"
	expect_eq "status" '{"consistent":true,"unfinished":false}' "$(pr -j status | jq -c '.tables | {consistent, unfinished: .last_change_unfinished}')"
	expect_end
	w=($(writes_of apply "$TMP/A"))
	pr apply "$TMP/B" >/dev/null
	inject "${w[3]}" signal=TERM apply "$TMP/A"; rc=$?
	expect_begin "SIGTERM at the 4th write of apply B -> A: it finishes, then dies by SIGTERM"
	expect_eq "exit status" 143 "$rc"
	expect_eq "datapath" "$REF_A" "$(dp_state '["gone"]')"
	expect_eq "next apply reads no map: the journal says clean" "false 0 0 0 0" \
		"$(pr -j apply "$TMP/A" | json_get '"\(.reconciled) \(.added) \(.replaced) \(.deleted) \(.repaired)"')"
	expect_end
	inject 2 signal=INT apply "$TMP/B"; rc=$?
	expect_begin "SIGINT before the commit (the 2nd bpf() call) stops apply with nothing changed"
	expect_eq "exit status" 130 "$rc"
	expect_eq "datapath" "$REF_A" "$(dp_state '["gone"]')"
	expect_end
}

# killed_each WHAT MIN CMD...: kill -9 at each of CMD's map writes (more
# than MIN of them), each time from file A and then applying A again: the
# datapath is A's ($REF_A) after every one
killed_each() {
	local what=$1 min=$2 w n st bad=(); shift 2
	w=($(writes_of "$@"))
	for n in "${w[@]}"; do
		pr apply "$TMP/A" >/dev/null
		inject "$n" signal=KILL "$@"
		pr apply "$TMP/A" >/dev/null || bad+=("apply A after $what killed at $n failed")
		st=$(dp_state '[]')
		[ "$st" = "$REF_A" ] || bad+=("$what killed at bpf() call $n, then apply A: the datapath differs: $(dp_diff "$REF_A" "$st")")
	done
	expect_begin "kill -9 at each of the ${#w[@]} map writes of $what: apply of the file then makes the datapath the file"
	expect_gt "writes found" "$min" "${#w[@]}"
	expect_eq "failures" "" "$(printf '%s\n' "${bad[@]}")"
	expect_end
}

# kill -9 at every write of add and del, and a kernel error at every write
# of apply: the next apply makes the datapath exactly the file
case_add_del_errors() {
	local w n bad=() t0=$EPOCHSECONDS add=(add tcp :8081 "$S_IP:80" --name new) st
	write_ab
	dp_cmds
	pr apply "$TMP/A" >/dev/null || diag "setup: apply A failed"
	REF_A=$(dp_state '[]')
	killed_each add 3 "${add[@]}"
	killed_each del 2 del tcp :8082
	bad=()
	pr apply "$TMP/B" >/dev/null && REF_B=$(dp_state '["new","range"]')
	pr apply "$TMP/A" >/dev/null
	w=($(writes_of apply "$TMP/B"))
	for n in "${w[@]}"; do
		pr apply "$TMP/A" >/dev/null
		local out rc
		out=$(in_ns "$NS_R" strace -f -qq -o /dev/null -e trace=bpf -e inject=bpf:error=E2BIG:when=$n \
			"$PR_BIN" --pin-dir "$PIN" apply "$TMP/B" 2>&1); rc=$?
		st=$(dp_state '[]')
		# a failure while writing is rolled back; one while removing says so
		if [ $rc -ne 0 ] && [ "$st" != "$REF_A" ] && ! grep -q "apply again to finish" <<<"$out"; then
			bad+=("E2BIG at bpf() call $n: exit $rc, '$out', neither rolled back nor saying so")
		fi
		pr apply "$TMP/B" >/dev/null || bad+=("apply B after E2BIG at $n failed")
		st=$(dp_state '["new","range"]')
		[ "$st" = "$REF_B" ] || bad+=("E2BIG at bpf() call $n, then apply B: the datapath differs: $(dp_diff "$REF_B" "$st")")
	done
	echo "# add, del and E2BIG loops: $((EPOCHSECONDS - t0)) s"
	expect_begin "a kernel error (E2BIG, a full map) at each of the ${#w[@]} map writes of apply: rolled back or said so, and the next apply makes the datapath the file"
	expect_eq "failures" "" "$(printf '%s\n' "${bad[@]}")"
	expect_end
}

tap_plan
echo "# namespaces $NS_C $NS_R $NS_S, pin dir $PIN, time scale x$PR_SCALE"
# client, router and server: the live-flow checks need real connections
topo_up || { echo "Bail out! cannot build namespaces"; exit 1; }
trap 'cleanup; rm -rf "$PIN_SMALL" "$TMP"' EXIT
if [ $# -gt 0 ]; then PR_CASES="$*"; fi
KILL_CASES="case_apply_killed case_apply_interrupted_status case_add_del_errors"
# the interrupted cases kill and fail bpf() calls with strace: without it they
# fail, as one line each (make deps installs strace), and the rest still runs
if ! command -v strace >/dev/null; then
	for c in $KILL_CASES; do not_ok "apply: $c: strace is missing (make deps installs it)"; done
	KILL_CASES=
fi
run_cases case_apply_empty case_apply_file case_apply_again case_apply_replace case_apply_delete \
	case_apply_bad case_apply_100k case_apply_one_by_one case_capacity $KILL_CASES
tap_done
