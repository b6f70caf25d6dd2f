"""What the daemon tells Home Assistant over MQTT: discovery configs and states, as pure data.

Each person is a `device_tracker`, the household a `sensor` (how many are home) and a `binary_sensor`
(anyone home); all under one device, all unavailable while the daemon's availability topic says offline.
"""

import datetime
import json
from dataclasses import dataclass

from presence.outputs.mqtt.topics import OWN_MARKER

ONLINE, OFFLINE = "online", "offline"
HOME, NOT_HOME = "home", "not_home"


@dataclass(frozen=True)
class Message:
    """One MQTT message: retained unless said (an empty payload removes what a topic holds)."""

    topic: str
    payload: str
    retain: bool = True


def discovery_messages(topics, people):
    """One retained discovery config per entity, and the attributes that mark the household's two."""
    device = {"identifiers": [topics.node], "name": "Presence", "manufacturer": "presence",
              "model": "presence_to_graphite"}
    common = {"availability_topic": topics.availability, "payload_available": ONLINE,
              "payload_not_available": OFFLINE, "device": device}
    messages = []
    for person in people:
        object_id = topics.object_id(person.key)
        messages.append(_config(topics.config("device_tracker", person.key), common, {
            "name": person.name, "unique_id": object_id, "object_id": object_id,
            "state_topic": topics.person_state(person.key), "payload_home": HOME, "payload_not_home": NOT_HOME,
            "source_type": "router", "json_attributes_topic": topics.person_attributes(person.key),
            "icon": "mdi:account"}))
    count_id, anyone_id = topics.object_id("count_home"), topics.object_id("anyone_home")
    messages.append(_config(topics.config("sensor", "count_home"), common, {
        "name": "People home", "unique_id": count_id, "object_id": count_id, "state_topic": topics.count_home,
        "state_class": "measurement", "unit_of_measurement": "people", "icon": "mdi:account-group",
        "json_attributes_topic": topics.household_attributes}))
    messages.append(_config(topics.config("binary_sensor", "anyone_home"), common, {
        "name": "Anyone home", "unique_id": anyone_id, "object_id": anyone_id, "state_topic": topics.anyone_home,
        "device_class": "occupancy", "payload_on": "ON", "payload_off": "OFF",
        "json_attributes_topic": topics.household_attributes}))
    messages.append(Message(topics.household_attributes, _json({OWN_MARKER: topics.base})))
    return messages


def removal_messages(topics, config_topic):
    """Empty retained payloads that remove an entity we no longer publish, and its retained state."""
    parts = config_topic.split("/")
    messages = [Message(config_topic, "")]
    if len(parts) >= 4 and parts[-4] == "device_tracker":
        key = parts[-2]
        messages += [Message(topics.person_state(key), ""), Message(topics.person_attributes(key), "")]
    return messages


def state_messages(topics, snapshot, state, config):
    """The retained state of every entity in `snapshot`: each person's, then the household's."""
    messages = []
    for person in snapshot.people:
        record = state.people.get(person.key)
        attributes = {"sources": [name for name, says in (("wifi", person.from_wifi),
                                                          ("homeassistant", person.from_homeassistant)) if says],
                      "devices_present": person.devices_present,
                      "since": _iso(record.since) if record and record.since else None,
                      **_last_seen_device(state, config, person.key), OWN_MARKER: topics.base}
        messages += [Message(topics.person_state(person.key), HOME if person.is_home else NOT_HOME),
                     Message(topics.person_attributes(person.key), _json(attributes))]
    messages += [Message(topics.count_home, str(snapshot.count_home)),
                 Message(topics.anyone_home, "ON" if snapshot.anyone_home else "OFF")]
    return messages


def _last_seen_device(state, config, key):
    """Of the person's present devices the latest to arrive, else the one seen last: changes at arrivals and
    departures, not at every sweep (each change is a row in Home Assistant's recorder)."""
    devices = [(mac, state.devices[mac]) for mac, owner in config.mac_owner.items()
               if owner.key == key and mac in state.devices]
    present = [(record.present_since, mac, record) for mac, record in devices if record.present_since is not None]
    if present:
        _, mac, record = max(present)
    elif devices:
        mac, record = max(devices, key=lambda item: (item[1].last_seen, item[0]))
    else:
        return {"last_seen_device": None, "last_seen_device_name": None}
    return {"last_seen_device": mac, "last_seen_device_name": record.hostname}


def _config(topic, common, fields):
    return Message(topic, _json({**fields, **common}))


def _json(value):
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _iso(at):
    return datetime.datetime.fromtimestamp(at, datetime.timezone.utc).isoformat(timespec="seconds")
