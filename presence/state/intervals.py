"""The history's intervals as the state closes them: a device's stretch of presence, a person's Home Assistant
answer, and the daemon's watch of the LAN. Pure: each closed one becomes a record the loop writes to the
journal (presence.history.journal); the open ones live in the state, so a restart loses none."""

from dataclasses import replace


def device_record(mac, start, end, device):
    """The history record of a device present from `start` to `end`."""
    record = {"kind": "device", "mac": mac, "start": start, "end": end, "personal": device.personal}
    if device.hostname:
        record["hostname"] = device.hostname
    return record


def ha_record(key, start, end, home):
    """The history record of Home Assistant saying a person was (not) home from `start` to `end`."""
    return {"kind": "ha", "person": key, "start": start, "end": end, "home": home}


def watched_record(start, end):
    """The history record of a stretch in which the sweeps reached the LAN."""
    return {"kind": "watched", "start": start, "end": end}


def continued(mac, old, new, still_present):
    """The new record of a device seen again, and the interval it closes (or None): a silence longer than
    its grace ends one stretch of presence and starts another."""
    if old is not None and old.present_since is not None and still_present:
        return replace(new, present_since=old.present_since), None
    closed = None
    if old is not None and old.present_since is not None:
        closed = device_record(mac, old.present_since, old.last_seen, old)
    return replace(new, present_since=new.last_seen), closed


def close_absent(devices, is_present):
    """Close the stretch of each device no longer present; return the devices and the closed records."""
    closed, updated = [], dict(devices)
    for mac, device in devices.items():
        if device.present_since is not None and not is_present(mac, device):
            closed.append(device_record(mac, device.present_since, device.last_seen, device))
            updated[mac] = replace(device, present_since=None)
    return updated, closed


def track_ha(key, record, answer, now):
    """The person's record with Home Assistant's answer at `now`, and the interval of the answer it ends."""
    if answer == record.ha_home:
        return record, None
    closed = None
    if record.ha_home is not None and record.ha_since is not None:
        closed = ha_record(key, record.ha_since, now, record.ha_home)
    return replace(record, ha_home=answer, ha_since=now if answer is not None else None), closed


def track_watched(watched, at, lapse):
    """The watch after a sweep that reached the LAN at `at`, and the stretch it ends: a gap longer than
    `lapse` between such sweeps means the LAN was not watched in between."""
    if watched is not None and at - watched[1] <= lapse:
        return (watched[0], max(watched[1], at)), None
    closed = watched_record(*watched) if watched is not None and watched[1] > watched[0] else None
    return (at, at), closed


def open_records(state, now):
    """The intervals still open in the state (a device present now, the current watch, Home Assistant's
    current answer), as journal records ending at `now`'s last evidence."""
    records = [{"kind": "device", "mac": mac, "start": device.present_since, "end": device.last_seen,
                "personal": device.personal, **({"hostname": device.hostname} if device.hostname else {})}
               for mac, device in state.devices.items() if device.present_since is not None]
    if state.watched:
        records.append({"kind": "watched", "start": state.watched[0], "end": state.watched[1]})
    records += [{"kind": "ha", "person": key, "start": person.ha_since, "end": max(person.ha_since, now),
                 "home": person.ha_home}
                for key, person in state.people.items() if person.ha_home is not None and person.ha_since is not None]
    return records
