"""A stand-in for Home Assistant's REST API on loopback, for the HTTP-level client tests.

The tests against a real Home Assistant core belong to the Home Assistant source's own issue;
this one answers exactly the two endpoints the client reads, in Home Assistant's JSON shape.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeHomeAssistant:
    def __init__(self, token, states=None):
        self.token = token
        self.states = dict(states or {})
        self.status = None      # force every answer to this HTTP status
        self.delay = 0.0        # seconds before answering
        self.requests = []      # (path, authorization header)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests.append((self.path, self.headers.get("Authorization")))
                time.sleep(owner.delay)
                code, body = owner.answer(self.path, self.headers.get("Authorization"))
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path, authorization):
        if self.status:
            return self.status, {"message": "forced"}
        if authorization != f"Bearer {self.token}":
            return 401, {"message": "Unauthorized"}
        if path == "/api/":
            return 200, {"message": "API running."}
        entity = path.removeprefix("/api/states/")
        if entity in self.states:
            return 200, {"entity_id": entity, "state": self.states[entity], "attributes": {}}
        return 404, {"message": "Entity not found."}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def main():
    """`python -m tests.fake_homeassistant TOKEN entity=state ...`: serve on a free loopback port."""
    import sys

    server = FakeHomeAssistant(sys.argv[1], dict(arg.split("=", 1) for arg in sys.argv[2:]))
    print(server.url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
