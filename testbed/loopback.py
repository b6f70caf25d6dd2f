"""A real TCP listener on 127.0.0.1 that records every byte it receives, per connection."""

import socket
import threading
import time


def listen(port=0, backlog=16, rcvbuf=None):
    """A TCP server socket on 127.0.0.1 (`port` 0: a free one); a small `rcvbuf` makes a stall push back soon."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    server.bind(("127.0.0.1", port))
    server.listen(backlog)
    return server


def accept(server):
    """The next connection `server` accepts, or None when it is closed (or the accept failed)."""
    try:
        return server.accept()[0]
    except OSError:
        return None


def serve(server, on_connection):
    """Hand each accepted connection to `on_connection(conn)` in a thread of its own, until `server` closes."""
    def accept_all():
        while (conn := accept(server)) is not None:
            threading.Thread(target=on_connection, args=(conn,), daemon=True).start()

    threading.Thread(target=accept_all, daemon=True).start()


def wait_for_bytes(data, size, timeout=5.0):
    """Poll `data()` until it holds at least `size` bytes or `timeout` seconds passed; return what it holds then."""
    deadline = time.monotonic() + timeout
    while len(data()) < size and time.monotonic() < deadline:
        time.sleep(0.01)
    return data()


class LineCollector:
    """Accepts connections on a free loopback port and keeps what each one sent."""

    def __init__(self, port=0):
        self.server = listen(port, backlog=8)
        self.port = self.server.getsockname()[1]
        self.connections = []
        self.received = []
        self._lock = threading.Lock()
        serve(self.server, self._read)

    def _read(self, conn):
        self.connections.append(conn)
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                conn.close()  # as carbon does at the end of the stream: the sender takes it as delivered
                return
            with self._lock:
                self.received.append(data)

    def data(self):
        with self._lock:
            return b"".join(self.received)

    def wait_for(self, size, timeout=5.0):
        """Wait until at least `size` bytes arrived; return everything received."""
        return wait_for_bytes(self.data, size, timeout)

    def drop_connections(self):
        for conn in self.connections:
            conn.close()
        self.connections.clear()

    def close(self):
        self.server.close()
        self.drop_connections()
