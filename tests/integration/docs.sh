#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The man pages and the bash completion cover the CLI: man --warnings is silent, every command and option the program itself reports is documented and completed, and completion offers the right words.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT" || exit 1
TAG=prdoc$$
source "$HERE/../lib.sh"
MAN8=$ROOT/docs/man/portredir.8
MAN5=$ROOT/docs/man/portredir.conf.5
COMP=$ROOT/cli/completion/portredir
COMPLETE=$HERE/../helpers/complete.sh
BASH_COMPLETION=/usr/share/bash-completion/bash_completion
NS=$NS_R
set -f # words such as [::]:8080 are never globs here
tap_plan
trap cleanup EXIT

# ---- what the program says it accepts ----

# uniq_words: stdin words, one a line, duplicates dropped, order kept
uniq_words() { tr -s '[:blank:]' '\n' | awk 'NF && !seen[$0]++'; }
# flat TEXT: its lines as one line of words
flat() { tr '\n' ' ' <<<"$1" | sed 's/ *$//'; }
# long options in stdin
long_opts() { grep -oE -- '--[a-z][a-z0-9-]*[a-z0-9]' | uniq_words; }

HELP=$("$PR_BIN" -h 2>&1) || { echo "Bail out! '$PR_BIN -h' failed: $HELP"; exit 1; }
# commands: the indented lines of the usage, first word
mapfile -t COMMANDS < <(sed -n 's/^  \([a-z][a-z-]*\).*/\1/p' <<<"$HELP" | uniq_words)
# global options: getopt's own table (glibc lists every long option when the
# empty prefix "--=" is ambiguous), the usage line, and every short option
# letter the parser does not refuse as unknown (getopt: "invalid option")
mapfile -t GLOBAL < <({
	"$PR_BIN" --= 2>&1 | sed -n "s/.*possibilities: //p" | tr -d "'"
	head -n1 <<<"$HELP" | sed 's/COMMAND.*//' | long_opts
	for c in {a..z} {A..Z}; do
		PORTREDIR_PIN_DIR=/nonexistent/$TAG "$PR_BIN" "-$c" 2>&1 </dev/null | grep -qE "invalid option|unknown option '-$c'" || echo "-$c"
	done
} | uniq_words)
# every long option anywhere in the program (the CLI and the library it links)
mapfile -t ALL_LONG < <(grep -aoE -- '--[a-z][a-z0-9-]*[a-z0-9]' "$PR_BIN" | uniq_words)
mapfile -t PROTOS < <(sed -n 's/^PROTO: *//p' <<<"$HELP" | tr '|' ' ' | uniq_words)
mapfile -t ENV_VARS < <(grep -oE '\$[A-Z][A-Z0-9_]*' <<<"$HELP" | tr -d '$' | uniq_words)
mapfile -t EXIT_CODES < <(sed -n 's/^Exit status: //p' <<<"$HELP" | grep -oE '(^|, )[0-9]+' | tr -d ', ')
DEFAULT_PIN=$(sed -n 's/.*defaults to .*, else \(\/[^ ]*[^ .]\).*/\1/p' <<<"$HELP")

# cmd_usage CMD: the Usage line of "CMD -h" and its continuation lines
cmd_usage() {
	"$PR_BIN" "$1" -h 2>&1 | awk '/^Usage:/ { u = 1; print; next } u && /^[ \t]+[[|]/ { print; next } { u = 0 }'
}
# cmd_opts CMD: its long options
cmd_opts() { cmd_usage "$1" | long_opts; }
# cmd_keywords CMD: bare lowercase words of its usage outside [...] (subcommands)
cmd_keywords() {
	cmd_usage "$1" | sed 's/^Usage://; s/\[[^]]*\]//g' | tr '|' ' ' | uniq_words |
		grep -E '^[a-z]+$' | grep -vxF -e portredir -e "$1"
}
# cmd_values CMD OPT: the choices "[OPT a|b|c]" lists
cmd_values() { cmd_usage "$1" | grep -oE -- "\\[$2 [a-z]+(\\|[a-z]+)+\\]" | head -n1 | sed "s/^\\[$2 //; s/\\]$//" | tr '|' ' ' | uniq_words; }

if [ "${#COMMANDS[@]}" -lt 5 ] || [ "${#GLOBAL[@]}" -lt 4 ] || [ "${#PROTOS[@]}" -lt 2 ]; then
	echo "Bail out! cannot read commands, options and protocols from '$PR_BIN -h':"
	printf '%s\n' "$HELP" | sed 's/^/# /'
	exit 1
fi
echo "# commands: ${COMMANDS[*]}"
echo "# global options: ${GLOBAL[*]}"
echo "# long options in the binary: ${ALL_LONG[*]}"
for c in "${COMMANDS[@]}"; do echo "# $c: $(cmd_opts "$c" | tr '\n' ' ')$(cmd_keywords "$c" | tr '\n' ' ')"; done

# ---- man pages ----

# render PAGE: plain text, one paragraph a line where it fits, no hyphenation
render() { LC_ALL=C MANWIDTH=1000 man --nh --nj -l "$1" 2>/dev/null | sed 's/.\x08//g'; }
# has_token TEXT TOKEN: TOKEN as a whole word (options: not a prefix of a longer one)
has_token() { grep -qE -- "(^|[^A-Za-z0-9-])$2([^A-Za-z0-9-]|$)" <<<"$1"; }
# section TEXT NAME: the lines of section NAME
section() { awk -v s="$2" '/^[A-Z]/ { in_s = ($0 == s); next } in_s' <<<"$1"; }
# command_block TEXT CMD: CMD's subsection of COMMANDS, heading included
command_block() {
	section "$1" COMMANDS | awk -v c="$2" '/^   [^ ]/ { split($0, w, " "); in_b = (w[1] == c) } in_b'
}
# is_tag TEXT TOKEN: TOKEN starts an entry of an option list (".TP" tag) in TEXT
is_tag() { grep -qE -- "^       (-[A-Za-z0-9], )?$2([^A-Za-z0-9-]|$)" <<<"$1"; }

for page in "$MAN8" "$MAN5" "$ROOT/docs/man/portredir-cni.8"; do
	if ! command -v man >/dev/null; then
		not_ok "man --warnings on ${page##*/}: man is not installed (make deps installs man-db)"
		continue
	fi
	warn=$(LC_ALL=C MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null); rc=$?
	if [ "$rc" -eq 0 ] && [ -z "$warn" ]; then
		ok "man --warnings -l ${page##*/} is silent"
	else
		not_ok "man --warnings -l ${page##*/} is silent (exit $rc)"
		printf '%s\n' "$warn" | sed 's/^/# /'
	fi
done

M8=$(render "$MAN8")
M5=$(render "$MAN5")
# report DESC MISSING...: one TAP line, naming what is missing
report() {
	local desc=$1; shift
	if [ $# -eq 0 ]; then ok "$desc"; else not_ok "$desc"; echo "# missing: $*"; fi
}

miss=()
GOPTS=$(section "$M8" "GLOBAL OPTIONS")
for o in "${GLOBAL[@]}"; do is_tag "$GOPTS" "$o" || miss+=("$o"); done
report "portredir.8 GLOBAL OPTIONS has an entry for each of: ${GLOBAL[*]}" "${miss[@]}"

for c in "${COMMANDS[@]}"; do
	miss=()
	block=$(command_block "$M8" "$c")
	[ -n "$block" ] || miss+=("a COMMANDS subsection for $c")
	for o in $(cmd_opts "$c"); do
		is_tag "$block" "$o" || miss+=("$o")
		for v in $(cmd_values "$c" "$o"); do has_token "$block" "$v" || miss+=("$o $v"); done
	done
	for k in $(cmd_keywords "$c"); do is_tag "$block" "$k" || miss+=("$k"); done
	report "portredir.8 documents $c: $(cmd_opts "$c" | tr '\n' ' ')$(cmd_keywords "$c" | tr '\n' ' ')" "${miss[@]}"
done

miss=()
for o in "${ALL_LONG[@]}"; do has_token "$M8" "$o" || miss+=("$o"); done
report "portredir.8 names every long option in the binary" "${miss[@]}"

miss=()
RULES=$(section "$M8" RULES)
for p in "${PROTOS[@]}"; do has_token "$RULES" "$p" || miss+=("$p"); done
for w in LISTEN TARGET; do has_token "$RULES" "$w" || miss+=("$w"); done
report "portredir.8 RULES has PROTO ${PROTOS[*]}, LISTEN and TARGET" "${miss[@]}"

miss=()
ENVS=$(section "$M8" ENVIRONMENT) FILES=$(section "$M8" FILES) EXITS=$(section "$M8" "EXIT STATUS")
for e in "${ENV_VARS[@]}"; do is_tag "$ENVS" "$e" || miss+=("ENVIRONMENT $e"); done
[ -n "$DEFAULT_PIN" ] && { is_tag "$FILES" "$DEFAULT_PIN" || miss+=("FILES $DEFAULT_PIN"); }
for f in /etc/portredir.conf portredir.service; do grep -qF -- "$f" <<<"$FILES" || miss+=("FILES $f"); done
for x in "${EXIT_CODES[@]}"; do is_tag "$EXITS" "$x" || miss+=("EXIT STATUS $x"); done
report "portredir.8 ENVIRONMENT (${ENV_VARS[*]}), FILES ($DEFAULT_PIN, /etc/portredir.conf, the unit), EXIT STATUS (${EXIT_CODES[*]})" "${miss[@]}"

miss=()
for s in "SEE ALSO" EXAMPLES SYNOPSIS DESCRIPTION; do [ -n "$(section "$M8" "$s")" ] || miss+=("section $s"); done
for r in 'portredir.conf(5)' 'bpftool(8)' 'xdp-loader(8)' 'tc(8)' 'nft(8)'; do
	grep -qF -- "$r" <<<"$(section "$M8" "SEE ALSO")" || miss+=("SEE ALSO $r")
done
report "portredir.8 has SYNOPSIS, DESCRIPTION, EXAMPLES and SEE ALSO with the related pages" "${miss[@]}"

# the pages carry the version the program prints
VERSION=$("$PR_BIN" --version 2>&1 | awk '{ print $2; exit }')
miss=()
for page in "$MAN8" "$MAN5" "$ROOT/docs/man/portredir-cni.8"; do
	grep -qE "^\.TH .*\"portredir $VERSION\"" "$page" || miss+=("${page##*/}: $(grep -m1 '^\.TH' "$page")")
done
report "both pages' .TH say portredir $VERSION, as --version does" "${miss[@]}"

# the config file takes attach's options on interface lines and add's on rule lines
miss=()
for o in $(cmd_opts attach; cmd_opts add); do has_token "$M5" "$o" || miss+=("$o"); done
for w in interface FILE:LINE '#'; do grep -qF -- "$w" <<<"$M5" || miss+=("$w"); done
grep -qF -- 'portredir(8)' <<<"$(section "$M5" "SEE ALSO")" || miss+=("SEE ALSO portredir(8)")
report "portredir.conf.5 documents interface lines ($(cmd_opts attach | tr '\n' ' ')), rule lines, comments, errors" "${miss[@]}"

# ---- bash completion ----

# complete_in LINE [split]: COMPREPLY for LINE, run in our namespace, sorted
complete_in() { in_ns "$NS" bash "$COMPLETE" "$COMP" "$@" 2>&1 | sort; }
# expect_reply DESC WANT LINE [split]: COMPREPLY is exactly WANT (words)
expect_reply() {
	local desc=$1 want got; want=$(tr ' ' '\n' <<<"$2" | awk NF | sort); shift 2
	got=$(complete_in "$@")
	if [ "$got" = "$want" ]; then ok "completion: $desc"; else
		not_ok "completion: $desc"
		echo "# line: '$1'"; echo "# expected: $(flat "$want")"; echo "# got: $(flat "$got")"
	fi
}
# expect_includes DESC WANT LINE [split]: COMPREPLY holds every word of WANT
expect_includes() {
	local desc=$1 want=$2 got w miss=(); shift 2
	got=$(complete_in "$@")
	for w in $want; do grep -qxF -- "$w" <<<"$got" || miss+=("$w"); done
	if [ ${#miss[@]} -eq 0 ]; then ok "completion: $desc"; else
		not_ok "completion: $desc"
		echo "# line: '$1'"; echo "# expected at least: $want"; echo "# missing: ${miss[*]}"
		echo "# got: $(flat "$got")"
	fi
}

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ip netns add "$NS" || { echo "Bail out! cannot create namespace $NS"; exit 1; }
in_ns "$NS" ip link set lo up
in_ns "$NS" ip link add prdum0 type dummy 2>/dev/null || echo "# no dummy devices on this kernel: veth only"
in_ns "$NS" ip link add prva type veth peer name prvb
in_ns "$NS" ip link set prva up
in_ns "$NS" ip link set prvb up
P=$PR_BIN

if bash -n "$COMP" 2>/dev/null; then ok "the completion script parses"; else not_ok "the completion script parses"; bash -n "$COMP" 2>&1 | sed 's/^/# /'; fi
expect_includes "commands from '$P -h'" "${COMMANDS[*]}" "$P "
expect_includes "global options" "${GLOBAL[*]}" "$P -"
expect_reply "commands by prefix" "del detach" "$P --pin-dir $PIN de"
miss=()
for o in "${ALL_LONG[@]}"; do grep -qE -- "(^|[^A-Za-z0-9-])$o([^A-Za-z0-9-]|$)" "$COMP" || miss+=("$o"); done
report "completion: the script names every long option in the binary" "${miss[@]}"
for c in "${COMMANDS[@]}"; do
	o=$(cmd_opts "$c" | tr '\n' ' ')
	[ -n "$o" ] && expect_includes "$c options" "$o" "$P $c -"
	k=$(cmd_keywords "$c" | tr '\n' ' ')
	[ -n "$k" ] && expect_includes "$c subcommands" "$k" "$P $c "
	for opt in $(cmd_opts "$c"); do
		v=$(cmd_values "$c" "$opt" | tr '\n' ' ')
		[ -n "$v" ] && expect_reply "values of $c $opt" "$v" "$P $c $opt "
	done
done
expect_reply "modes by prefix" "native" "$P attach prva --mode n"
expect_reply "--mode=VALUE, split at '=' as bash does" "native" "$P attach prva --mode=n" split
expect_reply "protocols for add" "${PROTOS[*]}" "$P add "
expect_reply "protocols for del" "${PROTOS[*]}" "$P del "
expect_reply "protocols for check (tcp and udp: one packet has one)" "tcp udp" "$P check "
expect_reply "nothing to guess for check's --from" "" "$P check tcp :8080 --from "
expect_reply "nothing to guess for add's LISTEN" "" "$P add tcp "
expect_reply "attach --local by prefix" "--local" "$P attach --lo"
expect_reply "nothing after attach --local" "" "$P attach --local "
expect_reply "detach --all, --local and --help by prefix" "--all --local --help" "$P detach --"
expect_reply "nothing after detach --local" "" "$P detach --local "

# interfaces: those of the namespace the completion runs in
NS_IFS=$(in_ns "$NS" ip -o link show | sed -n 's/^[0-9]*: \([^:@]*\).*/\1/p' | tr '\n' ' ')
expect_reply "attach offers this namespace's interfaces ($NS_IFS)" "$NS_IFS" "$P attach "
expect_reply "attach by prefix" "prva prvb" "$P attach prv"
expect_reply "apply offers files" "$(compgen -f -- "docs/man/" | tr '\n' ' ')" "$P apply docs/man/"
expect_includes "apply offers - (stdin)" "-" "$P apply "

# rules and attachments of our own pin dir, named on the command line
add_rules() {
	pr add tcp :8080 192.0.2.10:80 --name web && pr add tcp '[::]:8080' '[2001:db8::10]:80' --name web6 &&
		pr add udp :5353 192.0.2.10:53 --name dns && pr add tcp :9000 192.0.2.10:90
}
check "add named and unnamed rules to our pin dir in $NS" add_rules
export PORTREDIR_PIN_DIR=/sys/fs/bpf/${TAG}_none # none: names must come from --pin-dir
expect_reply "del --name offers the rule names of --pin-dir DIR" "dns web web6" "$P --pin-dir $PIN del --name "
expect_reply "del --name by prefix" "web web6" "$P --pin-dir $PIN del --name we"
expect_reply "del --name with --pin-dir=DIR, split at '=' as bash does" "dns web web6" "$P --pin-dir=$PIN del --name " split
expect_reply "del --name without --pin-dir asks the default pin dir (empty)" "" "$P del --name "
PORTREDIR_PIN_DIR=$PIN expect_reply "del --name follows \$PORTREDIR_PIN_DIR" "dns web web6" "$P del --name "
expect_reply "add --name offers nothing (a new name)" "" "$P --pin-dir $PIN add tcp :1 192.0.2.1:1 --name "
expect_includes "add offers the source NAT options" "--snat --masquerade --snat-ports --hairpin" "$P add tcp :1 192.0.2.1:1 --"
expect_reply "add --snat offers nothing (an address)" "" "$P add tcp :1 192.0.2.1:1 --snat "
expect_reply "add --snat-ports offers nothing (a range)" "" "$P add tcp :1 192.0.2.1:1 --snat-ports "
expect_reply "add --hairpin offers auto and off" "auto off" "$P add tcp :1 192.0.2.1:1 --masquerade --hairpin "
expect_reply "add --hairpin by prefix" "off" "$P add tcp :1 192.0.2.1:1 --hairpin o"
expect_includes "add after --snat ADDR goes on with options" "--snat-ports --hairpin" "$P add tcp :1 192.0.2.1:1 --snat 198.51.100.1 "
expect_reply "del PROTO offers that protocol's listens" ":8080 :9000 [::]:8080" "$P --pin-dir $PIN del tcp "
expect_reply "del listen split at ':' as bash does" "8080" "$P --pin-dir $PIN del tcp :80" split

if pr attach prva --mode tc >/dev/null 2>&1; then
	expect_reply "detach offers the attached interfaces" "prva" "$P --pin-dir $PIN detach "
else
	not_ok "completion: detach offers the attached interfaces: attach prva failed"
	pr attach prva --mode tc 2>&1 | sed 's/^/# /'
fi
expect_reply "detach offers every interface when status fails" "$NS_IFS" "/nonexistent/portredir detach "

if [ -r "$BASH_COMPLETION" ]; then
	export COMPLETE_WITH_BASH_COMPLETION=$BASH_COMPLETION
	expect_includes "commands, with bash-completion loaded" "${COMMANDS[*]}" "$P "
	expect_reply "modes, with bash-completion loaded" "$(cmd_values attach --mode | tr '\n' ' ')" "$P attach prva --mode "
	expect_reply "rule names, with bash-completion loaded" "dns web web6" "$P --pin-dir $PIN del --name "
	unset COMPLETE_WITH_BASH_COMPLETION
else
	skip "completion with bash-completion loaded" "$BASH_COMPLETION is missing (make deps installs bash-completion)"
fi

tap_done
