"""The history benchmark's household: 6 people and 200 devices over 28 days, as presence's history would hold them."""

import random

MIN, HOUR, DAY = 60.0, 3600.0, 86400.0
NOW = 20833 * DAY + 20 * HOUR  # 20:00 UTC; the history is of the 28 days before
START = NOW - 28 * DAY
MIDNIGHT = START - 20 * HOUR  # of the first day
CIDR = "10.20.0.0/16"

# Person: (in Home Assistant, schedule, offline grace s); "mo": out with Mo most of the time.
PEOPLE = {"nick": (False, "day", 600.0), "susan": (True, "day", 300.0), "charlie": (True, "night", 300.0),
          "archie": (False, "irregular", 300.0), "mo": (True, "day", 300.0), "tom": (True, "mo", 300.0)}
# People's devices: (MAC, owner, mapped, share of the owner's outings it goes along on, hostname, days it lived).
# Susan's phone took a new private address on day 14 and kept its hostname. Each person has 3 more below.
NAMED = [("02:00:00:00:01:01", "nick", True, 0.7, "nick-laptop", (0, 28)),
         ("ee:00:00:00:01:9c", "nick", False, 0.97, None, (0, 28)),
         ("02:00:00:00:02:01", "susan", True, 0.97, "Susans-iPhone", (0, 14)),
         ("3a:f1:00:00:02:9c", "susan", False, 0.97, "Susans-iPhone", (14, 28)),
         ("02:00:00:00:03:01", "charlie", True, 0.97, None, (0, 28)),
         ("02:00:00:00:04:01", "archie", True, 0.97, None, (0, 28)),
         ("02:00:00:00:05:01", "mo", True, 0.97, None, (0, 28)),
         ("58:00:00:00:05:0a", "mo", False, 0.9, "Mos-iPad", (0, 28)),
         ("02:00:00:00:06:01", "tom", True, 0.97, None, (0, 28))]
FOLLOWERS = (0.95, 0.8, 0.5)
OTHERS = {"always on": 70, "drifting": 63, "guest": 40}  # with the 9 + 6 x 3 above: 200 devices


def merged(spans, first=START, last=NOW):
    """The union of `spans` within [first, last], sorted."""
    out = []
    for start, end in sorted((max(s, first), min(e, last)) for s, e in spans):
        if start < end and out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        elif start < end:
            out.append((start, end))
    return out


def complement(spans):
    edges = [START] + [t for span in spans for t in span] + [NOW]
    return [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2) if edges[i] < edges[i + 1]]


def with_gaps(rng, start, end, per_hour, gap=(11, 40)):
    """[start, end] cut by silences longer than any grace (`gap` minutes), `per_hour` of them an hour on average."""
    out, t = [], start
    while (cut := t + rng.expovariate(per_hour / HOUR)) < end:
        out.append((t, cut))
        t = cut + rng.uniform(*gap) * MIN
    return out + ([(t, end)] if t < end else [])


def outings(rng, kind, mo_outings=()):
    """When a person is out over the 28 days: work (or a night shift) on weekdays, and a few outings."""
    out = [span for span in mo_outings if rng.random() < 0.85]
    for d in range(29):
        day, weekday = MIDNIGHT + d * DAY, d % 7 < 5
        if kind == "day" and weekday:
            out.append((day + rng.uniform(7.5, 8.5) * HOUR, day + rng.uniform(17, 19) * HOUR))
        elif kind == "night" and weekday:
            out.append((day + rng.uniform(20.5, 21.5) * HOUR, day + rng.uniform(30.5, 31.5) * HOUR))
        extra = rng.randint(1, 3) if kind == "irregular" else \
            (rng.random() < (0.3 if weekday else 0.8)) + (not weekday and rng.random() < 0.4)
        for _ in range(extra):
            begin = day + rng.uniform(12, 17 if kind == "night" else 21) * HOUR
            out.append((begin, begin + rng.uniform(1, 4) * HOUR))
    return merged(out)


def follow(rng, home, share, life):
    """A device on the LAN while its owner is home, staying on through the outings it does not go along on
    (1 - `share`), arriving and leaving within minutes of them, and dozing longer than its grace now and then."""
    stays = []
    for start, end in home:
        if stays and rng.random() > share:
            stays[-1] = (stays[-1][0], end)
        else:
            stays.append((start, end))
    out = []
    for start, end in stays:
        start += rng.uniform(0.5, 4) * MIN if start > START else 0
        end -= rng.uniform(0, 3) * MIN if end < NOW else 0
        out += with_gaps(rng, start, end, 0.04)
    return merged(out, START + life[0] * DAY, START + life[1] * DAY)


def household(seed):
    """(config dict, {mac: device}, {person: Home Assistant's home spans}, journal records)."""
    rng = random.Random(seed)
    out = {"mo": outings(rng, "day")}
    out |= {key: outings(rng, kind, out["mo"] if kind == "mo" else ()) for key, (_, kind, _) in PEOPLE.items()
            if key != "mo"}
    home = {key: complement(spans) for key, spans in out.items()}
    named = NAMED + [(f"6a:00:00:00:{p:02x}:{k:02x}", owner, False, share, None, (0, 28))
                     for p, owner in enumerate(PEOPLE) for k, share in enumerate(FOLLOWERS)]
    devices = {mac: {"what": owner, "owner": owner, "mapped": mapped, "hostname": hostname, "personal": True,
                     "share": share, "spans": follow(rng, home[owner], share, life)}
               for mac, owner, mapped, share, hostname, life in named}
    day = lambda: MIDNIGHT + rng.randint(1, 27) * DAY
    life = lambda: (START, NOW) if rng.random() < 0.7 else (t := day(), t + rng.randint(1, 10) * DAY)  # drifting
    makers = {"always on": lambda: with_gaps(rng, START, NOW, rng.uniform(0.005, 0.05)),
              "drifting": lambda: merged(with_gaps(rng, START, NOW, rng.uniform(0.25, 3), (11, 240)), *life()),
              "guest": lambda: [(t := day() + rng.uniform(16, 20) * HOUR, t + rng.uniform(2, 5) * HOUR)]}
    for n, (kind, count) in enumerate(OTHERS.items()):
        for i in range(count):
            devices[f"{'da' if kind == 'guest' else '00'}:11:{n:02x}:00:00:{i:02x}"] = {
                "what": kind, "owner": None, "mapped": False, "hostname": f"{kind[:5]}-{i}" if i % 3 == 0 else None,
                "personal": kind == "guest", "spans": makers[kind]()}
    for i, device in enumerate(devices.values()):
        device["ip"] = f"10.20.{i // 250}.{i % 250 + 2}"
    records = [{"kind": "device", "mac": mac, "start": s, "end": e, "personal": device["personal"],
                **({"hostname": device["hostname"]} if device["hostname"] else {})}
               for mac, device in devices.items() for s, e in device["spans"]]
    # Home Assistant says home a minute or two after the person came, away a few minutes after they left.
    ha_home = {key: merged((s + (s > START) * rng.uniform(0, 2) * MIN, e + rng.uniform(1, 5) * MIN)
                           for s, e in home[key]) for key, (ha, _, _) in PEOPLE.items() if ha}
    records += [{"kind": "ha", "person": key, "start": s, "end": e, "home": is_home} for key, spans in ha_home.items()
                for is_home, part in ((True, spans), (False, complement(spans))) for s, e in part]
    lapses = sorted(rng.uniform(START, NOW) for _ in range(4))  # three restarts and a LAN outage
    watched = [START] + [t for at in lapses for t in (at, at + rng.uniform(2, 60) * MIN)] + [NOW]
    records += [{"kind": "watched", "start": watched[i], "end": watched[i + 1]} for i in range(0, len(watched), 2)]
    return {"network": {"cidrs": [CIDR]}, "wifi": {"scan_interval": 30, "offline_grace": 300},
            "homeassistant": {"url": "http://ha.invalid:8123"}, "graphite": {"send_interval": 5},
            "people": [{"name": key.title(), "offline_grace": grace,
                        "macs": [mac for mac, owner, mapped, *_ in NAMED if mapped and owner == key],
                        **({"homeassistant_entities": [f"person.{key}"]} if ha else {})}
                       for key, (ha, _, grace) in PEOPLE.items()]}, devices, ha_home, records
