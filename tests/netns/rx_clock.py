#!/usr/bin/env python3
"""Accept one TCP connection on ADDR PORT; print the number of bytes
received and the wall-clock time (time.time()) of the last byte, once the
peer closes or nothing arrived for IDLE seconds (default 3)."""
import socket
import sys
import time

addr, port = sys.argv[1], int(sys.argv[2])
idle = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(1)
s.settimeout(30)
c, _ = s.accept()
c.settimeout(idle)
n, last = 0, time.time()
while True:
    try:
        b = c.recv(65536)
    except socket.timeout:
        break
    if not b:
        break
    n += len(b)
    last = time.time()
print(n, "%.3f" % last)
