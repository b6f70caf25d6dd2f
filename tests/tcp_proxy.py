"""A TCP proxy on loopback that misbehaves on demand: forward, close each connection, or stall."""

import socket
import threading
import time


class FlakyProxy:
    """Listens on a free 127.0.0.1 port and forwards to `target`, as `mode` says at each moment."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.mode = "forward"
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Small buffers, so that a stall soon pushes back on the sender.
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.closed_on_accept = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            if self.mode == "close":
                self.closed_on_accept += 1
                conn.close()
                continue
            threading.Thread(target=self._pump, args=(conn,), daemon=True).start()

    def _pump(self, conn):
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
