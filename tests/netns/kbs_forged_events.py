#!/usr/bin/env python3
"""A hostile peer KBS's GET /events (test_kbs_federation).

  kbs_forged_events.py ADDR PORT CHAIN KEY EPOCH EVENTS_JSON

Serves HTTPS (the peer's own certificate chain and key: what a
compromised peer KBS holds) on ADDR:PORT.  GET /events?after=N answers
the events of EVENTS_JSON (a JSON array) whose seq is above N, with
"epoch" EPOCH and "head" the highest seq; when none is left it waits 1 s
and answers an empty list.  Anything else: 503.  Runs until killed.
"""
import json
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

addr, port, chain, key, epoch, events = sys.argv[1:7]
events = json.loads(events)
head = max([e["seq"] for e in events] + [0])


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        u = urlparse(self.path)
        if u.path != "/events":
            body, code = b'{"error":"busy"}', 503
        else:
            after = int(parse_qs(u.query).get("after", ["0"])[0])
            evs = [e for e in events if e["seq"] > after]
            if not evs:
                time.sleep(1)
            last = evs[-1]["seq"] if evs else after
            body = json.dumps({"events": evs, "last": last, "epoch": epoch,
                               "head": head}).encode()
            code = 200
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_cert_chain(chain, key)
srv = ThreadingHTTPServer((addr, int(port)), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
