"""The MQTT publisher and `check`'s mqtt line against a real broker (Debian's mosquitto) on loopback."""

import json
import logging
import time

import pytest

from presence.config.load import parse_config
from presence.outputs.mqtt.publisher import MqttPublisher
from presence.outputs.mqtt.wanted import PrintingPublisher
from presence.state.model import PersonStatus, Snapshot, State
from tests.conftest import make_config

pytestmark = pytest.mark.lab  # a real broker

NICK = "presence/person/nick/state"
CONFIGS = ["homeassistant/device_tracker/presence/nick/config", "homeassistant/device_tracker/presence/susan/config",
           "homeassistant/sensor/presence/count_home/config", "homeassistant/binary_sensor/presence/anyone_home/config"]


@pytest.fixture
def broker(tmp_path):
    from testbed.carbon import require
    from testbed.mosquitto import Mosquitto, mosquitto_unavailable_reason

    require(mosquitto_unavailable_reason())
    acl = ("user presence\ntopic readwrite #\n\nuser homeassistant\ntopic readwrite #\n\n"
           "user outsider\ntopic readwrite presence/#\ntopic read homeassistant/#\n")
    broker = Mosquitto(tmp_path / "broker", acl=acl, users={"presence": "presence-pw", "homeassistant": "ha-pw",
                                                             "outsider": "outsider-pw"}).start()
    try:
        yield broker
    finally:
        broker.stop()


def household(broker, people=("Nick", "Susan"), tls=True, **mqtt):
    section = {"host": "127.0.0.1", "port": broker.tls_port if tls else broker.port, "username": "presence",
               **({"ca_file": broker.ca_file} if tls else {}), **mqtt}
    raw = make_config(mqtt=section)
    raw["people"] = [{"name": name} for name in people]
    return parse_config(raw)


def snapshot(*home):
    people = tuple(PersonStatus(key, key in home, key in home, False, int(key in home)) for key in ("nick", "susan"))
    return Snapshot(at=time.time(), people=people, devices_present_count=len(home))


@pytest.fixture
def publisher():
    made = []

    def make(config, password="presence-pw"):
        made.append(MqttPublisher(config, password).start())
        return made[-1]

    yield make
    for one in made:
        one.close()


def wait_until(predicate, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout} s")


def test_over_tls_with_a_password_it_publishes_configs_states_and_online_retained(broker, publisher):
    config = household(broker)
    with broker.subscriber(user="homeassistant") as home_assistant:
        presence = publisher(config)
        presence.publish(snapshot("nick"), State())
        home_assistant.wait_for("presence/status", "online")
        held = home_assistant.retained()
        assert set(CONFIGS) <= set(held)
        assert held[NICK] == b"home" and held["presence/person/susan/state"] == b"not_home"
        assert held["presence/count_home"] == b"1" and held["presence/anyone_home"] == b"ON"
        assert json.loads(held["presence/person/nick/attributes"])["sources"] == ["wifi"]
        presence.publish(snapshot("nick", "susan"), State())
        home_assistant.wait_for("presence/person/susan/state", "home")
        home_assistant.wait_for("presence/count_home", "2")
        count = len(home_assistant.messages)
        presence.publish(snapshot("nick", "susan"), State())  # nothing changed: nothing sent
        time.sleep(0.3)
        assert len(home_assistant.messages) == count
        presence.close()
        home_assistant.wait_for("presence/status", "offline")
    assert "presence-pw" not in broker.log_text()


def test_a_refused_password_an_untrusted_certificate_and_a_dead_port_are_said_once_and_named(broker, caplog, tmp_path):
    caplog.set_level(logging.INFO)
    other_ca = tmp_path / "other-ca.pem"
    from testbed.mosquitto import Mosquitto
    other_ca.write_text(open(Mosquitto(tmp_path / "other").ca_file).read())
    cases = [(household(broker), "wrong-pw", "refused the connection: Not authorized (check mqtt.username"),
             (household(broker, ca_file=str(other_ca)), "presence-pw", "is not trusted"),
             (household(broker, tls=False, port=1), "presence-pw", "cannot reach 127.0.0.1:1: Connection refused"),
             (household(broker, tls=False, port=broker.tls_port), "presence-pw",
              "took the connection but did not answer as an MQTT broker (mqtt.port, mqtt.tls?)")]
    for config, password, expected in cases:
        presence = MqttPublisher(config, password).start()
        try:
            wait_until(lambda: presence.problem() and expected in presence.problem())
            time.sleep(2.5)  # two more attempts, said no more
        finally:
            presence.close()
        said = [r.getMessage() for r in caplog.records if expected in r.getMessage()]
        assert len(said) == 1, said
        assert "Graphite and the scans go on" in said[0]
    assert "wrong-pw" not in caplog.text and "presence-pw" not in caplog.text


def test_a_restarted_broker_gets_everything_again_without_help(broker, publisher):
    config = household(broker)
    presence = publisher(config)
    presence.publish(snapshot("susan"), State())
    with broker.subscriber(user="homeassistant") as before:
        before.wait_for("presence/status", "online")
        wanted = before.retained()
    broker.restart()  # no persistence: the broker forgets every retained message
    with broker.subscriber(user="homeassistant") as empty:
        assert "presence/status" not in empty.retained()
    wait_until(lambda: presence.problem() is None, timeout=10)
    with broker.subscriber(user="homeassistant") as after:
        after.wait_for("presence/status", "online")
        assert after.retained() == wanted


def test_home_assistant_announcing_itself_gets_configs_and_states_again(broker, publisher):
    config = household(broker)
    presence = publisher(config)
    presence.publish(snapshot("nick"), State())
    with broker.subscriber(user="homeassistant") as home_assistant:
        home_assistant.wait_for("presence/status", "online")
        for topic in CONFIGS + [NICK]:
            home_assistant.publish(topic, "", retain=True)  # as if lost
        assert NICK not in home_assistant.retained()
        home_assistant.publish("homeassistant/status", "online")
        home_assistant.wait_for(NICK, "home")
        wait_until(lambda: set(CONFIGS) <= set(home_assistant.retained()))


def test_a_person_removed_from_the_config_leaves_home_assistant(broker, publisher):
    presence = publisher(household(broker))
    presence.publish(snapshot("nick"), State())
    with broker.subscriber(user="homeassistant") as home_assistant:
        home_assistant.wait_for("presence/status", "online")
        presence.reconfigure(household(broker, people=("Nick",)))
        # The config goes first, then the retained state: wait for the last of them.
        wait_until(lambda: not {CONFIGS[1], "presence/person/susan/state", "presence/person/susan/attributes"}
                   & set(home_assistant.retained()))
        assert CONFIGS[0] in home_assistant.retained()
    presence.close()
    # A restart with a smaller household: what an earlier run published of Nick goes too.
    publisher(household(broker, people=("Susan",)))
    with broker.subscriber(user="homeassistant") as home_assistant:
        wait_until(lambda: CONFIGS[0] not in home_assistant.retained() and CONFIGS[1] in home_assistant.retained())


def test_the_dry_run_prints_every_message_instead_of_connecting(broker, capsys):
    import io

    out = io.StringIO()
    printer = PrintingPublisher(household(broker, port=1), out)
    printer.publish(snapshot("nick"), State())
    printer.close()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"mqtt {CONFIGS[0]} {{") and '"source_type":"router"' in lines[0]
    assert f"mqtt {NICK} home" in lines and "mqtt presence/count_home 1" in lines
    assert lines[-1] == "mqtt presence/status offline"
