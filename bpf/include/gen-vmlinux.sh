#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Regenerates bpf/include/ARCH/vmlinux.h from a kernel's BTF. Usage: gen-vmlinux.sh [VMLINUZ|VMLINUX|BTF-FILE] [ARCH]
# Default source: Debian 12's 6.1 kernel image in /boot (the oldest kernel we support), else /sys/kernel/btf/vmlinux.
set -euo pipefail
cd "$(dirname "$0")"
src=${1:-$(ls /boot/vmlinuz-6.1.* 2>/dev/null | sort -V | tail -n1)}
src=${src:-/sys/kernel/btf/vmlinux}
arch=${2:-$(uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
btf=$src
if [ "$(head -c2 "$src" | od -An -tx1 | tr -d ' ')" = 4d5a ]; then
	# A bzImage: decompress its payload (Debian compresses with xz) to get the ELF with .BTF.
	python3 - "$src" "$tmp/vmlinux" <<'PY'
import lzma, sys
d = open(sys.argv[1], 'rb').read()
i = d.find(b'\xfd7zXZ\x00')
if i < 0:
    sys.exit(f"{sys.argv[1]}: no xz payload found")
open(sys.argv[2], 'wb').write(lzma.LZMADecompressor().decompress(d[i:]))
PY
	btf=$tmp/vmlinux
fi
mkdir -p "$arch"
{
	echo '/* SPDX-License-Identifier: GPL-2.0-only */'
	echo "/* Kernel types for BPF programs: BTF of $(basename "$src"), dumped by bpf/include/gen-vmlinux.sh; do not edit. */"
	bpftool btf dump file "$btf" format c
} >"$tmp/vmlinux.h"
mv "$tmp/vmlinux.h" "$arch/vmlinux.h"
echo "wrote bpf/include/$arch/vmlinux.h from $src"
