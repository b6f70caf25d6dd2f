"""Bytes the daemon writes per day at defaults, for the reference household; this tree against an older commit.

    .venv/bin/python -m benchmarks.write_volume [--days 2] [--baseline 00d8883] [--seed 23]

The household: 6 people (7 mapped phones and laptops: the tests' reference config), 23 other devices (always-on
ones that drop off now and then, some that come and go), 4 people also in Home Assistant. A sweep every 30 s
(people's phones miss one in 7, as dozing phones do), a Home Assistant poll every 300 s, a tick every 5 s: the
defaults. Each day is driven through `Daemon` as the loop drives it (ingest each report, tick), with its real
state file and history writer in a temporary folder and Graphite up (nothing spooled). What is counted is
what the process hands to write() (`wchar` in /proc/self/io; logging is off), and how many write calls.
The baseline runs the same driver on a checkout of COMMIT (git worktree), in a process of its own.
It prints Markdown and asserts nothing.
"""

import argparse
import json
import logging
import os
import platform
import random
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASELINE = "00d8883"
DAY = 86_400
START = 1_796_000_000 - 1_796_000_000 % DAY  # a midnight (UTC)
PEOPLE_IN_HA = ("susan", "charlie", "archie", "mo")
OTHERS = 23


def household_config(state_path):
    """The reference household's config, with 4 people also in Home Assistant."""
    people = [
        {"name": "Nick", "macs": ["02:00:00:00:01:01"]},
        {"name": "Susan", "macs": ["02:00:00:00:02:01", "02:00:00:00:02:02"], "homeassistant_entities": ["person.susan"]},
        {"name": "Charlie", "macs": ["02:00:00:00:03:01"], "homeassistant_entities": ["person.charlie"]},
        {"name": "Archie", "macs": ["02:00:00:00:04:01"], "homeassistant_entities": ["person.archie"]},
        {"name": "Mo", "macs": ["02:00:00:00:05:01"], "homeassistant_entities": ["person.mo"]},
        {"name": "Tom", "macs": ["02:00:00:00:06:01"]},
    ]
    return {"network": {"cidrs": ["198.51.100.0/24"]}, "graphite": {"prefix": "home.presence"},
            "homeassistant": {"url": "http://ha.invalid:8123"}, "state_file": state_path, "people": people}


def schedule(rng, days):
    """Per device, the (start, end) stretches it is on the LAN; per person in HA, when HA says home."""
    away = {}
    for key in ("nick", "susan", "charlie", "archie", "mo", "tom"):
        spans = []
        for day in range(days):
            base = START + day * DAY
            leave = base + rng.uniform(7, 9.5) * 3600
            back = leave + rng.uniform(4, 10) * 3600
            spans.append((leave, back))
            if rng.random() < 0.5:  # an evening out
                out = base + rng.uniform(18, 20) * 3600
                spans.append((out, out + rng.uniform(1, 3) * 3600))
        away[key] = spans
    return away


def run(days, seed, out):
    """Drive `days` days through this checkout's Daemon; write the figures as JSON to `out`."""
    sys.path.insert(0, os.getcwd())
    logging.disable(logging.CRITICAL)
    from presence.config.load import parse_config
    from presence.daemon.loop import Daemon
    from presence.observations import DeviceSighting, EntityReading, SourceReport
    from presence.state.model import State

    rng = random.Random(seed)
    folder = tempfile.mkdtemp(prefix="write-volume-")
    state_path = os.path.join(folder, "state.json")
    config = parse_config(household_config(state_path))
    away = schedule(rng, days)
    owner = {mac: person.key for person in config.people for mac in person.macs}
    others = [f"da:a1:19:00:01:{i:02x}" for i in range(OTHERS)]
    comes_and_goes = set(others[:6])
    ips = {mac: f"198.51.100.{10 + i}" for i, mac in enumerate([*owner, *others])}

    class Discard:
        def send(self, message):
            pass

        def close(self, timeout=None):
            pass

        def problem(self):
            return None

        def alive(self):
            return True

    clock = SimulatedClock()
    daemon, flush = _daemon(Daemon, config, State(), Discard(), state_path, os.path.join(folder, "device-history"),
                            clock)
    before, journal_before = _io(), 0
    at, next_sweep, next_poll = START, START, START
    while at < START + days * DAY:
        at += 5
        clock.at = at
        if at >= next_sweep:
            next_sweep += 30
            seen = []
            for mac in [*owner, *others]:
                key = owner.get(mac)
                if key and any(a <= at < b for a, b in away[key]):
                    continue
                if mac in comes_and_goes and (at // 3600) % 3 == 0:
                    continue
                if rng.random() < (1 / 7 if key else 1 / 40):
                    continue
                seen.append(DeviceSighting(mac=mac, ip=ips[mac], at=at))
            daemon.ingest(SourceReport(source="wifi", at=at, ok=True, sightings=tuple(seen)))
        if at >= next_poll:
            next_poll += 300
            readings = tuple(EntityReading(f"person.{key}", "not_home" if any(a <= at < b for a, b in away[key])
                                           else "home", not any(a <= at < b for a, b in away[key]), at)
                             for key in PEOPLE_IN_HA)
            daemon.ingest(SourceReport(source="homeassistant", at=at, ok=True, readings=readings))
        daemon.tick(at)
    daemon.save(at, **({"force": True} if "force" in Daemon.save.__code__.co_varnames else {}))
    flush(at)
    after = _io()
    journal = sum(os.path.getsize(os.path.join(dirpath, name))
                  for dirpath, _, names in os.walk(os.path.join(folder, "device-history")) for name in names)
    result = {"days": days, "wchar": after["wchar"] - before["wchar"], "syscw": after["syscw"] - before["syscw"],
              "journal": journal - journal_before, "state_size": os.path.getsize(state_path)}
    with open(out, "w") as handle:
        json.dump(result, handle)


class SimulatedClock:
    """The simulated time, for the outputs that read the clock themselves."""

    at = START

    def now(self):
        return self.at

    def monotonic(self):
        return self.at


def _daemon(Daemon, config, state, sink, state_path, history_folder, clock):
    """The Daemon with the Graphite output on `sink` and the history output, in this tree's API or an older
    one's (a history writer handed to the Daemon); and what writes the history's last batch at the end."""
    try:
        from presence.outputs.graphite.output import GraphiteOutput
        from presence.outputs.history.output import HistoryOutput
    except ImportError:
        from presence.history.writer import HistoryWriter

        history = HistoryWriter(history_folder, START)
        daemon = Daemon(config, state, sink, state_path, history=history)
        return daemon, (lambda at: history.close(at) if hasattr(history, "close") else history.flush(at))
    history = HistoryOutput(history_folder, clock)
    daemon = Daemon(config, state, [GraphiteOutput(config, lambda _config: sink, clock), history], state_path, clock)
    return daemon, (lambda at: history.close(at))


def _io():
    with open("/proc/self/io") as handle:
        return {key: int(value) for key, value in (line.split(": ") for line in handle)}


def measure(checkout, days, seed):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([sys.executable, os.path.abspath(__file__), "--child", "--days", str(days), "--seed",
                        str(seed), "--out", out.name], cwd=checkout, check=True)
        return json.load(open(out.name))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run(args.days, args.seed, args.out)
    worktree = tempfile.mkdtemp(prefix="write-volume-baseline-")
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", worktree, args.baseline], check=True,
                   capture_output=True)
    try:
        rows = [(f"before ({args.baseline})", measure(worktree, args.days, args.seed)),
                ("this tree", measure(ROOT, args.days, args.seed))]
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", worktree], check=False)
    print(f"### Bytes written per day at defaults: 6 people, 30 devices, {args.days} simulated days, seed {args.seed}\n")
    print("| code | bytes written per day | of which the history journal | write calls per day | state file |")
    print("|---|---:|---:|---:|---:|")
    for name, row in rows:
        per_day = row["wchar"] / row["days"]
        print(f"| {name} | {per_day / 1e6:.2f} MB | {row['journal'] / row['days'] / 1e3:.1f} kB | "
              f"{row['syscw'] / row['days']:,.0f} | {row['state_size']:,} bytes |")
    print(f"\nPython {platform.python_version()}, {platform.machine()}; "
          f"command: `.venv/bin/python -m benchmarks.write_volume --days {args.days}`")


if __name__ == "__main__":
    main()
