"""The notify protocol: a socket stands in for systemd."""

import os
import socket
import threading
import time

import pytest

from presence.config.load import parse_config
from presence.daemon.loop import Daemon
from presence.daemon.notify import Notifier
from presence.state.machine import State
from tests.conftest import make_config


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


class HangingSink:
    """Takes ticks until told to hang, then blocks the loop for good (as a wedged write would)."""

    def __init__(self):
        self.hang, self.stamps = threading.Event(), []
        self.release = threading.Event()

    def send(self, message):
        self.stamps.append(int(message.split()[2]))
        if self.hang.is_set():
            self.release.wait()

    def close(self, timeout=None):
        pass

    def alive(self):
        return True

    def problem(self):
        return None


class DyingSink(HangingSink):
    """A sink whose sender thread dies when told to."""

    def __init__(self):
        super().__init__()
        self.dead = threading.Event()

    def alive(self):
        return not self.dead.is_set()

    def problem(self):
        return "sender stopped" if self.dead.is_set() else None


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
    config = parse_config(make_config(graphite={"send_interval": 1}))
    sink, stop = HangingSink(), threading.Event()
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"})  # systemd expects 1 s: ping each 0.5 s
    daemon = Daemon(config, State(), sink, str(tmp_path / "state.json"), notifier=notifier)
    started = time.monotonic()
    runner = threading.Thread(target=daemon.run, args=([], stop), daemon=True)
    runner.start()
    time.sleep(4)
    sink.hang.set()
    hung_from = time.monotonic()
    time.sleep(3)
    stuck_pings = [at for at, text in received if "WATCHDOG=1" in text and at > hung_from + 1.2]
    stop.set()
    sink.release.set()
    runner.join(5)
    deadline = time.monotonic() + 2
    while not received[-1][1].startswith("STOPPING=1") and time.monotonic() < deadline:
        time.sleep(0.05)

    texts = [text for _, text in received]
    first = texts[0].split("\n")
    assert first[0] == "READY=1" and first[1].startswith("STATUS=0 home; ")
    pings = [at for at, text in received if "WATCHDOG=1" in text and at < hung_from]
    assert len(pings) >= 4
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert max(gaps) < 1.0  # always inside systemd's 1 s
    assert stuck_pings == [], "a stuck loop must stop pinging"
    assert texts[-1].startswith("STOPPING=1")
    assert received[0][0] - started < 3


def test_status_line_names_who_is_home(tmp_path):
    from presence.observations import DeviceSighting, SourceReport

    config = parse_config(make_config())
    daemon = Daemon(config, State(), HangingSink(), str(tmp_path / "s.json"))
    now = time.time()
    daemon.ingest(SourceReport(source="wifi", at=now, ok=True, sightings=(
        DeviceSighting("02:00:00:00:01:01", "198.51.100.11", now),
        DeviceSighting("02:00:00:00:06:01", "198.51.100.16", now))))
    daemon.tick(int(now))
    assert daemon.status_line().startswith("2 home: nick, tom; last scan ")


def test_a_dead_sender_stops_the_watchdog_and_the_status_says_why(systemd, tmp_path, caplog):
    path, received = systemd
    config = parse_config(make_config(graphite={"send_interval": 1}))
    sink, stop = DyingSink(), threading.Event()
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"})
    daemon = Daemon(config, State(), sink, str(tmp_path / "state.json"), notifier=notifier)
    runner = threading.Thread(target=daemon.run, args=([], stop), daemon=True)
    runner.start()
    time.sleep(2.5)
    sink.dead.set()
    died_at = time.monotonic()
    time.sleep(2.5)
    stop.set()
    runner.join(5)
    assert any("WATCHDOG=1" in text for at, text in received if at < died_at)
    assert not [text for at, text in received if "WATCHDOG=1" in text and at > died_at + 1.2]
    statuses = [text for at, text in received if at > died_at + 1.2 and text.startswith("STATUS=")]
    assert statuses and statuses[-1].startswith("STATUS=the Graphite sender thread has stopped; sender stopped")
    assert caplog.text.count("the Graphite sender thread has stopped; no longer telling the watchdog") == 1
