"""Deliver each tick's lines to carbon with nothing lost: from a thread of its own, confirmed, spooled."""

import logging
import queue
import threading

from presence.clock import SystemClock
from presence.config import defaults
from presence.outputs.graphite.backlog import Backlog
from presence.outputs.graphite.connection import ConnectionFailed, Resolver, open_connection

log = logging.getLogger(__name__)

_CLOSE = object()


class GraphiteSender:
    """Deliver each tick's lines over one connection at a time, from a thread of its own.

    `send()` never blocks. What is not yet confirmed as taken by the server is kept in order (in `spool`
    when there is one and it works, so a restart loses nothing; in memory, up to `max_pending` ticks,
    otherwise: see `Backlog`) and sent again, oldest first, after a failure. See `ConfirmedConnection`
    for the confirmation, and defaults.GRAPHITE_CONFIRM_PERIOD for when it is asked for. Every read of the
    time and every wait but the sockets' is on `clock` (a presence.clock.Clock; the system's by default).
    With `tls` (a tls.TlsClient), every connection is mutual TLS.
    """

    def __init__(self, host, port, spool=None, max_pending=defaults.GRAPHITE_MAX_PENDING,
                 connect_timeout=defaults.GRAPHITE_CONNECT_TIMEOUT, send_timeout=defaults.GRAPHITE_SEND_TIMEOUT,
                 max_backoff=defaults.GRAPHITE_MAX_BACKOFF, clock=None,
                 retry_every=defaults.GRAPHITE_RETRY_EVERY, confirm_period=defaults.GRAPHITE_CONFIRM_PERIOD,
                 confirm_bytes=defaults.GRAPHITE_CONFIRM_BYTES, confirm_timeout=defaults.GRAPHITE_CONFIRM_TIMEOUT,
                 spool_retry=defaults.GRAPHITE_SPOOL_RETRY, lookup_timeout=defaults.GRAPHITE_LOOKUP_TIMEOUT,
                 tls=None, start=True):
        self.address = (host, port)
        self.clock = clock or SystemClock()
        self.resolver = Resolver(host, port, self.clock)
        self.lookup_timeout = lookup_timeout
        self.tls = tls
        self.backlog = Backlog(spool, max_pending, spool_retry, self.clock.monotonic())
        self.connect_timeout = connect_timeout
        self.send_timeout = send_timeout
        self.max_backoff = max_backoff
        self.retry_every = retry_every
        self.confirm_period = confirm_period
        self.confirm_bytes = confirm_bytes
        self.confirm_timeout = confirm_timeout
        self.inbox = queue.Queue()
        self._connection = None
        self._failures = 0
        self._next_attempt = 0.0
        self._down_since = None
        self._down_state = None
        self._closing_by = None
        self._close_by = None
        self._closed = False
        self._close_asked = threading.Event()
        self._last_crash = None
        self._thread = threading.Thread(target=self._run, name="graphite-sender", daemon=True)
        if start:
            self._thread.start()

    @property
    def spool(self):
        """The Spool that keeps unconfirmed ticks across a restart, or None."""
        return self.backlog.spool

    @property
    def memory(self):
        """Ticks not in the spool, oldest first; a connection's first `sent_ticks` of them went out on it."""
        return self.backlog.memory

    @property
    def dropped(self):
        """How many ticks the memory bound dropped, oldest first, since the start."""
        return self.backlog.dropped

    def send(self, message):
        """Hand one tick's message to the sender thread."""
        self.inbox.put(message)

    def close(self, timeout=None):
        """Deliver and confirm what the server takes within `timeout`, spool the rest, stop the thread."""
        if timeout is None:
            timeout = self.connect_timeout + self.send_timeout + defaults.GRAPHITE_CLOSE_CONFIRM_WAIT
        spool_time = min(defaults.GRAPHITE_CLOSE_SPOOL_TIME, timeout * defaults.GRAPHITE_CLOSE_SPOOL_SHARE)
        # Read at once by a lookup or connect in progress, which then ends in time for the spooling.
        self._close_by = self.clock.monotonic() + timeout - spool_time
        self._close_asked.set()
        self.inbox.put((_CLOSE, self._close_by))
        if self._thread.ident is None:
            return
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("Graphite sender did not finish in time; %d tick(s) may be lost",
                        self.inbox.qsize() + len(self.memory))

    def all_confirmed(self):
        """True when the server confirmed every tick handed to `send()` so far (but those dropped at a bound):
        none waits in the inbox, in memory or in the spool."""
        # In this order: the thread keeps a tick before it marks it taken from the inbox, and spools it
        # before it lets go of it in memory.
        return self.inbox.unfinished_tasks == 0 and self.backlog.empty()

    def alive(self):
        """True unless the sender thread ended without being closed (it should never)."""
        return self._closed or self._thread.ident is None or self._thread.is_alive()

    def problem(self):
        """None, or one line on what keeps metrics from Graphite (for `systemctl status`)."""
        problems = [] if self.alive() else ["Graphite sender stopped"]
        lookup_problem = self.resolver.problem()
        if lookup_problem is not None:
            problems.append(f"Graphite {lookup_problem}")
        spool_problem = self.backlog.spool_problem()
        if spool_problem is not None:
            problems.append(spool_problem)
        down_since = self._down_since
        if down_since is not None:
            problems.append(f"Graphite {self.address[0]}:{self.address[1]} {self._down_state} for "
                            f"{_duration(self.clock.monotonic() - down_since)}")
            problems.extend(self.backlog.kept(with_memory=spool_problem is None))
        return "; ".join(problems) or None

    def _run(self):
        while not self._closed:
            try:
                self._step()
            except Exception as error:  # the last line of defence: a sender that stops loses every later tick
                self._unexpected(error)

    def _step(self):
        confirming = self._connection is not None and self._connection.confirming_since is not None
        wait = defaults.GRAPHITE_CONFIRM_POLL if confirming or self._closing_by is not None else self.retry_every
        item = self.clock.get(self.inbox, wait)
        while item is not None:
            if isinstance(item, tuple) and item[0] is _CLOSE:
                self._closing_by = item[1]
            else:
                self._keep(item)
            self.inbox.task_done()
            item = self.inbox.get_nowait() if not self.inbox.empty() else None
        now = self.clock.monotonic()
        if self._closing_by is None or not self._done_closing(now):
            self._pass(now)
        if self._closing_by is not None and self._done_closing(self.clock.monotonic()):
            self._finish(self.clock.monotonic())

    def _unexpected(self, error):
        if repr(error) != self._last_crash:
            log.exception("Graphite sender: unexpected error; carrying on")
            self._last_crash = repr(error)
        self._drop_connection()
        if self._closing_by is None:
            self.clock.wait(self._close_asked, self.retry_every)
            return
        try:
            self._finish(self.clock.monotonic())
        except Exception:
            log.exception("Graphite sender: cannot finish; %d tick(s) lost", len(self.memory))
        self._closed = True

    def _keep(self, message):
        dropped = self.backlog.keep(message)
        if dropped and self._connection is not None:
            self._connection.sent_ticks = max(0, self._connection.sent_ticks - dropped)

    def _pass(self, now):
        connection = self._connection
        if connection is not None and connection.confirming_since is not None:
            if self._attempt(now, connection.confirmed, now, self.confirm_timeout):
                self._confirmed(now)
            if self._connection is not None:
                return
        if self._has_unsent() and self._connect(now):
            self._write_unsent(now)
        if self._connection is not None and self._confirmation_due(now):
            self._attempt(now, self._connection.half_close, now)
        self.backlog.tend(now, spill=self._connection is None)

    def _done_closing(self, now):
        if now >= self._closing_by:
            return True
        if self._connection is None and now < self._next_attempt:
            return True  # known to be down: don't wait on it, spool instead
        return self.backlog.empty()

    def _finish(self, now):
        self._drop_connection()
        self.backlog.finish(now)
        self._closed = True

    # Sending: the spool's segments in order, then the ticks in memory, up to `confirm_bytes` a connection.

    def _has_unsent(self):
        connection = self._connection
        sent_names, sent_ticks = (connection.sent_names, connection.sent_ticks) if connection else ((), 0)
        return sent_ticks < len(self.memory) or bool(self.backlog.unsent_segments(sent_names))

    def _write_unsent(self, now):
        while (connection := self._connection) is not None and connection.sent_bytes < self.confirm_bytes \
                and not self._out_of_time():
            segments = self.backlog.unsent_segments(connection.sent_names)
            if segments:
                data = self.spool.read(segments[0])
                if data is not None and self._attempt(now, connection.write, data, now, self._piece_timeout):
                    connection.sent_names.append(segments[0])
            elif connection.sent_ticks < len(self.memory):
                if self._attempt(now, connection.write, self.memory[connection.sent_ticks], now, self._piece_timeout):
                    connection.sent_ticks += 1
            else:
                return

    def _connect(self, now):
        if self._connection is not None:
            return bool(self._attempt(now, self._connection.check_open))
        if now < self._next_attempt:
            return False
        self._connection = self._attempt(now, open_connection, self.resolver, self._limit(self.lookup_timeout, now),
                                         self._limit(self.connect_timeout, now), self._give_up, self.clock, self.tls)
        return self._connection is not None

    def _give_up(self):
        return self._close_by is not None and self.clock.monotonic() >= self._close_by

    def _attempt(self, now, step, *args):
        """The result of one step on the connection; None when the connection failed (then dropped)."""
        try:
            return step(*args)
        except ConnectionFailed as error:
            self._fail(now, error.state, error.reason)
            return None

    def _piece_timeout(self):
        return self._limit(self.send_timeout, self.clock.monotonic())

    def _out_of_time(self):
        return self._closing_by is not None and self.clock.monotonic() >= self._closing_by

    def _limit(self, seconds, now):
        if self._closing_by is None:
            return seconds
        return max(0.01, min(seconds, self._closing_by - now))

    # Confirming: our end of stream, then the server's, proves it read everything sent on the connection.

    def _confirmation_due(self, now):
        # After a failure, at once: until a confirmation, nothing says the server takes anything.
        connection = self._connection
        if connection.sent_since is None:
            return False
        return (self._closing_by is not None or self._down_since is not None
                or now - connection.sent_since >= self.confirm_period or connection.sent_bytes >= self.confirm_bytes)

    def _confirmed(self, now):
        self.backlog.delivered(self._connection.sent_names, self._connection.sent_ticks)
        self._drop_connection()
        self._next_attempt = now
        self._failures = 0
        if self._down_since is not None:
            log.info("Graphite %s:%d takes metrics again", *self.address)
            self._down_since = self._down_state = None

    def _fail(self, now, state, reason):
        self._drop_connection()
        self._failures += 1
        self._next_attempt = now + min(self.max_backoff, 2.0 ** (self._failures - 1))
        if self._down_since is None:
            log.warning("Graphite %s:%d: %s; keeping metrics and retrying", *self.address, reason)
            self._down_since = now
        else:
            log.debug("Graphite %s:%d: %s", *self.address, reason)
        self._down_state = state

    def _drop_connection(self):
        # Nothing sent on a connection that is gone counts as sent: all of it goes again, in order.
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _duration(seconds):
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"

