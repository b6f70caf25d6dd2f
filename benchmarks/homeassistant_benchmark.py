"""What one poll costs: all of `/api/states` against one `/api/states/<id>` per mapped entity.

Runs a real Home Assistant core in a throwaway network namespace, fills it with N extra entities,
and times both ways of reading 12 mapped entities (6 people x person + device_tracker).
`python -m benchmarks.homeassistant_benchmark [--sizes 100 1000 3000] [--repeats 20]` as root.
"""

import argparse
import os
import statistics
import tempfile
import time

import requests

from testbed.homeassistant_core import HomeAssistantCore
from testbed.lab import Lan
from testbed.lab.netns_thread import call_in_netns

PEOPLE = ("nick", "susan", "charlie", "archie", "mo", "tom")


def cpu_seconds(pid):
    """User + system CPU seconds the process has used so far."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_reads(ha, entities, repeats):
    """Per full read, both ways over a keep-alive session: median wall s, bytes, Home Assistant's CPU s."""

    def measure():
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {ha.token}"
        results = {}
        for way in ("all", "each"):
            walls, size, cpu_before = [], 0, cpu_seconds(ha.proc.pid)
            for _ in range(repeats):
                started = time.perf_counter()
                if way == "all":
                    size = len(session.get(f"{ha.url}/api/states", timeout=30).content)
                else:
                    size = sum(len(session.get(f"{ha.url}/api/states/{e}", timeout=30).content) for e in entities)
                walls.append(time.perf_counter() - started)
            results[way] = (statistics.median(walls), size, (cpu_seconds(ha.proc.pid) - cpu_before) / repeats)
        return results

    return call_in_netns(ha.ns, measure)


def add_entities(ha, count, start):
    def post():
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {ha.token}"
        for i in range(start, start + count):
            session.post(f"{ha.url}/api/states/sensor.bench_{i}", timeout=30, json={
                "state": str(i % 100), "attributes": {"unit_of_measurement": "W", "friendly_name": f"Meter {i}"}})

    call_in_netns(ha.ns, post)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 3000])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    trackers = {name: [f"device_tracker.{name}_phone"] for name in PEOPLE}
    entities = [e for name in PEOPLE for e in (f"person.{name}", f"device_tracker.{name}_phone")]
    rows = ["| entities in Home Assistant | `/api/states`: median ms | bytes | HA CPU ms | "
            "12 x `/api/states/<id>`: median ms | bytes | HA CPU ms |", "|---|---|---|---|---|---|---|"]
    with Lan() as lan, tempfile.TemporaryDirectory() as folder:
        ha = HomeAssistantCore(folder, lan.scanner_ns, trackers).start()
        try:
            for name in PEOPLE:
                ha.set_tracker(f"device_tracker.{name}_phone", "home")
            added = 0
            for size in sorted(args.sizes):
                add_entities(ha, size - added, added)
                added = size
                total = len(ha.call("get", "/api/states").json())
                results = timed_reads(ha, entities, args.repeats)
                cells = [f"{wall * 1000:.1f} | {size:,} | {cpu * 1000:.1f}" for wall, size, cpu in
                         (results["all"], results["each"])]
                rows.append(f"| {total} | {cells[0]} | {cells[1]} |")
                print(rows[-1], flush=True)
        finally:
            ha.stop()
    print("\n".join(rows))


if __name__ == "__main__":
    main()
