#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The CLI contract: bad input fails with exit 2, one line naming the bad token, and no change to any map.
# Usage: cli.sh [CASE...]; each case starts with nothing attached, no pins, no servers.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TAG=prcli$$
source "$HERE/../lib.sh"
source "$HERE/cli_common.sh"
TMP=$(mktemp -d /tmp/portredir-cli.XXXXXX)
PIN_SMALL=${PIN}_small # cli_common.sh's reset removes it
trap 'cleanup; rm -rf "$PIN_SMALL" "${PIN}_eq" "$TMP"' EXIT


case_bad_input() {
	local before bad_state=end
	check "add a rule" pr add tcp :8080 192.0.2.10:80 --name web
	check "add a UDP rule with a listen address" pr add udp 198.51.100.1:53 192.0.2.10:5353
	before=$(state)
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
	bad_input "--snat without an address" "--snat" add tcp :8100 192.0.2.10:80 --snat
	bad_input "a bad --snat address" "'192.0.2.300'" add tcp :8100 192.0.2.10:80 --snat 192.0.2.300
	bad_input "an IPv6 --snat on an IPv4 rule" "'2001:db8::1'" add tcp :8100 192.0.2.10:80 --snat 2001:db8::1
	bad_input "an IPv4 --snat on an IPv6 rule" "'198.51.100.1'" add tcp '[::]:8100' '[2001:db8::10]:80' --snat 198.51.100.1
	bad_input "an unspecified --snat address" "'0.0.0.0'" add tcp :8100 192.0.2.10:80 --snat 0.0.0.0
	bad_input "--snat with --masquerade" "'198.51.100.1'" add tcp :8100 192.0.2.10:80 --masquerade --snat 198.51.100.1
	bad_input "a --snat-ports port 0" "'0'" add tcp :8100 192.0.2.10:80 --masquerade --snat-ports 0-10
	bad_input "a reversed --snat-ports range" "'5000-4000'" add tcp :8100 192.0.2.10:80 --snat-ports 5000-4000
	bad_input "a bad --snat-ports=RANGE" "'70000'" add tcp :8100 192.0.2.10:80 --snat-ports=1000-70000
	bad_input "--snat-ports without a range" "--snat-ports" add tcp :8100 192.0.2.10:80 --snat-ports
	bad_input "an unknown --hairpin" "'on'" add tcp :8100 192.0.2.10:80 --hairpin on
	bad_input "a bad --hairpin=VALUE" "'yes'" add tcp :8100 192.0.2.10:80 --hairpin=yes
	bad_input "--masquerade given a value" "'--masquerade=yes'" add tcp :8100 192.0.2.10:80 --masquerade=yes
	bad_input "--replace with a bad --snat keeps the rule" "'x'" add tcp :8080 192.0.2.10:80 --replace --snat x
	# top-level options: one line naming the word, not the usage text
	bad_input "an unknown top-level option" "'--bogus'" --bogus list
	bad_input "an unknown top-level short option" "'-x'" -x list
	bad_input "--pin-dir without a value" "--pin-dir" --pin-dir
	# an option that takes one value, given twice: both values named
	bad_input "--pin-dir given twice" "'$TMP/other'" --pin-dir "$TMP/other" list
	bad_input "--name given twice" "('a', then 'b')" add tcp :8081 192.0.2.10:80 --name a --name=b
	bad_input "--deny-action given twice" "('pass', then 'drop')" add tcp :8081 192.0.2.10:80 --allow 10.0.0.0/8 --deny-action pass --deny-action drop
	bad_input "--snat given twice" "('198.51.100.1', then '198.51.100.2')" add tcp :8081 192.0.2.10:80 --snat 198.51.100.1 --snat 198.51.100.2
	bad_input "--mode given twice" "('tc', then 'native')" attach rc --mode tc --mode native
	bad_input "del --name given twice" "('web', then 'x')" del --name web --name x
	bad_input "exporter without --listen" "--listen" exporter
	bad_input "a bad exporter --listen" "'192.0.2:9567'" exporter --listen 192.0.2:9567
	bad_input "an exporter --listen without a port" "'[::1]'" exporter --listen '[::1]'
	bad_inputs_changed_nothing
}

# bad_json DESC CODE TOKEN ARGS...: under -j an error is JSON on stdout,
# {"error": MESSAGE} naming TOKEN on one line, with exit CODE, nothing on
# stderr, the same message as in text (when the text run fails too: save
# fails under -j only) and no change from the state in $before.
bad_json() {
	local desc=$1 code=$2 token=$3 out err rc text msg; shift 3
	out=$(pr -j "$@" 2>"$TMP/json.err"); rc=$?; err=$(cat "$TMP/json.err")
	text=$(pr "$@" 2>&1 >/dev/null)
	msg=$(json_get .error <<<"$out" 2>/dev/null)
	expect_begin "-j: $desc is a JSON error (exit $code): $(tr -d '\n' <<<"$out")"
	expect_eq "exit status" "$code" "$rc"
	expect_eq "stderr" "" "$err"
	expect_eq "the JSON's keys" '["error"]' "$(json_get 'keys | tojson' <<<"$out" 2>&1)"
	expect_contains "the error names the token" "$token" "$msg"
	expect_eq "lines in the error" 1 "$(printf '%s\n' "$msg" | wc -l)"
	if [ -n "$text" ]; then # text is "portredir: [COMMAND: ]MESSAGE"
		text=${text#*: }; case $text in *': '*) text=${text#*: } ;; esac
		expect_eq "the same message as in text" "$text" "$msg"
	fi
	expect_eq "state (rules and attachments)" "$before" "$(state)"
	expect_end
}

# Under -j an error is JSON on stdout, with the same exit code and message as in text.
case_json_errors() {
	local before
	two_rules
	before=$(state)
	bad_json "a bad port" 2 "'65536'" add tcp :65536 192.0.2.10:80
	bad_json "an unknown option" 2 "'--bogus'" list --bogus
	bad_json "a missing IFACE" 2 IFACE attach
	bad_json "an unknown mode" 2 "'turbo'" attach rc --mode=turbo
	bad_json "an unknown conntrack subcommand" 2 "'purge'" conntrack purge
	bad_json "an unknown command" 2 "'frobnicate'" frobnicate
	bad_json "stats --prometheus (the text format only)" 2 "--prometheus" stats --prometheus
	bad_json "a taken listen port (a failure, not bad input)" 1 "rule 1" add tcp :8080 192.0.2.11:80
	bad_json "deleting a rule that does not exist" 1 "tcp :9999" del tcp :9999
	# save prints the config format only: under -j it is refused, as a JSON error
	bad_json "save -j (save prints the config format only)" 2 "-j" save
}

# Runtime refusals: exit 1, message names the existing rule, nothing changes.
case_runtime_refusals() {
	local before err rc
	two_rules
	before=$(state)
	err=$(pr add tcp :8080 192.0.2.11:80 2>&1); rc=$?
	refused "adding a taken listen port fails naming the existing rule (exit 1)" 1 \
		'rule 1 \(tcp :8080 -> 192\.0\.2\.10:80 name web\)' state
	err=$(pr add tcp :8082 192.0.2.11:80 --name web 2>&1); rc=$?
	refused "adding a taken name fails naming the rule that has it" 1 "name 'web' is taken: rule 1" state
	err=$(pr del tcp :9999 2>&1); rc=$?
	refused "deleting a rule that does not exist fails (exit 1) naming it" 1 'tcp :9999'
	err=$(pr del --name nope 2>&1); rc=$?
	refused "deleting an unknown name fails naming it" 1 "'nope'"
	err=$(pr detach rc 2>&1); rc=$?
	refused "detach of an interface portredir is not on fails (exit 1)" 1 .
}

# Ranges, allowlists and DMZ
case_ranges() {
	local err rc r
	check "add a port range with an allowlist" pr add tcp :9000-9099 192.0.2.20:7000-7099 --name rng --allow 198.51.100.0/24 --allow 203.0.113.7 --deny-action pass
	err=$(pr add udp :9050 192.0.2.20:1 2>&1); rc=$?
	expect_eq "a UDP rule on a TCP range's port is not an overlap" 0 "$rc"
	err=$(pr add any :9050 192.0.2.21:1 2>&1); rc=$?
	refused "an 'any' rule overlapping the range fails naming it (exit 1)" 1 "overlap.*tcp :9000-9099 -> 192.0.2.20:7000-7099 name rng"
	err=$(pr del tcp :9050 2>&1); rc=$?
	refused "deleting one port inside a range names the range (exit 1)" 1 "part of rule .* name rng"
	r=$(pr -j list | json_get '.[] | select(.name == "rng")')
	expect_begin "list -j shows the range, allowlist and deny action"
	expect_eq "listen" ":9000-9099" "$(json_get .listen <<<"$r")"
	expect_eq "target" "192.0.2.20:7000-7099" "$(json_get .target <<<"$r")"
	expect_eq "allow" '["198.51.100.0/24","203.0.113.7/32"]' "$(json_get '.allow | tojson' <<<"$r")"
	expect_eq "deny_action" pass "$(json_get .deny_action <<<"$r")"
	expect_end
	check "add a DMZ for tcp and udp keeping ports" pr add any :* 192.0.2.50 --name dmz
	expect_match "list shows the DMZ as any :* -> ADDR:*" 'dmz *any *:\* *192\.0\.2\.50:\*' "$(pr list)"
	check "del the range by its listen" pr del tcp :9000-9099
	check "del the DMZ by name" pr del --name dmz
	check "del the udp rule" pr del udp :9050
}

# Output formats
case_output() {
	local c err rc l out schema version
	two_rules
	expect_eq "list prints one rule a line" 2 "$(pr list | wc -l)"
	l=$(pr -j list)
	expect_begin "list -j is a JSON array with id, name, proto, listen and target"
	expect_eq "length" 2 "$(json_get length <<<"$l")"
	expect_eq "first rule" '{"id":1,"name":"web","proto":"tcp","listen":":8080","target":"192.0.2.10:80"}' \
		"$(json_get '.[0] | tojson' <<<"$l")"
	expect_eq "second rule's listen" 198.51.100.1:53 "$(json_get '.[1].listen' <<<"$l")"
	expect_eq "second rule's proto" udp "$(json_get '.[1].proto' <<<"$l")"
	expect_end
	expect_match "PORTREDIR_PIN_DIR selects the pin dir" web "$(PORTREDIR_PIN_DIR=$PIN in_ns "$NS_R" "$PR_BIN" list)"
	schema=$(sed -n 's/^#define PR_SCHEMA_VERSION \([0-9]*\)$/\1/p' "$HERE/../../include/portredir.h")
	out=$("$PR_BIN" --version); rc=$?
	expect_begin "--version prints the version and the map schema"
	expect_eq "exit status" 0 "$rc"
	expect_match "output" "^portredir [0-9]+\.[0-9]+\.[0-9]+ \(map schema $schema\)\$" "$out"
	expect_end
	version=$(sed -E 's/^portredir ([^ ]+) .*/\1/' <<<"$out")
	out=$("$PR_BIN" -j --version)
	expect_begin "-j --version gives both as JSON"
	expect_eq "map_schema" "$schema" "$(json_get .map_schema <<<"$out")"
	expect_eq "version" "$version" "$(json_get .version <<<"$out")"
	expect_end
	# the maps it creates carry that schema in pr_info (magic, schema); without
	# BTF bpftool gives the value as hex bytes, little-endian
	expect_eq "the pin dir this binary created has schema $schema in pr_info" "$schema" \
		"$(bpftool -j map lookup pinned "$PIN/pr_info" key 0 0 0 0 | json_get '
			def hex: ascii_downcase | ltrimstr("0x") | explode
				| map(if . >= 97 then . - 87 else . - 48 end) | reduce .[] as $d (0; . * 16 + $d);
			if .formatted then .formatted.value.schema
			else .value[4:8] | map(hex) | .[0] + 256 * .[1] + 65536 * .[2] + 16777216 * .[3] end')"
	for c in attach detach status add del list stats conntrack apply save exporter; do
		out=$("$PR_BIN" $c -h 2>&1); rc=$?
		expect_begin "'$c -h' prints usage and exits 0"
		expect_match "output" Usage "$out"
		expect_eq "exit status" 0 "$rc"
		expect_end
	done
	# -h comes from the command's option table: its usage line, then a help line for every option in it
	for c in attach detach status add del list stats conntrack apply save exporter; do
		out=$("$PR_BIN" $c -h 2>&1); rc=$?
		expect_begin "'$c -h' starts 'Usage: portredir $c', explains each option, and equals '$c --help'"
		expect_eq "exit status" 0 "$rc"
		expect_eq "'$c --help'" "$out" "$("$PR_BIN" $c --help 2>&1)"
		expect_match "first line" "^Usage: portredir $c( |\$)" "$(head -1 <<<"$out")"
		for o in $(head -1 <<<"$out" | grep -o -- "--[a-z-]*"); do
			expect_match "help line for $o" "^  $o" "$out"
		done
		expect_end
		expect_match "'portredir -h' lists $c" "^  $c\b" "$("$PR_BIN" -h)"
	done
	expect_eq "pin dir is mode 0700" 700 "$(stat -c %a "$PIN")"
	check "del with the listen spec works" pr del udp 198.51.100.1:53
	check "an IPv6 rule for the same port as an IPv4 one is separate" pr add tcp :8080 '[2001:db8::10]:80'
	expect_match "list shows it bracketed, any address as [::]" '\[::\]:8080 *\[2001:db8::10\]:80' "$(pr list)"
	err=$(pr del tcp :8080 2>&1); rc=$?
	refused "del of ':8080' with both families present is refused as ambiguous (exit 2)" 2 ambiguous
	check "del [::]:8080 removes the IPv6 rule only" sh -c "'$PR_BIN' --pin-dir '$PIN' del tcp '[::]:8080' >/dev/null && '$PR_BIN' --pin-dir '$PIN' list | grep -q ' :8080 '"
	check "read-only commands on an empty pin dir show an empty state" \
		sh -c "'$PR_BIN' --pin-dir /sys/fs/bpf/${TAG}_none list && [ ! -e /sys/fs/bpf/${TAG}_none ]"
	out=$(in_ns "$NS_R" "$PR_BIN" --pin-dir /sys/fs/bpf/${TAG}_none save 2>&1); rc=$?
	expect_begin "save on an empty pin dir prints nothing and creates nothing"
	expect_eq "exit status" 0 "$rc"
	expect_eq "output" "" "$out"
	expect_eq "pin dir created" no "$([ -e /sys/fs/bpf/${TAG}_none ] && echo yes || echo no)"
	expect_end
	out=$(in_ns "$NS_R" "$PR_BIN" --pin-dir /sys/fs/bpf/${TAG}_none detach --all 2>&1); rc=$?
	expect_begin "detach --all with nothing attached succeeds"
	expect_eq "exit status" 0 "$rc"
	expect_eq "output" "no interface attached in this network namespace" "$out"
	expect_eq "pin dir created" no "$([ -e /sys/fs/bpf/${TAG}_none ] && echo yes || echo no)"
	expect_end
}

# --opt=value is taken wherever --opt value is
case_opt_equals() {
	local r out j id
	PIN_EQ=${PIN}_eq
	rm -rf "$PIN_EQ"
	check "add takes --name=, --allow= and --deny-action=" pr add tcp :8090 192.0.2.10:80 --name=eq --allow=198.51.100.0/24 --deny-action=pass
	r=$(pr -j list | json_get '.[] | select(.name == "eq")')
	expect_begin "  ...the same rule as with spaces"
	expect_eq "listen" ":8090" "$(json_get .listen <<<"$r")"
	expect_eq "allow" '["198.51.100.0/24"]' "$(json_get '.allow | tojson' <<<"$r")"
	expect_eq "deny_action" pass "$(json_get .deny_action <<<"$r")"
	expect_end
	id=$(rule_get eq id)
	out=$(pr add tcp :8090 192.0.2.11:80 --replace --name=eq 2>&1)
	expect_begin "add --replace with --name= keeps the id"
	expect_match "output" "name eq" "$out"
	expect_eq "id" "$id" "$(rule_get eq id)"
	expect_eq "target" 192.0.2.11:80 "$(rule_get eq target)"
	expect_end
	expect_match "del takes --name=" "^deleted rule .* name eq" "$(pr del --name=eq --keep-flows 2>&1)"
	check "--pin-dir= and attach --mode= --max-rules= (fresh maps)" \
		in_ns "$NS_R" "$PR_BIN" --pin-dir="$PIN_EQ" attach rs --mode=tc --max-rules=8
	j=$(in_ns "$NS_R" "$PR_BIN" -j --pin-dir "$PIN_EQ" status)
	expect_begin "  ...sized and attached as asked"
	expect_eq "rules_max" 8 "$(json_get .maps.rules_max <<<"$j")"
	expect_eq "interfaces" '[["rs","tc"]]' "$(json_get '[.interfaces[] | [.interface, .mode]] | tojson' <<<"$j")"
	expect_end
	check "detach from the --pin-dir= maps" in_ns "$NS_R" "$PR_BIN" --pin-dir="$PIN_EQ" detach rs
	rm -rf "$PIN_EQ"
}

tap_plan
echo "# namespaces $NS_C $NS_R $NS_S, pin dir $PIN, time scale x$PR_SCALE"
topo_up || { echo "Bail out! cannot build namespaces"; exit 1; }
trap 'cleanup; rm -rf "$PIN_SMALL" "${PIN}_eq" "$TMP"' EXIT
if [ $# -gt 0 ]; then PR_CASES="$*"; fi
run_cases case_bad_input case_json_errors case_runtime_refusals case_ranges case_output case_opt_equals
tap_done
