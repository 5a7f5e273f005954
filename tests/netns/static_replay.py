#!/usr/bin/env python3
"""Helpers of test_static_restart.sh (standard library only).

  flow-send ADDR PORT          send UDP datagrams "SN-FLOW <n>\\n" (n = 0, 1,
                               ...) to ADDR:PORT every 5 ms until killed
  flow-recv ADDR PORT OUT      receive them, append each payload to OUT
  triples PCAP                 sealed packets (UDP dst 51820) in PCAP: print
                               per session the packets and epochs seen; exit
                               1 if a (session, epoch, counter) repeats
  extract PCAP SESSION BEFORE N OUT
                               the last N sealed packets of SESSION captured
                               before the time BEFORE (seconds since the
                               epoch): their IPv4 packets, hex, one per line
  inject FILE                  send the IPv4 packets of FILE (extract's
                               output) as they are, through a raw socket
"""
import socket
import struct
import sys
import time

SEALNET_PORT = 51820


def flow_send(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    n = 0
    while True:
        try:
            s.sendto(b"SN-FLOW %d\n" % n, (addr, port))
        except OSError:
            pass  # dropped while no key: keep going
        n += 1
        time.sleep(0.005)


def flow_recv(addr, port, out):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    with open(out, "ab", buffering=0) as f:
        while True:
            f.write(s.recv(2048))


def packets(path):
    """(time, IPv4 packet bytes) of each IPv4 frame of a classic pcap."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    else:
        e = ">"
        magic = struct.unpack(">I", data[:4])[0]
    nano = magic == 0xA1B23C4D
    link = struct.unpack(e + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        t = sec + frac / (1e9 if nano else 1e6)
        if link == 1:  # Ethernet
            if len(frame) < 14 or frame[12:14] != b"\x08\x00":
                continue
            ip = frame[14:]
        elif link == 113:  # Linux cooked
            if len(frame) < 16 or frame[14:16] != b"\x08\x00":
                continue
            ip = frame[16:]
        else:
            sys.exit("pcap link type %d not handled" % link)
        yield t, ip


def sealed(ip):
    """(session, epoch, counter) of a sealed packet, else None."""
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
        return None
    ihl = (ip[0] & 15) * 4
    udp = ip[ihl:]
    if len(udp) < 8 + 20 or struct.unpack(">H", udp[2:4])[0] != SEALNET_PORT:
        return None
    h = udp[8:28]
    if h[0] != 1:
        return None
    session = struct.unpack(">I", h[4:8])[0]
    epoch = struct.unpack(">H", h[10:12])[0]
    counter = struct.unpack(">Q", h[12:20])[0]
    return session, epoch, counter


def triples(path):
    seen = {}
    per = {}
    repeats = 0
    for _, ip in packets(path):
        t = sealed(ip)
        if not t:
            continue
        if t in seen:
            repeats += 1
            if repeats <= 5:
                print("REPEAT: session %d epoch %d counter %d" % t)
        seen[t] = True
        s = per.setdefault(t[0], [0, set()])
        s[0] += 1
        s[1].add(t[1])
    for sess, (n, epochs) in sorted(per.items()):
        print("session %d: %d sealed packets, epochs %s" %
              (sess, n, sorted(epochs)))
    print("%d (session, epoch, counter) repeats" % repeats)
    sys.exit(1 if repeats or not seen else 0)


def extract(path, session, before, n, out):
    got = []
    for t, ip in packets(path):
        s = sealed(ip)
        if s and s[0] == session and t < before:
            got.append(ip)
    got = got[-n:]
    with open(out, "w") as f:
        for ip in got:
            f.write(ip.hex() + "\n")
    print(len(got))


def inject(path):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    n = 0
    with open(path) as f:
        for line in f:
            ip = bytes.fromhex(line.strip())
            dst = socket.inet_ntoa(ip[16:20])
            s.sendto(ip, (dst, 0))
            n += 1
            time.sleep(0.002)
    print(n)


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "flow-send":
        flow_send(a[0], int(a[1]))
    elif cmd == "flow-recv":
        flow_recv(a[0], int(a[1]), a[2])
    elif cmd == "triples":
        triples(a[0])
    elif cmd == "extract":
        extract(a[0], int(a[1]), float(a[2]), int(a[3]), a[4])
    elif cmd == "inject":
        inject(a[0])
    else:
        sys.exit("usage: see the docstring")


if __name__ == "__main__":
    main()
