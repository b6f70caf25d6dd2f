"""The names the `mqtt:` section gives: topics, the discovery node, and the entity ids Home Assistant makes."""

import re

# Every entity we publish carries this attribute, set to our base topic: a Home Assistant entity with it
# is our own output, never evidence (the loop guard, presence.sources.homeassistant).
OWN_MARKER = "presence_topic"


class Topics:
    """The topics and ids of one `mqtt:` section."""

    def __init__(self, mqtt):
        self.base = mqtt.base_topic
        self.prefix = mqtt.discovery_prefix
        # The discovery node id and the root of every unique_id and entity id: the base topic, flattened.
        self.node = re.sub(r"[^A-Za-z0-9_-]", "_", mqtt.base_topic)
        self.availability = f"{self.base}/status"
        self.birth = f"{self.prefix}/status"
        self.count_home = f"{self.base}/count_home"
        self.anyone_home = f"{self.base}/anyone_home"
        self.household_attributes = f"{self.base}/attributes"
        self.own_configs = f"{self.prefix}/+/{self.node}/+/config"

    def person_state(self, key):
        """Where a person's `home` / `not_home` goes."""
        return f"{self.base}/person/{key}/state"

    def person_attributes(self, key):
        """Where a person's attributes (sources, devices present) go."""
        return f"{self.base}/person/{key}/attributes"

    def config(self, component, object_id):
        """The discovery config topic of one entity."""
        return f"{self.prefix}/{component}/{self.node}/{object_id}/config"

    def object_id(self, name):
        """The entity id's part after the domain (`presence_nick`), as Home Assistant makes it."""
        return f"{self.node}_{name}".lower().replace("-", "_")

    def entity_ids(self, people):
        """The entity ids Home Assistant gives what we publish (unless someone renames them there)."""
        return ({f"device_tracker.{self.object_id(person.key)}" for person in people}
                | {f"sensor.{self.object_id('count_home')}", f"binary_sensor.{self.object_id('anyone_home')}"})


def own_entities_mapped(config):
    """[(key path, entity id)] of people's homeassistant_entities that are entities we publish ourselves."""
    if config.mqtt is None:
        return []
    own = Topics(config.mqtt).entity_ids(config.people)
    return [(f"people[{index}].homeassistant_entities[{position}]", entity)
            for index, person in enumerate(config.people)
            for position, entity in enumerate(person.homeassistant_entities) if entity in own]


def own_output(config):
    """(entity ids, base topic) of what this daemon publishes over MQTT, for the loop guard; None without."""
    if config.mqtt is None:
        return None
    topics = Topics(config.mqtt)
    return frozenset(topics.entity_ids(config.people)), topics.base
