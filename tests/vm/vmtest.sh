#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `make vmtest [KERNEL=...] [PR_SKIP="SUITE..."]`: run `make check` on another kernel, with virtme-ng when it is installed, else tests/vm/run-vm.sh.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
KERNEL=${1:-}
if [ -z "$KERNEL" ]; then
	KERNEL=$(ls -1v /boot/vmlinuz-6.1*-amd64 2>/dev/null | tail -n 1)
	[ -n "$KERNEL" ] || { echo "vmtest: no Debian 6.1 kernel in /boot: run 'sudo make vmdeps' or pass KERNEL=" >&2; exit 1; }
fi
[ -r "$KERNEL" ] || { echo "vmtest: kernel '$KERNEL' not readable" >&2; exit 1; }
case "$TOP" in
/tmp/*|/var/tmp/*|/run/*) echo "vmtest: the tree ($TOP) must not live under /tmp, /var/tmp or /run: the guest mounts fresh tmpfs there" >&2; exit 1 ;;
esac
# The guest sees this tree read-only; make check then uses the prebuilt build/.
for b in portredir test_datapath test_rules; do
	[ -x "$TOP/build/$b" ] || { echo "vmtest: build/$b missing: run 'make' first" >&2; exit 1; }
done
echo "# vmtest: kernel $KERNEL, tree $TOP"
if command -v vng >/dev/null 2>&1; then
	echo "# vmtest: using virtme-ng"
	exec vng -r "$KERNEL" --user root -- make -C "$TOP" check ${PR_SKIP:+PR_SKIP="$PR_SKIP"}
fi
echo "# vmtest: virtme-ng not found; using tests/vm/run-vm.sh (qemu, 9p root)"
exec "$TOP/tests/vm/run-vm.sh" --kernel "$KERNEL" -- make -C "$TOP" check ${PR_SKIP:+PR_SKIP="$PR_SKIP"}
