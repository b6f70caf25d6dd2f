"""Graphite plaintext protocol: build valid lines, and send them over one TCP connection."""

import collections
import logging
import math
import queue
import re
import select
import socket
import sys
import threading
import time

log = logging.getLogger(__name__)

_NAME = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
_CLOSE = object()
# What is kept for a resend after a dropped connection (a spool replay can be far larger).
_MAX_UNCONFIRMED_BYTES = 1_000_000


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

    def close(self, timeout=None):
        self.stream.flush()


class GraphiteSender:
    """Deliver each tick's lines over one persistent connection, from a thread of its own.

    `send()` never blocks. What cannot be delivered is kept in order (in `spool` when there is one,
    so a restart loses nothing; in memory, up to `max_pending` ticks, otherwise) and replayed first.
    """

    def __init__(self, host, port, spool=None, max_pending=17280, connect_timeout=1.0, send_timeout=1.0,
                 max_backoff=60.0, monotonic=time.monotonic, retry_every=0.5, confirm_after=2.0, start=True):
        self.address = (host, port)
        self.spool = spool
        self.retry_every = retry_every
        self.confirm_after = confirm_after
        self.max_pending = max_pending
        self.connect_timeout = connect_timeout
        self.send_timeout = send_timeout
        self.max_backoff = max_backoff
        self.monotonic = monotonic
        self.memory = collections.deque()
        # Sent, but too recently to know the peer took it (a closed connection loses what it had).
        self.unconfirmed = collections.deque()
        self._unconfirmed_bytes = 0
        self.dropped = 0
        self.inbox = queue.Queue()
        self._sock = None
        self._failures = 0
        self._next_attempt = 0.0
        self._down_logged = False
        self._thread = threading.Thread(target=self._run, name="graphite-sender", daemon=True)
        if start:
            self._thread.start()

    def send(self, message):
        """Hand one tick's message to the sender thread."""
        self.inbox.put(message)

    def close(self, timeout=None):
        """Deliver what the connection takes now, keep the rest in the spool, stop the thread."""
        self.inbox.put(_CLOSE)
        if timeout is None:
            timeout = self.connect_timeout + self.send_timeout + 0.5
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("Graphite sender did not finish in time; %d tick(s) may be lost", self.inbox.qsize())

    def wait_idle(self, timeout=10.0):
        """Wait until nothing is queued or pending (for tests and `once`); return True when idle."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.inbox.empty() and not self.memory and not (self.spool and len(self.spool)):
                return True
            time.sleep(0.01)
        return False

    def _run(self):
        while True:
            try:
                item = self.inbox.get(timeout=self.retry_every)
            except queue.Empty:
                item = None
            while item is not None and item is not _CLOSE:
                self._keep(item)
                item = self.inbox.get_nowait() if not self.inbox.empty() else None
            if item is _CLOSE:
                self._finish()
                return
            self._deliver()

    def _finish(self):
        while not self.inbox.empty():
            item = self.inbox.get_nowait()
            if item is not _CLOSE:
                self._keep(item)
        # Flush on the way out, but don't wait on a Graphite already known to be down: spool instead.
        if self._sock is not None or self.monotonic() >= self._next_attempt:
            self._deliver()
        if self.spool is not None:
            self._spool_memory()
            self.spool.close()
        elif self.memory:
            log.warning("Graphite: %d tick(s) not delivered at shutdown", len(self.memory))
        self._drop_socket()

    def _keep(self, message):
        if self.spool is not None and len(self.spool):
            self.spool.append(message)
            return
        self.memory.append(message)
        while len(self.memory) > self.max_pending:
            self.memory.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("Graphite unreachable and %d ticks pending: dropping the oldest "
                            "(%d dropped so far)", self.max_pending, self.dropped)

    def _deliver(self):
        while self.memory or (self.spool and len(self.spool)):
            if not self._connected():
                self._spool_memory()
                return
            if self.spool and len(self.spool):
                if not self._write(self.spool.oldest()):
                    return
                self.spool.remove_oldest()
            elif self._write(self.memory[0]):
                self.memory.popleft()
            else:
                self._spool_memory()
                return

    def _write(self, data):
        try:
            self._sock.sendall(data)
        except OSError as error:
            self._fail(f"send failed: {error}")
            return False
        self.unconfirmed.append((self.monotonic(), data))
        self._unconfirmed_bytes += len(data)
        while self._unconfirmed_bytes > _MAX_UNCONFIRMED_BYTES and len(self.unconfirmed) > 1:
            self._unconfirmed_bytes -= len(self.unconfirmed.popleft()[1])
        return True

    def _spool_memory(self):
        if self.spool is not None:
            while self.memory:
                self.spool.append(self.memory.popleft())

    def _connected(self):
        if self._sock and not self._peer_closed():
            confirmed_before = self.monotonic() - self.confirm_after
            while self.unconfirmed and self.unconfirmed[0][0] < confirmed_before:
                self._unconfirmed_bytes -= len(self.unconfirmed.popleft()[1])
            return True
        if self._sock:
            self._fail("the server closed the connection")
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
            log.info("Graphite %s:%d reachable again; replaying what was kept", *self.address)
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
        # Carbon may have dropped what it had not read yet: send it again (a repeated point is harmless).
        self.memory.extendleft(data for _, data in reversed(self.unconfirmed))
        self.unconfirmed.clear()
        self._unconfirmed_bytes = 0
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
