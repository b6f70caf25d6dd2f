"""Whose is an unmapped device? Pure scoring of its history against each person's presence from other sources.

A person's reference is Home Assistant's `home` (where its answer was known) joined with their mapped devices'
presence (each within its first to last sighting), counted only while the daemon watched and the device under test
existed. The confidence is the geometric mean of the separation (the share of the person's home time the device
was on the LAN minus the share of their time out) and the coincidence (the share of their arrivals and departures
the device matched within a few offline graces); a hostname their mapped device used takes it a fixed share of
the way to 1. It is 0 below a minimum of comings and goings or for a device there whatever anyone does, it is
split between people the data cannot tell apart, and only a confidence at or above the threshold names a person.
"""

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from math import inf, sqrt

from presence.config import defaults
from presence.macs import is_randomized


@dataclass(frozen=True)
class Suggestion:
    """An unmapped device and whose it looks like; `candidate` is the best match even when not named."""

    mac: str
    person: str | None
    confidence: float
    reasons: tuple
    randomized: bool
    hostname: str | None
    candidate: str | None = None


@dataclass(frozen=True)
class _Reference:
    """A person's presence without the device under test: `home` within `known` (span lists); `sources`:
    (name, spans it knows)."""

    person: object
    home: list
    known: list
    sources: tuple
    hostnames: dict


@dataclass(frozen=True)
class _Match:
    """How one device fits one person, over `domain`: the person's reference known during the device's life."""

    ref: _Reference
    domain: list
    home: list
    shares: tuple
    times: tuple
    edges: tuple
    on_edges: tuple
    matched: tuple
    window: float
    hostname: tuple
    raw: float

    @property
    def events(self):
        return len(self.edges[0]) + len(self.edges[1])

    @property
    def score(self):
        return self.raw if self.events >= defaults.SUGGEST_MIN_EVENTS else 0.0


def suggest(history, config, now, threshold=defaults.SUGGEST_THRESHOLD):
    """Score every unmapped, non-ignored device of `history` against each person; best first."""
    watched = _intersect(_merged(_spans(history.watched)), [(-inf, now)])
    references = [_reference(history, person, watched) for person in config.people]
    hostname_owners = {}
    for ref in references:
        for name in ref.hostnames:
            hostname_owners.setdefault(name, set()).add(ref.person.key)
    found = [_judge(mac, device, [ref for ref in references if ref.known], hostname_owners, watched, config,
                    threshold)
             for mac, device in history.devices.items()
             if mac not in config.mac_owner and mac not in config.ignore_macs]
    return sorted(found, key=lambda item: (-item.confidence, item.mac))


def _reference(history, person, watched):
    known, home, sources, hostnames = [], [], [], {}
    ha = history.people.get(person.key)
    if ha and ha.ha_known:
        ha_known = _merged(_spans(ha.ha_known))
        known += ha_known
        home += _intersect(_merged(_spans(ha.ha_home)), ha_known)
        sources.append(("Home Assistant", ha_known))
    for mac in person.macs:
        device = history.devices.get(mac)
        if device is None:
            continue
        hostnames.update((_plain(name), mac) for name in device.hostnames)
        spans = _merged(_spans(device.intervals))
        if spans:
            # Before its first and after its last sighting a device's absence says nothing (a new phone, a lost one).
            life = (spans[0][0], spans[-1][1])
            known.append(life)
            home += spans
            sources.append((mac, [life]))
    domain = _intersect(_merged(known), watched)
    return _Reference(person, _intersect(_merged(home, person.offline_grace), domain), domain, tuple(sources),
                      hostnames)


def _judge(mac, device, references, hostname_owners, watched, config, threshold):
    spans = _intersect(_merged(_spans(device.intervals)), watched)
    names = sorted(device.hostnames)
    matches = [_match(device, spans, ref, hostname_owners, watched, config) for ref in references] if spans else []
    if not matches:
        why = "never seen while the daemon watched" if not spans else \
            "no one's presence is known while it was seen: no Home Assistant history, no mapped device seen"
        return Suggestion(mac, None, 0.0, (why,), is_randomized(mac), names[0] if names else None)
    best = max(matches, key=lambda match: (match.score, match.raw))
    confidence, verdict = _verdict(best, matches, threshold)
    reasons = _evidence(best) + verdict
    person = best.ref.person.key if confidence >= threshold else None
    hostname = best.hostname[0] if best.hostname else (names[0] if names else None)
    return Suggestion(mac, person, confidence, reasons, is_randomized(mac), hostname, best.ref.person.key)


def _match(device, spans, ref, hostname_owners, watched, config):
    person = ref.person
    window = defaults.SUGGEST_COINCIDENCE_GRACES * max(person.offline_grace, config.wifi.offline_grace)
    first, last = spans[0][0], spans[-1][1]
    domain = _intersect(ref.known, [(first, last)])
    home = _intersect(ref.home, domain)
    # Judged as this person's device would be: its silences shorter than their grace are no departures.
    on = _intersect(_merged(spans, person.offline_grace), watched)
    home_time = _length(home)
    away_time = _length(domain) - home_time
    on_home = _length(_intersect(on, home))
    shares = (_share(on_home, home_time), _share(_length(_intersect(on, domain)) - on_home, away_time))
    # The device existed from its first to its last sighting; the person's coming or going just beyond counts.
    around = _intersect(ref.known, [(first - window, last + window)])
    edges, on_edges = _edges(_intersect(ref.home, around), around), _edges(on, watched)
    matched = tuple(sum(_near(t, on_times, window) for t in times) for times, on_times in zip(edges, on_edges))
    events = len(edges[0]) + len(edges[1])
    raw = sqrt(max(0.0, shares[0] - shares[1]) * (sum(matched) / events if events else 0.0))
    hostname = next(((name, ref.hostnames[plain]) for name in sorted(device.hostnames)
                     if (plain := _plain(name)) in ref.hostnames and hostname_owners[plain] == {person.key}), ())
    if hostname:
        raw = 1 - (1 - raw) * (1 - defaults.SUGGEST_HOSTNAME_WEIGHT)
    return _Match(ref, domain, home, shares, (home_time, away_time), edges, on_edges, matched, window, hostname, raw)


def _verdict(best, matches, threshold):
    """The confidence in `best`, and the reasons it is not named, if any."""
    name = best.ref.person.name
    if best.events < defaults.SUGGEST_MIN_EVENTS:
        return 0.0, (f"too little evidence: {name} came or went {best.events} times between its first and last "
                     f"sighting ({_duration(_length(best.domain))}), {defaults.SUGGEST_MIN_EVENTS} needed",)
    outs = [(match.ref.person.name, match.shares[1]) for match in matches if match.times[1] > 0]
    if outs and min(share for _, share in outs) >= defaults.SUGGEST_ALWAYS_THERE_SHARE:
        return 0.0, ("there whatever anyone does: on the LAN " + ", ".join(
            f"{_percent(share)} of {person}'s time out" for person, share in outs),)
    if best.score < threshold:
        return best.score, (f"confidence {best.score:.2f} is below the threshold {threshold:.2f}",)
    rivalries = [rivalry for match in matches if match is not best and (rivalry := _rivalry(best, match, threshold))]
    rivals = sum(rival for rival, _ in rivalries)
    return best.score / (1 + rivals), tuple(line for _, line in rivalries)


def _rivalry(best, other, threshold):
    """Whether `other` could own the device as well as `best`, and why; None when they were never alike."""
    domain = _intersect(best.domain, other.domain)
    mine, theirs = _intersect(best.home, domain), _intersect(other.home, domain)
    together = _share(_length(_intersect(mine, theirs)), _length(_merged(mine + theirs)))
    if other.score < threshold and together < defaults.SUGGEST_TOGETHER_SHARE:
        return None
    for_best, for_other = _sides(best, other, domain)
    first, second = best.ref.person.name, other.ref.person.name
    apart = (f"home together {_percent(together)} of the time either was; of their comings and goings apart it "
             f"followed {first} {for_best} times, {second} {for_other} times")
    if for_best >= defaults.SUGGEST_MIN_EVENTS and for_best >= threshold * (for_best + for_other):
        return False, f"{first}'s, not {second}'s ({second} scores {other.score:.2f}): {apart}"
    return True, (f"{first} and {second} cannot be told apart: {apart} (it must follow one at least "
                  f"{defaults.SUGGEST_MIN_EVENTS} times and {_percent(threshold)} of them); {second} scores "
                  f"{other.score:.2f}")


def _sides(best, other, domain):
    """Of the comings and goings of either that the other did not share, how many the device followed
    `best` in and how many `other` (following one is not following the other)."""
    window, sides = max(best.window, other.window), [0, 0]
    for mine, theirs, on in zip(best.edges, other.edges, best.on_edges):
        for times, others, side in ((mine, theirs, 0), (theirs, mine, 1)):
            for t in times:
                if _inside(t, domain) and not _near(t, others, window):
                    sides[side if _near(t, on, window) else 1 - side] += 1
    return sides


def _evidence(match):
    name, window = match.ref.person.name, _duration(match.window)
    (on_home, on_away), (home_time, away_time) = match.shares, match.times
    sources = ", ".join(source for source, known in match.ref.sources if _intersect(known, match.domain))
    out = f"{_percent(on_away)} of the {_duration(away_time)} {name} was out" if away_time else f"{name} never out"
    lines = [f"on the LAN {_percent(on_home)} of the {_duration(home_time)} {name} was home ({sources}), {out}",
             f"arrived within {window} of {name} {match.matched[0]} of {len(match.edges[0])} times, "
             f"left within {window} of {name} {match.matched[1]} of {len(match.edges[1])} times"]
    if match.hostname:
        lines.append(f"hostname {match.hostname[0]!r}, which {name}'s {match.hostname[1]} used before")
    return tuple(lines)


def _spans(intervals):
    return [(interval.start, interval.end) for interval in intervals]


def _merged(spans, gap=0.0):
    """The union of `spans`, sorted, with silences up to `gap` joined."""
    out = []
    for start, end in sorted(spans):
        if out and start - out[-1][1] <= gap:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def _intersect(first, second):
    out, i, j = [], 0, 0
    while i < len(first) and j < len(second):
        start, end = max(first[i][0], second[j][0]), min(first[i][1], second[j][1])
        if start < end:
            out.append((start, end))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return out


def _edges(spans, domain):
    """Arrivals and departures in `spans` (within `domain`); the domain's own edges are none."""
    starts, ends = {start for start, _ in domain}, {end for _, end in domain}
    return ([start for start, _ in spans if start not in starts], [end for _, end in spans if end not in ends])


def _near(t, times, window):
    index = bisect_left(times, t - window)
    return index < len(times) and times[index] <= t + window


def _inside(t, spans):
    index = bisect_right(spans, (t, inf)) - 1
    return index >= 0 and spans[index][0] <= t <= spans[index][1]


def _length(spans):
    return sum(end - start for start, end in spans)


def _share(part, whole):
    return part / whole if whole > 0 else 0.0


def _plain(hostname):
    return hostname.lower().rstrip(".").removesuffix(".local")


def _percent(share):
    return f"{100 * share:.0f} %"


def _duration(seconds):
    for unit, size, above in (("d", 86400, 7 * 86400), ("h", 3600, 7200), ("min", 60, 120)):
        if seconds >= above:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds:.2g} s"
