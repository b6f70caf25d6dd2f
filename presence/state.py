"""The pure state machine: reports in, presence out. No clock, no I/O: `now` is an argument."""

from dataclasses import dataclass, field, replace

from presence import defaults
from presence.vendors import looks_personal


@dataclass(frozen=True)
class DeviceRecord:
    ip: str
    first_seen: float
    last_seen: float
    how: str = "arp"
    hostname: str = None


@dataclass(frozen=True)
class PersonRecord:
    is_home: bool = False
    since: float = None
    last_seen: float = None
    last_source: str = None


@dataclass(frozen=True)
class State:
    devices: dict = field(default_factory=dict)
    people: dict = field(default_factory=dict)
    entities: dict = field(default_factory=dict)
    ha_answered_at: float = None
    # Per mapped MAC, the latest silences (seconds between fresh sightings while its person was home).
    gaps: dict = field(default_factory=dict)
    # Runtime only (not saved): used to log each source's failure once per change.
    source_ok: dict = field(default_factory=dict)
    ha_fresh: bool = None


@dataclass(frozen=True)
class Event:
    level: str
    message: str


@dataclass(frozen=True)
class Transition:
    key: str
    is_home: bool
    at: float
    reason: str

    @property
    def message(self):
        change = "away -> home" if self.is_home else "home -> away"
        return f"{self.key}: {change} ({self.reason})"


@dataclass(frozen=True)
class PersonStatus:
    key: str
    is_home: bool
    from_wifi: bool
    from_homeassistant: bool
    devices_present: int
    seconds_since_seen: float = None


@dataclass(frozen=True)
class Snapshot:
    at: float
    people: tuple
    devices_present_count: int
    guest_devices: int = None

    @property
    def count_home(self):
        return sum(1 for person in self.people if person.is_home)

    @property
    def anyone_home(self):
        return self.count_home > 0


def ingest(state, report, config):
    """Fold one source report into the state; return the new state and log events."""
    events = list(_health_events(state, report))
    state = replace(state, source_ok={**state.source_ok, report.source: report.ok})
    if not report.ok:
        return state, events
    if report.sightings:
        state = replace(state, gaps=_record_gaps(state, report.sightings, config),
                        devices=_record_sightings(state.devices, report.sightings, config))
    if report.source == "homeassistant":
        events += _no_evidence_events(state.entities, report.readings)
        entities = {**state.entities, **{reading.entity_id: reading for reading in report.readings}}
        state = replace(state, entities=entities, ha_answered_at=report.at)
    return state, events


def evaluate(state, config, now):
    """Decide who is home at `now`; return the new state, a snapshot, transitions and events."""
    statuses, people, transitions = [], dict(state.people), []
    for person in config.people:
        status, record, transition = _evaluate_person(state, person, config, now)
        statuses.append(status)
        people[person.key] = record
        if transition:
            transitions.append(transition)
    present = [mac for mac, device in state.devices.items()
               if mac not in config.ignore_macs and now < device.last_seen + config.grace_for(mac)]
    guests = None
    if config.metrics.guest_devices:
        guests = sum(1 for mac in present if mac not in config.mac_owner and looks_personal(mac))
    snapshot = Snapshot(at=now, people=tuple(statuses), devices_present_count=len(present), guest_devices=guests)
    devices = {mac: device for mac, device in state.devices.items()
               if mac in config.mac_owner or now - device.last_seen < defaults.FORGET_UNKNOWN_AFTER}
    events, ha_fresh = _freshness_events(state, config, now)
    new_state = replace(state, people=people, devices=devices, ha_fresh=ha_fresh)
    return new_state, snapshot, transitions, events


def _evaluate_person(state, person, config, now):
    present = [(state.devices[mac].last_seen, mac) for mac in person.macs
               if mac in state.devices and now < state.devices[mac].last_seen + person.offline_grace]
    ha_home = []
    if config.homeassistant:
        max_age = config.homeassistant.max_age
        ha_home = [(reading.at, entity) for entity in person.homeassistant_entities
                   if (reading := state.entities.get(entity)) and reading.home
                   and now < reading.at + max_age]
    since_seen = None
    if config.metrics.seconds_since_seen:
        seen = [state.devices[mac].last_seen for mac in person.macs if mac in state.devices]
        since_seen = max(0.0, now - max(seen)) if seen else None
    status = PersonStatus(key=person.key, is_home=bool(present or ha_home), from_wifi=bool(present),
                          from_homeassistant=bool(ha_home), devices_present=len(present),
                          seconds_since_seen=since_seen)
    record = state.people.get(person.key, PersonRecord())
    evidence = [(at, f"wifi {mac}") for at, mac in present] + \
               [(at, f"homeassistant {entity}") for at, entity in ha_home]
    if evidence:
        last_seen, last_source = max(evidence)
        record = replace(record, last_seen=last_seen, last_source=last_source)
    transition = None
    if status.is_home != record.is_home:
        reason = record.last_source if status.is_home else _departure_reason(record, person, now)
        transition = Transition(key=person.key, is_home=status.is_home, at=now, reason=reason)
        record = replace(record, is_home=status.is_home, since=now)
    return status, record, transition


def _departure_reason(record, person, now):
    if record.last_seen is None:
        return "no evidence"
    return (f"last seen {now - record.last_seen:.0f} s ago by {record.last_source}; "
            f"grace {person.offline_grace:.0f} s")


def _record_sightings(devices, sightings, config):
    devices = dict(devices)
    for sighting in sightings:
        if sighting.mac in config.ignore_macs:
            continue
        old = devices.get(sighting.mac)
        if old and old.last_seen > sighting.at:
            continue
        devices[sighting.mac] = DeviceRecord(
            ip=sighting.ip or (old.ip if old else None), first_seen=old.first_seen if old else sighting.at,
            last_seen=sighting.at, how=sighting.how,
            hostname=sighting.hostname or (old.hostname if old else None))
    return devices


def _record_gaps(state, sightings, config):
    gaps = state.gaps
    for sighting in sightings:
        owner, old = config.mac_owner.get(sighting.mac), state.devices.get(sighting.mac)
        if not owner or not old or not state.people.get(owner.key, PersonRecord()).is_home:
            continue
        gap = sighting.at - old.last_seen
        if gap >= defaults.MIN_GAP:
            kept = gaps.get(sighting.mac, ())[-(defaults.GAPS_KEPT - 1):]
            gaps = {**gaps, sighting.mac: kept + (round(gap, 1),)}
    return gaps


def _health_events(state, report):
    previous = state.source_ok.get(report.source)
    if not report.ok and previous is not False:
        yield Event("warning", f"{report.source}: {report.error}; keeping its last answers "
                               "until they age out")
    elif report.ok and previous is False:
        yield Event("info", f"{report.source}: working again")


def _no_evidence_events(entities, readings):
    for reading in readings:
        old = entities.get(reading.entity_id)
        if reading.home is None and (old is None or old.state != reading.state):
            yield Event("warning", f"homeassistant: {reading.entity_id} is {reading.state}; "
                                   "it neither sets nor clears its person")


def _freshness_events(state, config, now):
    if config.homeassistant is None or state.ha_answered_at is None:
        return [], None
    fresh = now < state.ha_answered_at + config.homeassistant.max_age
    if state.ha_fresh is True and not fresh:
        return [Event("warning", f"homeassistant: no successful poll for "
                                 f"{now - state.ha_answered_at:.0f} s; its answers count as unknown "
                                 "until it answers again")], fresh
    return [], fresh
