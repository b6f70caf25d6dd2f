"""A TCP proxy on loopback that misbehaves on demand: forward, close each connection, or stall."""

import socket
import threading
import time

from testbed.loopback import listen, serve


class FlakyProxy:
    """Listens on a free 127.0.0.1 port and forwards to `target`, as `mode` says at each moment."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.mode = "forward"
        self.server = listen(rcvbuf=4096)
        self.port = self.server.getsockname()[1]
        self.closed_on_accept = 0
        serve(self.server, self._pump)

    def _pump(self, conn):
        if self.mode == "close":
            self.closed_on_accept += 1
            conn.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        with conn, upstream:
            while True:
                if self.mode == "close":
                    return
                if self.mode == "stall":
                    time.sleep(0.02)
                    continue
                data = conn.recv(65536)
                if not data:
                    return
                upstream.sendall(data)

    def close(self):
        self.server.close()


class RecordingProxy:
    """Forwards each connection to `target_port` as it is, ends of stream included, and keeps what went through.

    Listens on 127.0.0.1 (a free port, or `port`). The sender's end of stream reaches the target, and the
    target's close reaches the sender: a confirmation through the proxy is the target's own.
    """

    def __init__(self, target_port, port=0):
        self.target_port = target_port
        self.server = listen(port)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self._forwarded = []
        self._lock = threading.Lock()
        serve(self.server, self._relay)

    def data(self):
        with self._lock:
            return b"".join(self._forwarded)

    def _relay(self, conn):
        self.connections += 1
        with conn, socket.create_connection(("127.0.0.1", self.target_port)) as upstream:
            try:
                while data := conn.recv(65536):
                    upstream.sendall(data)
                    with self._lock:
                        self._forwarded.append(data)
                upstream.shutdown(socket.SHUT_WR)
                while upstream.recv(65536):
                    pass
            except OSError:
                return

    def close(self):
        self.server.close()
