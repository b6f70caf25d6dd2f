"""People's devices that seem to be gone for good: unseen for `wifi.vanished_after` while another source
said their person was home since (a phone's new private address, or a new phone). Pure."""

from dataclasses import dataclass

from presence.state.model import PersonRecord


@dataclass(frozen=True)
class Vanished:
    """A person's device that seems gone, for how long, and who saw the person home meanwhile."""

    key: str
    name: str
    mac: str
    unseen_for: float
    by: str  # the other source that saw the person home: "Home Assistant" or another device's MAC


def vanished_devices(state, config, now):
    """Each mapped device unseen for `wifi.vanished_after` whose person another source saw home after the
    device's grace ran out; a device never seen is not one (it may be a new mapping)."""
    found = []
    for person in config.people:
        record = state.people.get(person.key, PersonRecord())
        for mac in person.macs:
            device = state.devices.get(mac)
            if device is None or now - device.last_seen < config.wifi.vanished_after:
                continue
            gone_at = device.last_seen + person.offline_grace
            by = _home_since(state, person, record, mac, gone_at)
            if by:
                found.append(Vanished(person.key, person.name, mac, now - device.last_seen, by))
    return found


def _home_since(state, person, record, mac, gone_at):
    said_home = (record.last_source or "").startswith("homeassistant") and (record.last_seen or 0) > gone_at
    if record.ha_home or said_home:
        return "Home Assistant"
    others = [other for other in person.macs
              if other != mac and other in state.devices and state.devices[other].last_seen > gone_at]
    return others[0] if others else None


def describe(item):
    """One vanished device as a line of `check` and of the warning."""
    days = item.unseen_for / 86400
    unseen = f"{days:.0f} days" if days >= 1.5 else f"{item.unseen_for / 3600:.0f} h" \
        if item.unseen_for >= 5400 else f"{item.unseen_for:.0f} s"
    return f"{item.key}: {item.mac} not seen for {unseen} while {item.name} was home ({item.by})"
