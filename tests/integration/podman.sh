#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# podman (Debian's 4.3, CNI backend) publishing a container's port through portredir in portmap's place: podman run -p, a client outside, podman rm -f leaving no rule; podman runs in a network namespace and a mount namespace of the test's own.
# The host is namespace H of this test (uplink up0 with the default route, the
# network's bridge prpod0); the client is namespace X. podman's whole state
# (storage, run dir, tmp dir, network configs, events log) is under $TMP, and it
# runs in a private mount namespace with a tmpfs on /var/lib, so what podman 4.3
# keeps there whatever its config says (the image blob cache in
# /var/lib/containers/cache, libcni's results in /var/lib/cni) never reaches
# the machine. Containers get a cgroup parent named after the test, removed at exit.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TAG=ppod$$
source "$HERE/../lib.sh"
TMP=$(mktemp -d /tmp/portredir-podman.XXXXXX)
NS_H=$NS_R NS_X=$NS_C
H_IP=198.51.100.1 X_IP=198.51.100.2
NET=prpod IMG=localhost/prbusybox:test
HOLDER=

# podman ARGS...: podman in the test's namespaces with the test's config.
# --runtime runc: Debian's podman prefers crun, which is not installed here.
# --cgroup-manager=cgroupfs: PID 1 is not systemd, so there is no systemd to ask.
PODMAN_GLOBAL=(--runtime runc --cgroup-manager=cgroupfs --root "$TMP/root" --runroot "$TMP/runroot"
	--tmpdir "$TMP/tmp" --network-config-dir "$TMP/net.d" --events-backend file)
# --root and --wd: entering a mount namespace moves to its real root, which under
# a chroot (CI's fresh root) is not ours; the holder's root and our directory are
podman_() {
	CONTAINERS_CONF=$TMP/containers.conf CONTAINERS_STORAGE_CONF=$TMP/storage.conf \
		nsenter --mount=/proc/"$HOLDER"/ns/mnt --root=/proc/"$HOLDER"/root --wd="$PWD" \
		--net=/run/netns/"$NS_H" podman "${PODMAN_GLOBAL[@]}" "$@"
}
# podman run's options for our machines: podman asks for nofile and nproc
# limits of 1048576 by default, above this machine's hard limits, and raising
# a hard limit needs CAP_SYS_RESOURCE, which root lacks here (runc then fails
# to start the container); 1024:1024 stays within them.
RUN_OPTS=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --cgroup-parent "/$TAG")

cleanup_all() {
	set +e
	if [ -n "$HOLDER" ]; then
		podman_ rm -a -f -t 0 >/dev/null 2>&1
		podman_ rmi -a -f >/dev/null 2>&1
		kill "$HOLDER" 2>/dev/null
		wait "$HOLDER" 2>/dev/null
	fi
	pr detach --all >/dev/null 2>&1
	cleanup
	# the containers' (and conmon's) cgroups, empty once they are gone
	for d in /sys/fs/cgroup/*/"$TAG" /sys/fs/cgroup/"$TAG"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup_all EXIT

setup() {
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	ip netns add "$NS_H" && ip netns add "$NS_X" || return 1
	ip link add up0 netns "$NS_H" type veth peer name x0 netns "$NS_X" || return 1
	in_ns "$NS_H" ip addr add $H_IP/24 dev up0
	in_ns "$NS_X" ip addr add $X_IP/24 dev x0
	for ns in "$NS_H" "$NS_X"; do in_ns "$ns" ip link set lo up; done
	in_ns "$NS_H" ip link set up0 up
	in_ns "$NS_X" ip link set x0 up
	in_ns "$NS_H" ip route add default via $X_IP
	in_ns "$NS_H" sysctl -qw net.ipv4.ip_forward=1
	mkdir -p "$TMP/net.d" "$TMP/ipam" "$TMP/rootfs/bin" "$TMP/rootfs/www" || return 1
	cat >"$TMP/containers.conf" <<-EOF
	[engine]
	events_logfile_path = "$TMP/events.log"
	[network]
	network_backend = "cni"
	cni_plugin_dirs = ["$PR_BUILD/cni", "/usr/lib/cni"]
	network_config_dir = "$TMP/net.d"
	EOF
	cat >"$TMP/storage.conf" <<-EOF
	[storage]
	driver = "vfs"
	graphroot = "$TMP/root"
	runroot = "$TMP/runroot"
	EOF
	# podman's bridge network with portredir where podman's own has portmap
	cat >"$TMP/net.d/$NET.conflist" <<-EOF
	{ "cniVersion": "0.4.0", "name": "$NET", "plugins": [
	  { "type": "bridge", "bridge": "prpod0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
	    "ipam": { "type": "host-local", "routes": [{ "dst": "0.0.0.0/0" }],
	              "ranges": [[{ "subnet": "203.0.113.0/24", "gateway": "203.0.113.1" }]], "dataDir": "$TMP/ipam" } },
	  { "type": "portredir", "capabilities": { "portMappings": true }, "pinDir": "$PIN" }
	] }
	EOF
	# the image: a static busybox, nothing can be pulled here
	cp /bin/busybox "$TMP/rootfs/bin/busybox" && ln -s busybox "$TMP/rootfs/bin/sh" || return 1
	echo "hello from podman" >"$TMP/rootfs/www/index.html"
	# the private mount namespace, held by a sleep bounded by the suite's time
	setsid unshare --mount --propagation private sh -c 'mount -t tmpfs -o mode=0755 ppod /var/lib && exec sleep "$0"' \
		"$(tmo 600)" </dev/null >/dev/null 2>"$TMP/holder.err" &
	HOLDER=$!
	wait_until 5 sh -c "[ \"\$(stat -L -c %i /proc/$HOLDER/ns/mnt)\" != \"\$(stat -L -c %i /proc/self/ns/mnt)\" ] && grep -q ' /var/lib tmpfs ' /proc/$HOLDER/mounts"
}

case_image() {
	local out
	out=$(tar -C "$TMP/rootfs" -c . | podman_ import - "$IMG" 2>&1)
	expect_match "podman import of a static busybox tree makes the image" '^sha256:' "$(tail -n1 <<<"$out")"
	expect_eq "podman sees the network with the CNI backend" "cni $NET" \
		"$(podman_ info --format '{{.Host.NetworkBackend}}') $(podman_ network ls --format '{{.Name}}' | grep -x "$NET")"
}

case_run() {
	local id out t0
	t0=$(now_us)
	id=$(podman_ run -d --name web -p 8080:80 --network "$NET" "${RUN_OPTS[@]}" "$IMG" \
		/bin/busybox httpd -f -v -p 80 -h /www 2>"$TMP/run.err")
	diag "podman run -d took $(( ($(now_us) - t0) / 1000 )) ms"
	expect_match "podman run -d -p 8080:80 starts the container" '^[0-9a-f]{64}$' "$id" || diag "$(cat "$TMP/run.err")"
	echo "$id" >"$TMP/id"
	expect_eq "its port mapping is a portredir rule named after it" "cni-$NET-${id:0:12}-1 :8080 tcp" \
		"$(pr -j list | json_get '.[] | "\(.name) \(.listen) \(.proto)"')"
	wait_until 5 listening_in_ctr || diag "httpd did not listen in time"
	out=$(in_ns "$NS_X" timeout "$(tmo 5)" curl -s -m "$(tmo 3)" http://$H_IP:8080/ 2>&1)
	expect_eq "a client outside gets the page through the published port" "hello from podman" "$out"
	expect_match "httpd saw the client's own address (podman logs)" "(^|[^0-9])${X_IP//./\\.}[]:]" "$(podman_ logs web 2>&1)"
}
# listening_in_ctr: httpd in the container accepts (a request through the port answers)
listening_in_ctr() { in_ns "$NS_X" curl -s -o /dev/null -m 1 http://$H_IP:8080/; }

case_rm() {
	local out t0
	t0=$(now_us)
	out=$(podman_ rm -f -t 0 web 2>&1)
	diag "podman rm -f took $(( ($(now_us) - t0) / 1000 )) ms"
	expect_eq "podman rm -f removes the container" "web" "$out"
	expect_eq "and leaves no rule, and nothing attached (its network had no other container)" "0 0" \
		"$(pr -j list | json_get length) $(pr -j status | json_get '.interfaces | length')"
	expect_eq "the port is closed again" "" "$(in_ns "$NS_X" curl -s -m 1 http://$H_IP:8080/ 2>/dev/null)"
}

tap_plan
why=
for b in podman runc conmon unshare curl; do command -v $b >/dev/null || why+="$b "; done
[ -x /usr/lib/cni/bridge ] || why+="containernetworking-plugins "
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || why+="busybox-static "
if [ -n "$why" ]; then skip "podman" "missing: $why(make deps installs them)"; tap_done; exit $?; fi
setup || { echo "Bail out! cannot build the namespaces or podman's private mount namespace${TMP:+: $(head -c 300 "$TMP/holder.err" 2>/dev/null)}"; exit 1; }
run_cases case_image case_run case_rm
tap_done
