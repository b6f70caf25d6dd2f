"""Graphite plaintext protocol: build valid lines, and deliver them over TCP with nothing lost."""

import collections
import fcntl
import logging
import math
import queue
import re
import select
import socket
import struct
import sys
import termios
import threading
import time

log = logging.getLogger(__name__)

_NAME = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
_CLOSE = object()

# The plaintext protocol has no acknowledgement, so delivery is confirmed by half-closing the
# connection: carbon reads to the end, then closes its side. Until then what was sent stays kept.
# Confirm once the oldest unconfirmed data is this old (s), or this much was sent on the connection.
CONFIRM_PERIOD = 60.0
CONFIRM_BYTES = 1_000_000
# No end of stream from the server this long after ours (s): it is taken to have lost the data.
CONFIRM_TIMEOUT = 10.0
# How often the thread looks for the server's end of stream while it waits for one, or is closing (s).
CONFIRM_POLL = 0.02
# `close()` without a timeout (`once`): time for the confirmation beyond a connect and a send (s).
CLOSE_CONFIRM_WAIT = 2.0
# Of `close(timeout)`, the part kept for spooling what is unconfirmed: this share, at most CLOSE_SPOOL_TIME s.
CLOSE_SPOOL_SHARE = 0.25
CLOSE_SPOOL_TIME = 0.5
# After a spool error, ticks stay in memory this long before the disk is tried again (s).
SPOOL_RETRY = 5.0
# Reads (of 4 kB) discarded per pass from a server that talks back (carbon never does).
_DISCARD_READS = 16
# `send_timeout` bounds each piece of this size: a whole spool segment may take longer on a slow link.
_SEND_PIECE = 65536


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

    def alive(self):
        """Always: printing needs no thread."""
        return True

    def problem(self):
        """Never one."""
        return None


class GraphiteSender:
    """Deliver each tick's lines over one connection at a time, from a thread of its own.

    `send()` never blocks. What is not yet confirmed as taken by the server is kept in order (in `spool`
    when there is one and it works, so a restart loses nothing; in memory, up to `max_pending` ticks,
    otherwise) and sent again, oldest first, after a failure. See CONFIRM_PERIOD for the confirmation.
    """

    def __init__(self, host, port, spool=None, max_pending=17280, connect_timeout=1.0, send_timeout=1.0,
                 max_backoff=60.0, monotonic=time.monotonic, retry_every=0.5, confirm_period=CONFIRM_PERIOD,
                 confirm_bytes=CONFIRM_BYTES, confirm_timeout=CONFIRM_TIMEOUT, spool_retry=SPOOL_RETRY, start=True):
        self.address = (host, port)
        self.spool = spool
        self.max_pending = max_pending
        self.connect_timeout = connect_timeout
        self.send_timeout = send_timeout
        self.max_backoff = max_backoff
        self.monotonic = monotonic
        self.retry_every = retry_every
        self.confirm_period = confirm_period
        self.confirm_bytes = confirm_bytes
        self.confirm_timeout = confirm_timeout
        self.spool_retry = spool_retry
        # Ticks not in the spool, oldest first; the first `_sent_ticks` of them went out on this connection.
        self.memory = collections.deque()
        self.dropped = 0
        self.inbox = queue.Queue()
        self._sock = None
        self._failures = 0
        self._next_attempt = 0.0
        self._down_since = None
        self._down_state = None
        self._reset_cursor()
        self._flush = False
        self._closing_by = None
        self._closed = False
        self._spool_error = None
        self._spool_retry_at = 0.0
        self._last_crash = None
        if spool is not None and spool.error is not None:
            self._spool_failed(monotonic(), spool.error)
            self._spool_retry_at = 0.0
        self._thread = threading.Thread(target=self._run, name="graphite-sender", daemon=True)
        if start:
            self._thread.start()

    def send(self, message):
        """Hand one tick's message to the sender thread."""
        self.inbox.put(message)

    def close(self, timeout=None):
        """Deliver and confirm what the server takes within `timeout`, spool the rest, stop the thread."""
        if timeout is None:
            timeout = self.connect_timeout + self.send_timeout + CLOSE_CONFIRM_WAIT
        spool_time = min(CLOSE_SPOOL_TIME, timeout * CLOSE_SPOOL_SHARE)
        self.inbox.put((_CLOSE, self.monotonic() + timeout - spool_time))
        if self._thread.ident is None:
            return
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("Graphite sender did not finish in time; %d tick(s) may be lost",
                        self.inbox.qsize() + len(self.memory))

    def wait_idle(self, timeout=10.0):
        """Confirm now and wait until everything handed over was delivered and confirmed; True when it was."""
        self._flush = True
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.inbox.unfinished_tasks == 0 and not self.memory and not (self.spool and len(self.spool)):
                    return True
                time.sleep(0.01)
            return False
        finally:
            self._flush = False

    def alive(self):
        """True unless the sender thread ended without being closed (it should never)."""
        return self._closed or self._thread.ident is None or self._thread.is_alive()

    def problem(self):
        """None, or one line on what keeps metrics from Graphite (for `systemctl status`)."""
        problems = [] if self.alive() else ["Graphite sender stopped"]
        spool_error = self._spool_error
        if spool_error is not None:
            problems.append(f"spool unwritable: {_reason(spool_error)}; {len(self.memory)} ticks held in memory")
        down_since = self._down_since
        if down_since is not None:
            problems.append(f"Graphite {self.address[0]}:{self.address[1]} {self._down_state} for "
                            f"{_duration(self.monotonic() - down_since)}")
            problems.extend(self._kept(with_memory=spool_error is None))
        return "; ".join(problems) or None

    def _kept(self, with_memory):
        kept = [f"{_size(self.spool.bytes)} spooled"] if self.spool is not None and self.spool.bytes else []
        if self.memory and with_memory:
            kept.append(f"{len(self.memory)} ticks in memory")
        return [", ".join(kept)] if kept else []

    def _run(self):
        while not self._closed:
            try:
                self._step()
            except Exception as error:  # the last line of defence: a sender that stops loses every later tick
                self._unexpected(error)

    def _step(self):
        wait = CONFIRM_POLL if self._confirming_since is not None or self._closing_by is not None else self.retry_every
        try:
            item = self.inbox.get(timeout=wait)
        except queue.Empty:
            item = None
        while item is not None:
            if isinstance(item, tuple) and item[0] is _CLOSE:
                self._closing_by = item[1]
            else:
                self._keep(item)
            self.inbox.task_done()
            item = self.inbox.get_nowait() if not self.inbox.empty() else None
        now = self.monotonic()
        if self._closing_by is None or not self._done_closing(now):
            self._pass(now)
        if self._closing_by is not None and self._done_closing(self.monotonic()):
            self._finish(self.monotonic())

    def _unexpected(self, error):
        if repr(error) != self._last_crash:
            log.exception("Graphite sender: unexpected error; carrying on")
            self._last_crash = repr(error)
        self._drop_socket()
        if self._closing_by is None:
            time.sleep(self.retry_every)
            return
        try:
            self._finish(self.monotonic())
        except Exception:
            log.exception("Graphite sender: cannot finish; %d tick(s) lost", len(self.memory))
        self._closed = True

    def _keep(self, message):
        self.memory.append(message)
        while len(self.memory) > self.max_pending:
            self.memory.popleft()
            self._sent_ticks = max(0, self._sent_ticks - 1)
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("Graphite unreachable and %d ticks pending: dropping the oldest "
                            "(%d dropped so far)", self.max_pending, self.dropped)

    def _pass(self, now):
        if self._confirming_since is not None:
            self._check_confirmation(now)
            if self._confirming_since is not None:
                return
        if self._has_unsent() and self._connect(now):
            self._write_unsent(now)
        if self._sock is not None and self._confirmation_due(now):
            self._half_close(now)
        self._tend_spool(now)

    def _done_closing(self, now):
        if now >= self._closing_by:
            return True
        if self._sock is None and now < self._next_attempt:
            return True  # known to be down: don't wait on it, spool instead
        return not self.memory and not (self.spool and len(self.spool))

    def _finish(self, now):
        self._drop_socket()
        if self.spool is not None:
            self._spool_retry_at = 0.0
            self._tend_spool(now)
            try:
                self.spool.close()
            except OSError as error:
                log.warning("Graphite spool: cannot make it durable: %s", error)
        if self.memory:
            log.warning("Graphite: %d tick(s) not delivered (or not confirmed) at shutdown", len(self.memory))
        self._closed = True

    # Sending: the spool's segments in order, then the ticks in memory, up to `confirm_bytes` a connection.

    def _has_unsent(self):
        return self._sent_ticks < len(self.memory) or bool(self._unsent_segments())

    def _unsent_segments(self):
        if self.spool is None:
            return []
        sent = set(self._sent_names)
        return [name for name in self.spool.segments if name not in sent]

    def _write_unsent(self, now):
        while self._sock is not None and self._sent_bytes < self.confirm_bytes and not self._out_of_time():
            segments = self._unsent_segments()
            if segments:
                data = self.spool.read(segments[0])
                if data is not None and self._write(now, data):
                    self._sent_names.append(segments[0])
            elif self._sent_ticks < len(self.memory):
                if self._write(now, self.memory[self._sent_ticks]):
                    self._sent_ticks += 1
            else:
                return

    def _write(self, now, data):
        view = memoryview(data)
        try:
            for start in range(0, len(view), _SEND_PIECE):
                self._sock.settimeout(self._limit(self.send_timeout, self.monotonic()))
                self._sock.sendall(view[start:start + _SEND_PIECE])
        except OSError as error:
            self._fail(now, "not taking data", f"send failed: {error}")
            return False
        if self._sent_since is None:
            self._sent_since = now
        self._sent_bytes += len(data)
        return True

    def _connect(self, now):
        if self._sock is not None:
            if not self._peer_closed():
                return True
            self._fail(now, "closing connections", "the server closed the connection")
            return False
        if now < self._next_attempt:
            return False
        try:
            self._sock = socket.create_connection(self.address, timeout=self._limit(self.connect_timeout, now))
        except OSError as error:
            self._fail(now, "unreachable", f"cannot connect: {error}")
            return False
        return True

    def _out_of_time(self):
        return self._closing_by is not None and self.monotonic() >= self._closing_by

    def _limit(self, seconds, now):
        if self._closing_by is None:
            return seconds
        return max(0.01, min(seconds, self._closing_by - now))

    def _peer_closed(self):
        # A send on a socket whose peer has closed still succeeds once; the data is lost.
        # (A socket with a timeout waits that long in recv(), MSG_DONTWAIT or not: select first.)
        try:
            if not select.select([self._sock], [], [], 0)[0]:
                return False
            return self._sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    # Confirming: our end of stream, then the server's, proves it read everything sent on the connection.

    def _confirmation_due(self, now):
        # After a failure, at once: until a confirmation, nothing says the server takes anything.
        if self._sent_since is None:
            return False
        return (self._flush or self._closing_by is not None or self._down_since is not None
                or now - self._sent_since >= self.confirm_period or self._sent_bytes >= self.confirm_bytes)

    def _half_close(self, now):
        # A server that closed before our end of stream did not answer it (its close is no confirmation).
        if self._peer_closed():
            self._fail(now, "closing connections", "the server closed the connection")
            return
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError as error:
            self._fail(now, "not taking data", f"send failed: {error}")
            return
        self._confirming_since = now

    def _check_confirmation(self, now):
        try:
            ended = self._peer_ended()
        except OSError as error:
            self._fail(now, "dropping connections", f"connection lost before delivery was confirmed: {error}")
            return
        if ended and _unacknowledged(self._sock) == 0:
            self._confirmed(now)
        elif ended:
            self._fail(now, "closing connections", "the server closed the connection before taking everything")
        elif now - self._confirming_since >= self.confirm_timeout:
            self._fail(now, "not confirming delivery",
                       f"no end of stream from the server within {self.confirm_timeout:g} s of ours "
                       "(it stalls, or does not close connections as carbon does)")

    def _peer_ended(self):
        for _ in range(_DISCARD_READS):
            if not select.select([self._sock], [], [], 0)[0]:
                return False
            if not self._sock.recv(4096):
                return True
        return False

    def _confirmed(self, now):
        if self.spool is not None and self._sent_names:
            self.spool.remove(self._sent_names)
        for _ in range(self._sent_ticks):
            self.memory.popleft()
        self._drop_socket()
        self._next_attempt = now
        self._failures = 0
        if self._down_since is not None:
            log.info("Graphite %s:%d takes metrics again", *self.address)
            self._down_since = self._down_state = None

    def _fail(self, now, state, reason):
        self._drop_socket()
        self._failures += 1
        self._next_attempt = now + min(self.max_backoff, 2.0 ** (self._failures - 1))
        if self._down_since is None:
            log.warning("Graphite %s:%d: %s; keeping metrics and retrying", *self.address, reason)
            self._down_since = now
        else:
            log.debug("Graphite %s:%d: %s", *self.address, reason)
        self._down_state = state

    def _drop_socket(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._reset_cursor()

    def _reset_cursor(self):
        # Nothing sent on a connection that is gone counts as sent: all of it goes again, in order.
        self._sent_names = []
        self._sent_ticks = 0
        self._sent_bytes = 0
        self._sent_since = None
        self._confirming_since = None

    # Spooling: ticks in memory go to the end of the spool while there is no connection. A spool that
    # failed is tried again now and then, needed or not, so that `problem()` sees it mended.

    def _tend_spool(self, now):
        spill = self._sock is None and self.memory
        if self.spool is None or now < self._spool_retry_at or not (spill or self._spool_error):
            return
        try:
            if not spill:
                self.spool.check()
            while spill and self.memory:
                self.spool.append(self.memory[0])
                self.memory.popleft()
        except OSError as error:
            self._spool_failed(now, error)
            return
        if self._spool_error is not None:
            log.info("Graphite spool %s is writable again", self.spool.folder)
            self._spool_error = None

    def _spool_failed(self, now, error):
        self._spool_retry_at = now + self.spool_retry
        if self._spool_error is None or _reason(error) != _reason(self._spool_error):
            log.warning("Graphite spool %s: %s; keeping ticks in memory (up to %d) and retrying",
                        self.spool.folder, error, self.max_pending)
        self._spool_error = error


def _unacknowledged(sock):
    """Bytes (and our end of stream) the server's kernel has not acknowledged yet; -1 when unknown."""
    try:
        return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
    except OSError:
        return -1


def _reason(error):
    if not isinstance(error, OSError) or not error.strerror:
        return str(error)
    return f"{error.strerror} ({error.filename})" if error.filename else error.strerror


def _duration(seconds):
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


def _size(count):
    if count < 1000:
        return f"{count} B"
    if count < 1_000_000:
        return f"{count / 1000:.1f} kB"
    return f"{count / 1_000_000:.1f} MB"
