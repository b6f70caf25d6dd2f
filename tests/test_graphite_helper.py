import math
import socket

import pytest

from graphite_helper import GraphiteSender, StdoutSink, build_line, build_message
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


def test_outage_keeps_lines_in_order_and_replays_them():
    clock = FakeMonotonic()
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    sender = GraphiteSender("127.0.0.1", port, monotonic=clock)
    ticks = [build_message("p", [("x", i)], 1_800_000_000 + 5 * i) for i in range(5)]
    for tick in ticks[:3]:
        sender.send(tick)
        clock.value += 5
    assert len(sender.pending) == 3
    collector = LineCollector(port)
    try:
        for tick in ticks[3:]:
            clock.value += 5
            sender.send(tick)
        assert collector.wait_for(sum(map(len, ticks))) == b"".join(ticks)
        assert not sender.pending
    finally:
        sender.close()
        collector.close()


def test_backoff_limits_reconnect_attempts(monkeypatch):
    clock = FakeMonotonic()
    attempts = []

    def refuse(address, timeout):
        attempts.append(clock.value)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(socket, "create_connection", refuse)
    sender = GraphiteSender("127.0.0.1", 9, monotonic=clock, max_backoff=8)
    for _ in range(40):
        sender.send(b"p.x 1 0\n")
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
    assert not sender.pending
    sender.close()


def test_bound_drops_oldest_and_counts(caplog):
    clock = FakeMonotonic()
    sender = GraphiteSender("127.0.0.1", 9, monotonic=clock, max_pending=3)
    clock.value = 10**6
    for i in range(5):
        sender._next_attempt = float("inf")
        sender.send(f"p.x {i} 0\n".encode())
    assert list(sender.pending) == [b"p.x 2 0\n", b"p.x 3 0\n", b"p.x 4 0\n"]
    assert sender.dropped == 2
    assert "dropping the oldest" in caplog.text


def test_stdout_sink(capsys):
    StdoutSink().send(b"p.x 1 0\n")
    assert capsys.readouterr().out == "p.x 1 0\n"


def test_close_flushes_pending_despite_the_backoff():
    clock = FakeMonotonic()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = GraphiteSender("127.0.0.1", port, monotonic=clock)
    sender.send(b"p.x 1 1800000000\n")
    sender.send(b"p.x 2 1800000005\n")
    collector = LineCollector(port)
    try:
        sender.close()
        assert collector.wait_for(34) == b"p.x 1 1800000000\np.x 2 1800000005\n"
    finally:
        collector.close()
