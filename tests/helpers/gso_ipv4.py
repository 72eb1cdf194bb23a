#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Set a device's gso_ipv4_max_size (IPv4 BIG TCP, Linux 6.3) over rtnetlink, which Debian 12's iproute2 cannot; print the value read back (exit 3 when the kernel has no such attribute).
import os
import socket
import struct
import sys

IFLA_GSO_IPV4_MAX_SIZE = 63  # include/uapi/linux/if_link.h, after IFLA_DEVLINK_PORT (6.2)
RTM_NEWLINK, RTM_GETLINK, NLMSG_ERROR = 16, 18, 2
NLM_F_REQUEST, NLM_F_ACK = 1, 4

dev, size = sys.argv[1], int(sys.argv[2])
index = socket.if_nametoindex(dev)
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
s.bind((0, 0))


def request(kind, attrs):
    body = struct.pack("BxHiII", socket.AF_UNSPEC, 0, index, 0, 0) + attrs
    s.send(struct.pack("IHHII", 16 + len(body), kind, NLM_F_REQUEST | NLM_F_ACK, 1, os.getpid()) + body)
    out = b""
    while True:
        data = s.recv(65536)
        off = 0
        while off + 16 <= len(data):
            length, kind_back = struct.unpack_from("IH", data, off)
            if kind_back == NLMSG_ERROR:
                err = struct.unpack_from("i", data, off + 16)[0]
                if err:
                    sys.exit("gso_ipv4.py: %s: %s" % (dev, os.strerror(-err)))
                return out
            out = data[off:off + length]
            off += (length + 3) & ~3


request(RTM_NEWLINK, struct.pack("HHI", 8, IFLA_GSO_IPV4_MAX_SIZE, size))
link = request(RTM_GETLINK, b"")
off = 16 + 16  # nlmsghdr, ifinfomsg
while off + 4 <= len(link):
    length, kind = struct.unpack_from("HH", link, off)
    if length < 4:
        break
    if kind == IFLA_GSO_IPV4_MAX_SIZE:
        print(struct.unpack_from("I", link, off + 4)[0])
        sys.exit(0)
    off += (length + 3) & ~3
print("gso_ipv4.py: %s: this kernel has no gso_ipv4_max_size (Linux 6.3)" % dev, file=sys.stderr)
sys.exit(3)
