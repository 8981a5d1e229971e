#!/usr/bin/env python3
"""Upload sink for the streaming benchmark: any POST/PUT body is read in 1 MiB chunks and thrown away,
then answered with {"received": N}. Handles Content-Length and chunked bodies. Python stdlib only.

Usage: sink.py PORT   (binds 127.0.0.1)
"""
import http.server
import json
import sys

CHUNK = 1 << 20


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _discard(self):
        total = 0
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return total
                left = size
                while left:
                    got = len(self.rfile.read(min(left, CHUNK)))
                    if not got:
                        return total
                    left -= got
                    total += got
                self.rfile.readline()
        left = int(self.headers.get("Content-Length", "0") or 0)
        while left:
            got = len(self.rfile.read(min(left, CHUNK)))
            if not got:
                break
            left -= got
            total += got
        return total

    def _answer(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self._answer(200, {"received": self._discard()})

    do_PUT = do_POST

    def do_GET(self):
        self._answer(200, {"ok": True})


if __name__ == "__main__":
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink)
    server.daemon_threads = True
    server.serve_forever()
