"""The notify protocol: a socket stands in for systemd."""

import os
import socket
import threading
import time

import pytest

from presence.config.load import parse_config
from tests.fakes import make_daemon
from presence.daemon.notify import Notifier
from presence.state.model import State
from tests.conftest import make_config
from tests.fakes import T0, FakeClock, ListSink


@pytest.fixture
def systemd(tmp_path):
    """A datagram socket where systemd would listen; yields (path, received [(monotonic, text)])."""
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    received, stop = [], threading.Event()

    def listen():
        while not stop.is_set():
            try:
                received.append((time.monotonic(), sock.recv(4096).decode()))
            except socket.timeout:
                continue

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    yield path, received
    stop.set()
    thread.join()
    sock.close()


class StampedNotifier(Notifier):
    """The real notifier, also noting the clock's time of each datagram it sends."""

    def __init__(self, clock, environ):
        super().__init__(environ)
        self.clock, self.sent = clock, []

    def notify(self, *fields):
        self.sent.append((self.clock.monotonic(), "\n".join(fields)))
        super().notify(*fields)

    def pings(self, after=float("-inf"), before=float("inf")):
        return [at for at, text in self.sent if "WATCHDOG=1" in text and after < at < before]


class StallingSink(ListSink):
    """A send that takes `stall` seconds once told to (a wedged write), on the test's clock."""

    def __init__(self, clock, stall):
        super().__init__()
        self.clock, self.stall, self.stalled_at = clock, stall, None
        self.stall_next = threading.Event()

    def send(self, message):
        super().send(message)
        if self.stall_next.is_set():
            self.stall_next.clear()
            self.stalled_at = self.clock.monotonic()
            self.clock.sleep(self.stall)


class DyingSink(ListSink):
    """A sink whose sender thread dies when told to."""

    def __init__(self):
        super().__init__()
        self.dead = threading.Event()

    def alive(self):
        return not self.dead.is_set()

    def problem(self):
        return "sender stopped" if self.dead.is_set() else None


def wait_for_datagram(received, prefix):
    deadline = time.monotonic() + 2
    while not (received and received[-1][1].startswith(prefix)) and time.monotonic() < deadline:
        time.sleep(0.01)


def test_outside_systemd_it_is_a_no_op():
    notifier = Notifier({})
    assert not notifier.enabled and notifier.watchdog_interval is None
    notifier.ready("x")


def test_watchdog_interval_is_half_of_watchdog_usec_and_only_for_our_pid():
    assert Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "30000000"}).watchdog_interval == 15.0
    other = Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"})
    assert other.watchdog_interval is None or os.getpid() == 1
    assert Notifier({"NOTIFY_SOCKET": "@abstract"}).address == "\0abstract"


def test_ready_then_watchdog_at_pace_and_silence_once_the_loop_is_stuck(systemd, tmp_path):
    path, received = systemd
    clock, stop = FakeClock(), threading.Event()
    config = parse_config(make_config(graphite={"send_interval": 1}))
    sink = StallingSink(clock, stall=3.0)
    notifier = StampedNotifier(clock, {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"})  # ping each 0.5 s
    daemon = make_daemon(config, State(), sink, str(tmp_path / "state.json"), clock, notifier=notifier)
    started = clock.monotonic()
    clock.at(T0 + 4.2, sink.stall_next.set)
    clock.at(T0 + 10.2, stop.set)
    daemon.run([], stop)
    wait_for_datagram(received, "STOPPING=1")

    first = notifier.sent[0]
    assert first[1].startswith("READY=1\nSTATUS=0 home; ") and first[0] - started <= 1.0
    stuck_from = sink.stalled_at
    assert stuck_from is not None
    before = notifier.pings(before=stuck_from)
    assert len(before) >= 6
    assert max(b - a for a, b in zip(before, before[1:])) < 1.0  # always inside systemd's 1 s
    assert notifier.pings(after=stuck_from, before=stuck_from + 3.0) == [], "a stuck loop must stop pinging"
    assert notifier.pings(after=stuck_from + 3.0), "pings come back once the loop runs again"
    assert notifier.sent[-1][1].startswith("STOPPING=1")
    assert [text for _, text in received] == [text for _, text in notifier.sent]  # each went out for real


def test_status_line_names_who_is_home(tmp_path):
    from presence.observations import DeviceSighting, SourceReport

    config = parse_config(make_config())
    daemon = make_daemon(config, State(), ListSink(), str(tmp_path / "s.json"))
    now = time.time()
    daemon.ingest(SourceReport(source="wifi", at=now, ok=True, sightings=(
        DeviceSighting("02:00:00:00:01:01", "198.51.100.11", now),
        DeviceSighting("02:00:00:00:06:01", "198.51.100.16", now))))
    daemon.tick(int(now))
    assert daemon.status_line().startswith("2 home: nick, tom; last scan ")


def test_a_dead_sender_stops_the_watchdog_and_the_status_says_why(systemd, tmp_path, caplog):
    path, received = systemd
    clock, stop, sink = FakeClock(), threading.Event(), DyingSink()
    config = parse_config(make_config(graphite={"send_interval": 1}))
    notifier = StampedNotifier(clock, {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"})
    daemon = make_daemon(config, State(), sink, str(tmp_path / "state.json"), clock, notifier=notifier)
    died_at = clock.monotonic() + 2.5
    clock.at(T0 + 2.5, sink.dead.set)
    clock.at(T0 + 5.0, stop.set)
    daemon.run([], stop)
    wait_for_datagram(received, "STOPPING=1")
    assert notifier.pings(before=died_at)
    assert notifier.pings(after=died_at + 0.25) == []
    statuses = [text for at, text in notifier.sent if at > died_at + 0.25 and text.startswith("STATUS=")]
    assert len(statuses) >= 2
    assert all(text.startswith("STATUS=the Graphite output has stopped; sender stopped") for text in statuses)
    assert caplog.text.count("the Graphite output has stopped; no longer telling the watchdog") == 1
