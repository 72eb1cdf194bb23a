#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# One TCP connection kept open across an event: send a line, wait for GO_FILE, send another on the same socket.
import os
import socket
import sys
import time

host, port, go_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
deadline = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0
io_timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 5.0  # connect and each reply

s = socket.create_connection((host, port), timeout=io_timeout)
f = s.makefile("rw")


def exchange(msg):
    f.write(msg + "\n")
    f.flush()
    line = f.readline().strip()
    print(line or "EOF", flush=True)


exchange("first")
end = time.time() + deadline
while not os.path.exists(go_file):
    if time.time() > end:
        print("TIMEOUT waiting for " + go_file, flush=True)
        sys.exit(2)
    time.sleep(0.05)
try:
    exchange("second")
except OSError as e:
    print("ERROR " + type(e).__name__, flush=True)
s.close()
