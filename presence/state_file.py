"""Keep the state in state.json: plain data, written atomically, with a version field."""

import json
import logging
import os
import tempfile

from presence import defaults
from presence.observations import EntityReading
from presence.state import DeviceRecord, PersonRecord, State

log = logging.getLogger(__name__)


def load_state(path, now):
    """Read the state file; set a corrupt one aside and start fresh rather than fail."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        return state_from_dict(data)
    except FileNotFoundError:
        log.info("No state file at %s yet; starting fresh", path)
        return State()
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        aside = f"{path}.corrupt-{int(now)}"
        try:
            os.replace(path, aside)
        except OSError as move_error:
            log.warning("State file %s is unusable (%s) and could not be moved aside (%s); "
                        "starting fresh", path, error, move_error.strerror)
        else:
            log.warning("State file %s is unusable (%s); moved it to %s and starting fresh",
                        path, error, aside)
        return State()


def peek_state(path):
    """Read the state file for a read-only command: any problem just means "nothing known"."""
    try:
        with open(path, encoding="utf-8") as handle:
            return state_from_dict(json.load(handle))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return State()


def save_state(path, state, now):
    """Write the state atomically: temp file in the same folder, fsync, rename."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".state-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state_to_dict(state, now), handle, indent=1, sort_keys=True)
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
        "devices": {mac: vars(record) for mac, record in state.devices.items()},
        "people": {key: vars(record) for key, record in state.people.items()},
        "gaps": {mac: list(values) for mac, values in state.gaps.items()},
        "homeassistant": {
            "answered_at": state.ha_answered_at,
            "entities": {entity: {"state": r.state, "home": r.home, "at": r.at}
                         for entity, r in state.entities.items()},
        },
    }


def state_from_dict(data):
    """Rebuild a State from its JSON form; raise ValueError when it is not one."""
    if not isinstance(data, dict) or data.get("version") != defaults.STATE_VERSION:
        raise ValueError(f"not a version {defaults.STATE_VERSION} state file")
    devices = {mac: DeviceRecord(ip=d["ip"], first_seen=float(d["first_seen"]),
                                 last_seen=float(d["last_seen"]), how=d.get("how", "arp"),
                                 hostname=d.get("hostname"))
               for mac, d in data["devices"].items()}
    gaps = {mac: tuple(float(gap) for gap in values) for mac, values in (data.get("gaps") or {}).items()}
    people = {key: PersonRecord(is_home=bool(p["is_home"]), since=p.get("since"),
                                last_seen=p.get("last_seen"), last_source=p.get("last_source"))
              for key, p in data["people"].items()}
    ha = data.get("homeassistant") or {}
    entities = {entity: EntityReading(entity_id=entity, state=e["state"], home=e["home"], at=float(e["at"]))
                for entity, e in (ha.get("entities") or {}).items()}
    return State(devices=devices, people=people, entities=entities, ha_answered_at=ha.get("answered_at"),
                 gaps=gaps)
