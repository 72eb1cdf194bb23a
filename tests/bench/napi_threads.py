#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Print "napi_id pid" for every NAPI instance of IFNAME in the current network
namespace (generic netlink family "netdev", napi-get dump, Linux 6.9+); pid is 0
when the instance is not threaded. Exit 1 when the family or device is unknown.

Names (napi/rc-123) are no use for finding the thread: every namespace may
have an rc, and kthreads all live in the initial namespace."""
import os
import socket
import struct
import sys

NETLINK_GENERIC = 16
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
NETDEV_CMD_NAPI_GET = 11
NETDEV_A_NAPI_IFINDEX, NETDEV_A_NAPI_ID, NETDEV_A_NAPI_PID = 1, 2, 4


def attr(kind, payload):
    a = struct.pack("HH", 4 + len(payload), kind) + payload
    return a + b"\0" * (-len(a) % 4)


def attrs(buf):
    out, off = {}, 0
    while off + 4 <= len(buf):
        ln, kind = struct.unpack_from("HH", buf, off)
        if ln < 4:
            break
        out[kind & 0x3FFF] = buf[off + 4:off + ln]
        off += (ln + 3) & ~3
    return out


def request(sock, family, flags, cmd, payload):
    msg = struct.pack("BBH", cmd, 1, 0) + payload
    sock.send(struct.pack("IHHII", 16 + len(msg), family, NLM_F_REQUEST | flags, 1, 0) + msg)
    replies = []
    while True:
        data = sock.recv(1 << 16)
        off = 0
        while off + 16 <= len(data):
            ln, kind, _, _, _ = struct.unpack_from("IHHII", data, off)
            body = data[off + 16:off + ln]
            if kind == NLMSG_DONE:
                return replies
            if kind == NLMSG_ERROR:
                err = struct.unpack_from("i", body)[0]
                if err:
                    raise OSError(-err, os.strerror(-err))
                return replies
            replies.append(attrs(body[4:]))
            off += (ln + 3) & ~3
        if not flags & NLM_F_DUMP and replies:
            return replies


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: napi_threads.py IFNAME")
    ifindex = socket.if_nametoindex(sys.argv[1])
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    s.bind((0, 0))
    fam = request(s, GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY, attr(CTRL_ATTR_FAMILY_NAME, b"netdev\0"))
    fid = struct.unpack("H", fam[0][CTRL_ATTR_FAMILY_ID][:2])[0]
    for a in request(s, fid, NLM_F_DUMP, NETDEV_CMD_NAPI_GET,
                     attr(NETDEV_A_NAPI_IFINDEX, struct.pack("I", ifindex))):
        if struct.unpack("I", a[NETDEV_A_NAPI_IFINDEX][:4])[0] != ifindex:
            continue
        pid = struct.unpack("I", a[NETDEV_A_NAPI_PID][:4])[0] if NETDEV_A_NAPI_PID in a else 0
        print(struct.unpack("I", a[NETDEV_A_NAPI_ID][:4])[0], pid)


if __name__ == "__main__":
    try:
        main()
    except OSError as e:
        sys.exit("napi_threads.py: %s" % e)
