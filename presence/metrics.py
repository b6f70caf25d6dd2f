"""Turn a presence snapshot into the Graphite metric set (names relative to the prefix)."""


def metric_values(snapshot):
    """Return `[(name, value), ...]`: four per person, the three aggregates, then the opt-in ones."""
    values = []
    for person in snapshot.people:
        values += [
            (f"{person.key}.is_home", int(person.is_home)),
            (f"{person.key}.from_wifi", int(person.from_wifi)),
            (f"{person.key}.from_homeassistant", int(person.from_homeassistant)),
            (f"{person.key}.devices_present", person.devices_present),
        ]
    values += [
        ("count_home", snapshot.count_home),
        ("anyone_home", int(snapshot.anyone_home)),
        ("wifi.devices_present_count", snapshot.devices_present_count),
    ]
    if snapshot.guest_devices is not None:
        values.append(("wifi.guest_devices_count", snapshot.guest_devices))
    values += [(f"{person.key}.seconds_since_seen", round(person.seconds_since_seen))
               for person in snapshot.people if person.seconds_since_seen is not None]
    return values


def event_values(transitions):
    """Sparse lines for Grafana's annotations: `events.{person}.arrival` or `.departure`, value 1."""
    names = [f"events.{t.key}.{'arrival' if t.is_home else 'departure'}" for t in transitions]
    return [(name, 1) for name in dict.fromkeys(names)]


def tick_time(now, interval):
    """Align `now` down to the send interval, so every series shares the same timestamps."""
    return int(now // interval * interval)
