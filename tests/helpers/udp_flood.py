#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A bounded flood of new UDP flows: one datagram to HOST:PORT from each of COUNT source ports FIRST, FIRST+1, ..., as fast as it can.
# Usage: udp_flood.py HOST PORT FIRST COUNT; prints "sent N".
import socket
import sys

host, port, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
sent = 0
for p in range(first, first + count):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", p))
    s.sendto(b"flood\n", (host, port))
    s.close()
    sent += 1
print("sent %d" % sent)
