#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A TCP upload in 1 MiB writes, as iperf3 makes them (a socket's GSO bursts grow past 64 KiB as its window does): sends for a second and until the nft counter named by NFT_CHAIN (family table chain) counts a packet, at most 10 s; prints what it sent, then the server's one-line answer.
# Usage: bulk_send.py HOST PORT TIMEOUT_S "FAMILY TABLE CHAIN"
import re
import socket
import subprocess
import sys
import time

host, port, timeout, chain = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4].split()


def counted():
    out = subprocess.run(["nft", "list", "chain"] + chain, capture_output=True, text=True).stdout
    m = re.search(r"packets ([0-9]+)", out)
    return int(m.group(1)) if m else 0


s = socket.create_connection((host, port), timeout=timeout)
sent, t0 = 0, time.monotonic()
while True:
    s.sendall(bytes(1 << 20))
    sent += 1 << 20
    t = time.monotonic() - t0
    if t >= 1 and (t >= 10 or counted() > 0):
        break
s.shutdown(socket.SHUT_WR)
print(sent, s.recv(64).decode().strip())
