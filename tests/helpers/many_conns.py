#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Many concurrent TCP connections from one process: "server ADDR PORT" answers each line with "ok PEERPORT"; "client ADDR PORT N GO_FILE SECS" opens N at once, holds them until GO_FILE exists, then finishes each and prints the count that completed.
import os
import resource
import selectors
import socket
import sys
import time


def more_files(n):
    want = n + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))


def server(addr, port):
    more_files(10000)
    sel = selectors.DefaultSelector()
    ls = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(4096)
    ls.setblocking(False)
    sel.register(ls, selectors.EVENT_READ, None)
    while True:
        for key, _ in sel.select():
            if key.data is None:
                try:
                    c, peer = ls.accept()
                except BlockingIOError:
                    continue
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, peer)
                continue
            c = key.fileobj
            try:
                data = c.recv(256)
            except OSError:
                data = b""
            if data:
                c.send(("ok %d\n" % key.data[1]).encode())
            else:
                sel.unregister(c)
                c.close()


def exchange(socks, sel, deadline):
    """Send a line on every socket, wait for each reply; the number answered."""
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
        s.send(b"x\n")
    got = 0
    while got < len(socks) and time.time() < deadline:
        for key, _ in sel.select(timeout=0.5):
            try:
                ok = key.fileobj.recv(256).startswith(b"ok ")
            except OSError:
                ok = False
            sel.unregister(key.fileobj)
            got += ok
    for s in socks:
        try:
            sel.unregister(s)
        except (KeyError, ValueError):
            pass
    return got


def client(addr, port, n, go_file, secs):
    more_files(n)
    deadline = time.time() + secs
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
        s.settimeout(max(1.0, deadline - time.time()))
        try:
            s.connect((addr, port))
        except OSError as e:
            print("connect failed after %d: %s" % (len(socks), e), flush=True)
            return 1
        socks.append(s)
    sel = selectors.DefaultSelector()
    print("open %d answered %d" % (n, exchange(socks, sel, deadline)), flush=True)
    while not os.path.exists(go_file) and time.time() < deadline:
        time.sleep(0.05)
    done = exchange(socks, sel, deadline)
    for s in socks:
        s.close()
    print("completed %d" % done, flush=True)
    return 0 if done == n else 1


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], float(sys.argv[6])))
