#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# One TCP connection or UDP flow exchanging a numbered line every INTERVAL seconds until STOP_FILE appears: proves a change left no gap.
# Usage: stream.py tcp|udp HOST PORT STOP_FILE [DEADLINE_S [INTERVAL_S [REPLY_TIMEOUT_S]]]
# A reply is the line itself (an echo) or ends with " N", the line's number.
# Prints "started REPLY" after the first exchange and "ok N REPLY" at the end
# (N exchanges, REPLY the last answer), or "ERROR after N: WHY" and exits 1 at
# the first exchange that fails: for UDP a datagram whose reply does not come
# within REPLY_TIMEOUT_S (default 5) is lost, and nothing is sent again.
import os
import socket
import sys
import time

proto, host, port, stop_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
deadline = time.time() + (float(sys.argv[5]) if len(sys.argv) > 5 else 60.0)
interval = float(sys.argv[6]) if len(sys.argv) > 6 else 0.02
reply_timeout = float(sys.argv[7]) if len(sys.argv) > 7 else 5.0

n = 0
last = ""
try:
    if proto == "udp":
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(reply_timeout)
        s.connect((host, port))

        def exchange(msg):
            s.send(msg.encode())
            return s.recv(65535).decode()
    else:
        s = socket.create_connection((host, port), timeout=reply_timeout)
        f = s.makefile("rw")

        def exchange(msg):
            f.write(msg)
            f.flush()
            return f.readline()
    while True:
        line = exchange("%d\n" % n)
        if line.strip() != "%d" % n and not line.strip().endswith(" %d" % n):
            print("ERROR after %d: reply %r to line %d" % (n, line, n), flush=True)
            sys.exit(1)
        last = line.strip()
        n += 1
        if n == 1:
            print("started " + last, flush=True)
        if os.path.exists(stop_file):
            break
        if time.time() > deadline:
            print("ERROR after %d: TIMEOUT waiting for %s" % (n, stop_file), flush=True)
            sys.exit(1)
        time.sleep(interval)
    s.close()
except OSError as e:
    print("ERROR after %d: %s %s" % (n, type(e).__name__, e), flush=True)
    sys.exit(1)
print("ok %d %s" % (n, last), flush=True)
