"""The Graphite sender: delivery, outages, backoff, the memory bound, close; and the stdout sink."""

import errno
import socket
import sys
import threading
import time
from types import SimpleNamespace

import pytest

from graphite_helper import build_message
from presence.outputs.graphite.sender import GraphiteSender
from presence.outputs.graphite.spool import Spool
from testbed.graphite_delivery import confirmed
from testbed.graphite_peers import Peer
from tests.fakes import FakeClock, FakeMonotonic
from tests.outputs.graphite.senders import closed_port, peer_gone, spooled, tick, ticks, wait


def test_exact_bytes_on_a_loopback_socket(collector):
    sender = GraphiteSender("127.0.0.1", collector.port)
    message = build_message("home.presence", [("nick.is_home", 1), ("count_home", 1)], 1_800_000_000)
    sender.send(message)
    assert collector.wait_for(len(message)) == message
    sender.close()


def test_outage_keeps_ticks_in_order_and_replays_them():
    port = closed_port()
    sender = GraphiteSender("127.0.0.1", port, max_backoff=0.1, retry_every=0.02, confirm_period=0.05)
    for i in range(3):
        sender.send(tick(i))
    assert wait(lambda: len(sender.memory) == 3)
    collector = Peer("carbon", port=port)
    try:
        for i in range(3, 5):
            sender.send(tick(i))
        expected = ticks(range(5))
        assert collector.wait_for(len(expected)) == expected
        assert confirmed(sender)
    finally:
        sender.close()
        collector.close()


@pytest.mark.lab
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

    def refuse(sock, address):
        attempts.append(clock.value)
        return errno.ECONNREFUSED

    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    # Driven by hand, its thread not started: only its reads of the monotonic time are needed.
    sender = GraphiteSender("127.0.0.1", 9, clock=SimpleNamespace(monotonic=clock), max_backoff=8, start=False)
    for _ in range(40):
        sender._keep(b"p.x 1 0\n")
        sender._pass(clock())
        clock.value += 1
    assert attempts == [0, 1, 3, 7, 15, 23, 31, 39]
    assert sender.problem() == "Graphite 127.0.0.1:9 unreachable for 40 s; 40 ticks in memory"


def test_the_sender_s_thread_keeps_to_its_backoff_on_the_clock_it_is_given(monkeypatch):
    clock = FakeClock()
    started, attempts = clock.monotonic(), []

    def refuse(sock, address):
        attempts.append(clock.monotonic() - started)
        return errno.ECONNREFUSED

    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    sender = GraphiteSender("127.0.0.1", 9, clock=clock, max_backoff=8)
    try:
        assert wait(lambda: clock.waited(sender._thread))
        sender.send(tick(0))
        clock.wait(threading.Event(), 40)  # 40 s of the sender's time: its inbox waits and backoff on the clock
        assert attempts == [0, 1, 3, 7, 15, 23, 31, 39]
        assert sender.problem() == "Graphite 127.0.0.1:9 unreachable for 40 s; 1 ticks in memory"
    finally:
        sender.close()
    assert not sender._thread.is_alive()


@pytest.mark.lab
def test_peer_close_is_noticed_before_the_next_write(collector):
    sender = GraphiteSender("127.0.0.1", collector.port, max_backoff=0.1)
    first = b"p.x 1 1800000000\n"
    sender.send(first)
    collector.wait_for(len(first))
    collector.drop()
    assert wait(lambda: peer_gone(sender))
    second = b"p.x 2 1800000005\n"
    sender.send(second)
    assert confirmed(sender)
    # The first went out on a connection that closed before confirming it: it is sent again.
    assert collector.data() == first + first + second
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
    assert spooled(tmp_path) == ticks(range(4))

    collector = Peer("carbon", port=port)
    second = GraphiteSender("127.0.0.1", port, spool=Spool(str(tmp_path), 10**6), retry_every=0.02,
                            confirm_period=0.05)
    try:
        second.send(tick(4))
        assert confirmed(second) and list(tmp_path.iterdir()) == []
        assert collector.data() == ticks(range(5))
    finally:
        second.close()
        collector.close()


def test_close_delivers_what_is_queued(collector):
    sender = GraphiteSender("127.0.0.1", collector.port, retry_every=5, start=False)
    sender.send(tick(0))
    sender.send(tick(1))
    sender._thread.start()
    sender.close()
    assert collector.data() == tick(0) + tick(1)
    assert sender.alive() and sender.problem() is None


def in_connect(thread):
    frame = sys._current_frames().get(thread.ident)
    while frame is not None:
        if frame.f_code.co_name == "_connect" and frame.f_code.co_filename.endswith("connection.py"):
            return True
        frame = frame.f_back
    return False


def test_a_close_during_a_connect_that_hangs_spools_what_is_queued(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    filler = socket.create_connection(server.getsockname())  # the accept queue is full: SYNs go unanswered
    sender = GraphiteSender("127.0.0.1", server.getsockname()[1], spool=Spool(str(tmp_path), 10**6),
                            connect_timeout=3600, start=False)
    for i in range(3):
        sender.send(tick(i))
    sender._thread.start()
    try:
        assert wait(lambda: in_connect(sender._thread))
        sender.close(timeout=1.0)
        assert not sender._thread.is_alive() and spooled(tmp_path) == ticks(range(3))
    finally:
        filler.close()
        server.close()
