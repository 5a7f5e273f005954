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
  token ADDR PORT SPORT ID NAME CERT KEY TOKEN MARK
                                   the same with a HELLO version 2 claiming
                                   node ID under the name NAME, then the
                                   KBS token in file TOKEN (bound to KEY);
                                   socket mark MARK (hex; 0: none); print
                                   the message types, "verdict accept"
                                   when the server accepted the token (then
                                   it accepts the server's proof too) and
                                   "keys ready" when the server derived keys
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


def token(addr, port, sport, node_id, name, cert, key, tokfile, mark):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(cert, key)
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if mark:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
    raw.bind(("0.0.0.0", sport))
    raw.settimeout(4)
    raw.connect((addr, port))
    s = ctx.wrap_socket(raw)
    name = name.encode()
    tok = open(tokfile, "rb").read().strip()
    # HELLO v2: version, role client, id, name, nonce, accept evidence
    s.sendall(frame(1, struct.pack(">HBIB", 2, 0, node_id, len(name)) + name
                    + os.urandom(32) + b"\x01"))
    s.sendall(frame(7, tok))
    buf, got, verdict, sent = b"", [], None, False
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            buf += b
            while len(buf) >= 5 and len(buf) >= 4 + struct.unpack(">I", buf[:4])[0]:
                n, t = struct.unpack(">IB", buf[:5])
                body, buf = buf[5:4 + n], buf[4 + n:]
                got.append(t)
                if t == 1:  # the server's HELLO: its nonce for our VERDICT
                    nl = body[7]
                    nonce = body[8 + nl:8 + nl + 32]
                if t == 3:
                    verdict = body[0]
                if verdict == 1 and not sent:
                    # accept whatever the server proved: keys follow
                    s.sendall(frame(3, b"\x01" + nonce + b"\x00"))
                    sent = True
    except (OSError, ssl.SSLError):
        pass
    print("tls up; server sent message types %s" % got)
    if verdict == 1:
        print("verdict accept")
    if 4 in got:
        print("keys ready")


def main():
    cmd, addr, port, sport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if cmd == "garbage":
        garbage(addr, port, sport)
    elif cmd == "hello":
        hello(addr, port, sport, int(sys.argv[5]), sys.argv[6], sys.argv[7])
    elif cmd == "token":
        token(addr, port, sport, int(sys.argv[5]), sys.argv[6], sys.argv[7],
              sys.argv[8], sys.argv[9], int(sys.argv[10], 16))
    else:
        sys.exit("usage: see the docstring")


if __name__ == "__main__":
    main()
