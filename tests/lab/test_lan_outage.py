"""The LAN itself goes away (the access point reboots, the link drops): nobody leaves because of it."""

import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from tests.conftest import make_config, write_config
from testbed.daemon_process import DaemonProcess

NICK, SUSAN, ROUTER = "02:00:00:00:01:01", "02:00:00:00:02:01", "02:00:00:00:ff:01"
GRACE, SCAN = 5, 1


class StatusListener:
    """Stands in for systemd's notify socket: keeps every STATUS= the daemon sends."""

    def __init__(self, folder):
        self.path = os.path.join(folder, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.statuses, self._stop = [], threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self):
        while not self._stop.is_set():
            try:
                fields = self.sock.recv(4096).decode().split("\n")
            except socket.timeout:
                continue
            self.statuses += [field[7:] for field in fields if field.startswith("STATUS=")]

    def close(self):
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def home(lan, tmp_path):
    """Nick and Susan home, behind a router that is the scanner's gateway; the daemon running."""
    devices = {name: lan.add_device(name, mac, ip) for name, mac, ip in (
        ("nick", NICK, "198.51.100.11"), ("susan", SUSAN, "198.51.100.12"), ("router", ROUTER, "198.51.100.1"))}
    subprocess.run(["ip", "-n", lan.scanner_ns, "route", "add", "default", "via", "198.51.100.1"], check=True)
    raw = make_config(wifi={"scan_interval": SCAN, "offline_grace": GRACE}, graphite={"send_interval": 1})
    raw["people"] = [{"name": "Nick", "macs": [NICK]}, {"name": "Susan", "macs": [SUSAN]}]
    systemd = StatusListener(str(tmp_path))
    daemon = DaemonProcess(lan, write_config(tmp_path / "people.yaml", raw), str(tmp_path / "state.json"), people=2,
                           env={**os.environ, "NOTIFY_SOCKET": systemd.path})
    try:
        daemon.wait_until(lambda t: t["count_home"] == 2, timeout=10)
        yield daemon, devices, systemd
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
        systemd.close()


def set_link(lan, up):
    """The scanner's switch port: down, the scanner's eth0 has no carrier."""
    subprocess.run(["ip", "-n", lan.bridge_ns, "link", "set", "vsc", "up" if up else "down"], check=True)


def assert_nobody_left(daemon, since):
    ticks = {stamp: tick for stamp, tick in daemon.complete_ticks().items() if stamp >= since}
    assert ticks and all(tick["count_home"] == 2 for tick in ticks.values()), ticks
    assert [event for stamp, event in daemon.events if stamp >= since] == [], "".join(daemon.stderr)


def test_no_carrier_longer_than_the_grace_is_no_departure(lan, home):
    daemon, _devices, systemd = home
    cut = max(daemon.ticks) + 1
    set_link(lan, up=False)
    down = time.time()
    time.sleep(3 * GRACE)
    set_link(lan, up=True)
    back = time.time()
    daemon.wait_until(lambda t: t["count_home"] == 2, timeout=5)
    time.sleep(GRACE + 2)
    assert_nobody_left(daemon, cut)
    status, _ = daemon.stop(signal.SIGTERM)
    log = "".join(daemon.stderr)
    assert status == 0 and "Traceback" not in log
    assert "wifi: the LAN 198.51.100.0/24 cannot be reached (eth0 has no carrier)" in log
    assert "wifi: the LAN 198.51.100.0/24 answers again after" in log
    assert any(s.startswith("LAN 198.51.100.0/24 unreachable for") and "presence held" in s for s in systemd.statuses)
    assert back - down > 3 * GRACE


def test_everything_gone_even_the_gateway_is_no_departure(lan, home):
    daemon, devices, systemd = home
    cut = max(daemon.ticks) + 1
    for device in devices.values():
        device.leave()
    time.sleep(3 * GRACE)
    for device in devices.values():
        device.join()
    time.sleep(GRACE + 2)
    assert_nobody_left(daemon, cut)
    daemon.stop(signal.SIGTERM)
    log = "".join(daemon.stderr)
    assert "wifi: the LAN 198.51.100.0/24 cannot be reached (nothing answered" in log
    assert any("unreachable" in s for s in systemd.statuses)


def test_only_the_gateway_silent_holds_too_but_one_phone_gone_is_a_departure(lan, home):
    daemon, devices, _systemd = home
    devices["susan"].leave()
    left = time.time()
    gone = daemon.wait_until(lambda t: t["count_home"] == 1 and t["nick.is_home"], timeout=GRACE + 4)
    assert gone >= left + GRACE - SCAN - 2
    assert ("susan.departure" in [event for _, event in daemon.events])

    cut = int(time.time()) + 1
    devices["router"].leave()
    time.sleep(2 * GRACE)
    ticks = {stamp: tick for stamp, tick in daemon.complete_ticks().items() if stamp >= cut}
    assert ticks and all(tick["nick.is_home"] for tick in ticks.values())
    daemon.stop(signal.SIGTERM)
    log = "".join(daemon.stderr)
    assert "not even the gateway 198.51.100.1" in log or "the gateway 198.51.100.1" in log


def test_a_restart_during_an_outage_invents_no_departure(lan, tmp_path):
    lan.add_device("nick", NICK, "198.51.100.11")
    lan.add_device("susan", SUSAN, "198.51.100.12")
    raw = make_config(wifi={"scan_interval": SCAN, "offline_grace": GRACE}, graphite={"send_interval": 1})
    raw["people"] = [{"name": "Nick", "macs": [NICK]}, {"name": "Susan", "macs": [SUSAN]}]
    config, state = write_config(tmp_path / "people.yaml", raw), str(tmp_path / "state.json")
    first = DaemonProcess(lan, config, state, people=2)
    try:
        first.wait_until(lambda t: t["count_home"] == 2, timeout=10)
        set_link(lan, up=False)
        time.sleep(2)
        assert first.stop(signal.SIGTERM)[0] == 0
    finally:
        if first.proc.poll() is None:
            first.proc.kill()
    time.sleep(2 * GRACE)  # the daemon is down longer than the grace, and so is the LAN
    second = DaemonProcess(lan, config, state, people=2)
    try:
        second.wait_until(lambda t: True, timeout=10)
        time.sleep(2)
        set_link(lan, up=True)
        time.sleep(GRACE + 2)
        assert_nobody_left(second, min(second.ticks))
        second.stop(signal.SIGTERM)
    finally:
        if second.proc.poll() is None:
            second.proc.kill()
    assert "Traceback" not in "".join(first.stderr + second.stderr)
