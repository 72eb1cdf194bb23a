#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# One TCP connection exchanging a numbered line every INTERVAL seconds until STOP_FILE appears: proves a change left no gap.
# Usage: tcp_stream.py HOST PORT STOP_FILE [DEADLINE_S [INTERVAL_S]]
# Prints "ok N REPLY" at the end (N exchanges, REPLY the last answer), or
# "ERROR after N: WHY" and exits 1 at the first exchange that fails.
import os
import socket
import sys
import time

host, port, stop_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
deadline = time.time() + (float(sys.argv[4]) if len(sys.argv) > 4 else 60.0)
interval = float(sys.argv[5]) if len(sys.argv) > 5 else 0.02

n = 0
last = ""
try:
    s = socket.create_connection((host, port), timeout=5)
    f = s.makefile("rw")
    while True:
        f.write("%d\n" % n)
        f.flush()
        line = f.readline()
        if not line.strip().endswith(" %d" % n):
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
