#!/usr/bin/env python3
"""Timed UDP flows for test_engine_hooks.sh (standard library only).

  hook_flow.py send DST PORTS INTERVAL_MS STOPFILE
      every INTERVAL_MS, one datagram "HF <port> <send time>" to each of
      DST:PORT (PORTS: comma-separated), until STOPFILE exists (send
      errors from a dropping data plane are ignored)
  hook_flow.py recv ADDR PORTS OUT STOPFILE
      receive on ADDR:PORT for each port and append "<port> <send time>"
      per datagram delivered to OUT, until STOPFILE exists
  hook_flow.py count OUT PORT T0 T1
      print how many datagrams to PORT sent in [T0, T1) (seconds since
      the epoch, as `date +%s.%N`) OUT holds
"""
import os
import select
import socket
import sys
import time


def send(dst, ports, interval, stop):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    while not os.path.exists(stop):
        for p in ports:
            try:
                s.sendto(b"HF %d %.6f" % (p, time.time()), (dst, p))
            except OSError:
                pass
        time.sleep(interval)


def recv(addr, ports, out, stop):
    socks = []
    for p in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((addr, p))
        socks.append(s)
    with open(out, "a", buffering=1) as f:
        while not os.path.exists(stop):
            r, _, _ = select.select(socks, [], [], 0.1)
            for s in r:
                d = s.recv(2048).split()
                if len(d) == 3 and d[0] == b"HF":
                    f.write("%s %s\n" % (d[1].decode(), d[2].decode()))


def count(out, port, t0, t1):
    n = 0
    with open(out) as f:
        for line in f:
            p, t = line.split()
            if int(p) == port and t0 <= float(t) < t1:
                n += 1
    print(n)


mode = sys.argv[1] if len(sys.argv) > 1 else ""
if mode == "send":
    send(sys.argv[2], [int(p) for p in sys.argv[3].split(",")],
         float(sys.argv[4]) / 1000, sys.argv[5])
elif mode == "recv":
    recv(sys.argv[2], [int(p) for p in sys.argv[3].split(",")], sys.argv[4],
         sys.argv[5])
elif mode == "count":
    count(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
else:
    sys.exit("usage: hook_flow.py send DST PORTS INTERVAL_MS STOPFILE | "
             "recv ADDR PORTS OUT STOPFILE | count OUT PORT T0 T1")
