#!/usr/bin/env python3
"""UDP traffic with wall-clock receive times (test_kbs_revoke).

  udp_clock.py send DST PORT INTERVAL_MS SECONDS [STOPFILE]
      send a small datagram to DST:PORT every INTERVAL_MS for SECONDS
      (errors such as ENOBUFS or EPERM from a dropping data plane are
      ignored: the sender keeps trying), or until STOPFILE exists
  udp_clock.py recv ADDR PORT SECONDS [STOPFILE]
      receive on ADDR:PORT for SECONDS (or until STOPFILE exists), then
      print one line per source address: "SRC COUNT FIRST LAST"
      (wall-clock times of the first and last datagram delivered, i.e.
      opened by the data plane: the kernel's receive timestamps,
      SO_TIMESTAMP, so a receiver scheduled late on a loaded machine does
      not move them); with STOPFILE, on stderr "SRC flowing" once 50
      datagrams from SRC arrived
"""
import os
import socket
import struct
import sys
import time

SO_TIMESTAMP = getattr(socket, "SO_TIMESTAMP", 29)  # = SCM_TIMESTAMP

mode = sys.argv[1]
addr, port, = sys.argv[2], int(sys.argv[3])
stop = sys.argv[6 if mode == "send" else 5] if len(sys.argv) > (6 if mode == "send" else 5) else None


def stopped():
    return stop is not None and os.path.exists(stop)


if mode == "send":
    interval, secs = float(sys.argv[4]) / 1000, float(sys.argv[5])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    end = time.time() + secs
    while time.time() < end and not stopped():
        try:
            s.sendto(b"sealnet-udp-clock %.6f" % time.time(), (addr, port))
        except OSError:
            pass
        time.sleep(interval)
elif mode == "recv":
    secs = float(sys.argv[4])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
    s.bind((addr, port))
    end = time.time() + secs
    seen = {}
    while not stopped():
        left = end - time.time()
        if left <= 0:
            break
        # with a stop file, look at it every 0.1 s
        s.settimeout(min(left, 0.1) if stop is not None else left)
        try:
            _, anc, _, (src, _) = s.recvmsg(2048, socket.CMSG_SPACE(16))
        except socket.timeout:
            if stop is None:
                break
            continue
        now = time.time()
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMP and len(data) >= 16:
                sec, usec = struct.unpack("qq", data[:16])
                now = sec + usec / 1e6
        c, first, _ = seen.get(src, (0, now, now))
        seen[src] = (c + 1, first, now)
        if c + 1 == 50 and stop is not None:
            print(src, "flowing", file=sys.stderr, flush=True)
    for src, (c, first, last) in sorted(seen.items()):
        print("%s %d %.3f %.3f" % (src, c, first, last))
    sys.stdout.flush()
else:
    sys.exit("usage: udp_clock.py send DST PORT INTERVAL_MS SECONDS [STOPFILE] | "
             "recv ADDR PORT SECONDS [STOPFILE]")
