"""One TCP connection to carbon, and the proof that the server read everything sent on it.

The plaintext protocol has no acknowledgement, so delivery is confirmed by half-closing the connection:
carbon reads to the end, then closes its side. Until then what was sent stays kept by the sender.
The name lookup and the connect each have a deadline, and `give_up()` (a close past its own) ends them sooner.
"""

import errno
import fcntl
import logging
import os
import select
import socket
import struct
import termios
import threading

from presence.clock import SystemClock
from presence.config import defaults

log = logging.getLogger(__name__)

# Reads (of 4 kB) discarded per pass from a server that talks back (carbon never does).
_DISCARD_READS = 16
# The send timeout bounds each piece of this size: a whole spool segment may take longer on a slow link.
_SEND_PIECE = 65536


class ConnectionFailed(Exception):
    """The connection is lost: `state` says what the server does ("unreachable"...), `reason` what happened."""

    def __init__(self, state, reason):
        super().__init__(reason)
        self.state = state
        self.reason = reason


class Resolver:
    """The addresses of `host`, looked up with a deadline (getaddrinfo has none: it blocks while DNS is down).

    The lookup runs in a helper thread, one at a time (a stuck one is waited for again, never multiplied);
    when it fails for now or is late, the last good answer is used, so a DNS outage does not stop metrics.
    The wait for it is on `clock`.
    """

    def __init__(self, host, port, clock=None):
        self.host, self.port = host, port
        self.clock = clock or SystemClock()
        self.last_good = _numeric(host, port)
        self.numeric = self.last_good is not None
        self.failing = None
        self._pending = None

    def addresses(self, timeout, give_up):
        """The addresses to try, within `timeout` s (sooner when `give_up()`); raise ConnectionFailed if none."""
        if self.numeric:
            return self.last_good
        if self._pending is None:
            self._pending = _Lookup(self.host, self.port)
        lookup = self._pending
        if not wait_until(lambda seconds: self.clock.wait(lookup.done, seconds), timeout, give_up, self.clock):
            return self._fall_back(f"no answer from the name lookup of {self.host} within {timeout:g} s")
        self._pending = None
        if lookup.error is None:
            if self.failing is not None:
                log.info("Graphite %s: name lookups work again", self.host)
            self.last_good, self.failing = lookup.result, None
            return lookup.result
        if lookup.error.errno in (socket.EAI_AGAIN, socket.EAI_SYSTEM):
            return self._fall_back(f"cannot look up {self.host} for now: {lookup.error.strerror}")
        self.failing = None
        raise ConnectionFailed("unknown to DNS", f"cannot look up {self.host}: {lookup.error.strerror}")

    def problem(self):
        """None, or that the last known address is used because lookups fail."""
        return None if self.failing is None or self.last_good is None else \
            f"name lookup of {self.host} failing, sending to its last known address"

    def _fall_back(self, reason):
        if self.last_good is None:
            raise ConnectionFailed("unreachable", reason)
        if self.failing is None:
            log.warning("Graphite %s: %s; sending to its last known address %s", self.host, reason,
                        self.last_good[0][4][0])
        self.failing = reason
        return self.last_good


class _Lookup:
    def __init__(self, host, port):
        self.result = self.error = None
        self.done = threading.Event()
        threading.Thread(target=self._run, args=(host, port), name="graphite-lookup", daemon=True).start()

    def _run(self, host, port):
        try:
            self.result = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            self.error = error
        except OSError as error:
            self.error = socket.gaierror(socket.EAI_SYSTEM, str(error))
        self.done.set()


def _numeric(host, port):
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError):
        return None


def open_connection(resolver, lookup_timeout, connect_timeout, give_up, clock, tls=None):
    """A ConfirmedConnection to the first address that answers, the lookup and the connect (with its TLS
    handshake, given a tls.TlsClient) each within their timeout on `clock` (and both ended by `give_up()`)."""
    addresses = resolver.addresses(lookup_timeout, give_up)
    error = f"no address for {resolver.host}"
    deadline = clock.monotonic() + connect_timeout
    for family, kind, proto, _, address in addresses:
        sock = socket.socket(family, kind, proto)
        try:
            _connect(sock, address, deadline, give_up, clock)
            if tls is not None:
                return tls.wrap(sock, clock.monotonic() + tls.handshake_timeout, give_up, clock)
            sock.settimeout(connect_timeout)
            return ConfirmedConnection(sock)
        except OSError as failure:
            sock.close()
            error = failure
        except ConnectionFailed:
            sock.close()
            raise
    raise ConnectionFailed("unreachable", f"cannot connect: {error}") from None


def _connect(sock, address, deadline, give_up, clock):
    sock.setblocking(False)
    code = sock.connect_ex(address)
    if code == errno.EINPROGRESS:
        if not wait_until(lambda seconds: bool(select.select([], [sock], [], seconds)[1]), deadline - clock.monotonic(),
                     give_up, clock):
            raise TimeoutError(errno.ETIMEDOUT, "timed out")
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if code:
        raise OSError(code, os.strerror(code))


def wait_until(ready, timeout, give_up, clock):
    """True once `ready(seconds)` (which waits up to that long), False after `timeout` s of `clock` or once
    `give_up()`."""
    deadline = clock.monotonic() + timeout
    while True:
        left = deadline - clock.monotonic()
        if ready(max(0.0, min(left, defaults.GRAPHITE_WAIT_SLICE))):
            return True
        if left <= 0 or give_up():
            return False


class ConfirmedConnection:
    """A connection and what went out on it: spool segments by name, then ticks from the sender's memory.

    Each step returns True (`confirmed` False while it waits) or raises ConnectionFailed; then the connection
    is dropped, and nothing sent on it counts as sent.
    """

    def __init__(self, sock):
        self.sock = sock
        self.sent_names = []
        self.sent_ticks = 0
        self.sent_bytes = 0
        self.sent_since = None
        self.confirming_since = None

    def check_open(self):
        """Raise ConnectionFailed when the server has closed its side (a send would still succeed once)."""
        if self._peer_closed():
            raise ConnectionFailed("closing connections", "the server closed the connection")
        return True

    def write(self, data, now, piece_timeout):
        """Send `data`, each piece within `piece_timeout()` seconds."""
        view = memoryview(data)
        try:
            for start in range(0, len(view), _SEND_PIECE):
                self.sock.settimeout(piece_timeout())
                self.sock.sendall(view[start:start + _SEND_PIECE])
        except OSError as error:
            raise ConnectionFailed("not taking data", f"send failed: {error}") from None
        if self.sent_since is None:
            self.sent_since = now
        self.sent_bytes += len(data)
        return True

    def half_close(self, now):
        """Send our end of stream: the server's own then confirms it read everything."""
        # A server that closed before our end of stream did not answer it (its close is no confirmation).
        self.check_open()
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError as error:
            raise ConnectionFailed("not taking data", f"send failed: {error}") from None
        self.confirming_since = now
        return True

    def confirmed(self, now, timeout):
        """True once the server ended its stream after taking everything, False while it may still."""
        try:
            ended = self._peer_ended()
        except OSError as error:
            raise ConnectionFailed("dropping connections",
                                   f"connection lost before delivery was confirmed: {error}") from None
        if ended and _unacknowledged(self.sock) == 0:
            return True
        if ended:
            raise ConnectionFailed("closing connections", "the server closed the connection before taking everything")
        if now - self.confirming_since >= timeout:
            raise ConnectionFailed("not confirming delivery",
                                   f"no end of stream from the server within {timeout:g} s of ours "
                                   "(it stalls, or does not close connections as carbon does)")
        return False

    def close(self):
        """Let go of the socket (whatever was sent on it and not confirmed goes again on the next)."""
        self.sock.close()

    def _peer_closed(self):
        # A send on a socket whose peer has closed still succeeds once; the data is lost.
        # (A socket with a timeout waits that long in recv(), MSG_DONTWAIT or not: select first.)
        try:
            if not select.select([self.sock], [], [], 0)[0]:
                return False
            return self.sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _peer_ended(self):
        for _ in range(_DISCARD_READS):
            if not select.select([self.sock], [], [], 0)[0]:
                return False
            if not self.sock.recv(4096):
                return True
        return False


def _unacknowledged(sock):
    """Bytes (and our end of stream) the server's kernel has not acknowledged yet; -1 when unknown."""
    try:
        return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
    except OSError:
        return -1
