import json
import logging
import os
import stat

import pytest

from presence.config import defaults
from presence.observations import EntityReading
from presence.state.machine import evaluate, ingest
from presence.state.model import DeviceRecord, PersonRecord, State
from presence.state.file import load_state, peek_state, save_state
from tests.state.test_machine import NICK_PHONE, T0, ha, ha_config, wifi


def test_restart_neither_loses_nor_invents_a_departure(tmp_path, config):
    path = str(tmp_path / "state.json")
    state, _ = ingest(State(), wifi(T0, NICK_PHONE), config)
    state, _, transitions, _ = evaluate(state, config, T0)
    assert len(transitions) == 1
    save_state(path, state, T0)

    restarted = load_state(path, T0 + 100)
    restarted, snap, transitions, _ = evaluate(restarted, config, T0 + 100)
    assert transitions == [] and next(p for p in snap.people if p.key == "nick").is_home

    _, snap, transitions, _ = evaluate(restarted, config, T0 + 600)
    assert [t.message.split(" (")[0] for t in transitions] == ["nick: home -> away"]


def test_round_trip_keeps_homeassistant_readings(tmp_path):
    config = ha_config()
    state, _ = ingest(State(), ha(T0, person__charlie="home"), config)
    path = str(tmp_path / "state.json")
    save_state(path, state, T0)
    loaded = load_state(path, T0)
    assert loaded.entities == state.entities and loaded.ha_answered_at == T0


def test_file_is_private_and_versioned_and_written_atomically(tmp_path, config):
    path = str(tmp_path / "sub" / "state.json")
    save_state(path, State(), T0)
    with open(path) as handle:
        assert json.load(handle)["version"] == 1
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(tmp_path / "sub") == ["state.json"]


def test_corrupt_file_is_moved_aside_not_fatal(tmp_path, caplog):
    path = tmp_path / "state.json"
    path.write_text('{"version": 1, "devices": {')
    state = load_state(str(path), T0)
    assert state == State()
    assert not path.exists()
    assert (tmp_path / f"state.json.corrupt-{int(T0)}").read_text() == '{"version": 1, "devices": {'
    assert "moved it to" in caplog.text


def test_wrong_version_or_shape_is_set_aside(tmp_path):
    for text in ('{"version": 99}', '[1, 2]', '{"version": 1, "devices": {"x": {}}, "people": {}}',
                 '{"version": 1, "devices": [], "people": {}}', '{"version": 1, "devices": {}, "people": "x"}',
                 '{"version": 1, "devices": {"02:00:00:00:01:01": []}, "people": {}}',
                 '{"version": 1, "devices": {"02:00:00:00:01:01": {"first_seen": 1, "last_seen": 2}}, "people": {}}',
                 '{"version": 1, "devices": {}, "people": {}, "gaps": {"02:00:00:00:01:01": "x"}}',
                 '{"version": 1, "devices": {}, "people": {}, "homeassistant": []}',
                 '{"version": 1, "devices": {}, "people": {}, "homeassistant": {"entities": {"person.a": 5}}}',
                 '{"version": 1, "devices": {}, "people": {"caf\xe9": {}}}'):
        path = tmp_path / "state.json"
        path.write_bytes(text.encode("latin-1"))
        assert load_state(str(path), T0) == State()
        assert not path.exists()
        os.remove(tmp_path / f"state.json.corrupt-{int(T0)}")


def test_missing_file_starts_fresh(tmp_path):
    assert load_state(str(tmp_path / "none.json"), T0) == State()


# Valid JSON with wrong values was loaded before (and crashed every start later: a MAC key that is not
# one, a string for a hostname) or logged with its content. Now every field is checked on reading, and
# such a file is set aside like broken JSON, with one line that names the field but not the content.

TODAYS_FILE = {  # as save_state writes it (version 1), MAC keys as an older hand edit might spell them
    "version": 1, "saved_at": T0,
    "devices": {"02:00:00:00:01:01": {"ip": "198.51.100.11", "first_seen": T0 - 50, "last_seen": T0, "how": "arp",
                                      "hostname": None, "personal": True},
                "02-00-00-00-77-77": {"ip": None, "first_seen": T0 - 9, "last_seen": T0 - 3, "how": "mdns",
                                      "hostname": "printer", "personal": False}},
    "people": {"nick": {"is_home": True, "since": T0 - 50, "last_seen": T0, "last_source": "wifi 02:00:00:00:01:01"},
               "susan": {"is_home": False, "since": None, "last_seen": None, "last_source": None}},
    "gaps": {"02:00:00:00:01:01": [12.5, 30]},
    "homeassistant": {"answered_at": T0 - 1,
                      "entities": {"person.charlie": {"state": "home", "home": True, "at": T0 - 1},
                                   "person.mo": {"state": "unknown", "home": None, "at": T0 - 1}}},
}


def _with(change):
    data = json.loads(json.dumps(TODAYS_FILE))
    change(data)
    return json.dumps(data)


def _set(path, value):
    def change(data):
        *parents, last = path
        for key in parents:
            data = data.setdefault(key, {})
        data[last] = value
    return change


NICK = "02:00:00:00:01:01"
MARKER = "CONTENT-MARKER"
BAD_FILES = {
    "a string for a time": _with(_set(["devices", NICK, "last_seen"], MARKER)),
    "a string for a person's time": _with(_set(["people", "nick", "since"], MARKER)),
    "an infinite time": _with(_set(["devices", NICK, "first_seen"], 0)).replace('"first_seen": 0',
                                                                               '"first_seen": 1e999'),
    "NaN": _with(_set(["people", "nick", "since"], 0)).replace('"since": 0', '"since": NaN'),
    "Infinity": _with(_set(["homeassistant", "answered_at"], 0)).replace('"answered_at": 0',
                                                                         '"answered_at": Infinity'),
    "a negative time": _with(_set(["devices", NICK, "last_seen"], -5)),
    "an absurd time": _with(_set(["people", "nick", "last_seen"], 1e300)),
    "a huge integer time": _with(_set(["devices", NICK, "last_seen"], 10 ** 400)),
    "a true for a time": _with(_set(["devices", NICK, "last_seen"], True)),
    "a MAC key that is not a MAC": _with(_set(["devices", MARKER], TODAYS_FILE["devices"][NICK])),
    "a gap key that is not a MAC": _with(_set(["gaps", MARKER], [1.0])),
    "a string among the gaps": _with(_set(["gaps", NICK], [1.0, MARKER])),
    "an ip that is not one": _with(_set(["devices", NICK, "ip"], MARKER)),
    "a number for an ip": _with(_set(["devices", NICK, "ip"], 12)),
    "a list for a hostname": _with(_set(["devices", NICK, "hostname"], [MARKER])),
    "a huge hostname": _with(_set(["devices", NICK, "hostname"], MARKER * 1000)),
    "a hostname with escapes": _with(_set(["devices", NICK, "hostname"], "\x1b[2J" + MARKER)),
    "a number for how": _with(_set(["devices", NICK, "how"], 3)),
    "a string for personal": _with(_set(["devices", NICK, "personal"], MARKER)),
    "a null for personal": _with(_set(["devices", NICK, "personal"], None)),
    "a string for is_home": _with(_set(["people", "nick", "is_home"], "yes")),
    "a person key that is no key": _with(_set(["people", "Nick " + MARKER], {"is_home": False})),
    "a number for a last_source": _with(_set(["people", "nick", "last_source"], 7)),
    "a number for a state": _with(_set(["homeassistant", "entities", "person.mo", "state"], 7)),
    "a huge state": _with(_set(["homeassistant", "entities", "person.mo", "state"], MARKER * 100)),
    "a string for home": _with(_set(["homeassistant", "entities", "person.mo", "home"], MARKER)),
    "version true": _with(_set(["version"], True)),
    "an outage key that is no network": _with(_set(["outages", MARKER], [[T0, None, "x"]])),
    "an outage that ends before it starts": _with(_set(["outages", "198.51.100.0/24"], [[T0, T0 - 9, "x"]])),
    "an outage of two numbers": _with(_set(["outages", "198.51.100.0/24"], [[T0, T0]])),
    "nested too deep": '{"version": 1, "devices": {}, "people": {}, "gaps": {"02:00:00:00:01:01": '
                       + "[" * 100_000 + "]" * 100_000 + "}}",
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_wrong_values_are_set_aside_with_one_line_and_no_content(tmp_path, caplog, case):
    path = tmp_path / "state.json"
    text = BAD_FILES[case]
    path.write_text(text)
    caplog.set_level(logging.INFO, logger="presence.state.file")
    assert peek_state(str(path)) == State() and path.exists()
    assert load_state(str(path), T0) == State()
    assert not path.exists() and (tmp_path / f"state.json.corrupt-{int(T0)}").exists()
    [record] = caplog.records
    message = record.getMessage()
    assert "is unusable (" in message and "moved it to" in message
    assert "\n" not in message and "\x1b" not in message and len(message) < 400
    assert MARKER not in message


def test_the_reason_names_the_field(tmp_path, caplog):
    path = tmp_path / "state.json"
    path.write_text(BAD_FILES["a string for a time"])
    load_state(str(path), T0)
    assert f"devices['{NICK}'].last_seen: not a number" in caplog.text


def test_a_file_larger_than_the_cap_is_set_aside_unread(tmp_path, caplog, monkeypatch):
    """The cap is 50 MB; scaled down here so the test writes kilobytes."""
    monkeypatch.setattr(defaults, "MAX_STATE_BYTES", 2000)
    path = tmp_path / "state.json"
    path.write_text(json.dumps({**TODAYS_FILE, "padding": "x" * 2000}))
    assert peek_state(str(path)) == State()
    assert load_state(str(path), T0) == State()
    assert "larger than" in caplog.text and not path.exists()


def test_a_file_written_by_todays_code_loads(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps(TODAYS_FILE))
    state = load_state(str(path), T0)
    assert state.devices == {
        NICK: DeviceRecord(ip="198.51.100.11", first_seen=T0 - 50, last_seen=T0, how="arp", hostname=None,
                           personal=True),
        "02:00:00:00:77:77": DeviceRecord(ip=None, first_seen=T0 - 9, last_seen=T0 - 3, how="mdns",
                                          hostname="printer", personal=False)}
    assert state.people == {"nick": PersonRecord(True, T0 - 50, T0, "wifi 02:00:00:00:01:01"),
                            "susan": PersonRecord(False, None, None, None)}
    assert state.gaps == {NICK: (12.5, 30.0)}
    assert state.ha_answered_at == T0 - 1
    assert state.entities["person.mo"] == EntityReading("person.mo", "unknown", None, T0 - 1)
    assert path.exists()
    path.write_text('{"version": 1, "devices": {}, "people": {}}')  # gaps and homeassistant are optional
    assert load_state(str(path), T0) == State() and path.exists()


def test_a_file_written_before_devices_had_personal_loads_them_as_not_personal(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(_with(lambda data: [device.pop("personal") for device in data["devices"].values()]))
    state = load_state(str(path), T0)
    assert {mac: device.personal for mac, device in state.devices.items()} == {NICK: False, "02:00:00:00:77:77": False}
    assert state.devices[NICK].last_seen == T0 and path.exists()


def test_personal_survives_a_restart(tmp_path, config):
    path = str(tmp_path / "state.json")
    state, _ = ingest(State(), wifi(T0, NICK_PHONE, "02:00:00:00:77:77", personal={NICK_PHONE}), config)
    save_state(path, state, T0)
    assert load_state(path, T0).devices == state.devices
    assert state.devices[NICK_PHONE].personal and not state.devices["02:00:00:00:77:77"].personal


def test_an_outage_survives_a_restart_and_the_downtime_counts_as_part_of_it(tmp_path, config):
    from dataclasses import replace as replaced

    from presence.observations import NetworkHealth

    def sweep(at, *macs, up=True):
        return replaced(wifi(at, *macs), networks=(NetworkHealth("198.51.100.0/24", up, None if up else "eth0 down"),))

    path = str(tmp_path / "state.json")
    state, _ = ingest(State(), sweep(T0, NICK_PHONE), config)
    state, _, _, _ = evaluate(state, config, T0)
    state, _ = ingest(state, sweep(T0 + 30, up=False), config)
    save_state(path, state, T0 + 40)
    # The daemon is down for an hour; at its start the LAN is still unreachable, then it answers.
    state = load_state(path, T0 + 3600)
    assert state.outages == {"198.51.100.0/24": ((T0 + 30, None, "eth0 down"),)}
    state, _ = ingest(state, sweep(T0 + 3600, up=False), config)
    state, snap, transitions, _ = evaluate(state, config, T0 + 3600)
    assert transitions == [] and snap.count_home == 1
    state, _ = ingest(state, sweep(T0 + 3700, NICK_PHONE), config)
    state, snap, transitions, _ = evaluate(state, config, T0 + 3700)
    assert transitions == [] and snap.count_home == 1


def test_a_power_cut_of_everything_is_no_departure(tmp_path, config):
    """The daemon and the LAN went down together: the first sweep after the start finds no LAN."""
    from dataclasses import replace as replaced

    from presence.observations import NetworkHealth

    path = str(tmp_path / "state.json")
    state, _ = ingest(State(), wifi(T0, NICK_PHONE), config)
    state, _, _, _ = evaluate(state, config, T0)
    save_state(path, state, T0 + 5)
    state = load_state(path, T0 + 1800)
    down = replaced(wifi(T0 + 1800), networks=(NetworkHealth("198.51.100.0/24", False, "nothing answered"),))
    state, _ = ingest(state, down, config)
    state, snap, transitions, _ = evaluate(state, config, T0 + 1800)
    assert transitions == [] and snap.count_home == 1
    assert state.outages["198.51.100.0/24"][0][0] == T0 + 5
