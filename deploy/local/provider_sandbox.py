"""A bank provider sandbox for local replays: accepts every transfer, remembers it by id.

The external bank provider is someone else's system (services/API.md "External bank
provider"); in a staging cluster the overlay points at that provider's own sandbox. Locally,
this stands in for it with the same contract:
  POST /transfers {"transfer_id", ...}  -> 201 {"transfer_id", "status": "accepted"} (dedup by id)
  GET  /transfers/{transfer_id}         -> 200 {"transfer_id", "status": "accepted"} or 404
Usage: provider_sandbox.py [HOST:PORT]   (default 127.0.0.1:8090)
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TRANSFERS = {}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        if self.path != "/transfers":
            return self._answer(404, {"status": "not_found"})
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
            transfer_id = body["transfer_id"]
        except (ValueError, KeyError, TypeError):
            return self._answer(400, {"status": "rejected", "reason": "invalid_request"})
        with LOCK:
            TRANSFERS.setdefault(transfer_id, body)
        self._answer(201, {"transfer_id": transfer_id, "status": "accepted"})

    def do_GET(self):
        prefix = "/transfers/"
        transfer_id = self.path[len(prefix):] if self.path.startswith(prefix) else None
        with LOCK:
            known = transfer_id in TRANSFERS
        if not known:
            return self._answer(404, {"status": "not_found"})
        self._answer(200, {"transfer_id": transfer_id, "status": "accepted"})

    def log_message(self, fmt, *args):
        sys.stderr.write("provider-sandbox: " + (fmt % args) + "\n")


if __name__ == "__main__":
    host, _, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8090").rpartition(":")
    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), Handler)
    print(f"provider-sandbox: listening on http://{host}:{port}", flush=True)
    server.serve_forever()
