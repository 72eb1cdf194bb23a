#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# One UDP flow (one socket, one source port) sending a numbered datagram every INTERVAL seconds to an echo server until STOP_FILE appears: proves a change lost no datagram and rewrote none.
# Usage: udp_stream.py HOST PORT STOP_FILE [DEADLINE_S [INTERVAL_S [REPLY_TIMEOUT_S]]]
# Prints "started" after the first echo, then "ok N" at the end (N datagrams,
# each echoed byte for byte), or "ERROR after N: WHY" and exits 1.
import os
import socket
import sys
import time

host, port, stop_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
deadline = time.time() + (float(sys.argv[4]) if len(sys.argv) > 4 else 60.0)
interval = float(sys.argv[5]) if len(sys.argv) > 5 else 0.02
timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 3.0

s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(timeout)
s.connect((host, port))
n = 0
while True:
    msg = b"datagram %d\n" % n
    try:
        s.send(msg)
        got = s.recv(65535)
    except (socket.timeout, OSError) as e:
        print("ERROR after %d: %s" % (n, e.__class__.__name__), flush=True)
        sys.exit(1)
    if got != msg:
        print("ERROR after %d: echo %r to %r" % (n, got, msg), flush=True)
        sys.exit(1)
    n += 1
    if n == 1:
        print("started", flush=True)
    if os.path.exists(stop_file):
        break
    if time.time() > deadline:
        print("ERROR after %d: deadline passed" % n, flush=True)
        sys.exit(1)
    time.sleep(interval)
print("ok %d" % n, flush=True)
