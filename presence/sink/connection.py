"""One TCP connection to carbon, and the proof that the server read everything sent on it.

The plaintext protocol has no acknowledgement, so delivery is confirmed by half-closing the connection:
carbon reads to the end, then closes its side. Until then what was sent stays kept by the sender.
"""

import fcntl
import select
import socket
import struct
import termios

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


class ConfirmedConnection:
    """A connection and what went out on it: spool segments by name, then ticks from the sender's memory.

    Each step returns True (`confirmed` False while it waits) or raises ConnectionFailed; then the connection
    is dropped, and nothing sent on it counts as sent.
    """

    def __init__(self, address, timeout):
        try:
            self.sock = socket.create_connection(address, timeout=timeout)
        except OSError as error:
            raise ConnectionFailed("unreachable", f"cannot connect: {error}") from None
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
