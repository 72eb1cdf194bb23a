#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# CI stage: in a fresh Debian 12 root (debootstrap minbase plus only git, make and sudo) a clean clone of HEAD passes `sudo make demo` and `sudo make check` as a new user's would, and its .deb installs, runs and removes without a trace.
#
# Usage: .ci/fresh-root.sh [--no-cache] [--root-only]   (as root)
# --root-only makes the bare root (from the cache or debootstrap), checks it and stops.
# FRESH_ROOT_CACHE=DIR keeps a tarball of the bare root between runs (default
# /var/cache/portredir-ci; empty or --no-cache: none). A cache entry is used only
# when its key (suite, mirror, packages, this script's cache format) matches, it is
# younger than CACHE_DAYS, its checksum verifies and the unpacked root has git,
# make and sudo; otherwise it is removed and the root is made afresh.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
SUITE=bookworm
BASE_PKGS="git make sudo" # all a new user has before the README's two commands
CI_USER=prci              # the user who clones and runs sudo make ...
CACHE_DIR=${FRESH_ROOT_CACHE-/var/cache/portredir-ci}
CACHE_DAYS=7
CACHE_FORMAT=1 # bump when what goes into the cached root changes
ROOT_ONLY=no
for a in "$@"; do
	case "$a" in
	--no-cache) CACHE_DIR= ;;
	--root-only) ROOT_ONLY=yes ;;
	*) echo "fresh-root: unknown option '$a' (usage: $0 [--no-cache] [--root-only])" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "fresh-root: run as root" >&2; exit 1; }

T0=$SECONDS
STEP_T=$SECONDS
STEP=""
# step NAME: print the time the previous step took and a header for this one
step() {
	[ -n "$STEP" ] && printf '=== fresh-root: %s: %ds\n' "$STEP" $((SECONDS - STEP_T))
	STEP=$1 STEP_T=$SECONDS
	printf '\n=== fresh-root: %s (at %ds)\n' "$STEP" $((SECONDS - T0))
}
die() { echo "fresh-root: $*" >&2; exit 1; }

# host_uri SUITE: the first http(s) URI the host's own apt sources give for SUITE (main).
host_uri() {
	local suite=$1 f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		# deb822: stanzas split by blank lines; Types must hold deb, Suites the suite.
		awk -v want="$suite" '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " want " ") && enabled != "no" && uri != "")
					{ print uri; found = 1; exit }
				types = suites = uri = enabled = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			tolower($1) == "types:"   { $1 = ""; types = substr($0, 2) }
			tolower($1) == "suites:"  { $1 = ""; suites = substr($0, 2) }
			tolower($1) == "uris:"    { uri = $2 }
			tolower($1) == "enabled:" { enabled = tolower($2) }
			END { if (!found) flush() }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		# one-line form: deb [options] URI SUITE COMPONENTS...
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk -v want="$suite" '$1 == "deb" && $3 == want { print $2 }'
	done
} 2>/dev/null
mirror_for() {
	host_uri "$1" | grep -E -m1 '^(https?|file):/' || true
}

MIRROR=$(mirror_for $SUITE)
[ -n "$MIRROR" ] || die "no 'deb' source for $SUITE in /etc/apt/sources.list{,.d/*}: cannot pick a mirror"
WORK="" ROOT=""
MOUNTED=()

# Processes whose root is $ROOT were started by this stage (a test's server left
# behind by a killed run): end them by PID before unmounting.
kill_root_procs() {
	local p pid left=()
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] && left+=("${p#/proc/}")
	done
	[ ${#left[@]} -eq 0 ] && return 0
	echo "fresh-root: ending processes left in the root: ${left[*]}"
	kill "${left[@]}" 2>/dev/null || true
	sleep 2
	for pid in "${left[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}

# mounts_under DIR: mount points at or below DIR, deepest first.
mounts_under() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

cleanup() {
	local rc=$? m
	set +e
	[ -n "$WORK" ] || exit $rc
	step "cleanup"
	kill_root_procs
	for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
		m=${MOUNTED[i]}
		# the bind mounts are slaves: this unmounts the root's copies only
		umount -R "$m" 2>/dev/null || umount -R -l "$m" || echo "fresh-root: cannot unmount $m" >&2
	done
	# whatever a test mounted elsewhere inside (and left) goes too
	for m in $(mounts_under "$ROOT"); do umount -l "$m" || true; done
	# the root's /run is a bind of the host's on the same file system: never
	# delete while anything is still mounted there
	if [ -n "$(mounts_under "$WORK")" ]; then
		echo "fresh-root: still mounted under $WORK, NOT removing it:" $(mounts_under "$WORK") >&2
		[ $rc -eq 0 ] && rc=1
	else
		rm -rf --one-file-system "$WORK"
		echo "fresh-root: removed $WORK"
	fi
	printf '=== fresh-root: cleanup done; stage total %ds, exit %d\n' $((SECONDS - T0)) $rc
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# in_root CMD...: run CMD in the root as root, with a clean environment.
in_root() {
	chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive "$@"
}
# as_user 'SHELL COMMAND': run it as $CI_USER in their home, as a login would.
as_user() {
	chroot --userspec=$CI_USER:$CI_USER "$ROOT" /usr/bin/env -i HOME=/home/$CI_USER USER=$CI_USER \
		LOGNAME=$CI_USER PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 TERM=dumb \
		/bin/bash -c "cd ~ && $1"
}

WORK=$(mktemp -d /var/tmp/portredir-fresh.XXXXXX)
ROOT=$WORK/root
mkdir -m 755 "$ROOT"
echo "fresh-root: $SUITE from $MIRROR into $ROOT, tree $TOP at $(git -C "$TOP" rev-parse --short HEAD)"

CACHE_KEY=$(printf '%s\n' "$CACHE_FORMAT" "$SUITE" "$MIRROR" "$BASE_PKGS" "$(dpkg --print-architecture)" | sha256sum | cut -c1-16)
CACHE_TAR=${CACHE_DIR:+$CACHE_DIR/root-$CACHE_KEY.tar.gz}

# root_ok: the root has what the cached stage promises.
root_ok() {
	local n
	n=$(in_root dpkg-query -W -f='${Status}\n' $BASE_PKGS 2>/dev/null | grep -c 'ok installed')
	[ "$n" -eq "$(wc -w <<<"$BASE_PKGS")" ]
}

from_cache=no
if [ -n "$CACHE_TAR" ] && [ -f "$CACHE_TAR" ]; then
	step "unpack cached root $CACHE_TAR"
	if [ -z "$(find "$CACHE_TAR" -mtime -$CACHE_DAYS)" ]; then
		echo "fresh-root: cache older than $CACHE_DAYS days: discarding it"
	elif ! (cd "$CACHE_DIR" && sha256sum --quiet -c "$CACHE_TAR.sha256"); then
		echo "fresh-root: cache checksum does not verify: discarding it"
	elif ! tar -C "$ROOT" --numeric-owner -xzpf "$CACHE_TAR" || ! root_ok; then
		echo "fresh-root: cache does not unpack to a root with $BASE_PKGS: discarding it"
	else
		from_cache=yes
	fi
	if [ $from_cache = no ]; then
		rm -f "$CACHE_TAR" "$CACHE_TAR.sha256"
		find "$ROOT" -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system {} +
	fi
fi

if [ $from_cache = no ]; then
	step "debootstrap --variant=minbase $SUITE"
	command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
	debootstrap --variant=minbase $SUITE "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
		{ tail -n 30 "$WORK/debootstrap.log"; rm -f "$WORK/debootstrap.log"; die "debootstrap failed"; }
	rm -f "$WORK/debootstrap.log"
	# the same updates and security suites the host uses, as a Debian 12 install has
	: >"$ROOT/etc/apt/sources.list"
	for s in $SUITE $SUITE-updates $SUITE-security; do
		u=$(mirror_for $s)
		[ -n "$u" ] && echo "deb $u $s main" >>"$ROOT/etc/apt/sources.list"
	done
	cat "$ROOT/etc/apt/sources.list"
	cp /etc/resolv.conf "$ROOT/etc/resolv.conf"

	step "install only: $BASE_PKGS"
	in_root apt-get update -qq
	in_root apt-get install -y -qq --no-install-recommends $BASE_PKGS >/dev/null
	in_root apt-get clean
	root_ok || die "$BASE_PKGS not installed in the root"
	if [ -n "$CACHE_TAR" ]; then
		step "cache the bare root"
		mkdir -p "$CACHE_DIR"
		rm -f "$CACHE_DIR"/root-*.tar.gz "$CACHE_DIR"/root-*.tar.gz.sha256
		tar -C "$ROOT" --numeric-owner -czpf "$CACHE_TAR.tmp" .
		mv "$CACHE_TAR.tmp" "$CACHE_TAR"
		(cd "$CACHE_DIR" && sha256sum "${CACHE_TAR##*/}" >"${CACHE_TAR##*/}.sha256")
		ls -l "$CACHE_TAR"
	fi
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# what a Debian install writes, so sudo can resolve the host name
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' "$(hostname)" >"$ROOT/etc/hosts"
root_ok || die "the root lacks $BASE_PKGS"
if [ $ROOT_ONLY = yes ]; then
	echo "fresh-root: bare root ready ($( [ $from_cache = yes ] && echo from the cache || echo made afresh))"
	exit 0
fi

step "mount the root on itself, /proc, /sys, /dev, /dev/pts, /run"
# the root is a mount point, as / is on a real machine: `unshare --mount
# --propagation private` (tests/integration/podman.sh) changes the propagation
# of /, which fails with EINVAL where / is a plain directory under a chroot;
# private, so nothing mounted inside reaches the host
mount --bind "$ROOT" "$ROOT"
MOUNTED+=("$ROOT")
mount --make-private "$ROOT"
mount -t proc proc "$ROOT/proc"
MOUNTED+=("$ROOT/proc")
for d in sys dev run; do
	mount --rbind "/$d" "$ROOT/$d"
	MOUNTED+=("$ROOT/$d")
	# before anything else: nothing mounted or unmounted in the root may reach the host's /$d
	mount --make-rslave "$ROOT/$d"
done
mountpoint -q "$ROOT/dev/pts" || { mount -t devpts -o newinstance,ptmxmode=0666 devpts "$ROOT/dev/pts"; MOUNTED+=("$ROOT/dev/pts"); }
if findmnt -R -n -o TARGET,PROPAGATION "$ROOT" | grep -w shared; then
	die "a mount in the root is shared with the host"
fi

step "clone the tree as $CI_USER"
in_root useradd -m -s /bin/bash $CI_USER
echo "$CI_USER ALL=(ALL) NOPASSWD: ALL" >"$ROOT/etc/sudoers.d/$CI_USER"
chmod 0440 "$ROOT/etc/sudoers.d/$CI_USER"
git -C "$TOP" bundle create "$ROOT/tmp/src.bundle" HEAD 2>/dev/null
chmod 644 "$ROOT/tmp/src.bundle"
as_user 'git -c advice.detachedHead=false clone -q /tmp/src.bundle portredir && git -C portredir log --oneline -1'
rm -f "$ROOT/tmp/src.bundle"

step "sudo make demo"
as_user 'cd portredir && sudo make demo' 2>&1 || die "sudo make demo failed in the fresh root"

step "sudo make check"
as_user 'cd portredir && sudo make check' 2>&1 || die "sudo make check failed in the fresh root"

step "make deb (build deps from make deps DEB=1, dpkg-buildpackage, lintian)"
as_user 'cd portredir && sudo make deb' >"$WORK/deb.log" 2>&1 ||
	{ tail -n 60 "$WORK/deb.log"; die "make deb failed"; }
grep -E '^(deb:|[EWI]: |dpkg-deb: building)' "$WORK/deb.log" || true
SRC=/home/$CI_USER/portredir
DEB=$(cd "$ROOT" && ls .$SRC/build/deb/portredir_*.deb | head -n1 | cut -c2-)
[ -n "$DEB" ] || die "make deb left no .deb in build/deb/"
VERSION=$(in_root dpkg-deb -f "$DEB" Version)

step "dpkg -i, run, dpkg -r, and nothing left"
# every path in the root but the mounts, the clone and dpkg's own bookkeeping
snapshot() {
	(cd "$ROOT" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run -o -path ".$SRC" \) -prune -o -print) |
		grep -v -E '^\./var/(lib/dpkg|log)(/|$)' | LC_ALL=C sort
}
# man-db's trigger (any package with man pages) finishes setting up man-db's own
# cache the first time it runs (CACHEDIR.TAG files): run it once first, so the
# comparison sees the package's doing only
if in_root sh -c 'command -v mandb' >/dev/null; then in_root mandb -q || true; fi
snapshot >"$WORK/before"
in_root dpkg -i "$DEB" || in_root apt-get install -f -y -qq
in_root dpkg-query -W -f='${Status} ${Version}\n' portredir | grep -qx "install ok installed $VERSION" ||
	die "portredir $VERSION is not installed after dpkg -i"
in_root dpkg -L portredir | sed 's/^/  /'
out=$(in_root portredir --version)
echo "  portredir --version: $out"
case "$out" in "portredir $VERSION "*) ;; *) die "portredir --version says '$out', the package is $VERSION" ;; esac
if in_root sh -c 'command -v man' >/dev/null; then
	in_root man -w portredir || die "man -w portredir finds no page"
fi
in_root dpkg -r portredir
snapshot >"$WORK/after"
if ! diff -u "$WORK/before" "$WORK/after"; then
	die "dpkg -r portredir left files behind (or removed others): the diff above"
fi
echo "  dpkg -r left nothing behind ($(snapshot | wc -l) paths compared)"
echo "=== fresh-root: every step passed (at $((SECONDS - T0))s)"
