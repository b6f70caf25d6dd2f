import math
import os
import socket
import time

import pytest

from graphite_helper import build_line, build_message
from presence.sink.graphite import GraphiteSender
from presence.sink.spool import Spool
from presence.sink.stdout import StdoutSink
from testbed.graphite_peers import Peer


class FakeMonotonic:
    def __init__(self):
        self.value = 0.0

    def __call__(self):
        return self.value


@pytest.fixture
def collector():
    server = Peer("carbon")
    yield server
    server.close()


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


def spooled(folder):
    return b"".join(open(os.path.join(folder, name), "rb").read() for name in sorted(os.listdir(folder)))


def fast(port, **overrides):
    """A sender that retries, confirms and gives up on a silent server within fractions of a second."""
    options = dict(max_backoff=0.1, retry_every=0.02, send_timeout=0.2, confirm_period=0.2, confirm_timeout=0.3,
                   spool_retry=0.05)
    options.update(overrides)
    return GraphiteSender("127.0.0.1", port, **options)


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
    collector = Peer("carbon", port=port)
    try:
        for i in range(3, 5):
            sender.send(tick(i))
        expected = ticks(range(5))
        assert collector.wait_for(len(expected)) == expected
        assert sender.wait_idle()
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

    def refuse(address, timeout):
        attempts.append(clock.value)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(socket, "create_connection", refuse)
    sender = GraphiteSender("127.0.0.1", 9, monotonic=clock, max_backoff=8, start=False)
    for _ in range(40):
        sender._keep(b"p.x 1 0\n")
        sender._pass(clock())
        clock.value += 1
    assert attempts == [0, 1, 3, 7, 15, 23, 31, 39]
    assert sender.problem() == "Graphite 127.0.0.1:9 unreachable for 40 s; 40 ticks in memory"


@pytest.mark.lab
def test_peer_close_is_noticed_before_the_next_write(collector):
    sender = GraphiteSender("127.0.0.1", collector.port, max_backoff=0.1)
    first = b"p.x 1 1800000000\n"
    sender.send(first)
    collector.wait_for(len(first))
    collector.drop()
    second = b"p.x 2 1800000005\n"
    sender.send(second)
    assert sender.wait_idle()
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
    second = GraphiteSender("127.0.0.1", port, spool=Spool(str(tmp_path), 10**6), retry_every=0.02)
    try:
        second.send(tick(4))
        assert second.wait_idle() and list(tmp_path.iterdir()) == []
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


def test_stdout_sink(capsys):
    sink = StdoutSink()
    sink.send(b"p.x 1 0\n")
    assert capsys.readouterr().out == "p.x 1 0\n"
    assert sink.alive() and sink.problem() is None


# Confirmation: nothing leaves the spool or memory until the server has shown it read it.

def test_a_healthy_server_gets_each_tick_once_over_many_confirmations(tmp_path, collector):
    sender = fast(collector.port, spool=Spool(str(tmp_path), 10**6), confirm_period=0.0)
    try:
        for i in range(20):
            sender.send(tick(i))
            if i % 5 == 4:
                assert sender.wait_idle()
        assert sender.wait_idle()
    finally:
        sender.close()
    assert collector.data() == ticks(range(20))
    assert collector.accepted["carbon"] >= 4 and os.listdir(tmp_path) == []


@pytest.mark.lab
def test_a_server_that_stalls_then_resets_takes_nothing_away(tmp_path):
    peer = Peer("stall", rcvbuf=4096)
    sender = fast(peer.port, spool=Spool(str(tmp_path / "spool"), 10**7))
    try:
        for i in range(30):  # longer than any time-based guess at what the server has read
            sender.send(tick(i))
            time.sleep(0.1)
        wait(lambda: peer.accepted["stall"] >= 2)  # until it gave up on a connection and tried again
        peer.reset()
        peer.mode = "close"
        for i in range(30, 35):
            sender.send(tick(i))
        wait(lambda: peer.accepted["close"] >= 2)
        peer.mode = "carbon"
        assert sender.wait_idle()
        assert peer.data() == ticks(range(35))  # every tick, once, in order
        assert sender.problem() is None
    finally:
        sender.close()
        peer.close()


@pytest.mark.lab
def test_a_large_spool_replayed_into_a_stalled_server_stays_spooled(tmp_path):
    folder = str(tmp_path / "spool")
    spool = Spool(folder, 10**8)
    big = [build_message("p", [(f"m{k}", i) for k in range(30)], 1_800_000_000 + i) for i in range(2000)]
    for message in big:
        spool.append(message)
    spool.close()
    before = spooled(folder)
    peer = Peer("stall", rcvbuf=4096)
    sender = fast(peer.port, spool=Spool(folder, 10**8))
    try:
        wait(lambda: peer.accepted["stall"] >= 2)
        assert spooled(folder) == before
        peer.reset()
        peer.mode = "carbon"
        assert sender.wait_idle(timeout=30)
    finally:
        sender.close()
        peer.close()
    assert peer.data() == b"".join(big) and os.listdir(folder) == []


@pytest.mark.lab
def test_a_server_that_reads_and_resets_takes_nothing_away():
    peer = Peer("reader")
    sender = fast(peer.port, confirm_period=10, confirm_timeout=10)
    try:
        for i in range(30):
            sender.send(tick(i))
            time.sleep(0.1)
        assert wait(lambda: peer.read_by("reader") == ticks(range(30)))
        peer.reset()  # everything it read is lost with it
        peer.mode = "carbon"
        sender.send(tick(30))
        assert sender.wait_idle()
        assert peer.data() == ticks(range(31))
    finally:
        sender.close()
        peer.close()


def test_a_server_that_never_closes_confirms_nothing(caplog):
    peer = Peer("reader")
    sender = fast(peer.port, confirm_period=0.0, confirm_timeout=0.1)
    try:
        sender.send(tick(0))
        assert wait(lambda: sender.problem() and "not confirming delivery" in sender.problem())
        assert peer.read_by("reader").startswith(tick(0))
        assert list(sender.memory) == [tick(0)]  # read, as far as we can tell, but kept: it may have been lost
        assert "does not close connections as carbon does" in caplog.text
    finally:
        sender.close(timeout=0.5)
        peer.close()


@pytest.mark.lab
def test_close_spools_what_a_stalled_server_did_not_confirm(tmp_path):
    folder = str(tmp_path / "spool")
    peer = Peer("stall", rcvbuf=4096)
    sender = GraphiteSender("127.0.0.1", peer.port, spool=Spool(folder, 10**6), retry_every=0.02)
    for i in range(10):
        sender.send(tick(i))
    assert wait(lambda: peer.accepted["stall"] == 1)
    time.sleep(0.2)  # written into the server's buffers, as far as the kernel is concerned
    sender.close(timeout=1.0)
    assert spooled(folder) == ticks(range(10))
    assert not sender._thread.is_alive() and sender.alive()
    peer.reset()
    peer.mode = "carbon"
    second = fast(peer.port, spool=Spool(folder, 10**6))
    try:
        assert second.wait_idle()
    finally:
        second.close()
        peer.close()
    assert peer.data() == ticks(range(10)) and os.listdir(folder) == []


def test_close_confirms_with_a_healthy_server_and_spools_nothing(tmp_path, collector):
    folder = str(tmp_path / "spool")
    sender = GraphiteSender("127.0.0.1", collector.port, spool=Spool(folder, 10**6))
    for i in range(5):
        sender.send(tick(i))
    sender.close(timeout=1.5)
    assert collector.data() == ticks(range(5)) and os.listdir(folder) == []


# The sender never dies: the disk fails under it, and it carries on in memory.

def test_a_spool_folder_that_cannot_be_made_holds_ticks_in_memory(tmp_path, caplog):
    folder = tmp_path / "spool"
    folder.write_bytes(b"a file where the folder belongs")
    port = closed_port()
    sender = fast(port, spool=Spool(str(folder), 10**6))
    try:
        for i in range(3):
            sender.send(tick(i))
        assert wait(lambda: len(sender.memory) == 3)
        problem = sender.problem()
        assert problem.startswith(f"spool unwritable: File exists ({folder}); 3 ticks held in memory; ")
        assert f"Graphite 127.0.0.1:{port} unreachable for " in problem
        assert sender.alive() and caplog.text.count("File exists") == 1
        folder.unlink()
        assert wait(lambda: len(sender.spool) and not sender.memory)
        assert "spool unwritable" not in sender.problem()
        collector = Peer("carbon", port=port)
        sender.send(tick(3))
        assert sender.wait_idle()
        assert collector.data() == ticks(range(4))
        collector.close()
    finally:
        sender.close()


def test_a_spool_mended_while_graphite_is_up_is_no_longer_a_problem(tmp_path, collector):
    folder = tmp_path / "spool"
    folder.write_bytes(b"a file where the folder belongs")
    sender = fast(collector.port, spool=Spool(str(folder), 10**6))
    try:
        sender.send(tick(0))
        assert sender.wait_idle() and sender.problem() == f"spool unwritable: File exists ({folder}); " \
            "0 ticks held in memory"
        folder.unlink()
        assert wait(lambda: sender.problem() is None)
        assert os.listdir(folder) == []
    finally:
        sender.close()


def test_entries_in_the_spool_folder_that_are_not_segments_do_no_harm(tmp_path):
    (tmp_path / "junk.spool").write_bytes(b"junk")
    (tmp_path / "000000000007.spool").mkdir()
    port = closed_port()
    sender = fast(port, spool=Spool(str(tmp_path), 10**6))
    try:
        for i in range(3):
            sender.send(tick(i))
        assert wait(lambda: len(sender.spool) and not sender.memory and sender.inbox.empty())
        collector = Peer("carbon", port=port)
        sender.send(tick(3))
        assert sender.wait_idle() and sender.alive()
        assert collector.data() == ticks(range(4))
        collector.close()
    finally:
        sender.close()
    assert sorted(os.listdir(tmp_path)) == ["000000000007.spool", "junk.spool"]


def test_segments_removed_under_the_sender_cost_only_themselves(tmp_path):
    port = closed_port()
    sender = fast(port, spool=Spool(str(tmp_path), 10**6, segment_messages=2))
    try:
        for i in range(5):
            sender.send(tick(i))
        assert wait(lambda: len(sender.spool) == 3 and not sender.memory and sender.inbox.empty())
        for name in sorted(os.listdir(tmp_path))[:2]:  # another daemon on the same folder delivered them
            os.remove(tmp_path / name)
        collector = Peer("carbon", port=port)
        sender.send(tick(5))
        assert sender.wait_idle() and sender.alive()
        assert collector.data() == ticks([4, 5])
        collector.close()
    finally:
        sender.close()


class FlakySpool(Spool):
    """A spool whose appends fail in a way nobody planned for, `failures` times."""

    def __init__(self, folder, failures):
        super().__init__(folder, 10**6)
        self.failures = failures

    def append(self, message):
        if self.failures:
            self.failures -= 1
            raise RuntimeError("unforeseen")
        super().append(message)


def test_an_unforeseen_error_is_logged_once_and_the_sender_carries_on(tmp_path, caplog):
    port = closed_port()
    sender = fast(port, spool=FlakySpool(str(tmp_path), failures=3))
    try:
        for i in range(3):
            sender.send(tick(i))
        assert wait(lambda: sender.spool.failures == 0 and len(sender.spool) and not sender.memory)
        assert sender.alive() and caplog.text.count("unexpected error") == 1
        collector = Peer("carbon", port=port)
        assert sender.wait_idle()
        assert collector.data() == ticks(range(3))
        collector.close()
    finally:
        sender.close()
