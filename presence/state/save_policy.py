"""When the state file is worth writing: at once for what a restart must not lose, else at an interval.

Pure: the loop hands in the state as last written, the state now and `now`. An SD card is worn by every
rewrite, and most ticks change only "last seen" times; those wait for `state_save_interval`, unless the file
on disk would let a person who is home run out of grace sooner than the memory does (within
STATE_RESTART_MARGIN): then a crash and restart would invent a departure, so the file is written now.
"""

import math

from presence.config import defaults


def save_reason(saved, state, config, now, last_saved):
    """Why the state should be written at `now` (a short text), or None while the file on disk will do.

    `saved`: the state as last written (None: never in this run); `last_saved`: when (epoch seconds)."""
    if saved is None:
        return "first save"
    if _identity(saved) != _identity(state):
        return "a person or a device changed"
    if _runs_out_sooner(saved, state, config, now):
        return "the file would let a person's grace run out"
    if now - last_saved >= config.state_save_interval and _changed(saved, state):
        return "interval"
    return None


def _identity(state):
    """What a restart must find as it was: who is home since when, which devices with which address."""
    people = {key: (r.is_home, r.since, r.ha_home, r.ha_since) for key, r in state.people.items()}
    devices = {mac: (d.ip, d.hostname, d.personal, d.first_seen, d.present_since) for mac, d in state.devices.items()}
    entities = {entity: (r.state, r.home) for entity, r in state.entities.items()}
    return people, devices, entities, state.outages, state.watched[0] if state.watched else None


def _runs_out_sooner(saved, state, config, now):
    horizon = now + defaults.STATE_RESTART_MARGIN
    for person in config.people:
        record = state.people.get(person.key)
        if record is None or not record.is_home:
            continue
        on_disk = _evidence_until(saved, person, config)
        if on_disk <= horizon and on_disk < _evidence_until(state, person, config):
            return True
    return False


def _evidence_until(state, person, config):
    """Until when the state alone keeps `person` home (outage pauses aside: they only make it later)."""
    until = -math.inf
    for mac in person.macs:
        device = state.devices.get(mac)
        if device is not None:
            until = max(until, device.last_seen + person.offline_grace)
    if config.homeassistant is not None:
        for entity in person.homeassistant_entities:
            reading = state.entities.get(entity)
            if reading is not None and reading.home:
                until = max(until, reading.at + config.homeassistant.max_age)
    return until


def _changed(saved, state):
    return (saved.devices, saved.people, saved.entities, saved.gaps, saved.outages, saved.watched,
            saved.ha_answered_at) != (state.devices, state.people, state.entities, state.gaps, state.outages,
                                      state.watched, state.ha_answered_at)
