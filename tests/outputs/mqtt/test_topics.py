"""The names an `mqtt:` section gives: topics, the discovery node, the entity ids Home Assistant makes, and
which entities the config maps to people are our own output."""

import pytest
from paho.mqtt.client import topic_matches_sub

from presence.config.load import parse_config
from presence.config.model import MqttConfig
from presence.outputs.mqtt.topics import Topics, own_entities_mapped, own_output
from tests.conftest import make_config

NICK_PHONE, NICK_LAPTOP = "02:00:00:00:01:01", "02:00:00:00:01:02"


def config(**mqtt):
    raw = make_config(mqtt={"host": "broker.lan", **mqtt})
    raw["people"] = [{"name": "Nick", "macs": [NICK_PHONE, NICK_LAPTOP]}, {"name": "Zoë Smith", "key": "zoe-s"}]
    return parse_config(raw)


def test_topics_follow_the_configured_prefix_and_base_topic():
    cfg = config(discovery_prefix="ha/discovery", base_topic="flat/12/presence")
    topics = Topics(cfg.mqtt)
    assert topics.config("device_tracker", "nick") == "ha/discovery/device_tracker/flat_12_presence/nick/config"
    assert topics.object_id("nick") == "flat_12_presence_nick"
    assert topics.availability == "flat/12/presence/status" and topics.birth == "ha/discovery/status"
    assert topics.entity_ids(cfg.people) == {"device_tracker.flat_12_presence_nick",
                                            "device_tracker.flat_12_presence_zoe_s",
                                            "sensor.flat_12_presence_count_home",
                                            "binary_sensor.flat_12_presence_anyone_home"}


def test_the_default_section_puts_states_under_presence_and_configs_under_homeassistant():
    topics = Topics(config().mqtt)
    assert (topics.base, topics.prefix, topics.node) == ("presence", "homeassistant", "presence")
    assert topics.person_state("zoe-s") == "presence/person/zoe-s/state"
    assert topics.person_attributes("zoe-s") == "presence/person/zoe-s/attributes"
    assert (topics.count_home, topics.anyone_home, topics.household_attributes) == (
        "presence/count_home", "presence/anyone_home", "presence/attributes")
    assert topics.config("sensor", "count_home") == "homeassistant/sensor/presence/count_home/config"


def test_the_node_keeps_case_and_dashes_but_entity_ids_are_lower_case_with_underscores():
    topics = Topics(MqttConfig(host="broker.lan", base_topic="Flat-B/Presence"))
    assert topics.node == "Flat-B_Presence"
    assert topics.config("device_tracker", "zoe-s") == "homeassistant/device_tracker/Flat-B_Presence/zoe-s/config"
    assert topics.object_id("zoe-s") == "flat_b_presence_zoe_s"
    assert topics.object_id("count_home") == "flat_b_presence_count_home"


@pytest.mark.parametrize("component, object_id", [
    ("device_tracker", "nick"), ("device_tracker", "zoe-s"), ("sensor", "count_home"),
    ("binary_sensor", "anyone_home")])
def test_the_own_configs_subscription_matches_every_config_we_publish(component, object_id):
    topics = Topics(config(base_topic="flat/12/presence").mqtt)
    assert topic_matches_sub(topics.own_configs, topics.config(component, object_id))


@pytest.mark.parametrize("topic", [
    "homeassistant/device_tracker/other_node/nick/config",  # another daemon's, or another integration's
    "homeassistant/device_tracker/presence/nick/state",
    "ha/device_tracker/presence/nick/config",
    "presence/person/nick/state"])
def test_the_own_configs_subscription_matches_nothing_of_others(topic):
    assert not topic_matches_sub(Topics(config().mqtt).own_configs, topic)


def test_two_daemons_with_different_base_topics_never_share_an_entity_id():
    people = config().people
    upstairs, downstairs = (Topics(config(base_topic=base).mqtt) for base in ("upstairs", "downstairs"))
    assert not upstairs.entity_ids(people) & downstairs.entity_ids(people)
    assert len(upstairs.entity_ids(people)) == len(people) + 2


@pytest.mark.parametrize("entity, is_ours", [
    ("device_tracker.presence_nick", True), ("binary_sensor.presence_anyone_home", True),
    ("device_tracker.nick_phone", False), ("person.nick", False)])
def test_own_entities_mapped_to_a_person_are_found_from_the_config_alone(entity, is_ours):
    raw = make_config(mqtt={"host": "broker.lan"}, homeassistant={"url": "http://ha:8123"})
    raw["people"] = [{"name": "Nick", "homeassistant_entities": [entity]}]
    cfg = parse_config(raw)
    assert own_entities_mapped(cfg) == ([("people[0].homeassistant_entities[0]", entity)] if is_ours else [])
    ids, marker = own_output(cfg)
    assert (entity in ids) is is_ours and marker == "presence"


def test_each_own_entity_mapped_is_named_by_its_person_and_position():
    raw = make_config(mqtt={"host": "broker.lan", "base_topic": "home"}, homeassistant={"url": "http://ha:8123"})
    raw["people"] = [{"name": "Nick", "homeassistant_entities": ["person.nick"]},
                     {"name": "Susan", "homeassistant_entities": ["device_tracker.susan_phone",
                                                                  "device_tracker.home_nick",
                                                                  "binary_sensor.home_anyone_home"]}]
    assert own_entities_mapped(parse_config(raw)) == [
        ("people[1].homeassistant_entities[1]", "device_tracker.home_nick"),
        ("people[1].homeassistant_entities[2]", "binary_sensor.home_anyone_home")]


def test_own_output_is_every_entity_we_publish_and_the_base_topic_that_marks_them():
    cfg = config(base_topic="flat/12/presence")
    ids, marker = own_output(cfg)
    assert isinstance(ids, frozenset) and ids == Topics(cfg.mqtt).entity_ids(cfg.people)
    assert marker == "flat/12/presence"


def test_without_an_mqtt_section_nothing_is_ours():
    cfg = parse_config(make_config())
    assert own_output(cfg) is None and own_entities_mapped(cfg) == []
