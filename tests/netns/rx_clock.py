#!/usr/bin/env python3
"""Accept one TCP connection on ADDR PORT; print the number of bytes
received and the wall-clock time (time.time()) of the last byte, once the
peer closes or nothing arrived for IDLE seconds (default 3).

The time is the kernel's receive timestamp of the last segment read
(SO_TIMESTAMP), not the moment this program got to read it: a reader
scheduled late on a loaded machine does not move it."""
import socket
import struct
import sys
import time

SO_TIMESTAMP = getattr(socket, "SO_TIMESTAMP", 29)  # = SCM_TIMESTAMP

addr, port = sys.argv[1], int(sys.argv[2])
idle = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)  # inherited by accept()
s.bind((addr, port))
s.listen(1)
s.settimeout(30)
c, _ = s.accept()
c.settimeout(idle)
n, last = 0, time.time()
while True:
    try:
        b, anc, _, _ = c.recvmsg(65536, socket.CMSG_SPACE(16))
    except socket.timeout:
        break
    if not b:
        break
    n += len(b)
    last = time.time()
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMP and len(data) >= 16:
            sec, usec = struct.unpack("qq", data[:16])
            last = sec + usec / 1e6
print(n, "%.3f" % last)
