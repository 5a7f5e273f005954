#!/usr/bin/env python3
"""An intruder on a MAKE port (tests/netns/test_make_takeover.sh).

  garbage ADDR PORT SPORT          connect from source port SPORT, send
                                   random bytes, close
  hello ADDR PORT SPORT ID CERT KEY
                                   complete a TLS 1.3 handshake (self-signed
                                   CERT/KEY), send a well-formed MAKE HELLO
                                   claiming node ID (client role) and
                                   EVIDENCE that is not evidence; print what
                                   the server answered (message types)
"""
import os
import socket
import ssl
import struct
import sys


def connect(addr, port, sport):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", sport))
    s.settimeout(10)
    s.connect((addr, port))
    return s


def frame(mtype, payload):
    return struct.pack(">IB", 1 + len(payload), mtype) + payload


def garbage(addr, port, sport):
    s = connect(addr, port, sport)
    s.sendall(os.urandom(3000))
    s.close()
    print("garbage sent")


def hello(addr, port, sport, node_id, cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(cert, key)
    s = ctx.wrap_socket(connect(addr, port, sport))
    name = b"h%d" % node_id
    s.sendall(frame(1, struct.pack(">HBIB", 1, 0, node_id, len(name)) + name
                    + os.urandom(32)))
    s.sendall(frame(2, b'{"not": "evidence"}'))
    got = []
    buf = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            buf += b
    except (OSError, ssl.SSLError):
        pass
    while len(buf) >= 5:
        n, t = struct.unpack(">IB", buf[:5])
        got.append(t)
        buf = buf[4 + n:]
    print("tls up; server sent message types %s" % got)


def main():
    cmd, addr, port, sport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if cmd == "garbage":
        garbage(addr, port, sport)
    elif cmd == "hello":
        hello(addr, port, sport, int(sys.argv[5]), sys.argv[6], sys.argv[7])
    else:
        sys.exit("usage: see the docstring")


if __name__ == "__main__":
    main()
