import math
import socket
import time

import pytest

from graphite_helper import GraphiteSender, StdoutSink, build_line, build_message
from presence.spool import Spool
from tests.loopback import LineCollector


class FakeMonotonic:
    def __init__(self):
        self.value = 0.0

    def __call__(self):
        return self.value


@pytest.fixture
def collector():
    server = LineCollector()
    yield server
    server.close()


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tick(i):
    return build_message("p", [("x", i)], 1_800_000_000 + 5 * i)


def wait(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_build_line_and_message():
    assert build_line("home.presence.nick.is_home", True, 1_800_000_000.7) == \
        "home.presence.nick.is_home 1 1800000000\n"
    assert build_message("home.presence", [("count_home", 2), ("wifi.devices_present_count", 7)], 1_800_000_005) == \
        b"home.presence.count_home 2 1800000005\nhome.presence.wifi.devices_present_count 7 1800000005\n"


@pytest.mark.parametrize("name, value", [
    ("a b", 1), ("a\nb", 1), ("a..b", 1), ("", 1), (".a", 1), ("a", math.nan), ("a", math.inf), ("a", "1"),
    ("a", None),
])
def test_malformed_lines_are_refused(name, value):
    with pytest.raises(ValueError):
        build_line(name, value, 0)


def test_exact_bytes_on_a_loopback_socket(collector):
    sender = GraphiteSender("127.0.0.1", collector.port)
    message = build_message("home.presence", [("nick.is_home", 1), ("count_home", 1)], 1_800_000_000)
    sender.send(message)
    assert collector.wait_for(len(message)) == message
    sender.close()


def test_outage_keeps_ticks_in_order_and_replays_them():
    port = closed_port()
    sender = GraphiteSender("127.0.0.1", port, max_backoff=0.1, retry_every=0.02)
    for i in range(3):
        sender.send(tick(i))
    assert wait(lambda: len(sender.memory) == 3)
    collector = LineCollector(port)
    try:
        for i in range(3, 5):
            sender.send(tick(i))
        expected = b"".join(tick(i) for i in range(5))
        assert collector.wait_for(len(expected)) == expected
        assert sender.wait_idle()
    finally:
        sender.close()
        collector.close()


def test_send_never_blocks_on_a_stalled_server():
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    sender = GraphiteSender("127.0.0.1", server.getsockname()[1], send_timeout=0.3, retry_every=0.05)
    try:
        big = b"p.x 1 1800000000\n" * 20_000
        started = time.monotonic()
        for _ in range(20):
            sender.send(big)
        assert time.monotonic() - started < 0.1  # the caller never waits for the network
        assert wait(lambda: sender._failures > 0 or len(sender.memory) > 0, timeout=5)
    finally:
        sender.close(timeout=2)
        server.close()


def test_backoff_limits_reconnect_attempts(monkeypatch):
    clock = FakeMonotonic()
    attempts = []

    def refuse(address, timeout):
        attempts.append(clock.value)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(socket, "create_connection", refuse)
    sender = GraphiteSender("127.0.0.1", 9, monotonic=clock, max_backoff=8, start=False)
    for _ in range(40):
        sender._keep(b"p.x 1 0\n")
        sender._deliver()
        clock.value += 1
    assert attempts == [0, 1, 3, 7, 15, 23, 31, 39]


def test_peer_close_is_noticed_before_the_next_write(collector):
    sender = GraphiteSender("127.0.0.1", collector.port)
    first = b"p.x 1 1800000000\n"
    sender.send(first)
    collector.wait_for(len(first))
    collector.drop_connections()
    collector.wait_for(10**9, timeout=0.2)
    second = b"p.x 2 1800000005\n"
    sender.send(second)
    assert collector.wait_for(len(first + second)) == first + second
    sender.close()


def test_without_a_spool_the_memory_bound_drops_oldest_and_counts(caplog):
    sender = GraphiteSender("127.0.0.1", 9, max_pending=3, start=False)
    for i in range(5):
        sender._keep(tick(i))
    assert list(sender.memory) == [tick(2), tick(3), tick(4)]
    assert sender.dropped == 2 and "dropping the oldest" in caplog.text


def test_a_restart_during_an_outage_loses_nothing(tmp_path):
    port = closed_port()
    first = GraphiteSender("127.0.0.1", port, spool=Spool(str(tmp_path), 10**6), retry_every=0.02)
    for i in range(4):
        first.send(tick(i))
    assert wait(lambda: first.inbox.empty() and len(first.spool) and not first.memory)
    first.close()
    assert b"".join(open(tmp_path / name, "rb").read() for name in sorted(tmp_path.iterdir())) == \
        b"".join(tick(i) for i in range(4))

    collector = LineCollector(port)
    second = GraphiteSender("127.0.0.1", port, spool=Spool(str(tmp_path), 10**6), retry_every=0.02)
    try:
        second.send(tick(4))
        expected = b"".join(tick(i) for i in range(5))
        assert collector.wait_for(len(expected)) == expected
        assert second.wait_idle() and list(tmp_path.iterdir()) == []
    finally:
        second.close()
        collector.close()


def test_close_delivers_what_is_queued(collector):
    sender = GraphiteSender("127.0.0.1", collector.port, retry_every=5, start=False)
    sender.send(tick(0))
    sender.send(tick(1))
    sender._thread.start()
    sender.close()
    assert collector.wait_for(2 * len(tick(0))) == tick(0) + tick(1)


def test_stdout_sink(capsys):
    StdoutSink().send(b"p.x 1 0\n")
    assert capsys.readouterr().out == "p.x 1 0\n"
