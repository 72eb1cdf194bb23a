#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A client that prints the peer as its socket reports it: "tcp" (connect, getpeername, one line), "udp" (unconnected sendto, recvfrom) or "udpc" (connect, getpeername, send, recvfrom).
import socket
import sys

mode, host, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
family = socket.AF_INET6 if ":" in host else socket.AF_INET


def ep(a):
    return ("[%s]:%d" if family == socket.AF_INET6 else "%s:%d") % (a[0], a[1])


try:
    if mode == "tcp":
        s = socket.create_connection((host, port), timeout=timeout)
        peer = ep(s.getpeername())
        s.sendall(b"hello\n")
        got = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            got += b
        print("peer %s: %s" % (peer, got.decode().strip()))
    else:
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        peer = "-"
        if mode == "udpc":
            s.connect((host, port))
            peer = ep(s.getpeername())
            s.send(b"hello\n")
        else:
            s.sendto(b"hello\n", (host, port))
        data, src = s.recvfrom(65535)
        print("peer %s from %s: %s" % (peer, ep(src), data.decode().strip()))
except OSError as e:
    print("error: %s" % (e.strerror or e))
    sys.exit(1)
