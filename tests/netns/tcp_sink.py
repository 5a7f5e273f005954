#!/usr/bin/env python3
"""Test traffic for the netns tests (standard library only).

  serve ADDR PORT            accept one TCP connection, print sha256 of all bytes
  send ADDR PORT N MARKER [SECONDS]
                             send N bytes made of MARKER + counter (spread
                             over SECONDS when given), print sha256
  forge ADDR PORT SESSION    send one UDP datagram shaped like a sealed packet
                             (sealnet header with SESSION, random ciphertext)
"""
import hashlib
import os
import socket
import struct
import sys


def serve(addr, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1)
    s.settimeout(30)
    c, _ = s.accept()
    c.settimeout(60)
    h = hashlib.sha256()
    while True:
        b = c.recv(65536)
        if not b:
            break
        h.update(b)
    print(h.hexdigest())


def send(addr, port, n, marker, seconds=0.0):
    import time
    c = socket.create_connection((addr, port), timeout=60)
    start = time.monotonic()
    h = hashlib.sha256()
    i = 0
    left = n
    while left > 0:
        chunk = b"".join(b"%s-%08d " % (marker, i + k) for k in range(512))[:left]
        i += 512
        c.sendall(chunk)
        h.update(chunk)
        left -= len(chunk)
        if seconds:
            due = start + seconds * (n - left) / n
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
    c.shutdown(socket.SHUT_WR)
    c.recv(1)
    c.close()
    print(h.hexdigest())


def forge(addr, port, session):
    hdr = struct.pack(">BBHIHHQ", 1, 6, 0, session, 0, 1, 12345)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(hdr + os.urandom(60) + os.urandom(16), (addr, port))


def main():
    cmd = sys.argv[1]
    if cmd == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    elif cmd == "send":
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].encode(),
             float(sys.argv[6]) if len(sys.argv) > 6 else 0.0)
    elif cmd == "forge":
        forge(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit("usage: see the docstring")


if __name__ == "__main__":
    main()
