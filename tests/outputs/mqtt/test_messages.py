"""The MQTT discovery configs and states, as pure data: what Home Assistant is told."""

import json
from dataclasses import replace

from presence.config.load import parse_config
from presence.outputs.mqtt.topics import OWN_MARKER, Topics
from presence.outputs.mqtt.messages import discovery_messages, removal_messages, state_messages
from presence.state.model import DeviceRecord, PersonRecord, PersonStatus, Snapshot, State
from tests.conftest import make_config

NICK_PHONE, NICK_LAPTOP = "02:00:00:00:01:01", "02:00:00:00:01:02"


def config(**mqtt):
    raw = make_config(mqtt={"host": "broker.lan", **mqtt})
    raw["people"] = [{"name": "Nick", "macs": [NICK_PHONE, NICK_LAPTOP]}, {"name": "Zoë Smith", "key": "zoe-s"}]
    return parse_config(raw)


def snapshot(nick_home=True, zoe_home=False):
    return Snapshot(at=1000.0, devices_present_count=2, people=(
        PersonStatus("nick", nick_home, from_wifi=nick_home, from_homeassistant=False, devices_present=2),
        PersonStatus("zoe-s", zoe_home, from_wifi=False, from_homeassistant=zoe_home, devices_present=0)))


def by_topic(messages):
    return {message.topic: message.payload for message in messages}


def test_each_person_is_a_router_device_tracker_under_one_device_with_availability():
    cfg = config()
    configs = by_topic(discovery_messages(Topics(cfg.mqtt), cfg.people))
    nick = json.loads(configs["homeassistant/device_tracker/presence/nick/config"])
    zoe = json.loads(configs["homeassistant/device_tracker/presence/zoe-s/config"])
    assert nick["name"] == "Nick" and zoe["name"] == "Zoë Smith"
    assert nick["unique_id"] == nick["object_id"] == "presence_nick" and zoe["object_id"] == "presence_zoe_s"
    assert nick["source_type"] == "router" and nick["state_topic"] == "presence/person/nick/state"
    assert nick["json_attributes_topic"] == "presence/person/nick/attributes"
    sensor = json.loads(configs["homeassistant/sensor/presence/count_home/config"])
    binary = json.loads(configs["homeassistant/binary_sensor/presence/anyone_home/config"])
    assert binary["device_class"] == "occupancy" and sensor["state_topic"] == "presence/count_home"
    for entity in (nick, zoe, sensor, binary):
        assert entity["availability_topic"] == "presence/status"
        assert entity["device"]["identifiers"] == ["presence"]
    assert json.loads(configs["presence/attributes"]) == {OWN_MARKER: "presence"}
    assert all(message.retain for message in discovery_messages(Topics(cfg.mqtt), cfg.people))


def test_discovery_configs_follow_the_configured_prefix_and_base_topic():
    cfg = config(discovery_prefix="ha/discovery", base_topic="flat/12/presence")
    configs = by_topic(discovery_messages(Topics(cfg.mqtt), cfg.people))
    assert "ha/discovery/device_tracker/flat_12_presence/nick/config" in configs
    nick = json.loads(configs["ha/discovery/device_tracker/flat_12_presence/nick/config"])
    assert nick["object_id"] == "flat_12_presence_nick" and nick["availability_topic"] == "flat/12/presence/status"


def test_states_say_home_and_not_home_with_the_sources_and_the_household():
    cfg = config()
    state = State(people={"nick": PersonRecord(is_home=True, since=1_700_000_000.0)})
    states = by_topic(state_messages(Topics(cfg.mqtt), snapshot(True, True), state, cfg))
    assert states["presence/person/nick/state"] == "home" and states["presence/person/zoe-s/state"] == "home"
    assert states["presence/count_home"] == "2" and states["presence/anyone_home"] == "ON"
    nick = json.loads(states["presence/person/nick/attributes"])
    assert nick["sources"] == ["wifi"] and nick["since"] == "2023-11-14T22:13:20+00:00"
    assert nick[OWN_MARKER] == "presence"
    assert json.loads(states["presence/person/zoe-s/attributes"])["sources"] == ["homeassistant"]
    away = by_topic(state_messages(Topics(cfg.mqtt), snapshot(False, False), State(), cfg))
    assert away["presence/person/nick/state"] == "not_home" and away["presence/count_home"] == "0"
    assert away["presence/anyone_home"] == "OFF"


def test_the_last_seen_device_is_the_latest_to_arrive_and_does_not_flip_at_every_sweep():
    cfg = config()
    phone = DeviceRecord("198.51.100.10", 0, last_seen=500.0, hostname="nicks-phone", present_since=100.0)
    laptop = DeviceRecord("198.51.100.11", 0, last_seen=499.0, present_since=300.0)

    def last(devices):
        attributes = by_topic(state_messages(Topics(cfg.mqtt), snapshot(), State(devices=devices), cfg))
        found = json.loads(attributes["presence/person/nick/attributes"])
        return found["last_seen_device"], found["last_seen_device_name"]

    assert last({NICK_PHONE: phone, NICK_LAPTOP: laptop}) == (NICK_LAPTOP, None)
    assert last({NICK_PHONE: replace(phone, last_seen=501.0), NICK_LAPTOP: laptop}) == (NICK_LAPTOP, None)
    gone = {NICK_PHONE: replace(phone, present_since=None), NICK_LAPTOP: replace(laptop, present_since=None)}
    assert last(gone) == (NICK_PHONE, "nicks-phone")
    assert last({}) == (None, None)


def test_a_removed_person_takes_their_retained_state_along():
    topics = Topics(config().mqtt)
    assert by_topic(removal_messages(topics, "homeassistant/device_tracker/presence/archie/config")) == {
        "homeassistant/device_tracker/presence/archie/config": "", "presence/person/archie/state": "",
        "presence/person/archie/attributes": ""}
