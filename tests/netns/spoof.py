#!/usr/bin/env python3
"""Craft one IPv4 packet with a forged source (root; standard library only).

  tcp SRC SPORT DST DPORT [FLAGS]   a TCP segment (default flags: SYN)
  udp SRC SPORT DST DPORT PAYLOAD   a UDP datagram

Checksums are correct, so the receiver's stack would accept the packet if
nothing dropped it first.
"""
import socket
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip_pkt(src, dst, proto, l4):
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0x1234, 0x4000,
                      64, proto, 0, s, d)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + l4, s, d


def main(argv):
    kind, src, sport, dst, dport = argv[1], argv[2], int(argv[3]), argv[4], int(argv[5])
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    if kind == "tcp":
        flags = int(argv[6], 0) if len(argv) > 6 else 0x02
        l4 = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 0x50, flags, 64240, 0, 0)
        pseudo = s + d + struct.pack("!BBH", 0, 6, len(l4))
        l4 = l4[:16] + struct.pack("!H", csum(pseudo + l4)) + l4[18:]
        proto = 6
    else:
        payload = argv[6].encode()
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        pseudo = s + d + struct.pack("!BBH", 0, 17, len(l4))
        l4 = l4[:6] + struct.pack("!H", csum(pseudo + l4) or 0xFFFF) + l4[8:]
        proto = 17
    pkt, _, _ = ip_pkt(src, dst, proto, l4)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    raw.sendto(pkt, (dst, 0))


if __name__ == "__main__":
    main(sys.argv)
