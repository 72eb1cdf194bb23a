#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# One UDP request: send stdin as one datagram, print the reply as soon as it is complete (exit 3 if refused, 4 on timeout).
import socket
import sys

host, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
want = int(sys.argv[4]) if len(sys.argv) > 4 else 0  # 0: the first datagram is the reply

data = sys.stdin.buffer.read()
family = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.settimeout(timeout)
s.connect((host, port))
s.send(data)
got = b""
try:
    while True:
        got += s.recv(65535)
        if len(got) >= want:
            break
except ConnectionRefusedError:
    print("refused", file=sys.stderr)
    sys.exit(3)
except socket.timeout:
    sys.stdout.buffer.write(got)
    print("timeout after %s s with %d bytes" % (timeout, len(got)), file=sys.stderr)
    sys.exit(4)
sys.stdout.buffer.write(got)
