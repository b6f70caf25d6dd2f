"""Helpers the Graphite sender's tests share: numbered ticks, a port nobody listens on, a quick sender."""

import os
import socket
import time

from graphite_helper import build_message
from presence.outputs.graphite.sender import GraphiteSender


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tick(i):
    return build_message("p", [("x", i)], 1_800_000_000 + 5 * i)


def ticks(numbers):
    return b"".join(tick(i) for i in numbers)


def wait(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def peer_gone(sender):
    """True once the sender's connection, if it has one, has the server's end of stream or reset (a Peer's
    close reaches it only after the Peer's own wait on the socket ends)."""
    connection = sender._connection
    return connection is None or connection._peer_closed()


def spooled(folder):
    return b"".join(open(os.path.join(folder, name), "rb").read() for name in sorted(os.listdir(folder)))


def fast(port, **overrides):
    """A sender that retries, confirms and gives up on a silent server within fractions of a second."""
    options = dict(max_backoff=0.1, retry_every=0.02, send_timeout=0.2, confirm_period=0.2, confirm_timeout=0.3,
                   spool_retry=0.05)
    options.update(overrides)
    return GraphiteSender("127.0.0.1", port, **options)

