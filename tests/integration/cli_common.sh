# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# What cli.sh and apply.sh share (sourced after tests/lib.sh, not a suite): their reset, the state they compare, and the bad-input and refusal checks.

# prs: portredir on the small maps of apply.sh's capacity case
prs() { in_ns "$NS_R" "$PR_BIN" --pin-dir "$PIN_SMALL" "$@"; }

case_reset() {
	local i links qdiscs
	pr detach --all >/dev/null 2>&1
	prs detach --all >/dev/null 2>&1
	# what a failed detach (or a case's own tc or ip) left behind, looked for
	# with two process starts rather than removed blindly with four a device
	links=$(in_ns "$NS_R" ip -o link show) qdiscs=$(in_ns "$NS_R" tc qdisc show)
	for i in rc rs; do
		[[ $links =~ (^|$'\n')[0-9]+:\ $i[@:][^$'\n']*\ xdp ]] && in_ns "$NS_R" ip link set $i xdp off 2>/dev/null
		[[ $qdiscs =~ clsact[^$'\n']*\ dev\ $i\  ]] && in_ns "$NS_R" tc qdisc del dev $i clsact 2>/dev/null
	done
	rm -rf "$PIN" "$PIN_SMALL" "${TMP:?}"/*
}

# state = rules and attachments, as JSON; not conntrack or live flows, which
# expire on their own (cases keep flows open)
state() { pr -j list; pr -j status | grep -v 'conntrack\|"flows"'; }

# bad_input DESC TOKEN ARGS...: exit 2, a single line on stderr naming TOKEN,
# nothing on stdout, no change from the state in $before. One process start
# (each costs most of a second under TCG): a case that sets bad_state=end
# compares the state once, after all its bad inputs, with bad_inputs_changed_nothing.
bad_input() {
	local desc=$1 token=$2 out err rc; shift 2
	out=$(pr "$@" 2>"$TMP/.bad-err"); rc=$?
	err=$(<"$TMP/.bad-err")
	expect_begin "rejects $desc: $err"
	expect_eq "exit status" 2 "$rc"
	expect_eq "stdout" "" "$out"
	expect_eq "lines on stderr" 1 "$([[ $err == *$'\n'* ]] && echo 2+ || echo 1)"
	expect_contains "stderr names the token" "$token" "$err"
	[ "${bad_state:-each}" = end ] || expect_eq "state (rules and attachments)" "$before" "$(state)"
	expect_end
	BAD_N=$((${BAD_N:-0} + 1))
}
bad_inputs_changed_nothing() {
	expect_eq "the $BAD_N bad inputs above changed no rule or attachment" "$before" "$(state)"
	BAD_N=0
}
# refused DESC RC PATTERN: the last command's exit status and message, and no change from $before
refused() {
	expect_begin "$1"
	expect_eq "exit status" "$2" "$rc"
	expect_match "message" "$3" "$err"
	[ -z "${4:-}" ] || expect_eq "state (rules and attachments)" "$before" "$(state)"
	expect_end
}
two_rules() {
	pr add tcp :8080 192.0.2.10:80 --name web >/dev/null &&
		pr add udp 198.51.100.1:53 192.0.2.10:5353 >/dev/null || diag "setup: the two rules were not added"
}

