#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `make demo`: a live TCP port redirect between three namespaces, narrated, then cleaned up.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
TAG=prdemo$$
source "$HERE/lib.sh"
WWW=$(mktemp -d /tmp/portredir-demo.XXXXXX)
BG_LOG=$WWW/server.log
trap 'cleanup; rm -rf "$WWW"' EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# run pr ARGS: show it as the operator would type it on the router
run() { shift; printf 'router# portredir %s\n' "$*"; pr "$@"; }

[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (sudo make demo)" >&2; exit 1; }
say "Topology: client $C_IP  <->  router $R_CIP | $R_SIP  <->  server $S_IP (namespaces $NS_C, $NS_R, $NS_S)"
topo_up
echo "hello from the backend at $S_IP:80" >"$WWW/index.html"
serve "$NS_S" tcp $S_IP 80 python3 -m http.server 80 --bind $S_IP --directory "$WWW"

say "Attach portredir to the router's client-facing interface"
run pr attach rc
say "Forward router port 8080 to the server's port 80"
run pr add tcp :8080 $S_IP:80 --name web
run pr list

say "The client asks the router for port 8080 ..."
printf 'client$ curl http://%s:8080/\n' $R_CIP
in_ns "$NS_C" curl -s --max-time "$(tmo 5)" http://$R_CIP:8080/
say "... and the server saw the real client address:"
wait_until 5 grep -q 'GET /' "$BG_LOG" || true
grep -m1 'GET /' "$BG_LOG" || true

say "Counters and the conntrack entry of that flow"
run pr stats
run pr conntrack list
run pr status

say "Detach and clean up"
run pr detach rc
echo "demo done: namespaces and pins are removed on exit"
