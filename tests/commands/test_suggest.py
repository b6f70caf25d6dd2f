"""The `suggest` command's output, over a journal written by the real journal code (no network)."""

import argparse
import io
import json

from presence.commands.suggest import run_suggest
from presence.history import journal
from presence.state.model import DeviceRecord, State
from tests.history.test_suggest import HOME, NOW, SUSAN_NEW, TV, home_history


def write_journal(folder, past):
    """The history as the daemon would have appended it: device, Home Assistant and watch records."""
    records = [{"kind": "device", "mac": mac, "start": item.start, "end": item.end, "personal": False}
               for mac, device in past.devices.items() for item in device.intervals]
    for key, person in past.people.items():
        records += [{"kind": "ha", "person": key, "start": item.start, "end": item.end, "home": True}
                    for item in person.ha_home]
        records += [{"kind": "ha", "person": key, "start": item.start, "end": item.end, "home": False}
                    for item in gaps(person.ha_home, person.ha_known)]
    records += [{"kind": "watched", "start": item.start, "end": item.end} for item in past.watched]
    for record in sorted(records, key=lambda record: record["end"]):
        journal.append(folder, [record])


def gaps(home, known):
    """The known time outside `home` (both lists of sorted intervals; here, one known span)."""
    (span,) = known
    edges = [span.start] + [t for item in home for t in (item.start, item.end)] + [span.end]
    return [type(span)(a, b) for a, b in zip(edges[::2], edges[1::2]) if b > a]


def command(folder, state=State(), **options):
    args = argparse.Namespace(**{"json": False, "yaml": False, "threshold": 0.8, **options})
    out = io.StringIO()
    assert run_suggest(HOME, None, state, str(folder), NOW, args, out) == 0
    return out.getvalue()


def test_json_lists_every_unmapped_device_best_first_with_reasons(tmp_path):
    write_journal(tmp_path, home_history())
    found = json.loads(command(tmp_path, json=True))
    assert {item["mac"]: item["person"] for item in found}[SUSAN_NEW] == "susan"
    assert [item["confidence"] for item in found] == sorted((item["confidence"] for item in found), reverse=True)
    assert all(set(item) >= {"mac", "person", "confidence", "reasons"} and item["reasons"] for item in found)
    assert {item["mac"]: item["person"] for item in found}[TV] is None


def test_yaml_puts_each_named_mac_under_its_person_and_the_table_says_why(tmp_path):
    write_journal(tmp_path, home_history())
    lines = command(tmp_path, yaml=True).splitlines()
    assert lines.index("# Susan:") < next(i for i, line in enumerate(lines) if SUSAN_NEW in line)
    table = command(tmp_path)
    assert f"{SUSAN_NEW} (randomized MAC, hostname -)  ->  susan" in table and "Susan was home" in table


def test_an_interval_still_open_in_the_state_counts_too(tmp_path):
    past = home_history()
    tv = past.devices[TV]
    past.devices[TV] = type(tv)(TV, intervals=tv.intervals[:3])
    write_journal(tmp_path, past)
    state = State(devices={TV: DeviceRecord(ip=None, first_seen=tv.intervals[3].start, last_seen=NOW,
                                            present_since=tv.intervals[3].start)})
    found = {item["mac"]: item for item in json.loads(command(tmp_path, state, json=True))}
    assert found[TV]["person"] is None and "whatever anyone does" in " ".join(found[TV]["reasons"])
