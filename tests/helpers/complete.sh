#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs portredir's bash completion on one command line, cursor at its end, and prints COMPREPLY one a line.
# Usage: complete.sh COMPLETION_FILE LINE [split]
# Words are split at blanks; with "split" also at '=' and ':' as bash does
# (COMP_WORDBREAKS), so the script must join them again. With
# COMPLETE_WITH_BASH_COMPLETION=FILE that file (bash-completion's main
# script) is sourced first.
set -u
comp_file=$1 line=$2 split=${3:-}
if [ -n "${COMPLETE_WITH_BASH_COMPLETION:-}" ]; then
	# bash-completion's own script reads unset variables
	set +u
	# shellcheck disable=SC1090
	source "$COMPLETE_WITH_BASH_COMPLETION" || exit 1
	set -u
fi
# shellcheck disable=SC1090
source "$comp_file" || exit 1
COMP_LINE=$line
COMP_POINT=${#line}
if [ "$split" = split ]; then
	read -ra COMP_WORDS <<<"$(sed 's/\([=:][=:]*\)/ \1 /g' <<<"$line")"
else
	read -ra COMP_WORDS <<<"$line"
fi
[[ $line == *[[:blank:]] || -z $line ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMPREPLY=()
_portredir || exit 1
[ "${#COMPREPLY[@]}" -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}"
