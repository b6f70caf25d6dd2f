"""A real TCP listener on 127.0.0.1 that records every byte it receives, per connection."""

import socket
import threading
import time


class LineCollector:
    """Accepts connections on a free loopback port and keeps what each one sent."""

    def __init__(self, port=0):
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", port))
        self.server.listen(8)
        self.port = self.server.getsockname()[1]
        self.connections = []
        self.received = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn):
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
        deadline = time.monotonic() + timeout
        while len(self.data()) < size and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.data()

    def drop_connections(self):
        for conn in self.connections:
            conn.close()
        self.connections.clear()

    def close(self):
        self.server.close()
        self.drop_connections()
