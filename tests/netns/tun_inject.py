#!/usr/bin/env python3
"""Inject one IPv4/UDP datagram onto a device through a packet socket
(test_engine_bypass.sh): what another root process can do without
touching any hook.

  tun_inject.py DEV SRC DST DPORT PAYLOAD [--bypass]

--bypass sets PACKET_QDISC_BYPASS: the packet goes to the driver through
dev_direct_xmit, which runs neither the qdisc nor the clsact/tcx egress
hooks.  Prints "dropped" when the transmit path dropped it (ENOBUFS).
"""
import errno
import socket
import struct
import sys

SOL_PACKET = 263
PACKET_QDISC_BYPASS = 20


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    dev, src, dst, dport, payload = sys.argv[1:6]
    bypass = "--bypass" in sys.argv[6:]
    data = payload.encode()
    sa, da = socket.inet_aton(src), socket.inet_aton(dst)
    ulen = 8 + len(data)
    udp = struct.pack("!HHHH", 40000, int(dport), ulen, 0) + data
    pseudo = sa + da + struct.pack("!BBH", 0, 17, ulen)
    c = csum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 1, 0x4000, 64,
                     17, 0, sa, da)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM,
                      socket.htons(0x0800))
    if bypass:
        s.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
    try:
        s.sendto(ip + udp, (dev, 0x0800))
    except OSError as e:
        # ENOBUFS: a hook or the driver dropped it (NET_XMIT_DROP)
        if e.errno != errno.ENOBUFS:
            raise
        print("dropped")


if __name__ == "__main__":
    main()
