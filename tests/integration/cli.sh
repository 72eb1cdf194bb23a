#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The CLI contract: bad input fails with exit 2, one line naming the bad token, and no change to any map.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TAG=prcli$$
source "$HERE/../lib.sh"
tap_plan
trap cleanup EXIT
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ip netns add "$NS_R" || { echo "Bail out! cannot create namespace"; exit 1; }
in_ns "$NS_R" ip link add rc type veth peer name rc_p

check "add a rule" pr add tcp :8080 192.0.2.10:80 --name web
check "add a UDP rule with a listen address" pr add udp 198.51.100.1:53 192.0.2.10:5353

# state = rules, conntrack and attachments, as JSON
state() { pr -j list; pr -j status | grep -v conntrack; }
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
check "--version prints the version" sh -c "'$PR_BIN' --version | grep -q '^portredir '"
for c in attach detach status add del list stats conntrack; do
	check "'$c -h' prints usage and exits 0" sh -c "'$PR_BIN' $c -h | grep -q Usage"
done
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
tap_done
