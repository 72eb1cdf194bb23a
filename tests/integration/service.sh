#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The systemd unit's start, reload and stop command lines, run as systemd would run them, against a config file, with live TCP flows.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TAG=prsvc$$
source "$HERE/../lib.sh"
HELP=$HERE/../helpers
UNIT=$HERE/../../cli/portredir.service
TMP=$(mktemp -d /tmp/portredir-svc.XXXXXX)
CONF=$TMP/portredir.conf
tap_plan
topo_up || { echo "Bail out! cannot build namespaces"; exit 1; }
trap 'cleanup; rm -rf "$TMP"' EXIT

# ---- the unit file ----
# unit_cmd KEY: the unit's KEY= command line with the build dir for
# @SBINDIR@ and the test's config for /etc/portredir.conf.
unit_cmd() { sed -n "s/^$1=//p" "$UNIT" | sed "s|@SBINDIR@|$PR_BUILD|g; s|/etc/portredir.conf|$CONF|g"; }
START=$(unit_cmd ExecStart) RELOAD=$(unit_cmd ExecReload) STOP=$(unit_cmd ExecStop)
# expect DESC WANT GOT: a check that prints both sides when they differ
expect() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; printf '# expected: %s\n# got:      %s\n' "$2" "$3" | sed '2,$s/^/# /'; fi
}
key() { sed -n "s/^$1=//p" "$UNIT"; }
expect "unit: Type=oneshot" oneshot "$(key Type)"
expect "unit: RemainAfterExit=yes" yes "$(key RemainAfterExit)"
expect "unit: ConditionPathExists=/etc/portredir.conf" /etc/portredir.conf "$(key ConditionPathExists)"
expect "unit: After=network-online.target" network-online.target "$(key After)"
expect "unit: ExecStart applies /etc/portredir.conf keeping flows" \
	"@SBINDIR@/portredir apply --keep-flows /etc/portredir.conf" "$(key ExecStart)"
expect "unit: ExecReload applies it again keeping flows" \
	"@SBINDIR@/portredir apply --keep-flows /etc/portredir.conf" "$(key ExecReload)"
expect "unit: ExecStop detaches every interface" "@SBINDIR@/portredir detach --all" "$(key ExecStop)"

if ! command -v systemd-analyze >/dev/null; then
	skip "systemd-analyze verify passes on the unit" "systemd-analyze missing (package systemd)"
else
	mkdir -p "$TMP/unit"
	sed "s|@SBINDIR@|$PR_BUILD|g" "$UNIT" >"$TMP/unit/portredir.service"
	# Documentation= names man pages: check them too when the tree has them
	man_opt=--man=no man_note=" (man pages not in the tree, or no man: --man=no)"
	if [ -f "$HERE/../../docs/man/portredir.8" ] && [ -f "$HERE/../../docs/man/portredir.conf.5" ] &&
		command -v man >/dev/null; then
		mkdir -p "$TMP/man/man8" "$TMP/man/man5"
		cp "$HERE/../../docs/man/portredir.8" "$TMP/man/man8/"
		cp "$HERE/../../docs/man/portredir.conf.5" "$TMP/man/man5/"
		man_opt=--man=yes man_note=" (with its man pages)"
	fi
	out=$(MANPATH=$TMP/man SYSTEMD_LOG_LEVEL=notice systemd-analyze verify $man_opt "$TMP/unit/portredir.service" 2>&1); rc=$?
	expect "systemd-analyze verify passes on the unit$man_note" "0 ''" "$rc '$out'"
fi

# run_unit CMD: one unit command line in the router's namespace, with the test's pin dir
run_unit() { in_ns "$NS_R" env PORTREDIR_PIN_DIR="$PIN" $1; }
# rows of status: "IFACE MODE FORWARD ok"
ifaces() { pr -j status | python3 -S -c '
import json,sys
for i in json.load(sys.stdin)["interfaces"]: print(i["interface"], i["mode"], i["forward"], "ok" if i["ok"] else "BROKEN")'; }
# state = save's text, status without live-flow counts (they expire on their own)
state() { pr save 2>&1; pr -j status | grep -v 'conntrack\|"flows"'; }

for b in "$S_IP A" "$S_IP2 B"; do
	set -- $b
	bg_ns "$NS_S" socat TCP-LISTEN:80,bind="$1",fork,reuseaddr SYSTEM:"while read l; do echo $2 \$SOCAT_PEERADDR \$l; done"
done
wait_until 5 listening "$NS_S" tcp 80 || echo "# servers did not start"

# ---- start ----
# the config as save writes it, so that save | diff - CONF is empty
printf '%s\n' "interface rc" \
	"tcp :8080 $S_IP:80 --name web" \
	"tcp :8081 $S_IP:80 --name other" \
	"udp $R_CIP:53 $S_IP:53 --name dns" >"$CONF"
out=$(run_unit "$START" 2>&1); rc=$?
expect "ExecStart on fresh state attaches rc and adds the 3 rules" \
	"0 attached interface rc (line 1): auto -> tc, forward direct|added 3, replaced 0, deleted 0, unchanged 0 (0 conntrack entries removed)|interfaces: attached 1, changed 0, detached 0, unchanged 0" \
	"$rc $(printf '%s' "$out" | paste -sd'|')"
expect "status after start: rc in tc mode (auto on veth)" "rc tc direct ok" "$(ifaces)"
out=$(pr save | diff - "$CONF" 2>&1); rc=$?
expect "save | diff - CONF shows no drift after start" "0 ''" "$rc '$out'"

# ---- reload under a live flow ----
# stream OUT PORT: one TCP connection exchanging a line every 5 ms until $TMP/stop
stream() {
	rm -f "$TMP/stop"
	in_ns "$NS_C" timeout $((120 * SLOW)) python3 -S "$HELP/stream.py" tcp $R_CIP "$2" "$TMP/stop" $((100 * SLOW)) 0.005 >"$1" 2>&1 </dev/null &
	PIDS+=($!); strm=$!
	wait_until 10 grep -q . "$1"
}
# stream_end: stop the stream (not in a subshell: it waits for it)
stream_end() { touch "$TMP/stop"; wait "$strm" 2>/dev/null; }
stream "$TMP/st1.out" 8080
expect "a live flow through web reaches backend A" "started A $C_IP 0" "$(head -1 "$TMP/st1.out")"
web_id=$(pr -j list | python3 -S -c 'import json,sys; print({r["name"]:r["id"] for r in json.load(sys.stdin)}["web"])')

printf '%s\n' "interface rc" "interface rs --mode generic" \
	"tcp :8080 $S_IP:80 --name web" \
	"tcp :8081 $S_IP2:80 --name other" \
	"tcp :8082 $S_IP2:80 --name new" >"$CONF"
out=$(run_unit "$RELOAD" 2>&1); rc=$?
expect "ExecReload: rs attached, other replaced, new added, dns deleted (its flows kept)" \
	"0 attached interface rs (line 2): generic, forward direct|added 1, replaced 1, deleted 1, unchanged 1 (0 conntrack entries removed)|interfaces: attached 1, changed 0, detached 0, unchanged 1" \
	"$rc $(printf '%s' "$out" | paste -sd'|')"
expect "status after reload: rc tc, rs generic" "$(printf 'rc tc direct ok\nrs generic direct ok')" "$(ifaces | sort)"
expect "web kept its id across reload" "$web_id" \
	"$(pr -j list | python3 -S -c 'import json,sys; print({r["name"]:r["id"] for r in json.load(sys.stdin)}["web"])')"
out=$(tcp_req "$NS_C" $R_CIP 8081)
expect "a new flow to the replaced rule reaches its new backend B" "B $C_IP hello" "$out"

# ---- interface lines changing mode and forwarding, under the same flow ----
# mode_step DESC RC_LINE WANT_STATUS_OF_RC
mode_step() {
	local desc=$1 line=$2 want=$3 out rc
	printf '%s\n' "$line" "interface rs --mode generic" \
		"tcp :8080 $S_IP:80 --name web" "tcp :8081 $S_IP2:80 --name other" "tcp :8082 $S_IP2:80 --name new" >"$CONF"
	out=$(run_unit "$RELOAD" 2>&1); rc=$?
	if [ $rc -ne 0 ] && [ "$want" = "rc native direct ok" ] && grep -qi "native" <<<"$out"; then
		skip "$desc" "native XDP unsupported here: $out"
		return
	fi
	expect "$desc: reload changes rc in place" \
		"0 changed 1 unchanged 1" \
		"$rc $(grep -o 'changed [0-9]*' <<<"$out" | tail -1) $(grep -o 'unchanged [0-9]*$' <<<"$out")"
	expect "$desc: status" "$want" "$(ifaces | grep '^rc ')"
	expect "$desc: the live flow is still exchanging" "" "$(grep ERROR "$TMP/st1.out")"
}
mode_step "rc tc -> generic" "interface rc --mode generic" "rc generic direct ok"
mode_step "rc generic -> native" "interface rc --mode native" "rc native direct ok"
mode_step "rc native -> tc" "interface rc --mode tc" "rc tc direct ok"
mode_step "rc tc -> auto with --via-stack" "interface rc --via-stack" "rc tc stack ok"
mode_step "rc --via-stack -> generic, direct" "interface rc --mode generic" "rc generic direct ok"
mode_step "rc generic -> auto" "interface rc" "rc tc direct ok"
stream_end
res=$(tail -1 "$TMP/st1.out")
expect "the flow through web survived the reload and 6 mode changes, every exchange answered by A" \
	"ok A $C_IP" "$(sed -E 's/^ok [0-9]+ (A [^ ]+) [0-9]+$/ok \1/' <<<"$res")"
n=${res#ok }
echo "# the flow exchanged ${n%% *} lines across the changes"

# auto records what was asked: an explicit mode that auto would pick is re-recorded, programs untouched
pr detach rc >/dev/null
pr attach rc --mode tc >/dev/null
ids=$(pr -j status | python3 -S -c 'import json,sys; print([(i["tc_ingress_prog_id"],i["tc_egress_prog_id"]) for i in json.load(sys.stdin)["interfaces"] if i["interface"]=="rc"])')
out=$(run_unit "$RELOAD" 2>&1)
expect "rc attached by hand as --mode tc, config 'interface rc': only the request is recorded" \
	"changed interface rc (line 1): auto -> tc, forward direct (was tc, forward direct); programs untouched, only the request is recorded" \
	"$(grep '^changed' <<<"$out")"
expect "...its programs are the same" "$ids" \
	"$(pr -j status | python3 -S -c 'import json,sys; print([(i["tc_ingress_prog_id"],i["tc_egress_prog_id"]) for i in json.load(sys.stdin)["interfaces"] if i["interface"]=="rc"])')"
expect "...and save writes it as the config does" "interface rc" "$(pr save | grep '^interface rc')"

# removing an interface line detaches it
printf '%s\n' "interface rc" "tcp :8080 $S_IP:80 --name web" "tcp :8081 $S_IP2:80 --name other" \
	"tcp :8082 $S_IP2:80 --name new" >"$CONF"
out=$(run_unit "$RELOAD" 2>&1); rc=$?
expect "a reload without rs's line detaches rs" \
	"0 detached interface rs: was generic, forward direct|added 0, replaced 0, deleted 0, unchanged 3 (0 conntrack entries removed)|interfaces: attached 0, changed 0, detached 1, unchanged 1" \
	"$rc $(printf '%s' "$out" | paste -sd'|')"
expect "status shows rc only" "rc tc direct ok" "$(ifaces)"
expect "no portredir filter is left on rs" "" "$(in_ns "$NS_R" tc filter show dev rs ingress 2>/dev/null; in_ns "$NS_R" tc filter show dev rs egress 2>/dev/null)"

# a file without interface lines leaves the interfaces alone
printf '%s\n' "tcp :8080 $S_IP:80 --name web" "tcp :8081 $S_IP2:80 --name other" "tcp :8082 $S_IP2:80 --name new" >"$TMP/rules-only"
out=$(pr apply "$TMP/rules-only" 2>&1); rc=$?
expect "a rule file without interface lines leaves rc attached and says nothing of interfaces" \
	"0 added 0, replaced 0, deleted 0, unchanged 3 (0 conntrack entries removed)|rc tc direct ok" "$rc $out|$(ifaces)"

# ---- -j and --dry-run show interface changes ----
printf '%s\n' "interface rs --via-stack" "tcp :8080 $S_IP:80 --name web" "tcp :8081 $S_IP2:80 --name other" \
	"tcp :8082 $S_IP2:80 --name new" >"$TMP/dry.conf"
before=$(state)
out=$(pr apply --dry-run "$TMP/dry.conf" 2>&1); rc=$?
expect "apply --dry-run prints the interface changes and changes nothing" \
	"0 attach  interface rs (line 1): auto, forward stack|detach  interface rc: was auto -> tc, forward direct|dry run, nothing changed: would add 0, replace 0, delete 0; unchanged 3|interfaces: would attach 1, change 0, detach 1, unchanged 0|same" \
	"$rc $(printf '%s' "$out" | paste -sd'|')|$([ "$(state)" = "$before" ] && echo same || echo CHANGED)"
out=$(pr -j apply --dry-run "$TMP/dry.conf" 2>&1)
check "apply -j --dry-run lists the interface changes as JSON" python3 -S -c "
import json,sys; j=json.loads(sys.argv[1]); i=j['interfaces']
assert j['dry_run'] and (i['attached'],i['changed'],i['detached'],i['unchanged'])==(1,0,1,0), j
a,d=i['changes']
assert a=={'action':'attach','interface':'rs','done':False,'line':1,'mode':'auto','forward':'stack'}, a
assert d['action']=='detach' and d['interface']=='rc' and d['old']=={'mode':'auto','attached_mode':'tc','forward':'direct'}, d" "$out"
out=$(pr -j apply "$CONF" 2>&1)
check "apply -j of the config reports the interfaces unchanged" python3 -S -c "
import json,sys; j=json.loads(sys.argv[1]); i=j['interfaces']
assert (i['attached'],i['changed'],i['detached'],i['unchanged'])==(0,0,0,1) and i['changes']==[], j" "$out"

# ---- save > f; apply f changes nothing ----
printf '%s\n' "interface rc" "interface rs --mode generic --via-stack" \
	"tcp :8080 $S_IP:80 --name web" "tcp :8081 $S_IP2:80 --name other" \
	"tcp '[::]:8080' '[2001:db8::10]:80' --name web6" \
	"tcp :9000-9099 $S_IP:7000-7099 --name rng --allow 198.51.100.0/24 --allow 203.0.113.7 --deny-action pass" \
	"any :* $S_IP2 --name dmz" >"$CONF"
run_unit "$RELOAD" >/dev/null 2>&1
session() { # session OUT PORT: one TCP connection that waits for $TMP/go
	rm -f "$TMP/go"
	in_ns "$NS_C" timeout $((60 * SLOW)) python3 -S "$HELP/tcp_session.py" $R_CIP "$2" "$TMP/go" $((50 * SLOW)) >"$1" 2>&1 </dev/null &
	PIDS+=($!); sess=$!
	wait_until 10 grep -q . "$1"
}
session "$TMP/s1.out" 8080
expect "a live flow through web (before save)" "A $C_IP first" "$(head -1 "$TMP/s1.out")"
# everything apply could disturb: ids and rules, counters, flows (without ages), programs
snapshot() {
	pr -j list
	pr -j stats | python3 -S -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["rules"], sort_keys=True))'
	pr -j conntrack list | python3 -S -c 'import json,sys; print(sorted((e["proto"],e["client"],e["listen"],e["target"],e["state"],e["rule"]) for e in json.load(sys.stdin)))'
	pr -j status | python3 -S -c 'import json,sys; print(json.load(sys.stdin)["interfaces"])'
}
pr save >"$TMP/saved.conf"
expect "save prints the config in its canonical form (IPv6, range, allowlist, DMZ, modes)" \
	"$(sed "s/'//g; s|203.0.113.7 |203.0.113.7/32 |" "$CONF")" "$(cat "$TMP/saved.conf")"
before=$(snapshot)
out=$(pr apply "$TMP/saved.conf" 2>&1); rc=$?
expect "apply of what save printed reports everything unchanged" \
	"0 added 0, replaced 0, deleted 0, unchanged 5 (0 conntrack entries removed)|interfaces: attached 0, changed 0, detached 0, unchanged 2" \
	"$rc $(printf '%s' "$out" | paste -sd'|')"
after=$(snapshot)
expect "...and leaves ids, counters, flows and program ids as they were" "$before" "$after"
out=$(pr save | diff - "$TMP/saved.conf"); rc=$?
expect "save | diff - saved shows no drift" "0 ''" "$rc '$out'"
pr add tcp :9999 $S_IP:99 --name drift >/dev/null
out=$(pr save | diff - "$TMP/saved.conf" | grep '^[<>]')
expect "a rule added by hand shows as drift in save | diff" "< tcp :9999 $S_IP:99 --name drift" "$out"
pr del --name drift >/dev/null
touch "$TMP/go"; wait "$sess" 2>/dev/null
expect "the flow carried on after save and apply" "$(printf 'A %s first\nA %s second' $C_IP $C_IP)" "$(cat "$TMP/s1.out")"

# ---- stop keeps the maps; start resumes live flows ----
session "$TMP/s2.out" 8080
expect "a live flow through web (before stop)" "A $C_IP first" "$(head -1 "$TMP/s2.out")"
rules_before=$(pr -j list)
out=$(run_unit "$STOP" 2>&1); rc=$?
expect "ExecStop detaches both interfaces" "0 detached from rc|detached from rs" "$rc $(printf '%s\n' "$out" | sort | paste -sd'|')"
expect "after stop no interface is attached" "" "$(ifaces)"
expect "after stop no portredir program is on rc" "" \
	"$(in_ns "$NS_R" tc filter show dev rc ingress 2>/dev/null; in_ns "$NS_R" ip link show dev rc 2>/dev/null | grep -o 'prog/xdp.*')"
expect "after stop the rules are still in the maps" "$rules_before" "$(pr -j list)"
check "after stop the live flow's conntrack entry is still there" python3 -S -c "
import json,sys; assert [e for e in json.loads(sys.argv[1]) if e['listen']=='$R_CIP:8080' and e['state']=='ESTABLISHED'], sys.argv[1]" "$(pr -j conntrack list)"
# the gap: a packet meets the host's own stack, where nothing listens on 8080
out=$(in_ns "$NS_C" timeout $((5 * SLOW)) socat -T2 - TCP:$R_CIP:8080 <<<"gap" 2>&1); rc=$?
check "while stopped, a new connection to :8080 is refused by the host itself (exit $rc)" \
	sh -c '[ "$1" -ne 0 ] && printf %s "$2" | grep -qi "refused"' _ "$rc" "$out"
out=$(run_unit "$STOP" 2>&1); rc=$?
expect "ExecStop again (nothing attached) succeeds" "0 no interface attached in this network namespace" "$rc $out"
out=$(run_unit "$START" 2>&1); rc=$?
expect "ExecStart after stop attaches again and finds every rule unchanged" \
	"0 added 0, replaced 0, deleted 0, unchanged 5 (0 conntrack entries removed)|interfaces: attached 2, changed 0, detached 0, unchanged 0" \
	"$rc $(grep -v '^attached interface' <<<"$out" | paste -sd'|')"
touch "$TMP/go"; wait "$sess" 2>/dev/null
expect "the flow opened before stop carries on after start (no packet in the gap)" \
	"$(printf 'A %s first\nA %s second' $C_IP $C_IP)" "$(cat "$TMP/s2.out")"

# ---- bad config lines: exit 2, FILE:LINE naming the token, nothing changed ----
# bad_conf DESC LINE TOKEN CONTENT...
bad_conf() {
	local desc=$1 line=$2 token=$3 f=$TMP/bad.conf out err rc before; shift 3
	printf '%s\n' "$@" >"$f"
	before=$(state)
	err=$(pr apply "$f" 2>&1 >/dev/null); rc=$?
	out=$(pr apply "$f" 2>/dev/null)
	if [ "$rc" -eq 2 ] && [ -z "$out" ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] &&
		grep -qF -- "apply: $f:$line: " <<<"$err" && grep -qF -- "$token" <<<"$err" && [ "$(state)" = "$before" ]; then
		ok "rejects $desc: $err"
	else
		not_ok "rejects $desc"
		echo "# expected: exit 2, no stdout, one line naming $f:$line and $token, no change"
		echo "# got: rc=$rc stdout='$out' stderr='$err'"
		[ "$(state)" = "$before" ] || echo "# and the state changed"
	fi
}
R="tcp :8080 $S_IP:80 --name web"
bad_conf "an unknown interface" 2 "'nosuch0'" "interface rc" "interface nosuch0" "$R"
bad_conf "an unknown mode" 1 "'turbo'" "interface rc --mode turbo" "$R"
bad_conf "an interface twice" 3 "'rc' is already on line 1" "interface rc" "interface rs" "interface rc --mode tc" "$R"
bad_conf "--max-rules differing between lines" 2 "'64'" "interface rc --max-rules 32" "interface rs --max-rules 64" "$R"
bad_conf "--max-rules other than the maps'" 1 "'64'" "interface rc --max-rules 64" "$R"
bad_conf "an unknown interface option" 1 "'--bogus'" "interface rc --bogus" "$R"
bad_conf "an interface line without IFACE" 2 "IFACE" "$R" "interface"
bad_conf "a too long interface name" 1 "'abcdefghijklmnopq'" "interface abcdefghijklmnopq" "$R"
bad_conf "a bad rule after interface changes" 3 "'65536'" "interface rs" "$R" "tcp :65536 $S_IP:80"
bad_conf "--mode without a value" 1 "--mode" "interface rc --mode"
before=$(state)
cp "$TMP/bad.conf" "$CONF"
out=$(run_unit "$RELOAD" 2>&1); rc=$?
expect "ExecReload with a bad config exits 2 and changes nothing" "2 same" \
	"$rc $([ "$(state)" = "$before" ] && echo same || echo CHANGED)"

# stop at the end too: the maps stay, cleanup removes them
run_unit "$STOP" >/dev/null 2>&1

# ---- --max-rules on an interface line sizes maps the apply creates ----
PIN2=${PIN}_sized
trap 'cleanup; rm -rf "$TMP" "$PIN2"' EXIT
pr2() { in_ns "$NS_R" "$PR_BIN" --pin-dir "$PIN2" "$@"; }
printf '%s
' "interface rs --mode tc --max-rules 16" "tcp :8080 $S_IP:80 --name web" >"$TMP/sized.conf"
out=$(pr2 apply "$TMP/sized.conf" 2>&1); rc=$?
expect "a config with --max-rules 16 creates maps for 16 rules" "0 16" \
	"$rc $(pr2 -j status | python3 -S -c 'import json,sys; print(json.load(sys.stdin)["maps"]["rules_max"])')"
expect "save writes --max-rules back on the interface line" "$(cat "$TMP/sized.conf")" "$(pr2 save)"
out=$(pr2 save | pr2 apply - 2>&1)
expect "and applying that changes nothing" \
	"added 0, replaced 0, deleted 0, unchanged 1 (0 conntrack entries removed)|interfaces: attached 0, changed 0, detached 0, unchanged 1" \
	"$(printf '%s' "$out" | paste -sd'|')"
pr2 detach --all >/dev/null
tap_done
