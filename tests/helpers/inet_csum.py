# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The Internet checksum (RFC 1071), for the helpers that build packets by hand.
import struct


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
