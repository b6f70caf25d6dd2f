"""HTTP peers that answer badly, on a free 127.0.0.1 port: trickling, silent, huge, or of the wrong shape.

Each connection's request is read, then handed with its path to the server's `behaviour`, which
writes what it likes to the raw socket: these peers are meant to break the HTTP rules a real
server keeps.
"""

import json
import os
import socket
import ssl
import subprocess
import threading
import time

from testbed.loopback import listen, serve


class HostileServer:
    """Serves every request with `behaviour(conn, path, closed)` until `close()`; `tls` is a server
    SSLContext for https."""

    def __init__(self, behaviour, tls=None):
        self.behaviour = behaviour
        self.tls = tls
        self.paths = []
        self.heads = []
        self.closed = threading.Event()
        self._connections = []
        self.server = listen(backlog=64)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.server.getsockname()[1]}"
        serve(self.server, self._serve)

    def _serve(self, conn):
        self._connections.append(conn)
        try:
            if self.tls:
                conn = self.tls.wrap_socket(conn, server_side=True)
            request = b""
            while b"\r\n\r\n" not in request:
                data = conn.recv(65536)
                if not data:
                    return
                request += data
            head = request.split(b"\r\n\r\n", 1)[0].decode("latin-1")
            path = head.split(" ", 2)[1]
            self.paths.append(path)
            self.heads.append(head)
            self.behaviour(conn, path, self.closed)
        except (OSError, ValueError):
            pass
        finally:
            conn.close()

    def close(self):
        self.closed.set()
        self.server.close()
        for conn in self._connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()


def response(status=200, body=b"", content_type="application/json", length=True):
    """The bytes of a whole HTTP/1.1 answer."""
    if not isinstance(body, bytes):
        body = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    head = f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nConnection: close\r\n"
    if length:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def trickle_headers(interval=0.2):
    """A status line and headers that never end: one byte every `interval` seconds."""
    def behave(conn, _path, closed):
        for byte in b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 100_000:
            if closed.wait(interval):
                return
            conn.sendall(bytes([byte]))
    return behave


def trickle_body(interval=0.2, length=1_000_000):
    """Headers at once (a Content-Length of `length`), then a body of one byte every `interval` seconds (it
    never completes)."""
    def behave(conn, _path, closed):
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
                     .encode())
        while not closed.wait(interval):
            conn.sendall(b" ")
    return behave


def silent():
    """Accept the connection and the request, then say nothing at all."""
    def behave(_conn, _path, closed):
        closed.wait()
    return behave


def endless_body():
    """A 200 whose body never ends (no length, no chunking), as fast as the client reads."""
    def behave(conn, _path, closed):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n[\"")
        block = b"x" * 65536
        while not closed.is_set():
            conn.sendall(block)
    return behave


def chunked_endless():
    """A 200 in chunked encoding whose chunks never end (no last, empty chunk), as fast as the client reads."""
    def behave(conn, _path, closed):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
        while not closed.is_set():
            conn.sendall(chunk)
    return behave


def lying_length(declared, body_block=b" " * 65536):
    """A 200 that declares `declared` bytes of body, then sends blocks for ever (more than it declared)."""
    def behave(conn, _path, closed):
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
                     .encode())
        while not closed.is_set():
            conn.sendall(body_block)
    return behave


def gzip_bomb(inflated=1_000_000_000):
    """A 200 with `Content-Encoding: gzip` whatever the request accepted: a small body that inflates to
    `inflated` bytes of spaces."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * 1_000_000
    body = b"".join(packer.compress(block) for _ in range(inflated // len(block))) + packer.flush()

    def behave(conn, _path, _closed):
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                     f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    return behave


def dripped(route, seconds, pieces=20):
    """Whole answers as `answers(route)` gives, each sent in `pieces` parts spread over `seconds`: a slow server
    that does finish every answer."""
    def behave(conn, path, closed):
        status, body = route(path)
        whole = response(status, body)
        size = -(-len(whole) // pieces)
        for offset in range(0, len(whole), size):
            if closed.wait(seconds / pieces):
                return
            conn.sendall(whole[offset:offset + size])
    return behave


def answers(route):
    """Whole answers: `route(path)` returns `(status, body)`; a body that is not bytes or str is JSON."""
    def behave(conn, path, _closed):
        status, body = route(path)
        conn.sendall(response(status, body))
    return behave


def bounded(limit, function, *args, **kwargs):
    """(what `function` returned, the seconds it took); fails, rather than hangs, past `limit` seconds."""
    outcome = []

    def run():
        try:
            outcome.append((True, function(*args, **kwargs)))
        except BaseException as error:  # noqa: B036 (handed to the test's thread)
            outcome.append((False, error))

    began = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(limit)
    took = time.monotonic() - began
    assert not worker.is_alive(), f"still running after {limit} s"
    returned, value = outcome[0]
    if not returned:
        raise value
    return value, took


def self_signed(folder, name="server"):
    """A key and a self-signed certificate for 127.0.0.1 in `folder`: (certificate path, key path)."""
    cert, key = os.path.join(folder, f"{name}.pem"), os.path.join(folder, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={name}",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def tls_server_context(cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context
