"""The pure state machine: reports in, presence out. No clock, no I/O: `now` is an argument."""

import ipaddress
from dataclasses import replace
from functools import lru_cache

from presence.config import defaults
from presence.state.intervals import close_absent, continued, track_ha, track_watched
from presence.state.model import DeviceRecord, Event, PersonRecord, PersonStatus, Snapshot, Transition


# The source whose reports are whole sweeps of the LAN (the passive listener's are single frames).
WIFI_SWEEP = "wifi"


def ingest(state, report, config):
    """Fold one source report into the state; return the new state and log events."""
    events = list(_health_events(state, report))
    first = report.source not in state.source_ok
    state = replace(state, source_ok={**state.source_ok, report.source: report.ok})
    if report.source == WIFI_SWEEP:
        state, lan_events = _record_lan_health(state, report, config, first)
        events += lan_events
        if report.ok and (not report.networks or any(network.up for network in report.networks)):
            watched, closed = track_watched(state.watched, report.at, config.wifi.offline_grace)
            state = replace(state, watched=watched, history_out=state.history_out + ((closed,) if closed else ()))
    if not report.ok:
        return state, events
    if report.sightings:
        state = replace(state, gaps=_record_gaps(state, report.sightings, config))
        state, bound_events = _record_sightings(state, report.sightings, config, swept=report.source == WIFI_SWEEP)
        events += bound_events
    if report.source == "homeassistant":
        events += _no_evidence_events(state.entities, report.readings)
        # A late reading (an old poll that ended after a newer one) never overwrites a newer one.
        entities = {**state.entities, **{reading.entity_id: reading for reading in report.readings
                                         if reading.entity_id not in state.entities
                                         or state.entities[reading.entity_id].at <= reading.at}}
        state = replace(state, entities=entities, ha_answered_at=max(report.at, state.ha_answered_at or report.at))
    return state, events


def evaluate(state, config, now):
    """Decide who is home at `now`; return the new state, a snapshot, transitions and events."""
    statuses, people, transitions, closed = [], dict(state.people), [], []
    for person in config.people:
        status, record, transition, ha_closed = _evaluate_person(state, person, config, now)
        statuses.append(status)
        people[person.key] = record
        closed += [ha_closed] if ha_closed else []
        if transition:
            transitions.append(transition)
    present = [mac for mac, device in state.devices.items()
               if mac not in config.ignore_macs and _present(state, config, device, config.grace_for(mac), now)]
    guests = None
    if config.metrics.guest_devices:
        guests = sum(1 for mac in present if mac not in config.mac_owner and state.devices[mac].personal)
    snapshot = Snapshot(at=now, people=tuple(statuses), devices_present_count=len(present), guest_devices=guests)
    present_now = set(present)  # ignored MACs are never recorded, so this is every device's presence
    devices, gone = close_absent(state.devices, lambda mac, device: mac in present_now)
    devices = {mac: device for mac, device in devices.items()
               if mac in config.mac_owner or now - device.last_seen < defaults.FORGET_UNKNOWN_AFTER}
    events, ha_fresh = _freshness_events(state, config, now)
    new_state = replace(state, people=people, devices=devices, ha_fresh=ha_fresh,
                        history_out=state.history_out + tuple(closed + gone))
    return new_state, snapshot, transitions, events


def _evaluate_person(state, person, config, now):
    present = [(state.devices[mac].last_seen, mac) for mac in person.macs
               if mac in state.devices and _present(state, config, state.devices[mac], person.offline_grace, now)]
    fresh = {}
    if config.homeassistant:
        max_age = config.homeassistant.max_age
        fresh = {entity: reading for entity in person.homeassistant_entities
                 if (reading := state.entities.get(entity)) and reading.home is not None
                 and now < reading.at + max_age}
    ha_home = [(reading.at, entity) for entity, reading in fresh.items() if reading.home]
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
    # Home Assistant's answer for the history: home, not home, or no fresh evidence at all (None).
    record, ha_closed = track_ha(person.key, record, bool(ha_home) if fresh else None, now)
    return status, record, transition, ha_closed


def reprobe_targets(state, config):
    """`{mac: last ip or None}` of the devices worth a unicast re-probe: those of people still home
    (within their grace included), and of people not decided yet (a fresh state, a person just added: a
    dozing phone at home is not heard joining). An absent person's phone needs none: joining, it is heard."""
    return {mac: (state.devices[mac].ip if mac in state.devices else None)
            for person in config.people if person.key not in state.people or state.people[person.key].is_home
            for mac in person.macs}


def lan_outages_now(state):
    """`{cidr: (since, reason)}` of the swept networks that cannot be reached now."""
    return {cidr: (spans[-1][0], spans[-1][2]) for cidr, spans in state.outages.items()
            if spans and spans[-1][1] is None}


def _present(state, config, device, grace, now):
    if now < device.last_seen + grace:
        return True
    spans = state.outages.get(_network_of(device.ip, config.network.cidrs)) if state.outages else None
    if not spans:
        return False
    paused = sum(max(0.0, min(now if end is None else end, now) - max(start, device.last_seen))
                 for start, end, _reason in spans)
    return now < device.last_seen + grace + paused


@lru_cache(maxsize=4096)
def _network_of(ip, networks):
    if ip is None:
        return str(networks[0]) if len(networks) == 1 else None
    try:
        address = ipaddress.IPv4Address(ip)
    except ValueError:
        return None
    return next((str(network) for network in networks if address in network), None)


def _record_lan_health(state, report, config, first):
    """Open or close each network's outage from a sweep (a failed sweep: every network).

    When the first sweep after a start finds a LAN unreachable, the outage is taken to have begun when
    the state was last saved: the daemon's own downtime (a power cut of everything) is no evidence either."""
    health = {item.cidr: (item.up, item.reason) for item in report.networks}
    if report.ok and not report.networks:  # a source that cannot tell (the neighbour table): reachable
        health = {str(network): (True, None) for network in config.network.cidrs}
    if not report.ok:
        health = {str(network): (False, f"the sweep failed: {report.error}") for network in config.network.cidrs}
    outages, events = dict(state.outages), []
    for cidr, (up, reason) in health.items():
        spans = list(outages.get(cidr, ()))
        ongoing = bool(spans) and spans[-1][1] is None
        if not up and not ongoing:
            start = min(report.at, state.saved_at) if first and state.saved_at else report.at
            spans.append((start, None, reason))
            if report.ok:  # a failed sweep is logged as a source failure already
                events.append(Event("warning", f"wifi: the LAN {cidr} cannot be reached ({reason}); holding the "
                                           "presence of its devices until it answers again"))
        elif up and ongoing:
            start, _, _ = spans[-1]
            spans[-1] = (start, report.at, spans[-1][2])
            events.append(Event("info", f"wifi: the LAN {cidr} answers again after {report.at - start:.0f} s; "
                                        "grace periods run on from now"))
        elif not up and ongoing and first and state.saved_at:
            # Restarted during an outage: the time the daemon was down is part of it.
            spans[-1] = (min(spans[-1][0], state.saved_at), None, reason)
        outages[cidr] = tuple(spans[-defaults.OUTAGES_KEPT:])
    return replace(state, outages=outages), events


def _departure_reason(record, person, now):
    if record.last_seen is None:
        return "no evidence"
    return (f"last seen {now - record.last_seen:.0f} s ago by {record.last_source}; "
            f"grace {person.offline_grace:.0f} s")


def _record_sightings(state, sightings, config, swept):
    """Known and people's devices are updated; a new unknown device counts once a sweep sees it."""
    devices, heard, events, closed = dict(state.devices), dict(state.heard), [], []
    for sighting in sightings:
        mac = sighting.mac
        if mac in config.ignore_macs:
            continue
        if mac not in devices and mac not in config.mac_owner and not swept:
            heard.pop(mac, None)
            heard[mac] = _updated(heard.get(mac), sighting)
            continue
        old = devices.get(mac) or heard.pop(mac, None)
        if old and old.last_seen > sighting.at:
            devices.setdefault(mac, old)
            continue
        was_present = old is not None and _present(state, config, old, config.grace_for(mac), sighting.at)
        devices[mac], ended = continued(mac, old, _updated(old, sighting), was_present)
        closed += [ended] if ended else []
    while len(heard) > defaults.MAX_HEARD_DEVICES:
        heard.pop(next(iter(heard)))
    unknown = [mac for mac in devices if mac not in config.mac_owner]
    bound_hit = state.unknown_bound_hit
    if len(unknown) > defaults.MAX_UNKNOWN_DEVICES:
        for mac in sorted(unknown, key=lambda m: devices[m].last_seen)[:len(unknown) - defaults.MAX_UNKNOWN_DEVICES]:
            del devices[mac]
        if not bound_hit:
            events.append(Event("warning", f"wifi: more than {defaults.MAX_UNKNOWN_DEVICES} unknown devices answer "
                                           "on the LAN; forgetting the longest unseen (is something flooding it?)"))
        bound_hit = True
    elif len(unknown) < defaults.MAX_UNKNOWN_DEVICES * 0.9:
        bound_hit = False
    return replace(state, devices=devices, heard=heard, unknown_bound_hit=bound_hit,
                   history_out=state.history_out + tuple(closed)), events


def _updated(old, sighting):
    return DeviceRecord(ip=sighting.ip or (old.ip if old else None), first_seen=old.first_seen if old else sighting.at,
                        last_seen=sighting.at, how=sighting.how,
                        hostname=sighting.hostname or (old.hostname if old else None), personal=sighting.personal)


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
        if report.source == WIFI_SWEEP:
            yield Event("warning", f"{report.source}: {report.error}; holding the presence of the devices "
                                   "it saw until it works again")
        else:
            yield Event("warning", f"{report.source}: {report.error}; keeping its last answers "
                                   "until they age out")
    elif report.ok and previous is False:
        yield Event("info", f"{report.source}: working again")


def _no_evidence_events(entities, readings):
    for reading in readings:
        old = entities.get(reading.entity_id)
        # An echo of our own output changes with our verdict; the source said once why it is ignored.
        if reading.home is None and not reading.echo and (old is None or old.state != reading.state):
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
