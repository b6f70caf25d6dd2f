"""Home Assistant's birth message reaches the loop guard: the daemon asks again at once which trackers
are ours, rather than trusting for 5 minutes what it read before Home Assistant restarted."""

import json
import os
import subprocess
import sys
import time

import pytest

from presence.config import defaults
from testbed.carbon import require
from testbed.mosquitto import Mosquitto, mosquitto_unavailable_reason
from tests.conftest import ROOT, make_config, write_config
from tests.lab.test_full_disk import Running

pytestmark = pytest.mark.lab

TOKEN = "birth-test-token"
PHONE_TRACKER = "device_tracker.nick_phone"
LOOP = f"person.nick follows {PHONE_TRACKER}, which this daemon publishes over MQTT"


class FakeHomeAssistantProcess:
    """testbed.fake_homeassistant in the scanner namespace, changed through its stdin."""

    def __init__(self, lan):
        person = {"device_trackers": [PHONE_TRACKER], "source": PHONE_TRACKER, "friendly_name": "Nick"}
        self.proc = lan.popen(lan.scanner_ns, [sys.executable, "-m", "testbed.fake_homeassistant", TOKEN],
                              cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.url = self.proc.stdout.readline().strip()
        self.set("person.nick", "home", person)
        self.set(PHONE_TRACKER, "home", {"source_type": "router", "friendly_name": "Nick's phone"})

    def set(self, entity_id, state, attributes):
        self.proc.stdin.write(json.dumps({"entity_id": entity_id, "state": state, "attributes": attributes}) + "\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "ok"


def test_home_assistants_birth_makes_the_loop_guard_ask_again_at_once(lan, tmp_path):
    require(mosquitto_unavailable_reason())
    assert defaults.HA_OWN_RECHECK_INTERVAL >= 60  # else the interval, not the birth, could be what asks again
    ha = FakeHomeAssistantProcess(lan)
    with Mosquitto(tmp_path / "broker", lan.scanner_ns) as broker:
        raw = make_config(mqtt={"host": "127.0.0.1", "port": broker.port, "username": "presence"},
                          homeassistant={"url": ha.url, "token_env": "PRESENCE_TEST_TOKEN", "poll_interval": 1})
        raw["people"] = [{"name": "Nick", "macs": ["02:00:00:00:01:01"], "homeassistant_entities": ["person.nick"]}]
        config = write_config(tmp_path / "people.yaml", raw)
        env = {**os.environ, "PRESENCE_TEST_TOKEN": TOKEN, "MQTT_PASSWORD": broker.users["presence"]}
        daemon = Running(lan, config, str(tmp_path / "state.json"), env)
        try:
            daemon.wait_for_line("MQTT: connected to")
            daemon.wait_for_line("nick: away -> home")  # person.nick, from a tracker read as not ours
            # Home Assistant restarts and its tracker for Nick's phone is now the one this daemon publishes
            # (the user re-linked the person to it): the verdict read before is stale.
            ha.set(PHONE_TRACKER, "home", {"source_type": "router", "friendly_name": "Nick's phone",
                                          "presence_topic": "presence"})
            time.sleep(3)  # three polls: the cached verdict holds, as it should between re-checks
            assert LOOP not in daemon.log()
            broker.publish("homeassistant/status", "online", user="homeassistant")
            daemon.wait_for_line(LOOP, timeout=10)
            daemon.wait_for_line("nick: home -> away", timeout=10)  # no more evidence; nothing else says home
            assert daemon.log().count(LOOP) == 1
        finally:
            assert daemon.stop() == 0, daemon.log()[-3000:]
            ha.proc.kill()
