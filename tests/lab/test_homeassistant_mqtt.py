"""Presence handed to a real Home Assistant core over a real broker (Debian's mosquitto), end to end: people
arrive and leave on the namespace LAN, and Home Assistant's entities (read through its REST API) follow."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import make_config, write_config

from tests.conftest import ROOT  # noqa: E402 (the repository, wherever this file is)
NICK_PHONE, TOM_PHONE = "02:00:00:00:01:01", "02:00:00:00:06:01"
TRACKERS = {"nick": "device_tracker.presence_nick", "tom": "device_tracker.presence_tom"}
COUNT, ANYONE = "sensor.presence_count_home", "binary_sensor.presence_anyone_home"
# Home Assistant's people: Tom is linked to our tracker; so is Nick, whom our config also reads back
# through person.nick (the loop the daemon must refuse to count).
HA_PEOPLE = {"nick": [TRACKERS["nick"]], "tom": [TRACKERS["tom"]]}

pytestmark = pytest.mark.lab  # the namespace lab, a real broker, carbon and Home Assistant core


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    yield from servers(tmp_path_factory)


def servers(tmp_path_factory):
    """The lab with Nick's and Tom's phones (away) and a printer, a broker, carbon and Home Assistant with MQTT."""
    from testbed.carbon import Carbon, carbon_unavailable_reason, require
    from testbed.homeassistant_core import HomeAssistantCore, homeassistant_unavailable_reason
    from testbed.lab import Lan, lab_unavailable_reason
    from testbed.mosquitto import Mosquitto, mosquitto_unavailable_reason

    require(lab_unavailable_reason() or homeassistant_unavailable_reason() or mosquitto_unavailable_reason()
            or carbon_unavailable_reason())
    folder = tmp_path_factory.mktemp("ha-mqtt")
    with Lan() as lan:
        phones = {"nick": lan.add_device("nick", NICK_PHONE, "198.51.100.11"),
                  "tom": lan.add_device("tom", TOM_PHONE, "198.51.100.16")}
        for phone in phones.values():
            phone.leave()
        # Always on: with no device answering, the LAN would count as unreachable and presence be held.
        lan.add_device("printer", "02:00:00:00:09:01", "198.51.100.50")
        broker = Mosquitto(folder / "broker", lan.scanner_ns)
        carbon = Carbon(folder / "carbon", lan.scanner_ns)
        ha = HomeAssistantCore(folder / "ha", lan.scanner_ns, HA_PEOPLE)
        try:
            broker.start()
            carbon.start()
            ha.start()
            ha.setup_mqtt("127.0.0.1", broker.port, "homeassistant", broker.users["homeassistant"])
            yield lan, phones, broker, carbon, ha
        finally:
            ha.stop()
            carbon.stop()
            broker.stop()


class Daemon:
    """`run` in the scanner namespace, publishing over TLS; its log lines with the time each was read."""

    def __init__(self, lan, broker, carbon, ha, folder):
        raw = make_config(wifi={"scan_interval": 2, "offline_grace": 6},
                          graphite={"host": "127.0.0.1", "port": carbon.port, "send_interval": 1},
                          homeassistant={"url": ha.url, "token_env": "PRESENCE_HA_TOKEN", "poll_interval": 1},
                          mqtt={"host": "127.0.0.1", "port": broker.tls_port, "ca_file": broker.ca_file,
                                "username": "presence"})
        raw["people"] = [{"name": "Nick", "macs": [NICK_PHONE], "homeassistant_entities": ["person.nick"]},
                         {"name": "Tom", "macs": [TOM_PHONE]}]
        self.config = write_config(folder / "people.yaml", raw)
        self.state = str(folder / "state.json")
        self.env = {**os.environ, "PRESENCE_HA_TOKEN": ha.token, "MQTT_PASSWORD": broker.users["presence"]}
        self.lan, self.lines = lan, []
        self.start()

    def start(self):
        argv = [sys.executable, f"{ROOT}/presence_to_graphite.py", "--config", self.config, "--state", self.state,
                "run"]
        self.proc = self.lan.popen(self.lan.scanner_ns, argv, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()
        return self

    def _read(self, proc):
        for line in proc.stderr:
            self.lines.append((time.monotonic(), line))

    def wait_for_line(self, text, timeout=20):
        """The time the first line holding `text` was read."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [at for at, line in list(self.lines) if text in line]
            if found:
                return found[0]
            time.sleep(0.02)
        raise AssertionError(f"no {text!r} within {timeout} s; log: {''.join(l for _, l in self.lines[-15:])}")

    def log(self):
        return "".join(line for _, line in self.lines)

    def stop(self, signum=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def daemon(home, tmp_path):
    yield from running_daemon(home, tmp_path)


def running_daemon(home, tmp_path):
    """A new daemon with a fresh state, connected to the broker; both phones away."""
    lan, phones, broker, carbon, ha = home
    for phone in phones.values():
        phone.leave()
    running = Daemon(lan, broker, carbon, ha, tmp_path)
    try:
        running.wait_for_line("MQTT: connected to")
        yield running
    finally:
        running.stop()


def wait_for(ha, wanted, timeout):
    """Wait until each entity has its wanted state; return how long that took."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        states = {entity: ha.state(entity) for entity in wanted}
        if states == wanted:
            return time.monotonic() - started
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout} s Home Assistant has {states}, not {wanted}")
        time.sleep(0.05)


def everyone(nick, tom):
    count = (nick == "home") + (tom == "home")
    return {TRACKERS["nick"]: nick, TRACKERS["tom"]: tom, COUNT: str(count), ANYONE: "on" if count else "off"}


def test_arrivals_and_departures_reach_home_assistant_within_two_seconds_of_the_decision(home, daemon):
    lan, phones, broker, carbon, ha = home
    wait_for(ha, everyone("not_home", "not_home"), timeout=10)
    phones["tom"].join()
    decided = daemon.wait_for_line("tom: away -> home")
    wait_for(ha, everyone("not_home", "home"), timeout=10)
    assert time.monotonic() - decided <= 2.0
    phones["tom"].leave()
    decided = daemon.wait_for_line("tom: home -> away")
    wait_for(ha, everyone("not_home", "not_home"), timeout=10)
    assert time.monotonic() - decided <= 2.0
    tracker = ha.call("get", f"/api/states/{TRACKERS['tom']}").json()
    assert tracker["attributes"]["source_type"] == "router" and tracker["attributes"]["friendly_name"].endswith("Tom")
    assert tracker["attributes"]["last_seen_device"] == TOM_PHONE and tracker["attributes"]["sources"] == []
    assert ha.state("person.tom") == "not_home"


def test_a_person_linked_to_our_tracker_turns_home(home, daemon):
    lan, phones, broker, carbon, ha = home
    phones["tom"].join()
    wait_for(ha, {"person.tom": "home", TRACKERS["tom"]: "home"}, timeout=10)


def test_our_own_tracker_read_back_through_a_person_is_never_evidence(home, daemon):
    lan, phones, broker, carbon, ha = home
    daemon.wait_for_line("person.nick follows device_tracker.presence_nick, which this daemon publishes over MQTT")
    since = int(time.time())
    phones["nick"].join()
    wait_for(ha, {"person.nick": "home", TRACKERS["nick"]: "home"}, timeout=10)
    phones["nick"].leave()
    # Read back, Home Assistant's "home" would keep Nick home for ever; ignored, the grace ends it.
    daemon.wait_for_line("nick: home -> away", timeout=20)
    wait_for(ha, {"person.nick": "not_home", TRACKERS["nick"]: "not_home"}, timeout=5)
    until = int(time.time())
    home_points = carbon.wait_for_points("home.presence.nick.is_home", since, until, until - since)
    echoed = carbon.wait_for_points("home.presence.nick.from_homeassistant", since, until, until - since)
    assert 1 in home_points.values() and len(echoed) >= until - since - 1
    assert set(echoed.values()) == {0}, "our own tracker, read back through person.nick, counted as evidence"


def test_a_killed_daemon_leaves_every_entity_unavailable_and_a_new_one_brings_them_back(home, daemon):
    lan, phones, broker, carbon, ha = home
    phones["tom"].join()
    wait_for(ha, everyone("not_home", "home"), timeout=10)
    daemon.stop(signal.SIGKILL)
    wait_for(ha, {entity: "unavailable" for entity in everyone("not_home", "home")}, timeout=5)
    daemon.start()
    wait_for(ha, everyone("not_home", "home"), timeout=15)


def test_restarting_home_assistant_then_the_broker_brings_every_entity_back(home, daemon):
    lan, phones, broker, carbon, ha = home
    phones["tom"].join()
    wait_for(ha, everyone("not_home", "home"), timeout=10)
    ha.stop()
    ha.start()
    wait_for(ha, everyone("not_home", "home"), timeout=30)
    broker.restart()  # no persistence: it forgets every retained message
    daemon.wait_for_line("MQTT: connected to 127.0.0.1:", timeout=1)
    daemon.wait_for_line("again; Home Assistant has the current presence", timeout=10)
    wait_for(ha, everyone("not_home", "home"), timeout=30)
    assert ha.state("person.tom") == "home"
