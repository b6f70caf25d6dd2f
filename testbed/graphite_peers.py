"""Loopback TCP servers that take metrics as carbon does, and that fail as servers do: stall, reset, never close."""

import collections
import select
import socket
import struct
import threading

from testbed.loopback import accept, listen, wait_for_bytes


class Peer:
    """Listens on 127.0.0.1 (a free port, or `port`) and treats each new connection as `mode` says then.

    carbon: read to the end of stream, then close (carbon does so). reader: read, never close.
    stall: never read. close: close at once. `reset()` aborts every open connection (RST).
    Only what carbon-mode connections read counts as delivered.
    """

    def __init__(self, mode="carbon", port=0, rcvbuf=None):
        self.mode = mode
        # Accepted connections inherit `rcvbuf`: a stall soon pushes back on the sender.
        self.server = listen(port, backlog=64, rcvbuf=rcvbuf)
        self.port = self.server.getsockname()[1]
        self.accepted = collections.Counter()
        self._conns = {}
        self._received = []
        self._lock = threading.Lock()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def data(self):
        """Everything carbon-mode connections read, connection after connection."""
        with self._lock:
            return b"".join(bytes(data) for mode, data in self._received if mode == "carbon")

    def read_by(self, mode):
        with self._lock:
            return b"".join(bytes(data) for conn_mode, data in self._received if conn_mode == mode)

    def lines(self):
        """How often each delivered line arrived."""
        return collections.Counter(self.data().splitlines(keepends=True))

    def wait_for(self, size, timeout=5.0):
        """Wait until at least `size` bytes were delivered; return them all."""
        return wait_for_bytes(self.data, size, timeout)

    def reset(self):
        """Abort every open connection, as a crashing server or a SO_LINGER 0 close does."""
        with self._lock:
            for conn in list(self._conns):
                _abort(conn)
            self._conns.clear()

    def drop(self):
        """Close every open connection in order (FIN), as a server that restarts does."""
        with self._lock:
            for conn in list(self._conns):
                conn.close()
            self._conns.clear()

    def close(self):
        """Reset every connection and stop listening: the port is free when this returns."""
        self._stopped = True
        # A socket closed while another thread waits on it in select() lives until that wait ends.
        self._thread.join()
        self.reset()
        self.server.close()

    def _loop(self):
        while not self._stopped:
            with self._lock:
                watched = [self.server] + [c for c, (mode, _) in self._conns.items() if mode in ("carbon", "reader")]
            try:
                ready = select.select(watched, [], [], 0.02)[0]
            except (OSError, ValueError):
                continue
            with self._lock:
                for sock in ready:
                    if sock is self.server:
                        self._accept()
                    elif sock in self._conns:
                        self._read(sock)

    def _accept(self):
        conn = accept(self.server)
        if conn is None:
            return
        mode = self.mode
        self.accepted[mode] += 1
        if mode == "close":
            conn.close()
            return
        data = bytearray()
        self._received.append((mode, data))
        self._conns[conn] = (mode, data)

    def _read(self, conn):
        mode, data = self._conns[conn]
        try:
            chunk = conn.recv(65536)
        except OSError:
            chunk = None
        if chunk:
            data += chunk
        elif chunk is None or mode == "carbon":
            del self._conns[conn]
            conn.close()
        else:
            self._conns[conn] = ("read to the end", data)


def _abort(conn):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
