"""Graphite plaintext protocol: build valid lines, and send them over one TCP connection."""

import collections
import logging
import math
import re
import select
import socket
import sys
import time

log = logging.getLogger(__name__)

_NAME = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")


def build_line(name, value, timestamp):
    """Return one `name value timestamp\\n` line; raise ValueError for anything Graphite would misread."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"invalid metric name {name!r}")
    if isinstance(value, bool):
        value = int(value)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"invalid value {value!r} for {name}")
    return f"{name} {value} {int(timestamp)}\n"


def build_message(prefix, values, timestamp):
    """Return the bytes of one tick: every `(name, value)` under `prefix`, one line each."""
    return "".join(build_line(f"{prefix}.{name}", value, timestamp) for name, value in values).encode("ascii")


class StdoutSink:
    """Print the lines instead of sending them (`--dry-run`, or no graphite.host)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, message):
        self.stream.write(message.decode("ascii"))
        self.stream.flush()

    def close(self):
        self.stream.flush()


class GraphiteSender:
    """Send each tick's message over a persistent connection; keep what fails, in order, for later."""

    def __init__(self, host, port, connect_timeout=1.0, send_timeout=1.0, max_pending=17280,
                 max_backoff=60.0, monotonic=time.monotonic):
        self.address = (host, port)
        self.connect_timeout = connect_timeout
        self.send_timeout = send_timeout
        self.pending = collections.deque()
        self.max_pending = max_pending
        self.max_backoff = max_backoff
        self.monotonic = monotonic
        self.dropped = 0
        self._sock = None
        self._failures = 0
        self._next_attempt = 0.0
        self._down_logged = False

    def send(self, message):
        """Queue one tick's message and try to deliver everything pending; never raise."""
        self.pending.append(message)
        while len(self.pending) > self.max_pending:
            self.pending.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("Graphite unreachable and %d ticks pending: dropping the oldest "
                            "(%d dropped so far)", self.max_pending, self.dropped)
        self.flush()

    def flush(self):
        """Deliver pending messages oldest first; return True when nothing is left."""
        while self.pending:
            if not self._connected():
                return False
            try:
                self._sock.sendall(self.pending[0])
            except OSError as error:
                self._fail(f"send failed: {error}")
                return False
            self.pending.popleft()
        return True

    def close(self):
        """Try once more to deliver what is pending, then close the connection."""
        self._next_attempt = 0.0
        if not self.flush():
            log.warning("Graphite: %d tick(s) not delivered at shutdown", len(self.pending))
        if self._sock:
            self._sock.close()
            self._sock = None

    def _connected(self):
        if self._sock and not self._peer_closed():
            return True
        if self._sock:
            self._drop_socket()
        if self.monotonic() < self._next_attempt:
            return False
        try:
            self._sock = socket.create_connection(self.address, timeout=self.connect_timeout)
            self._sock.settimeout(self.send_timeout)
        except OSError as error:
            self._sock = None
            self._fail(f"cannot connect: {error}")
            return False
        if self._down_logged:
            log.info("Graphite %s:%d reachable again; sending %d pending tick(s)",
                     *self.address, len(self.pending))
        self._failures, self._down_logged = 0, False
        return True

    def _peer_closed(self):
        # A send on a socket whose peer has closed still succeeds once; the data is lost.
        # (A socket with a timeout waits that long in recv(), MSG_DONTWAIT or not: select first.)
        try:
            if not select.select([self._sock], [], [], 0)[0]:
                return False
            return self._sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _fail(self, reason):
        self._drop_socket()
        self._failures += 1
        backoff = min(self.max_backoff, 2.0 ** (self._failures - 1))
        self._next_attempt = self.monotonic() + backoff
        if not self._down_logged:
            log.warning("Graphite %s:%d: %s; keeping metrics and retrying", *self.address, reason)
            self._down_logged = True

    def _drop_socket(self):
        if self._sock:
            self._sock.close()
            self._sock = None
