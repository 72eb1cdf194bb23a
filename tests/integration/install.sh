#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `make install` and `make uninstall` into a DESTDIR: every file in its place with its mode and content, the unit running the installed binary, and nothing of ours left after uninstall.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
source "$HERE/../lib.sh"
D=$(mktemp -d /tmp/portredir-install.XXXXXX)
trap 'rm -rf "$D"' EXIT
tap_plan

# show OUTPUT: a failed check's evidence, as TAP comments
show() { printf '%s\n' "$1" | sed 's/^/# /'; }

# The install layout, relative to PREFIX: "PATH MODE SOURCE" (SOURCE relative
# to the tree; the unit is compared after substituting @SBINDIR@).
layout() {
	cat <<-EOF
	sbin/portredir 755 $PR_BUILD/portredir
	lib/cni/portredir 755 $PR_BUILD/cni/portredir
	share/man/man8/portredir.8 644 docs/man/portredir.8
	share/man/man8/portredir-cni.8 644 docs/man/portredir-cni.8
	share/man/man5/portredir.conf.5 644 docs/man/portredir.conf.5
	share/bash-completion/completions/portredir 644 cli/completion/portredir
	lib/systemd/system/portredir.service 644 cli/portredir.service
	share/doc/portredir/examples/portredir.conf 644 cli/portredir.conf
	EOF
}

# "" is make's default PREFIX, which must be /usr/local
for arg in "" /usr /opt/pr; do
	prefix=${arg:-/usr/local}
	dest=$D/dest${arg//\//_}
	what="install${arg:+ PREFIX=$arg}"
	if ! out=$(make -C "$TOP" --no-print-directory O="$PR_BUILD" install ${arg:+PREFIX=$arg} DESTDIR="$dest" 2>&1); then
		not_ok "$what: make install DESTDIR=... fails"; show "$out"; continue
	fi
	ok "$what: make install DESTDIR=... succeeds"

	bad=""
	while read -r path mode src; do
		f=$dest$prefix/$path
		case "$src" in /*) ;; *) src=$TOP/$src ;; esac
		if [ ! -f "$f" ]; then bad+="missing $prefix/$path"$'\n'; continue; fi
		[ "$(stat -c %a "$f")" = "$mode" ] || bad+="$prefix/$path has mode $(stat -c %a "$f"), not $mode"$'\n'
		if [ "$path" = lib/systemd/system/portredir.service ]; then
			sed "s|@SBINDIR@|$prefix/sbin|g" "$src" | cmp -s - "$f" || bad+="$prefix/$path is not $src with @SBINDIR@=$prefix/sbin"$'\n'
		else
			cmp -s "$src" "$f" || bad+="$prefix/$path differs from $src"$'\n'
		fi
	done < <(layout)
	[ -z "$bad" ] && ok "$what: every file in place, with its mode and content" ||
		{ not_ok "$what: every file in place, with its mode and content"; show "$bad"; }

	want=$(layout | awk -v p="$prefix" '{ print p "/" $1 }' | sort)
	got=$(cd "$dest" && find . ! -type d | cut -c2- | sort)
	[ "$got" = "$want" ] && ok "$what: installs nothing else" ||
		{ not_ok "$what: installs nothing else"; show "$(diff <(echo "$want") <(echo "$got"))"; }

	unit=$dest$prefix/lib/systemd/system/portredir.service
	execs=$(grep -E '^Exec[A-Za-z]*=' "$unit" 2>/dev/null)
	if [ -n "$execs" ] && ! grep -vE "^Exec[A-Za-z]*=[-@:+!]*$prefix/sbin/portredir( |$)" <<<"$execs" >/dev/null &&
		! grep -q '@[A-Z_]*@' "$unit"; then
		ok "$what: the unit's Exec lines run $prefix/sbin/portredir, no placeholder left"
	else
		not_ok "$what: the unit's Exec lines run $prefix/sbin/portredir, no placeholder left"; show "${execs:-no Exec lines}"
	fi

	out=$("$dest$prefix/sbin/portredir" --version 2>&1)
	[ -n "$out" ] && [ "$out" = "$("$PR_BIN" --version 2>&1)" ] && ok "$what: the installed binary runs: $out" ||
		{ not_ok "$what: the installed binary runs and says what the built one says"; show "$out"; }

	if ! out=$(make -C "$TOP" --no-print-directory O="$PR_BUILD" uninstall ${arg:+PREFIX=$arg} DESTDIR="$dest" 2>&1); then
		not_ok "$what: make uninstall fails"; show "$out"; continue
	fi
	left=$(cd "$dest" && find . ! -type d -o -path "./${prefix#/}/share/doc/portredir*" -o -path "./${prefix#/}/lib/cni" | cut -c2-)
	[ -z "$left" ] && ok "$what: make uninstall leaves none of our files or directories" ||
		{ not_ok "$what: make uninstall leaves none of our files or directories"; show "$left"; }
done

# uninstall of a tree that was never installed is not an error (nothing to do)
out=$(make -C "$TOP" --no-print-directory O="$PR_BUILD" uninstall DESTDIR="$D/never" 2>&1) &&
	ok "uninstall from an empty DESTDIR succeeds" || { not_ok "uninstall from an empty DESTDIR succeeds"; show "$out"; }
tap_done
