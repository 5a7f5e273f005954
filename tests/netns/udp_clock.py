#!/usr/bin/env python3
"""UDP traffic with wall-clock receive times (test_kbs_revoke).

  udp_clock.py send DST PORT INTERVAL_MS SECONDS
      send a small datagram to DST:PORT every INTERVAL_MS for SECONDS
      (errors such as ENOBUFS or EPERM from a dropping data plane are
      ignored: the sender keeps trying)
  udp_clock.py recv ADDR PORT SECONDS
      receive on ADDR:PORT for SECONDS, then print one line per source
      address: "SRC COUNT FIRST LAST" (time.time() of the first and last
      datagram delivered, i.e. opened by the data plane)
"""
import socket
import sys
import time

mode = sys.argv[1]
addr, port, = sys.argv[2], int(sys.argv[3])
if mode == "send":
    interval, secs = float(sys.argv[4]) / 1000, float(sys.argv[5])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    end = time.time() + secs
    while time.time() < end:
        try:
            s.sendto(b"sealnet-udp-clock %.6f" % time.time(), (addr, port))
        except OSError:
            pass
        time.sleep(interval)
elif mode == "recv":
    secs = float(sys.argv[4])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    end = time.time() + secs
    seen = {}
    while True:
        left = end - time.time()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            _, (src, _) = s.recvfrom(2048)
        except socket.timeout:
            break
        now = time.time()
        c, first, _ = seen.get(src, (0, now, now))
        seen[src] = (c + 1, first, now)
    for src, (c, first, last) in sorted(seen.items()):
        print("%s %d %.3f %.3f" % (src, c, first, last))
    sys.stdout.flush()
else:
    sys.exit("usage: udp_clock.py send DST PORT INTERVAL_MS SECONDS | recv ADDR PORT SECONDS")
