"""A stand-in for Home Assistant's REST API on loopback, for the HTTP-level client tests.

The tests against a real Home Assistant core belong to the Home Assistant source's own issue;
this one answers exactly the endpoints the client reads, in Home Assistant's JSON shape.
"""

import datetime
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that gave up first (the timeout tests) leaves a broken pipe: nothing went wrong here.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class FakeHomeAssistant:
    def __init__(self, token, states=None, history=None):
        self.token = token
        self.states = dict(states or {})
        self.attributes = {}    # {entity_id: its attributes}; none: {}
        # What the recorder kept: {entity_id: [(epoch seconds, state), ...]} oldest first; None: no history
        # integration (its endpoint is not found).
        self.history = history
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

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path, authorization):
        if self.status:
            return self.status, {"message": "forced"}
        if authorization != f"Bearer {self.token}":
            return 401, {"message": "Unauthorized"}
        if path == "/api/":
            return 200, {"message": "API running."}
        if path.startswith("/api/history/period/") and self.history is not None:
            return self.history_period(path)
        entity = path.removeprefix("/api/states/")
        if entity in self.states:
            return 200, {"entity_id": entity, "state": self.states[entity],
                         "attributes": self.attributes.get(entity, {})}
        return 404, {"message": "Entity not found."}

    def set(self, entity_id, state, **attributes):
        """Give an entity a state and these attributes (it is made if it is not there)."""
        self.states[entity_id] = state
        self.attributes[entity_id] = attributes

    def make_unavailable(self, entity_id):
        """As Home Assistant shows an entity it cannot reach (an MQTT one after its last will): `unavailable`,
        its extra attributes dropped, its name kept."""
        name = self.attributes.get(entity_id, {}).get("friendly_name")
        self.set(entity_id, "unavailable", **({} if name is None else {"friendly_name": name}))

    def remove(self, entity_id):
        self.states.pop(entity_id, None)
        self.attributes.pop(entity_id, None)

    def asked(self, entity_id):
        """How many times the entity's state was asked for."""
        return sum(path == f"/api/states/{entity_id}" for path, _ in self.requests)

    def history_period(self, path):
        """As Home Assistant's recorder answers: per entity its state at the start, then each change before
        the end; with `minimal_response` only the first names the entity and repeated states are left out."""
        parts = urlsplit(path)
        query = parse_qs(parts.query, keep_blank_values=True)
        start = datetime.datetime.fromisoformat(unquote(parts.path.rsplit("/", 1)[1])).timestamp()
        end = datetime.datetime.fromisoformat(query["end_time"][0]).timestamp() if "end_time" in query \
            else start + 86400
        if not query.get("filter_entity_id", [""])[0]:
            return 400, {"message": "filter_entity_id is missing"}
        minimal, answer = "minimal_response" in query, []
        for entity_id in query["filter_entity_id"][0].split(","):
            changes = self.history.get(entity_id, [])
            before = [state for at, state in changes if at <= start][-1:]
            states = [(start, state) for state in before] + [(at, state) for at, state in changes if start < at < end]
            rows, last = [], None
            for at, state in states:
                if minimal and rows and state == last:
                    continue
                stamp = datetime.datetime.fromtimestamp(at, datetime.timezone.utc).isoformat()
                row = {"state": state, "last_changed": stamp}
                if not (minimal and rows):
                    row.update(entity_id=entity_id, last_updated=stamp, attributes={})
                rows.append(row)
                last = state
            if rows:
                answer.append(rows)
        return 200, answer

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def main():
    """`python -m testbed.fake_homeassistant TOKEN entity=state ...`: serve on a free loopback port (print its
    URL). Each line on stdin, `{"entity_id": ..., "state": ..., "attributes": {...}}`, sets an entity, and
    `ok` answers once it is set: the way a test changes a server that runs in a namespace of its own."""
    server = FakeHomeAssistant(sys.argv[1], dict(arg.split("=", 1) for arg in sys.argv[2:]))
    print(server.url, flush=True)
    for line in sys.stdin:
        if line.strip():
            item = json.loads(line)
            server.set(item["entity_id"], item["state"], **item.get("attributes", {}))
            print("ok", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
