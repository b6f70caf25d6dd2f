"""The loop guard with a real Home Assistant core and broker: our tracker renamed in Home Assistant, the daemon
killed and started again while Home Assistant runs on (the tracker unavailable by our last will, its marker
dropped, when the new daemon first reads it), then the person leaves: away at the grace, the loop said once."""

import signal
import subprocess
import time

import pytest

from tests.lab import test_homeassistant_mqtt
from tests.lab.test_homeassistant_mqtt import Daemon, wait_for

OURS, RENAMED = "device_tracker.presence_nick", "device_tracker.nicks_presence"
LOOP = f"person.nick follows {RENAMED}, which this daemon publishes over MQTT"

pytestmark = pytest.mark.lab  # the namespace lab, a real broker, carbon and Home Assistant core


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """test_homeassistant_mqtt's lab, broker, carbon and Home Assistant, with person.nick following our tracker
    under the id the user gives it in the test (Home Assistant's person does not follow a rename)."""
    from testbed.carbon import require
    from testbed.lab import lab_unavailable_reason

    require(lab_unavailable_reason(nft=True))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(test_homeassistant_mqtt, "HA_PEOPLE", {"nick": [RENAMED], "tom": ["device_tracker.tom_gps"]})
        yield from test_homeassistant_mqtt.servers(tmp_path_factory)


class BrokerBlocked:
    """While inside: the scanner namespace resets the daemon's connections to the broker's TLS port (Home
    Assistant's, plain, go on)."""

    def __init__(self, lan, port):
        self.lan, self.port = lan, port

    def _nft(self, script):
        subprocess.run(["ip", "netns", "exec", self.lan.scanner_ns, "nft", "-f", "-"], input=script, text=True,
                       check=True)

    def __enter__(self):
        self._nft(f"table inet loopguard {{\n chain out {{\n  type filter hook output priority 0;\n"
                  f"  tcp dport {self.port} reject with tcp reset\n }}\n}}\n")
        return self

    def __exit__(self, *exc):
        self._nft("delete table inet loopguard\n")


def test_a_renamed_tracker_unavailable_when_a_restarted_daemon_first_reads_it_never_holds_its_person_home(
        home, tmp_path):
    lan, phones, broker, carbon, ha = home
    daemon = Daemon(lan, broker, carbon, ha, tmp_path)
    try:
        daemon.wait_for_line("MQTT: connected to")
        wait_for(ha, {OURS: "not_home"}, timeout=15)
        ha.rename_entity(OURS, RENAMED)
        wait_for(ha, {RENAMED: "not_home", "person.nick": "not_home"}, timeout=10)
        daemon.wait_for_line(LOOP, timeout=10)
        # Killed: the broker sends our last will, and Home Assistant shows the tracker unavailable, its
        # attributes (our marker among them) dropped. It stays so until the new daemon reaches the broker.
        daemon.stop(signal.SIGKILL)
        wait_for(ha, {RENAMED: "unavailable", "person.nick": "unknown"}, timeout=10)
        shown = ha.call("get", f"/api/states/{RENAMED}").json()["attributes"]
        assert "presence_topic" not in shown, shown
        restarted = len(daemon.lines)
        with BrokerBlocked(lan, broker.tls_port):
            daemon.start()
            # Its first polls of Home Assistant: person.nick unknown, the tracker unavailable.
            daemon.wait_for_line("homeassistant: person.nick is unknown", timeout=15)
            time.sleep(2)  # a few polls (every 1 s) more with the tracker unavailable
            assert ha.state(RENAMED) == "unavailable"
        daemon.wait_for_line("again; Home Assistant has the current presence", timeout=15)
        wait_for(ha, {RENAMED: "not_home", "person.nick": "not_home"}, timeout=10)
        since = int(time.time())
        phones["nick"].join()
        wait_for(ha, {RENAMED: "home", "person.nick": "home"}, timeout=15)
        left = time.monotonic()
        phones["nick"].leave()
        # Read back as evidence, person.nick's "home" (our own) would hold Nick home for ever.
        daemon.wait_for_line("nick: home -> away", timeout=25)
        assert time.monotonic() - left < 6 + 2 * 2 + 3  # the grace, two sweeps, a tick and the polls' slack
        wait_for(ha, {RENAMED: "not_home", "person.nick": "not_home"}, timeout=5)
        until = int(time.time())
        echoed = carbon.wait_for_points("home.presence.nick.from_homeassistant", since, until, until - since)
        assert set(echoed.values()) == {0}, "our own tracker, read back through person.nick, counted as evidence"
        said = [line for _, line in daemon.lines[restarted:] if LOOP in line]
        assert len(said) == 1 and "WARNING" in said[0], daemon.log()
    finally:
        daemon.stop()
