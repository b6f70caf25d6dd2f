"""The `people` section: each person's metric key, devices and Home Assistant entities."""

import re
import unicodedata

from presence.config import defaults
from presence.config.model import Person, shown
from presence.config.checker import describe
from presence.config.sections import grace_covers_a_scan

_PERSON_KEYS = {"name", "key", "macs", "homeassistant_entities", "offline_grace"}
_ENTITY = re.compile(r"(person|device_tracker|binary_sensor|input_boolean)\.[a-z0-9_]+")
_PERSON_KEY = re.compile(r"[a-z0-9_-]+")
# Cyrillic (Russian, Ukrainian, Belarusian, Serbian, Macedonian) and Greek letters in Latin ones,
# for names that have no Latin letters at all. Accented letters fall back to their base letter.
_TRANSLITERATION = {
    **dict(zip("абвгдезийклмнопрстуфыэ", "abvgdeziyklmnoprstufye", strict=True)),
    "ё": "e", "ж": "zh", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ь": "",
    "ю": "yu", "я": "ya", "є": "ye", "і": "i", "ї": "yi", "ґ": "g", "ў": "u", "ђ": "dj", "ј": "j",
    "љ": "lj", "њ": "nj", "ћ": "c", "џ": "dz", "ѓ": "gj", "ќ": "kj", "ѕ": "dz",
    **dict(zip("αβγδεζηικλμνξοπρσςτυφω", "avgdeziiklmnxoprsstyfo", strict=True)),
    "θ": "th", "χ": "ch", "ψ": "ps",
}


def person_key(name):
    """Turn a display name into a Graphite-safe metric key (`Zoë Smith` -> `zoe_smith`, `Ник` -> `nik`)."""
    if not isinstance(name, str):
        return ""
    key = _ascii_key(name)
    # Transliterate only names that give no key otherwise: a key once derived must never change.
    return key or _ascii_key("".join(_transliterated(char) for char in unicodedata.normalize("NFC", name.lower())))


def _ascii_key(text):
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9_-]+", "_", ascii_text.lower()).strip("_-")


def _transliterated(char):
    if char in _TRANSLITERATION:
        return _TRANSLITERATION[char]
    return _TRANSLITERATION.get(unicodedata.normalize("NFD", char)[0], char)


def people_section(check, raw, wifi, homeassistant, ignore):
    """The `people:` list checked: ([Person], {mac: its Person}), every MAC owned by one person only."""
    people, owner, seen_keys, mac_paths = [], {}, {}, {}
    for index, item in enumerate(check.sequence(raw, "people") if raw is not None else []):
        path = f"people[{index}]"
        if not isinstance(item, dict):
            check.fail(path, f"must be a mapping with at least 'name', not {describe(item)}")
            continue
        check.unknown_keys(item, _PERSON_KEYS, path)
        name = check.string(item.get("name"), f"{path}.name", what="a name")
        key = _person_key(check, item, path, name, seen_keys)
        macs = _person_macs(check, item, path, mac_paths, ignore)
        entities = _person_entities(check, item, path, homeassistant)
        grace = item.get("offline_grace")
        if grace is not None:
            grace = check.number(grace, f"{path}.offline_grace", 0, defaults.MAX_OFFLINE_GRACE, unit=" s")
            grace_covers_a_scan(check, grace, wifi.scan_interval, f"{path}.offline_grace")
        if name and key:
            person = Person(name=name, key=key, macs=tuple(macs), homeassistant_entities=tuple(entities),
                            offline_grace=wifi.offline_grace if grace is None else grace)
            people.append(person)
            owner.update({mac: person for mac in macs})
    return people, owner


def _person_key(check, item, path, name, seen_keys):
    """The metric key: `key` when set, else derived from the name; unique and not reserved."""
    by_key, key = item.get("key") is not None, None
    if by_key:
        where = f"{path}.key"
        key = check.string(item["key"], where, _PERSON_KEY, "a metric key made of a-z, 0-9, _ and -")
    elif name:
        where, key = f"{path}.name", person_key(name)
        if not key:
            check.fail(where, f"{shown(name)} leaves no letters or digits for the metric key: set {path}.key "
                              "(a-z, 0-9, _ and -), e.g. key: mum")
    if not key:
        return None
    gives = f"{key!r} is" if by_key else f"{shown(name)} gives the metric key {key!r},"
    if key in defaults.RESERVED_PERSON_KEYS:
        check.fail(where, f"{gives} {'a reserved metric key' if by_key else 'which is reserved'}")
    elif key in seen_keys:
        check.fail(where, f"{gives} already the metric key of {seen_keys[key]}" if by_key
                   else f"{gives} as {seen_keys[key]} does")
    else:
        seen_keys[key] = where
    return key


def _person_macs(check, item, path, mac_paths, ignore):
    macs = []
    for mac_index, value in enumerate(check.sequence(item.get("macs", []), f"{path}.macs")):
        mac_path = f"{path}.macs[{mac_index}]"
        mac = check.mac(value, mac_path)
        if mac is None:
            continue
        if mac in mac_paths:
            check.fail(mac_path, f"{mac} is already listed at {mac_paths[mac]}")
        elif mac in ignore:
            check.fail(mac_path, f"{mac} is also in ignore_macs")
        else:
            mac_paths[mac] = mac_path
            macs.append(mac)
    return macs


def _person_entities(check, item, path, homeassistant):
    entities = []
    raw_entities = check.sequence(item.get("homeassistant_entities", []), f"{path}.homeassistant_entities")
    if raw_entities and homeassistant is None:
        check.fail(f"{path}.homeassistant_entities", "set, but there is no 'homeassistant' section")
    for entity_index, value in enumerate(raw_entities):
        entity = check.string(value, f"{path}.homeassistant_entities[{entity_index}]", _ENTITY,
                              "an entity id of person.*, device_tracker.*, binary_sensor.* or input_boolean.*")
        if entity:
            entities.append(entity)
    return entities
