#!/usr/bin/env python3
"""Raw HTTP/1.1 over TLS to sealnet-kbs (tests/netns/test_kbs_framing.sh).

  kbs_raw.py HOST:PORT CA [--cert PEM --key PEM] [--count N] ATTACK

Sends the bytes of ATTACK on one TLS connection (N connections with
--count), reads what the KBS answers until it closes, and prints one line
per HTTP response: "STATUS ERROR-CODE" (ERROR-CODE: the JSON answer's
"error", "-" when none).  A connection that ends without any response
prints "closed".  ATTACKS:
  body2m    POST /attest with a 2 MiB body (Content-Length)
  head64k   GET /keys with 64 KiB of header lines
  garbage   a request line that is not one
  chunked   POST /attest with a 2 MiB chunked body
  method    PATCH /keys
  pipeline  GET /keys, then a garbage request, on one connection
  internal  GET /!framing (the KBS's internal path) sent by a client
"""
import json
import select
import socket
import ssl
import sys
import time


def attack(name):
    if name == "body2m":
        return (b"POST /attest HTTP/1.1\r\nHost: kbs\r\n"
                b"Content-Type: application/json\r\n"
                b"Content-Length: 2097152\r\n\r\n" + b"a" * 2097152)
    if name == "head64k":
        return (b"GET /keys HTTP/1.1\r\nHost: kbs\r\n" +
                (b"X-Padding: " + b"p" * 53 + b"\r\n") * 1024 + b"\r\n")
    if name == "garbage":
        return b"\x16\x03\x01 this is not HTTP\r\n\r\n"
    if name == "chunked":
        chunk = b"%x\r\n" % 65536 + b"c" * 65536 + b"\r\n"
        return (b"POST /attest HTTP/1.1\r\nHost: kbs\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n" + chunk * 32 +
                b"0\r\n\r\n")
    if name == "method":
        return b"PATCH /keys HTTP/1.1\r\nHost: kbs\r\n\r\n"
    if name == "internal":
        return b"GET /!framing HTTP/1.1\r\nHost: kbs\r\n\r\n"
    if name == "pipeline":
        return (b"GET /keys HTTP/1.1\r\nHost: kbs\r\n\r\n"
                b"GARBAGE\r\n\r\n")
    sys.exit("unknown attack " + name)


def responses(data):
    """(status, error code) of each complete response in data"""
    out = []
    while data.startswith(b"HTTP/1."):
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        n = 0
        for ln in lines[1:]:
            k, _, v = ln.partition(b":")
            if k.strip().lower() == b"content-length":
                n = int(v)
        body, data = rest[:n], rest[n:]
        code = "-"
        try:
            code = json.loads(body).get("error", "-")
        except ValueError:
            pass
        out.append("%d %s" % (status, code))
    return out


def one(server, ctx, payload):
    """one connection: send payload while reading (one thread: an SSL
    object is not to be used by two at once), until the KBS closes"""
    host, port = server.rsplit(":", 1)
    raw = socket.create_connection((host, int(port)), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname=host)
    s.setblocking(False)
    view, off, got = memoryview(payload), 0, []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        sending = off < len(view)
        r, w, _ = select.select([s], [s] if sending else [], [], 1)
        if r or s.pending():
            try:
                b = s.recv(65536)
                if not b:
                    break
                got.append(b)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            except (OSError, ssl.SSLError):
                break
        if w and sending:
            try:
                off += s.send(view[off:off + 16384])
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            except (OSError, ssl.SSLError):
                off = len(view)  # the KBS answered and closed first
    s.close()
    r = responses(b"".join(got))
    return r if r else ["closed"]


def main():
    a = sys.argv[1:]
    server, ca = a[0], a[1]
    cert = key = None
    count = 1
    i = 2
    while a[i].startswith("--"):
        if a[i] == "--cert":
            cert = a[i + 1]
        elif a[i] == "--key":
            key = a[i + 1]
        elif a[i] == "--count":
            count = int(a[i + 1])
        i += 2
    payload = attack(a[i])
    ctx = ssl.create_default_context(cafile=ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    for _ in range(count):
        for line in one(server, ctx, payload):
            print(line, flush=True)


if __name__ == "__main__":
    main()
