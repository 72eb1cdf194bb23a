#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Send one UDP datagram as a whole Ethernet frame (AF_PACKET), so any destination address, even loopback, reaches the next hop's MAC.
import socket
import struct
import sys

from inet_csum import csum

ifname, dmac, src, dst, sport, dport = sys.argv[1:7]
sport, dport = int(sport), int(dport)


sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((ifname, 0))
smac = sock.getsockname()[4]
payload = b"l2 hello\n"
ulen = 8 + len(payload)
pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, ulen)
udp = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
udp = struct.pack("!HHHH", sport, dport, ulen, csum(pseudo + udp) or 0xFFFF) + payload
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 1, 0x4000, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
eth = bytes.fromhex(dmac.replace(":", "")) + smac + struct.pack("!H", 0x0800)
sock.send(eth + ip + udp)
