#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Run a command as root on another kernel: boot it under qemu with this host's
# root filesystem shared read-only over 9p, run COMMAND there (cwd = ours) and
# exit with COMMAND's status.
#
# Usage: tests/vm/run-vm.sh [--kernel /boot/vmlinuz-X] [--] COMMAND [ARG...]
#   e.g. tests/vm/run-vm.sh -- make -C /work/main check O=/tmp/prbuild
#
# In the guest / is the host's / (read-only); /tmp, /run, /var/tmp, /root and
# /dev/shm are fresh tmpfs, /proc, /sys, /dev, /dev/pts and /sys/fs/bpf are the
# guest's own. So a cwd or file under the host's /tmp is not visible there.
# PATH, HOME=/root and KSFT_MACHINE_SLOW=yes are set; nothing else is passed.
# COMMAND's output comes over a virtio console (a file the host follows), the
# kernel's over the serial console.
# The guest's modprobe loads modules from the host's /lib/modules/<guest kver>.
#
# Environment:
#   VM_TIMEOUT          overall limit in seconds (default 3600); qemu is killed after it
#   VM_MEM, VM_SMP      guest memory (default 3072M) and CPUs (default 2)
#   VM_ACCEL            kvm or tcg to skip the probe (default: kvm if it works, else tcg)
#   VM_KVM_PROBE_TIMEOUT seconds the KVM probe boot may take (default 30)
#   VM_APPEND           extra kernel command line
#   VM_VERBOSE=1        show the whole kernel boot log
#
# Exit status: COMMAND's; 125 when the VM could not run it or did not report
# a status (boot failure, kernel panic, timeout, qemu crash); 2 on bad usage.
set -u

say() { echo "# vm: $*"; }
die() { echo "run-vm.sh: $*" >&2; exit 125; }
usage() { echo "usage: $0 [--kernel /path/to/vmlinuz] [--] COMMAND [ARG...]" >&2; exit 2; }

KERNEL=
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) [ $# -ge 2 ] || usage; KERNEL=$2; shift 2 ;;
	--kernel=*) KERNEL=${1#--kernel=}; shift ;;
	-h|--help) sed -n '3,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	-*) echo "run-vm.sh: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || usage

VM_TIMEOUT=${VM_TIMEOUT:-3600}
VM_MEM=${VM_MEM:-3072}
VM_SMP=${VM_SMP:-2}
VM_KVM_PROBE_TIMEOUT=${VM_KVM_PROBE_TIMEOUT:-30}

[ "$(id -u)" -eq 0 ] || die "must run as root (qemu exports / with the host's ownership)"
QEMU=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 not found: apt-get install qemu-system-x86"
BUSYBOX=
for b in /bin/busybox /usr/bin/busybox; do
	# a dynamically linked busybox would need its libraries in the initramfs
	if [ -x "$b" ] && ! LC_ALL=C ldd "$b" >/dev/null 2>&1; then BUSYBOX=$b; break; fi
done
[ -n "$BUSYBOX" ] || die "a static busybox is needed: apt-get install busybox-static"
command -v cpio >/dev/null || die "cpio not found: apt-get install cpio"

# Default kernel: the newest Debian 6.1 one.
if [ -z "$KERNEL" ]; then
	KERNEL=$(ls -1 /boot/vmlinuz-6.1*-amd64 2>/dev/null | sort -V | tail -n 1)
	[ -n "$KERNEL" ] || die "no /boot/vmlinuz-6.1*-amd64: install linux-image-amd64 (Debian 12) or pass --kernel"
fi
[ -f "$KERNEL" ] && [ -r "$KERNEL" ] || die "kernel $KERNEL: no such readable file"

# Kernel release: from the bzImage header (kernel_version pointer at 0x20e),
# else from the file name.
kver_of() {
	local off ver
	off=$(od -An -tu2 -j 526 -N 2 "$1" 2>/dev/null | tr -d ' ')
	if [ -n "$off" ] && [ "$off" -gt 0 ]; then
		ver=$(dd if="$1" bs=1 skip=$((off + 512)) count=200 status=none 2>/dev/null | tr '\0' '\n' | head -n 1)
		ver=${ver%% *}
	fi
	if [ -z "${ver:-}" ] || [[ ! $ver =~ ^[0-9]+\.[0-9]+ ]]; then
		ver=$(basename "$1"); ver=${ver#vmlinuz-}
	fi
	printf '%s\n' "$ver"
}
KVER=$(kver_of "$KERNEL")
MODDIR=/lib/modules/$KVER

CWD=$(pwd -P) || die "cannot resolve the current directory"
case "$CWD/" in
/tmp/*|/run/*|/var/tmp/*|/root/*|/proc/*|/sys/*|/dev/*)
	die "cwd $CWD is on a directory the guest replaces with its own; cd elsewhere" ;;
esac

TMP=$(mktemp -d /tmp/run-vm.XXXXXX) || die "mktemp failed"
QEMU_PIDFILE=$TMP/qemu.pid
TAIL=
cleanup() {
	local p
	[ -n "$TAIL" ] && kill "$TAIL" 2>/dev/null
	if [ -s "$QEMU_PIDFILE" ]; then
		p=$(cat "$QEMU_PIDFILE" 2>/dev/null)
		if [ -n "$p" ] && kill "$p" 2>/dev/null; then
			for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
			kill -KILL "$p" 2>/dev/null
		fi
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- initramfs -------------------------------------------------------------
IRD=$TMP/initramfs
mkdir -p "$IRD"/{bin,sbin,dev,proc,sys,mnt,lib/modules,etc} || die "cannot create $IRD"
cp "$BUSYBOX" "$IRD/bin/busybox" || die "cannot copy busybox"

# Modules the guest needs before it can mount the 9p root, each after its
# dependencies (modules.dep), skipping what the kernel has built in.
declare -A MOD_PATH=() MOD_DEPS=() SEEN=()
MOD_ORDER=()
norm() { local n=${1##*/}; n=${n%%.ko*}; printf '%s' "${n//-/_}"; }
if [ -r "$MODDIR/modules.dep" ]; then
	while IFS= read -r line; do
		key=${line%%:*} deps=${line#*:}
		n=$(norm "$key")
		MOD_PATH[$n]=$key
		MOD_DEPS[$n]=$deps
	done < "$MODDIR/modules.dep"
fi
BUILTIN=" "
[ -r "$MODDIR/modules.builtin" ] && BUILTIN=" $(while IFS= read -r l; do norm "$l"; printf ' '; done < "$MODDIR/modules.builtin")"
want_mod() {
	local n=$1 d
	[ -n "${SEEN[$n]:-}" ] && return 0
	SEEN[$n]=1
	case "$BUILTIN" in *" $n "*) return 0 ;; esac
	if [ -z "${MOD_PATH[$n]:-}" ]; then
		# not a module: fine if built in without modules.builtin; the guest checks
		return 0
	fi
	for d in ${MOD_DEPS[$n]}; do want_mod "$(norm "$d")"; done
	MOD_ORDER+=("$n")
}
if [ -r "$MODDIR/modules.dep" ]; then
	for m in virtio_pci 9pnet_virtio 9p; do want_mod "$m"; done
elif [ -r "/boot/config-$KVER" ] && grep -Eq '^CONFIG_(9P_FS|NET_9P_VIRTIO|VIRTIO_PCI)=m' "/boot/config-$KVER"; then
	die "kernel $KVER has 9p/virtio as modules but $MODDIR/modules.dep is missing"
fi
: > "$IRD/modules.list"
for n in "${MOD_ORDER[@]}"; do
	src=$MODDIR/${MOD_PATH[$n]}
	dst=$IRD/lib/modules/$n.ko
	case "$src" in
	*.ko) cp "$src" "$dst" ;;
	*.ko.xz) xz -dc "$src" > "$dst" ;;
	*.ko.zst) zstd -qdc "$src" > "$dst" ;;
	*.ko.gz) gzip -dc "$src" > "$dst" ;;
	*) false ;;
	esac || die "cannot put module $src into the initramfs"
	echo "$n" >> "$IRD/modules.list"
done

# The command, quoted for the guest's /bin/sh.
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
{
	echo "cd -- $(shq "$CWD") || { echo '# vm: cannot cd to '$(shq "$CWD")' in the guest' >&2; exit 125; }"
	printf 'exec'
	for a in "$@"; do printf ' %s' "$(shq "$a")"; done
	echo
} > "$IRD/cmd"

# Stage 2 runs as PID 1 on the host's root (after switch_root), so the kernel's
# own module autoloading (/sbin/modprobe) finds the host's tools and modules.
cat > "$IRD/stage2" <<EOF
#!/bin/sh
# portredir run-vm: PID 1 on the shared root.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
to_host() {
	v=\$1; [ "\$v" -gt 127 ] && v=127
	printf "\\\\\$(printf %03o "\$v")" | dd of=/dev/port bs=1 seek=244 count=1 conv=notrunc status=none
	sleep 5; echo o > /proc/sysrq-trigger
}
stty -onlcr 2>/dev/null
hostname run-vm 2>/dev/null
ip link set lo up 2>/dev/null
modprobe -a -q veth sch_ingress cls_bpf act_bpf virtio_console 2>/dev/null
# The command's output goes to a virtio console the host writes to a file: the
# 8250 serial console under TCG once stopped sending mid-run and never resumed.
out=/dev/console i=0
while [ \$i -lt 20 ]; do [ -c /dev/hvc0 ] && { out=/dev/hvc0; break; }; i=\$((i + 1)); sleep 0.1; done
read -r up _ < /proc/uptime
echo "# vm: guest up after \${up}s, output on \$out, running: \$(tail -n 1 /run/run-vm/cmd | cut -c 6-200)"
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \\
	TERM=$(shq "${TERM:-dumb}") KSFT_MACHINE_SLOW=yes /bin/sh /run/run-vm/cmd < /dev/null > \$out 2>&1
rc=\$?
echo "# vm: guest exit status \$rc"
to_host "\$rc"
EOF

cat > "$IRD/init" <<'EOF'
#!/bin/busybox sh
# portredir run-vm: PID 1 in the initramfs.
/bin/busybox --install -s /bin
export PATH=/bin
to_host() {
	printf "\\$(printf %03o "$1")" | dd of=/dev/port bs=1 seek=244 count=1 conv=notrunc 2>/dev/null
	sleep 5; poweroff -f
}
fail() { echo "# vm: init: $*"; dmesg | tail -n 30; to_host 126; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
case " $(cat /proc/cmdline) " in *" run_vm_probe "*) to_host 42 ;; esac
[ -e /dev/port ] || fail "no /dev/port (CONFIG_DEVPORT) to report the exit status"
for m in $(cat /modules.list); do
	insmod /lib/modules/$m.ko || fail "insmod $m failed"
done
i=0
until mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /mnt 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 50 ] || fail "cannot mount the host root over 9p (mount_tag hostroot)"
	sleep 0.1
done
[ -x /mnt/bin/sh ] || fail "the shared root has no /bin/sh"
mount --move /proc /mnt/proc || fail "mount --move /proc"
mount --move /sys /mnt/sys || fail "mount --move /sys"
mount --move /dev /mnt/dev || fail "mount --move /dev"
mkdir -p /mnt/dev/pts /mnt/dev/shm 2>/dev/null
# what udev would add: bash's process substitution needs /dev/fd
ln -sfn /proc/self/fd /mnt/dev/fd
ln -sfn /proc/self/fd/0 /mnt/dev/stdin
ln -sfn /proc/self/fd/1 /mnt/dev/stdout
ln -sfn /proc/self/fd/2 /mnt/dev/stderr
ln -sfn /proc/kcore /mnt/dev/core
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /mnt/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /mnt/dev/shm
for d in tmp var/tmp; do mount -t tmpfs -o mode=1777 tmpfs /mnt/$d || fail "tmpfs on /$d"; done
mount -t tmpfs -o mode=755 tmpfs /mnt/run || fail "tmpfs on /run"
mount -t tmpfs -o mode=700 tmpfs /mnt/root || fail "tmpfs on /root"
mount -t bpf -o mode=700 bpf /mnt/sys/fs/bpf || fail "bpffs on /sys/fs/bpf"
mount -t cgroup2 cgroup2 /mnt/sys/fs/cgroup 2>/dev/null
mount -t tracefs tracefs /mnt/sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /mnt/sys/kernel/debug 2>/dev/null
mkdir -p /mnt/run/run-vm /mnt/run/lock /mnt/run/netns
cp /cmd /stage2 /mnt/run/run-vm/ || fail "cannot copy the command into /run"
exec switch_root /mnt /bin/sh /run/run-vm/stage2
EOF
chmod 755 "$IRD/init" "$IRD/stage2"
(cd "$IRD" && find . | cpio -o -H newc --quiet | gzip -1) > "$TMP/initramfs.cpio.gz" || die "cannot build the initramfs"

# ---- qemu ------------------------------------------------------------------
APPEND="console=ttyS0 panic=-1 rdinit=/init mitigations=off"
if [ "${VM_VERBOSE:-0}" = 1 ]; then APPEND="$APPEND loglevel=7"; else APPEND="$APPEND quiet loglevel=4"; fi
APPEND="$APPEND ${VM_APPEND:-}"

# shellcheck disable=SC2054 # qemu options are comma-separated
qemu_args() { # ACCEL
	local accel=$1
	local -a a=(-name run-vm -nodefaults -no-user-config -display none -vga none
		-no-reboot -nic none -m "$VM_MEM" -smp "$VM_SMP"
		-kernel "$KERNEL" -initrd "$TMP/initramfs.cpio.gz"
		-serial stdio -monitor none
		-device isa-debug-exit,iobase=0xf4,iosize=0x04
		-fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap"
		-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
		-device virtio-serial-pci -chardev "file,id=out,path=$TMP/out.log" -device virtconsole,chardev=out
		-pidfile "$QEMU_PIDFILE")
	case "$accel" in
	kvm) a+=(-accel kvm -cpu host) ;;
	*) a+=(-accel tcg,thread=multi -cpu max) ;;
	esac
	printf '%s\0' "${a[@]}"
}

# KVM only if /dev/kvm is usable and a probe boot of this kernel gets to init.
kvm_works() {
	local -a a; local rc
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || { say "/dev/kvm not usable"; return 1; }
	mapfile -d '' a < <(qemu_args kvm)
	# (in a subshell so that bash's "Aborted" job notice goes nowhere)
	rc=$( { timeout -k 5 "$VM_KVM_PROBE_TIMEOUT" "$QEMU" "${a[@]}" -append "$APPEND run_vm_probe" \
		< /dev/null > "$TMP/probe.log" 2>&1; echo $?; } 2>/dev/null )
	rm -f "$QEMU_PIDFILE"
	[ "$rc" -eq 85 ] && return 0   # (42 << 1) | 1
	say "KVM failed (qemu exit $rc: $(grep -m1 -iE 'error|assert|abort' "$TMP/probe.log" | cut -c 1-160)), falling back to TCG"
	return 1
}

say "kernel $KERNEL ($KVER)$([ -d "$MODDIR" ] || echo ", no $MODDIR: modules unavailable")"
ACCEL=${VM_ACCEL:-}
if [ -z "$ACCEL" ]; then
	if kvm_works; then ACCEL=kvm; else ACCEL=tcg; fi
fi
case "$ACCEL" in kvm|tcg) ;; *) die "VM_ACCEL must be kvm or tcg" ;; esac

say "accel $ACCEL, ${VM_SMP} CPUs, ${VM_MEM}M, timeout ${VM_TIMEOUT}s"
START=$(date +%s.%N)
mapfile -d '' QARGS < <(qemu_args "$ACCEL")
# The command's output (the guest's virtio console, a file here), as it comes.
: >"$TMP/out.log"
mkfifo "$TMP/out.fifo" || die "mkfifo failed"
awk '{ sub(/\r+$/, ""); print; fflush() }' < "$TMP/out.fifo" &
OUTAWK=$!
tail -s 0.2 -n +1 -F "$TMP/out.log" > "$TMP/out.fifo" 2>/dev/null &
TAIL=$!
# Serial output: strip the CRs of the console, remember the guest's status line.
# In the background, so that a signal to this script runs its trap (which
# kills qemu) at once instead of after qemu ends.
{
	timeout --foreground -k 15 "$VM_TIMEOUT" "$QEMU" "${QARGS[@]}" -append "$APPEND" < /dev/null 2>&1
	echo $? > "$TMP/qemu.rc"
} | awk -v sf="$TMP/status" '
		{ sub(/\r+$/, ""); gsub(/\r/, "") }
		/^# vm: guest exit status [0-9]+$/ { print $NF > sf; close(sf) }
		{ print; fflush() }' &
wait $!
sleep 1 # the last of the command's output, then its end
kill "$TAIL" 2>/dev/null
wait "$OUTAWK" 2>/dev/null
QRC=$(cat "$TMP/qemu.rc" 2>/dev/null)
QRC=${QRC:-255}
rm -f "$QEMU_PIDFILE"
ELAPSED=$(awk -v s="$START" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')

GUEST_RC=$(cat "$TMP/status" 2>/dev/null)
if [ -n "$GUEST_RC" ] && [ $((QRC & 1)) -eq 1 ]; then
	v=$(( (QRC - 1) / 2 )) want=$GUEST_RC
	[ "$want" -gt 127 ] && want=127
	if [ "$v" -eq "$want" ]; then
		say "command exited with status $GUEST_RC after ${ELAPSED}s"
		exit "$GUEST_RC"
	fi
fi
case "$QRC" in
124|137) say "TIMEOUT: the VM ran longer than VM_TIMEOUT=${VM_TIMEOUT}s and was killed" ;;
0) say "FAILED: the guest stopped (kernel panic, power-off or reboot) without reporting a status" ;;
*) say "FAILED: qemu exited with status $QRC without a valid guest exit status" ;;
esac
exit 125
