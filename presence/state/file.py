"""Keep the state in state.json: plain data, written atomically, with a version field."""

import ipaddress
import json
import logging
import os
import re
import tempfile

from presence.config import defaults
from presence.config.model import shown_text
from presence.macs import normalise_mac
from presence.observations import EntityReading
from presence.state.model import DeviceRecord, PersonRecord, State

log = logging.getLogger(__name__)

_PERSON_KEY = re.compile(r"[a-z0-9_-]+")
_HOW = re.compile(r"[a-z0-9_-]{1,32}")
_ENTITY = re.compile(r"[a-z0-9_]+\.[a-z0-9_]+")


class StateFileError(ValueError):
    """The file is not a state this daemon wrote; the message names the field, never shows its content."""


# The temp file of a save in progress: `.state-XXXXXXXX.tmp` beside the state file (mkstemp's 8 characters).
TEMP_PREFIX, TEMP_SUFFIX = ".state-", ".tmp"
TEMP_NAME = re.compile(re.escape(TEMP_PREFIX) + r"[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX))


def load_state(path, now):
    """Read the state file; set an unusable one aside and start fresh rather than fail."""
    try:
        return state_from_dict(_read(path))
    except FileNotFoundError:
        log.info("No state file at %s yet; starting fresh", path)
        return State()
    except (OSError, ValueError, RecursionError) as error:
        why = _why(error)
        aside = f"{path}.corrupt-{int(now)}"
        try:
            os.replace(path, aside)
        except (OSError, ValueError) as move_error:
            log.warning("State file %s is unusable (%s) and could not be moved aside (%s); "
                        "starting fresh", path, why, getattr(move_error, "strerror", None) or move_error)
        else:
            log.warning("State file %s is unusable (%s); moved it to %s and starting fresh", path, why, aside)
        return State()


def peek_state(path):
    """Read the state file for a read-only command: any problem just means "nothing known"."""
    try:
        return state_from_dict(_read(path))
    except (OSError, ValueError, RecursionError):
        return State()


def _read(path):
    with open(path, "rb") as handle:
        data = handle.read(defaults.MAX_STATE_BYTES + 1)
    if len(data) > defaults.MAX_STATE_BYTES:
        raise StateFileError(f"larger than {defaults.MAX_STATE_BYTES // 1_000_000} MB")
    return json.loads(data.decode("utf-8"), parse_constant=_not_a_number)


def _not_a_number(name):
    raise StateFileError(f"has {name}, which is not a number this daemon writes")


def _why(error):
    """One short line on what is wrong, without the file's content."""
    if isinstance(error, RecursionError):
        return "nested too deep"
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text at byte {error.start}"
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    # Its own messages hold only bounded values; json's and Python's are short but not ours to trust.
    return str(error) if isinstance(error, StateFileError) else shown_text(error)


def save_state(path, state, now):
    """Write the state atomically: temp file in the same folder, fsync, rename."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            # Compact: every byte is rewritten at each save, on what is often an SD card.
            json.dump(state_to_dict(state, now), handle, separators=(",", ":"), sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def state_to_dict(state, now):
    """The JSON form of the state."""
    return {
        "version": defaults.STATE_VERSION,
        "saved_at": now,
        "devices": {mac: _device_dict(record) for mac, record in state.devices.items()},
        "people": {key: vars(record) for key, record in state.people.items()},
        "gaps": {mac: list(values) for mac, values in state.gaps.items()},
        "outages": {cidr: [list(span) for span in spans] for cidr, spans in state.outages.items() if spans},
        "watched": list(state.watched) if state.watched else None,
        "homeassistant": {
            "answered_at": state.ha_answered_at,
            "entities": {entity: {"state": r.state, "home": r.home, "at": r.at}
                         for entity, r in state.entities.items()},
        },
    }


def _device_dict(record):
    # An absent device has no open interval: its `present_since` is left out rather than written as null.
    fields = vars(record)
    if record.present_since is None:
        fields = dict(fields)
        del fields["present_since"]
    return fields


def state_from_dict(data):
    """Rebuild a State from its JSON form; raise StateFileError (a ValueError) naming the first bad field."""
    if not isinstance(data, dict) or type(data.get("version")) is not int or \
            data["version"] != defaults.STATE_VERSION:
        raise StateFileError(f"not a version {defaults.STATE_VERSION} state file")
    saved_at = _time(data.get("saved_at"), "saved_at", optional=True)
    devices = {mac: _device(record, f"devices[{mac!r}]")
               for mac, record in _keyed(data.get("devices"), "devices", normalise_mac, "a MAC address")}
    people = {key: _person(record, f"people[{key!r}]")
              for key, record in _keyed(data.get("people"), "people", _matching(_PERSON_KEY), "a person's key")}
    gaps = {mac: _gaps(values, f"gaps[{mac!r}]")
            for mac, values in _keyed(data.get("gaps"), "gaps", normalise_mac, "a MAC address", optional=True)}
    ha = _mapping(data.get("homeassistant"), "homeassistant", optional=True)
    entities = {entity: _reading(entity, reading, f"homeassistant.entities[{entity!r}]")
                for entity, reading in _keyed(ha.get("entities"), "homeassistant.entities", _matching(_ENTITY),
                                              "an entity id", optional=True)}
    outages = {cidr: _outages(spans, f"outages[{cidr!r}]")
               for cidr, spans in _keyed(data.get("outages"), "outages", _network, "a network", optional=True)}
    return State(devices=devices, people=people, entities=entities, gaps=gaps, outages=outages,
                 ha_answered_at=_time(ha.get("answered_at"), "homeassistant.answered_at", optional=True),
                 saved_at=saved_at, watched=_watched(data.get("watched")))


def _watched(value):
    """`[start, last]` of the current watch of the LAN, or null (also in files written before it was kept)."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise StateFileError("watched: not [start, last]")
    start, last = _time(value[0], "watched[0]"), _time(value[1], "watched[1]")
    if last < start:
        raise StateFileError("watched: ends before it starts")
    return start, last


def _network(key):
    try:
        return str(ipaddress.IPv4Network(key)) if isinstance(key, str) and len(key) <= 18 else None
    except ValueError:
        return None


def _outages(spans, where):
    """`[[start, end or null, reason], ...]`: a LAN's latest outages, oldest first."""
    if not isinstance(spans, list):
        raise StateFileError(f"{where}: not a list")
    checked = []
    for index, span in enumerate(spans[-defaults.OUTAGES_KEPT:]):
        if not isinstance(span, list) or len(span) != 3:
            raise StateFileError(f"{where}[{index}]: not [start, end, reason]")
        start = _time(span[0], f"{where}[{index}][0]")
        end = _time(span[1], f"{where}[{index}][1]", optional=True)
        if end is not None and end < start:
            raise StateFileError(f"{where}[{index}]: ends before it starts")
        checked.append((start, end, _text(span[2], f"{where}[{index}][2]", optional=True, printable=True,
                                          limit=defaults.MAX_STATE_SOURCE_TEXT)))
    return tuple(checked)


def _device(record, where):
    record = _mapping(record, where)
    ip = _field(record, "ip", where)
    if ip is not None:
        _text(ip, f"{where}.ip")
        try:
            ipaddress.IPv4Address(ip)
        except ValueError:
            raise StateFileError(f"{where}.ip: not an IPv4 address") from None
    return DeviceRecord(ip=ip, first_seen=_time(_field(record, "first_seen", where), f"{where}.first_seen"),
                        last_seen=_time(_field(record, "last_seen", where), f"{where}.last_seen"),
                        how=_text(record.get("how", "arp"), f"{where}.how", pattern=_HOW),
                        hostname=_text(record.get("hostname"), f"{where}.hostname", optional=True, printable=True),
                        # Absent from files written before the sources judged it: false until seen again.
                        personal=_flag(record.get("personal", False), f"{where}.personal"),
                        present_since=_time(record.get("present_since"), f"{where}.present_since", optional=True))


def _person(record, where):
    record = _mapping(record, where)
    is_home = _flag(_field(record, "is_home", where), f"{where}.is_home")
    return PersonRecord(is_home=is_home, since=_time(record.get("since"), f"{where}.since", optional=True),
                        last_seen=_time(record.get("last_seen"), f"{where}.last_seen", optional=True),
                        last_source=_text(record.get("last_source"), f"{where}.last_source", optional=True,
                                          limit=defaults.MAX_STATE_SOURCE_TEXT, printable=True),
                        ha_home=None if record.get("ha_home") is None else _flag(record["ha_home"], f"{where}.ha_home"),
                        ha_since=_time(record.get("ha_since"), f"{where}.ha_since", optional=True))


def _gaps(values, where):
    if not isinstance(values, list):
        raise StateFileError(f"{where}: not a list")
    return tuple(_time(value, f"{where}[{index}]") for index, value in enumerate(values))[-defaults.GAPS_KEPT:]


def _reading(entity, reading, where):
    reading = _mapping(reading, where)
    home = _field(reading, "home", where)
    if home is not None and not isinstance(home, bool):
        raise StateFileError(f"{where}.home: not true, false or null")
    return EntityReading(entity_id=entity, state=_text(_field(reading, "state", where), f"{where}.state"),
                         home=home, at=_time(_field(reading, "at", where), f"{where}.at"))


def _field(record, name, where):
    if name not in record:
        raise StateFileError(f"{where}: no {name!r}")
    return record[name]


def _keyed(value, where, checked, what, optional=False):
    """The (checked key, value) pairs of a mapping; a bad key is named by its position, not its text."""
    for index, (key, item) in enumerate(_mapping(value, where, optional).items()):
        good = checked(key)
        if good is None:
            raise StateFileError(f"{where}: key number {index + 1} is not {what}")
        yield good, item


def _matching(pattern):
    return lambda key: key if isinstance(key, str) and len(key) <= defaults.MAX_STATE_TEXT and \
        pattern.fullmatch(key) else None


def _mapping(value, where, optional=False):
    if value is None and optional:
        return {}
    if not isinstance(value, dict):
        raise StateFileError(f"{where}: not a mapping")
    return value


def _flag(value, where):
    if not isinstance(value, bool):
        raise StateFileError(f"{where}: not true or false")
    return value


def _time(value, where, optional=False):
    """Epoch seconds (or a span of them): a finite number from 0 to the year 2100."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StateFileError(f"{where}: not a number")
    if not 0 <= value <= defaults.MAX_STATE_TIME:  # also false for NaN; no float() of a huge int either
        raise StateFileError(f"{where}: not a time from 1970 to 2100")
    return float(value)


def _text(value, where, optional=False, limit=defaults.MAX_STATE_TEXT, pattern=None, printable=False):
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > limit:
        raise StateFileError(f"{where}: not a string of 1 to {limit} characters")
    if (pattern and not pattern.fullmatch(value)) or (printable and not value.isprintable()):
        raise StateFileError(f"{where}: has characters this daemon never writes there")
    return value
