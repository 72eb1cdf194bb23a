#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The CLI contract: bad input fails with exit 2, one line naming the bad token, and no change to any map.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TAG=prcli$$
source "$HERE/../lib.sh"
HELP=$HERE/../helpers
TMP=$(mktemp -d /tmp/portredir-cli.XXXXXX)
PIN_SMALL=${PIN}_small
tap_plan
# client, router and server: apply's live-flow checks need real connections
topo_up || { echo "Bail out! cannot build namespaces"; exit 1; }
trap 'cleanup; rm -rf "$PIN_SMALL" "${PIN}_eq" "$TMP"' EXIT

check "add a rule" pr add tcp :8080 192.0.2.10:80 --name web
check "add a UDP rule with a listen address" pr add udp 198.51.100.1:53 192.0.2.10:5353

# state = rules and attachments, as JSON; not conntrack or live flows, which
# expire on their own (later tests keep flows open)
state() { pr -j list; pr -j status | grep -v 'conntrack\|"flows"'; }
before=$(state)

# bad_input DESC TOKEN ARGS...: exit 2, a single line on stderr naming TOKEN, nothing on stdout, no state change.
bad_input() {
	local desc=$1 token=$2 out err rc; shift 2
	err=$(pr "$@" 2>&1 >/dev/null); rc=$?
	out=$(pr "$@" 2>/dev/null)
	if [ "$rc" -eq 2 ] && [ -z "$out" ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] &&
		grep -qF -- "$token" <<<"$err" && [ "$(state)" = "$before" ]; then
		ok "rejects $desc: $err"
	else
		not_ok "rejects $desc"
		echo "# rc=$rc stdout='$out' stderr='$err'"
	fi
}
bad_input "port 0" "'0'" add tcp :0 192.0.2.10:80
bad_input "port 65536" "'65536'" add tcp :65536 192.0.2.10:80
bad_input "target port 99999" "'99999'" add tcp :8081 192.0.2.10:99999
bad_input "a non-numeric port" "'http'" add tcp :http 192.0.2.10:80
bad_input "a bad listen address" "'300.1.2.3'" add tcp 300.1.2.3:8081 192.0.2.10:80
bad_input "a bad target address" "'192.0.2'" add tcp :8081 192.0.2:80
bad_input "an unknown protocol" "'icmp'" add icmp :8081 192.0.2.10:80
bad_input "a missing target port" "'192.0.2.10'" add tcp :8081 192.0.2.10
bad_input "an empty target port" "'192.0.2.10:'" add tcp :8081 192.0.2.10:
bad_input "a target without an address" "':80'" add tcp :8081 :80
bad_input "a missing TARGET" "TARGET" add tcp :8081
bad_input "a missing LISTEN" "LISTEN" add tcp
bad_input "an extra argument" "'extra'" add tcp :8081 192.0.2.10:80 extra
bad_input "an unknown option" "'--bogus'" add tcp :8081 192.0.2.10:80 --bogus
bad_input "a bad name" "'bad name!'" add tcp :8081 192.0.2.10:80 --name 'bad name!'
bad_input "mixed families (IPv4 listen, IPv6 target)" "'[2001:db8::1]:80'" add tcp 0.0.0.0:8081 '[2001:db8::1]:80'
bad_input "mixed families (IPv6 listen, IPv4 target)" "'[::]:8081'" add tcp '[::]:8081' 192.0.2.10:80
bad_input "a bad IPv6 address" "'2001:db8::zz'" add tcp :8081 '[2001:db8::zz]:80'
bad_input "an IPv6 target without a port" "'[2001:db8::1]'" add tcp :8081 '[2001:db8::1]'
bad_input "an unbracketed IPv6 endpoint" "'2001:db8::1:80'" add tcp :8081 2001:db8::1:80
bad_input "an unspecified IPv6 target" "'[::]:80'" add tcp :8081 '[::]:80'
bad_input "ranges of unequal length" "unequal length" add tcp :8100-8199 192.0.2.10:9000-9049
bad_input "a reversed port range" "'8199-8100'" add tcp :8199-8100 192.0.2.10:80
bad_input "a range with a bad port" "'0'" add tcp :0-10 192.0.2.10:80
bad_input "a bad --allow CIDR" "'10.0.0.0/33'" add tcp :8100 192.0.2.10:80 --allow 10.0.0.0/33
bad_input "a bad --allow address" "'10.0.0.300'" add tcp :8100 192.0.2.10:80 --allow 10.0.0.300/8
bad_input "an IPv6 --allow on an IPv4 rule" "'2001:db8::/32'" add tcp :8100 192.0.2.10:80 --allow 2001:db8::/32
bad_input "--deny-action without --allow" "'pass'" add tcp :8100 192.0.2.10:80 --deny-action pass
bad_input "an unknown --deny-action" "'reject'" add tcp :8100 192.0.2.10:80 --allow 10.0.0.0/8 --deny-action reject
bad_input "a target range for a DMZ listen" "'192.0.2.10:1-5'" add tcp :* 192.0.2.10:1-5
bad_input "an unknown interface on attach" "'nosuch0'" attach nosuch0
bad_input "an unknown mode" "'turbo'" attach rc --mode turbo
bad_input "an unknown interface on detach" "'nosuch0'" detach nosuch0
bad_input "a missing IFACE" "IFACE" attach
bad_input "an unknown command" "'frobnicate'" frobnicate
bad_input "an unknown conntrack subcommand" "'purge'" conntrack purge
bad_input "an unknown attach option" "'--bogus'" attach rc --bogus
bad_input "a bad --max-rules" "'0'" attach rc --max-rules 0
bad_input "detach with both IFACE and --all" "'rc'" detach rc --all
bad_input "detach --all with an extra argument" "'extra'" detach --all extra
bad_input "an unknown detach option" "'--al'" detach --al
bad_input "save with an argument" "'extra'" save extra
bad_input "a flag given a value" "'--dry-run=yes'" apply --dry-run=yes /dev/null
bad_input "an unknown --opt=value" "'--bogus=1'" list --bogus=1
bad_input "a bad --max-rules=N" "'0'" attach rc --max-rules=0
bad_input "an unknown --mode=MODE" "'turbo'" attach rc --mode=turbo
bad_input "a bad --name=NAME on del" "'bad name!'" del --name='bad name!'
bad_input "a bad --allow=CIDR" "'10.0.0.0/33'" add tcp :8100 192.0.2.10:80 --allow=10.0.0.0/33

# Under -j an error is JSON on stdout, {"error": MESSAGE}, with the same exit
# code and message as in text, nothing on stderr, and no state change.
# (save fails under -j only: there the text run succeeds and is not compared.)
# bad_json DESC CODE TOKEN ARGS...
bad_json() {
	local desc=$1 code=$2 token=$3 out err rc; shift 3
	out=$(pr -j "$@" 2>"$TMP/json.err"); rc=$?; err=$(cat "$TMP/json.err")
	if [ "$rc" -eq "$code" ] && [ -z "$err" ] && [ "$(state)" = "$before" ] && python3 -c "
import json,sys; j=json.loads(sys.argv[1]); assert list(j)==['error'], j
assert sys.argv[2] in j['error'], (sys.argv[2], j); assert '\n' not in j['error'], j
text=sys.argv[3].split(': ', 2)[-1]  # the same message as in text (when text fails too)
assert not sys.argv[3] or j['error']==text, (j['error'], text)" "$out" "$token" "$(pr "$@" 2>&1 >/dev/null)"; then
		ok "-j: $desc is a JSON error (exit $code): $(tr -d '\n' <<<"$out")"
	else
		not_ok "-j: $desc is a JSON error (exit $code)"
		echo "# rc=$rc stdout='$out' stderr='$err'"
	fi
}
bad_json "a bad port" 2 "'65536'" add tcp :65536 192.0.2.10:80
bad_json "an unknown option" 2 "'--bogus'" list --bogus
bad_json "a missing IFACE" 2 IFACE attach
bad_json "an unknown mode" 2 "'turbo'" attach rc --mode=turbo
bad_json "an unknown conntrack subcommand" 2 "'purge'" conntrack purge
bad_json "an unknown command" 2 "'frobnicate'" frobnicate
bad_json "a taken listen port (a failure, not bad input)" 1 "rule 1" add tcp :8080 192.0.2.11:80
bad_json "deleting a rule that does not exist" 1 "tcp :9999" del tcp :9999
# save prints the config format only: under -j it is refused, as a JSON error
bad_json "save -j (save prints the config format only)" 2 "-j" save

# Runtime refusals: exit 1, message names the existing rule, nothing changes.
err=$(pr add tcp :8080 192.0.2.11:80 2>&1); rc=$?
check "adding a taken listen port fails naming the existing rule (exit 1)" \
	sh -c "[ $rc -eq 1 ] && echo '$err' | grep -q 'rule 1 (tcp :8080 -> 192.0.2.10:80 name web)' && [ \"\$1\" = \"\$2\" ]" _ "$before" "$(state)"
err=$(pr add tcp :8082 192.0.2.11:80 --name web 2>&1); rc=$?
check "adding a taken name fails naming the rule that has it" \
	sh -c '[ "$1" -eq 1 ] && printf %s "$2" | grep -qF "name '"'web'"' is taken: rule 1" && [ "$3" = "$4" ]' _ "$rc" "$err" "$before" "$(state)"
err=$(pr del tcp :9999 2>&1); rc=$?
check "deleting a rule that does not exist fails (exit 1) naming it" \
	sh -c "[ $rc -eq 1 ] && echo '$err' | grep -q 'tcp :9999'"
err=$(pr del --name nope 2>&1); rc=$?
check "deleting an unknown name fails naming it" sh -c '[ "$1" -eq 1 ] && printf %s "$2" | grep -qF "'"'nope'"'"' _ "$rc" "$err"
check "detach of an interface portredir is not on fails (exit 1)" sh -c "! '$PR_BIN' --pin-dir '$PIN' detach rc 2>/dev/null"

# Ranges, allowlists and DMZ
check "add a port range with an allowlist" pr add tcp :9000-9099 192.0.2.20:7000-7099 --name rng --allow 198.51.100.0/24 --allow 203.0.113.7 --deny-action pass
err=$(pr add udp :9050 192.0.2.20:1 2>&1); rc=$?
check "a UDP rule on a TCP range's port is not an overlap" test $rc -eq 0
err=$(pr add any :9050 192.0.2.21:1 2>&1); rc=$?
check "an 'any' rule overlapping the range fails naming it (exit 1)" \
	sh -c '[ "$1" -eq 1 ] && printf %s "$2" | grep -q "overlap.*tcp :9000-9099 -> 192.0.2.20:7000-7099 name rng"' _ "$rc" "$err"
err=$(pr del tcp :9050 2>&1); rc=$?
check "deleting one port inside a range names the range (exit 1)" \
	sh -c '[ "$1" -eq 1 ] && printf %s "$2" | grep -q "part of rule .* name rng"' _ "$rc" "$err"
check "list -j shows the range, allowlist and deny action" python3 -c "
import json,sys; r={x['name']:x for x in json.loads(sys.argv[1])}['rng']
assert r['listen']==':9000-9099' and r['target']=='192.0.2.20:7000-7099', r
assert r['allow']==['198.51.100.0/24','203.0.113.7/32'] and r['deny_action']=='pass', r" "$(pr -j list)"
check "add a DMZ for tcp and udp keeping ports" pr add any :* 192.0.2.50 --name dmz
check "list shows the DMZ as any :* -> ADDR:*" sh -c "'$PR_BIN' --pin-dir '$PIN' list | grep -q 'dmz *any *:\* *192.0.2.50:\*'"
check "del the range by its listen" pr del tcp :9000-9099
check "del the DMZ by name" pr del --name dmz
check "del the udp rule" pr del udp :9050

# Output formats
check "list prints one rule a line" sh -c "[ \$('$PR_BIN' --pin-dir '$PIN' list | wc -l) -eq 2 ]"
check "list -j is a JSON array with id, name, proto, listen and target" python3 -c "
import json,sys; r=json.loads(sys.argv[1]); assert len(r)==2
assert r[0]=={'id':1,'name':'web','proto':'tcp','listen':':8080','target':'192.0.2.10:80'}, r[0]
assert r[1]['listen']=='198.51.100.1:53' and r[1]['proto']=='udp', r[1]" "$(pr -j list)"
check "PORTREDIR_PIN_DIR selects the pin dir" \
	sh -c "PORTREDIR_PIN_DIR='$PIN' nsenter --net=/run/netns/$NS_R '$PR_BIN' list | grep -q web"
schema=$(sed -n 's/^#define PR_SCHEMA_VERSION \([0-9]*\)$/\1/p' "$HERE/../../include/portredir.h")
out=$("$PR_BIN" --version); rc=$?
check "--version prints the version and the map schema (expected 'portredir X.Y.Z (map schema $schema)', got '$out')" \
	sh -c '[ "$1" -eq 0 ] && printf %s "$2" | grep -Eqx "portredir [0-9]+\.[0-9]+\.[0-9]+ \(map schema $3\)"' _ "$rc" "$out" "$schema"
out=$("$PR_BIN" -j --version)
check "-j --version gives both as JSON" python3 -c "
import json,sys; j=json.loads(sys.argv[1]); assert j['map_schema']==$schema and j['version']=='$(sed -E 's/^portredir ([^ ]+) .*/\1/' <<<"$("$PR_BIN" --version)")', j" "$out"
# the maps it creates carry that schema in pr_info (magic, schema)
got=$(bpftool -j map lookup pinned "$PIN/pr_info" key 0 0 0 0 | python3 -c '
import json,sys; j=json.load(sys.stdin)
f=j.get("formatted")
print(f["value"]["schema"] if f else int.from_bytes(bytes(int(b, 16) for b in j["value"][4:8]), "little"))')
check "the pin dir this binary created has schema $schema in pr_info (got '$got')" test "$got" = "$schema"
for c in attach detach status add del list stats conntrack apply save; do
	check "'$c -h' prints usage and exits 0" sh -c "'$PR_BIN' $c -h | grep -q Usage"
done
# -h comes from the command's option table: its usage line, then a help line for every option in it
for c in attach detach status add del list stats conntrack apply save; do
	check "'$c -h' starts 'Usage: portredir $c', explains each option, and equals '$c --help'" sh -c '
		h=$("$1" "$2" -h) && [ "$h" = "$("$1" "$2" --help)" ] && [ "${h%%
*}" != "${h#Usage: portredir $2}" ] || exit 1
		for o in $(printf "%s\n" "$h" | head -1 | grep -o -- "--[a-z-]*"); do
			printf "%s\n" "$h" | grep -q "^  $o" || { echo "no help for $o"; exit 1; }
		done' _ "$PR_BIN" "$c"
	check "'portredir -h' lists $c" sh -c "'$PR_BIN' -h | grep -q '^  $c\b'"
done

# --opt=value is taken wherever --opt value is
check "add takes --name=, --allow= and --deny-action=" pr add tcp :8090 192.0.2.10:80 --name=eq --allow=198.51.100.0/24 --deny-action=pass
check "  ...the same rule as with spaces" python3 -c "
import json,sys; r={x['name']:x for x in json.loads(sys.argv[1])}['eq']
assert r['listen']==':8090' and r['allow']==['198.51.100.0/24'] and r['deny_action']=='pass', r" "$(pr -j list)"
check "add --replace with --name= keeps the id" sh -c '"$@" add tcp :8090 192.0.2.11:80 --replace --name=eq | grep -q "name eq"' _ nsenter --net=/run/netns/$NS_R "$PR_BIN" --pin-dir "$PIN"
check "del takes --name=" sh -c '"$@" del --name=eq --keep-flows | grep -q "^deleted rule .* name eq"' _ nsenter --net=/run/netns/$NS_R "$PR_BIN" --pin-dir "$PIN"
PIN_EQ=${PIN}_eq
check "--pin-dir= and attach --mode= --max-rules= (fresh maps)" \
	in_ns "$NS_R" "$PR_BIN" --pin-dir="$PIN_EQ" attach rs --mode=tc --max-rules=8
check "  ...sized and attached as asked" python3 -c "
import json,sys; j=json.loads(sys.argv[1]); assert j['maps']['rules_max']==8, j
assert [(i['interface'], i['mode']) for i in j['interfaces']]==[('rs','tc')], j" "$(in_ns "$NS_R" "$PR_BIN" -j --pin-dir "$PIN_EQ" status)"
check "detach from the --pin-dir= maps" in_ns "$NS_R" "$PR_BIN" --pin-dir="$PIN_EQ" detach rs
rm -rf "$PIN_EQ"
check "pin dir is mode 0700" sh -c "[ \$(stat -c %a '$PIN') = 700 ]"
check "del with the listen spec works" pr del udp 198.51.100.1:53
check "an IPv6 rule for the same port as an IPv4 one is separate" pr add tcp :8080 '[2001:db8::10]:80'
check "list shows it bracketed, any address as [::]" sh -c "'$PR_BIN' --pin-dir '$PIN' list | grep -q '\[::\]:8080 *\[2001:db8::10\]:80'"
err=$(pr del tcp :8080 2>&1); rc=$?
check "del of ':8080' with both families present is refused as ambiguous (exit 2)" \
	sh -c '[ "$1" -eq 2 ] && printf %s "$2" | grep -q ambiguous' _ "$rc" "$err"
check "del [::]:8080 removes the IPv6 rule only" sh -c "'$PR_BIN' --pin-dir '$PIN' del tcp '[::]:8080' >/dev/null && '$PR_BIN' --pin-dir '$PIN' list | grep -q ' :8080 '"
check "read-only commands on an empty pin dir show an empty state" \
	sh -c "'$PR_BIN' --pin-dir /sys/fs/bpf/${TAG}_none list && [ ! -e /sys/fs/bpf/${TAG}_none ]"
out=$(in_ns "$NS_R" "$PR_BIN" --pin-dir /sys/fs/bpf/${TAG}_none save 2>&1); rc=$?
check "save on an empty pin dir prints nothing and creates nothing (exit $rc, '$out')" \
	sh -c '[ "$1" -eq 0 ] && [ -z "$2" ] && [ ! -e "$3" ]' _ "$rc" "$out" /sys/fs/bpf/${TAG}_none
out=$(in_ns "$NS_R" "$PR_BIN" --pin-dir /sys/fs/bpf/${TAG}_none detach --all 2>&1); rc=$?
check "detach --all with nothing attached succeeds (exit $rc, '$out')" \
	sh -c '[ "$1" -eq 0 ] && [ "$2" = "no interface attached in this network namespace" ] && [ ! -e "$3" ]' _ "$rc" "$out" /sys/fs/bpf/${TAG}_none
# ---- apply: the rule table becomes the file ----
F=$TMP/rules.txt
# rules as sorted JSON, to compare states
rules_of() { pr -j list | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))'; }
# stat_of NAME FIELD: one counter of the rule named NAME
stat_of() { pr -j stats | python3 -c 'import json,sys; print({r["name"]:r for r in json.load(sys.stdin)["rules"]}[sys.argv[1]][sys.argv[2]])' "$1" "$2"; }
id_of() { pr -j list | python3 -c 'import json,sys; print({r["name"]:r for r in json.load(sys.stdin)}[sys.argv[1]]["id"])' "$1"; }
session() { # session OUT: one TCP connection to the router's 8080 that waits for $TMP/go
	rm -f "$TMP/go"
	in_ns "$NS_C" timeout $((30 * SLOW)) python3 "$HELP/tcp_session.py" $R_CIP 8080 "$TMP/go" $((20 * SLOW)) >"$1" 2>&1 </dev/null &
	PIDS+=($!); sess=$!
	wait_until 10 grep -q . "$1"
}

out=$(pr apply /dev/null 2>&1); rc=$?
check "apply of an empty file deletes every rule" \
	sh -c '[ "$1" -eq 0 ] && printf %s "$2" | grep -Eq "^added 0, replaced 0, deleted [1-9][0-9]*, unchanged 0" && [ "$3" = "[]" ]' _ "$rc" "$out" "$(pr -j list)"

pr attach rc --mode tc >/dev/null
for b in "$S_IP A" "$S_IP2 B"; do
	set -- $b
	bg_ns "$NS_S" socat TCP-LISTEN:80,bind="$1",fork,reuseaddr SYSTEM:"while read l; do echo $2 \$SOCAT_PEERADDR \$l; done"
done
wait_until 5 listening "$NS_S" tcp 80 || echo "# servers did not start"
printf '%s\n' "# the router's forwards" \
	"tcp :8080 $S_IP:80 --name web" \
	"udp $R_CIP:53 $S_IP:53 --name dns   # with a listen address" \
	"tcp :9000-9099 $S_IP:7000-7099 --name rng --allow 198.51.100.0/24 --deny-action pass" \
	"" \
	"any :* $S_IP2 --name dmz" \
	"tcp '[::]:8080' '[2001:db8::10]:80' --name web6" >"$F"
out=$(pr apply "$F" 2>&1); rc=$?
check "apply into an empty table adds every rule of the file" \
	sh -c '[ "$1" -eq 0 ] && [ "$2" = "added 5, replaced 0, deleted 0, unchanged 0 (0 conntrack entries removed)" ]' _ "$rc" "$out"
check "list -j shows the file's rules: listen, target, allowlist, DMZ, IPv6" python3 -c "
import json,sys; r={x['name']:x for x in json.loads(sys.argv[1])}
assert sorted(r)==['dmz','dns','rng','web','web6'], r
assert r['web']['listen']==':8080' and r['web']['target']=='$S_IP:80', r['web']
assert r['dns']['proto']=='udp' and r['dns']['listen']=='$R_CIP:53', r['dns']
assert r['rng']['target']=='$S_IP:7000-7099' and r['rng']['allow']==['198.51.100.0/24'] and r['rng']['deny_action']=='pass', r['rng']
assert r['dmz']['proto']=='any' and r['dmz']['target']=='$S_IP2:*', r['dmz']
assert r['web6']['listen']=='[::]:8080', r['web6']" "$(pr -j list)"

want=$(printf '%s\n' "interface rc --mode tc" "tcp :8080 $S_IP:80 --name web" "udp $R_CIP:53 $S_IP:53 --name dns" \
	"tcp :9000-9099 $S_IP:7000-7099 --name rng --allow 198.51.100.0/24 --deny-action pass" \
	"any :* $S_IP2 --name dmz" "tcp [::]:8080 [2001:db8::10]:80 --name web6")
out=$(pr save 2>&1)
check "save prints the interface and the rules in the file format" sh -c '[ "$1" = "$2" ] || { printf "expected:\n%s\ngot:\n%s\n" "$1" "$2"; exit 1; }' _ "$want" "$out"
out=$(pr save | pr apply - 2>&1)
check "save | apply - changes nothing" sh -c '[ "$1" = "$2" ] || { printf "expected:\n%s\ngot:\n%s\n" "$1" "$2"; exit 1; }' _ \
	"$(printf 'added 0, replaced 0, deleted 0, unchanged 5 (0 conntrack entries removed)\ninterfaces: attached 0, changed 0, detached 0, unchanged 1')" "$out"

# a live flow through web gives it counters and conntrack entries
session "$TMP/s1.out"
check "a live flow through an applied rule reaches backend A" test "$(head -1 "$TMP/s1.out")" = "A $C_IP first"

before=$(rules_of); flows=$(stat_of web flows); pkts=$(stat_of web packets_in)
out=$(pr apply "$F" 2>&1); rc=$?
check "re-applying the same file changes nothing" \
	sh -c '[ "$1" -eq 0 ] && [ "$2" = "added 0, replaced 0, deleted 0, unchanged 5 (0 conntrack entries removed)" ]' _ "$rc" "$out"
check "re-apply keeps ids, names and targets" test "$(rules_of)" = "$before"
check "re-apply keeps the counters ($flows flows, $pkts packets in)" \
	sh -c '[ "$1" -ge 1 ] && [ "$1" = "$2" ] && [ "$3" -ge 1 ] && [ "$3" = "$4" ]' _ "$flows" "$(stat_of web flows)" "$pkts" "$(stat_of web packets_in)"

# change web's target: a replace; the live flow keeps A, new flows go to B
web_id=$(id_of web)
sed -i "s|tcp :8080 $S_IP:80 --name web|tcp :8080 $S_IP2:80 --name web|" "$F"
before=$(rules_of)
out=$(pr apply --dry-run "$F" 2>&1); rc=$?
check "apply --dry-run prints the replace and changes nothing" \
	sh -c '[ "$1" -eq 0 ] && printf %s "$2" | grep -q "^replace rule $3 (line 2): tcp :8080 -> $4:80 name web" &&
		printf %s "$2" | grep -q "would add 0, replace 1, delete 0; unchanged 4" && [ "$5" = "$6" ]' \
	_ "$rc" "$out" "$web_id" "$S_IP2" "$before" "$(rules_of)"
out=$(pr -j apply --dry-run "$F" 2>&1)
check "apply -j --dry-run lists the change as JSON" python3 -c "
import json,sys; j=json.loads(sys.argv[1]); assert j['dry_run'] and j['replaced']==1 and j['added']==0, j
c=j['changes']; assert len(c)==1 and c[0]['action']=='replace' and c[0]['line']==2, c
assert c[0]['old']['target']=='$S_IP:80' and c[0]['rule']['target']=='$S_IP2:80', c" "$out"
out=$(pr apply "$F" 2>&1); rc=$?
check "changing one target replaces that rule only" \
	sh -c '[ "$1" -eq 0 ] && [ "$2" = "added 0, replaced 1, deleted 0, unchanged 4 (0 conntrack entries removed)" ]' _ "$rc" "$out"
check "the replaced rule keeps its id and counters" \
	sh -c '[ "$1" = "$2" ] && [ "$3" = "$4" ]' _ "$web_id" "$(id_of web)" "$flows" "$(stat_of web flows)"
touch "$TMP/go"; wait "$sess" 2>/dev/null
check "the established flow keeps its old backend across the replace" \
	test "$(cat "$TMP/s1.out")" = "$(printf 'A %s first\nA %s second' $C_IP $C_IP)"
out=$(in_ns "$NS_C" timeout $((5 * SLOW)) socat -T3 - TCP:$R_CIP:8080 <<<"hello" 2>&1)
check "a new flow after the replace reaches backend B" test "$out" = "B $C_IP hello"

# remove web from the file: deleted as del does, its live flow flushed
session "$TMP/s2.out"
web_id=$(id_of web)
sed -i '/--name web$/d' "$F"
out=$(pr apply "$F" 2>&1); rc=$?
check "a rule no longer in the file is deleted and its flows flushed" \
	sh -c '[ "$1" -eq 0 ] && printf %s "$2" | grep -Eq "^added 0, replaced 0, deleted 1, unchanged 4 \([1-9][0-9]* conntrack entries removed\)"' _ "$rc" "$out"
check "no conntrack entry of the deleted rule is left" python3 -c "
import json,sys; assert not [e for e in json.loads(sys.argv[1]) if e['rule']==$web_id], sys.argv[1]" "$(pr -j conntrack list)"
touch "$TMP/go"; wait "$sess" 2>/dev/null
check "the deleted rule's live flow is no longer redirected" sh -c "head -1 '$TMP/s2.out' | grep -q 'B $C_IP first' && ! grep -q 'second' '$TMP/s2.out'"
check "list no longer has it" sh -c "! '$PR_BIN' --pin-dir '$PIN' list | grep -q ' web '"

# Bad files: exit 2, one line "apply: FILE:LINE: ..." naming the token, nothing changed.
# bad_apply DESC LINE TOKEN CONTENT
bad_apply() {
	local desc=$1 line=$2 token=$3 f=$TMP/bad.txt err
	printf '%s\n' "$4" >"$f"
	before=$(state)
	bad_input "$desc" "$token" apply "$f"
	err=$(pr apply "$f" 2>&1)
	check "  ...naming the file and line $line" grep -qF "apply: $f:$line: " <<<"$err"
}
bad_apply "a file with a bad port on line 3" 3 "'65536'" "$(head -2 "$F"; echo "tcp :65536 $S_IP:80"; tail -n +3 "$F")"
bad_apply "a file with an unknown option" 2 "'--nmae'" "$(printf '# x\ntcp :1 %s:1 --nmae x' $S_IP)"
bad_apply "a file whose rules overlap" 7 "'tcp :9050'" "$(cat "$F"; echo "tcp :9050 $S_IP:1")"
bad_apply "a file with a name twice" 3 "'dns'" "$(head -2 "$F"; echo "tcp :1 $S_IP:1 --name dns")"
bad_apply "a file with the same listen twice" 3 "'udp $R_CIP:53'" "$(head -2 "$F"; echo "udp $R_CIP:53 $S_IP:54")"
bad_apply "a file with an unterminated quote" 1 "quote" "tcp ':1 $S_IP:1"
before=$(state)
bad_input "a missing apply FILE" "FILE" apply
bad_input "an apply FILE that does not exist" "'$TMP/nosuch'" apply "$TMP/nosuch"
out=$(printf 'tcp :8081 %s:80 --name w2\n' $S_IP | pr apply --dry-run - 2>&1)
check "apply - reads stdin (--dry-run: would delete the other 4)" \
	sh -c 'printf %s "$1" | grep -q "would add 1, replace 0, delete 4; unchanged 0"' _ "$out"
out=$(printf 'tcp :8081 %s:80 x\n' $S_IP | pr apply - 2>&1)
check "a bad line from stdin is reported as <stdin>:1" grep -qF "<stdin>:1: unexpected argument 'x'" <<<"$out"

# 100,000 rules in one apply (correctness only; tests/bench/ctl.sh times it)
python3 -c "
import sys
with open(sys.argv[1], 'w') as f:
    for i in range(100000):
        f.write('tcp 198.51.100.%d:%d 203.0.113.%d:%d\n' % (10 + i // 50000, 1 + i % 50000, 1 + i % 254, 1 + i % 60000))" "$TMP/big.txt"
out=$(pr apply "$TMP/big.txt" 2>&1); rc=$?
check "apply of 100,000 rules adds them all and deletes the other 4" \
	sh -c '[ "$1" -eq 0 ] && printf %s "$2" | grep -q "^added 100000, replaced 0, deleted 4, unchanged 0"' _ "$rc" "$out"
pr list >"$TMP/list.txt"
check "list shows 100,000 rules, the last one intact" \
	sh -c '[ "$(wc -l <"$1")" -eq 100000 ] && grep -Eq "^[0-9]+ +- +tcp +198\.51\.100\.11:50000 +203\.0\.113\.178:40000$" "$1"' _ "$TMP/list.txt"
check "status counts 100,000 rules and as many lookup entries" python3 -c "
import json,sys; m=json.loads(sys.argv[1])['maps']; assert m['rules']==100000 and m['rule_entries']==100000 and m['rules_max']>=131072, m" "$(pr -j status)"
out=$(pr apply "$TMP/big.txt" 2>&1)
check "re-applying the 100,000 rules is a no-op" grep -q "unchanged 100000" <<<"$out"
sed -i '1s/203.0.113.1:1$/192.0.2.1:1/' "$TMP/big.txt"
out=$(pr apply "$TMP/big.txt" 2>&1)
check "changing one of 100,000 rules replaces one" grep -q "replaced 1, deleted 0, unchanged 99999" <<<"$out"
out=$(pr add tcp 198.51.100.10:5-9 192.0.2.1:1 2>&1); rc=$?
check "add next to 100,000 rules still finds the overlap (exit 1)" sh -c '[ "$1" -eq 1 ] && printf %s "$2" | grep -q "overlap"' _ "$rc" "$out"
out=$(pr apply /dev/null 2>&1)
check "apply of an empty file removes the 100,000 rules" grep -q "deleted 100000" <<<"$out"

# Kernels without batch ops take the one-by-one path; force it: same result
python3 -c "
import sys
with open(sys.argv[1], 'w') as f:
    for i in range(3000):
        f.write('%s 198.51.100.20:%d 203.0.113.%d:%d%s\n' % ('any' if i % 7 == 0 else 'tcp', 1 + 2 * i, 1 + i % 254, 80,
                ' --allow 192.0.2.0/24 --allow 198.51.100.%d' % (i % 250) if i % 10 == 0 else ''))" "$TMP/mixed.txt"
out=$(export PORTREDIR_BATCH=0; pr apply "$TMP/mixed.txt" 2>&1)
check "PORTREDIR_BATCH=0: apply element by element adds 3,000 rules" grep -q "^added 3000, replaced 0, deleted 0" <<<"$out"
one_by_one=$(rules_of)
check "PORTREDIR_BATCH=0: status counts them without batch reads" python3 -c "
import json,sys; m=json.loads(sys.argv[1])['maps']; assert m['rules']==3000 and m['rule_entries']==3000+429, m" \
	"$(export PORTREDIR_BATCH=0; pr -j status)"
out=$(export PORTREDIR_BATCH=0; pr apply /dev/null 2>&1)
check "PORTREDIR_BATCH=0: and deletes them" sh -c 'printf %s "$1" | grep -q "deleted 3000" && [ "$2" = "[]" ]' _ "$out" "$(pr -j list)"
pr apply "$TMP/mixed.txt" >/dev/null
check "the batch path gives the same rules, ids and allowlists" test "$(rules_of)" = "$one_by_one"
pr apply /dev/null >/dev/null

# Capacity: maps sized by attach --max-rules; a full table states its size
prs() { in_ns "$NS_R" "$PR_BIN" --pin-dir "$PIN_SMALL" "$@"; }
check "attach --max-rules 4 creates small maps" prs attach rs --mode tc --max-rules 4
check "status shows the capacity and what the counters cost" python3 -c "
import json,sys; m=json.loads(sys.argv[1])['maps']; assert m['rules_max']==4 and m['rule_counters_bytes']==5*48*m['possible_cpus'], m" "$(prs -j status)"
err=$(prs attach rs --max-rules 8 2>&1); rc=$?
check "attach --max-rules cannot resize existing maps (exit 1, states the capacity)" \
	sh -c '[ "$1" -eq 1 ] && printf %s "$2" | grep -q "hold 4 rules"' _ "$rc" "$err"
for i in 1 2 3 4 5; do echo "tcp :$i $S_IP:$i"; done >"$TMP/five.txt"
err=$(prs apply "$TMP/five.txt" 2>&1); rc=$?
check "applying 5 rules into room for 4 fails at line 5 stating the capacity (exit 1)" \
	sh -c '[ "$1" -eq 1 ] && printf %s "$2" | grep -q ":5: rule table is full: the maps hold 4 rules" && [ "$3" = "[]" ]' _ "$rc" "$err" "$(prs -j list)"
head -4 "$TMP/five.txt" >"$TMP/four.txt"
check "4 rules fit" prs apply "$TMP/four.txt"
err=$(prs add tcp :99 $S_IP:1 2>&1); rc=$?
check "add into a full table fails stating the capacity (exit 1)" \
	sh -c '[ "$1" -eq 1 ] && printf %s "$2" | grep -q "rule table is full: the maps hold 4 rules"' _ "$rc" "$err"
for i in 11 12 13 14; do echo "tcp :$i $S_IP:$i"; done >"$TMP/four2.txt"
out=$(prs apply "$TMP/four2.txt" 2>&1); rc=$?
check "4 other rules replace them though both sets cannot fit at once (deletes go first)" \
	sh -c '[ "$1" -eq 0 ] && printf %s "$2" | grep -q "deleted rules went first" &&
		printf %s "$2" | grep -q "added 4, replaced 0, deleted 4" && [ "$(printf "%s\n" "$3" | wc -l)" -eq 4 ] &&
		printf %s "$3" | grep -q " :14 "' _ "$rc" "$out" "$(prs list)"
prs detach rs >/dev/null
tap_done
