"""The history's intervals as the state machine closes them, driven with explicit times."""

from presence.config.load import parse_config
from presence.state.file import state_from_dict, state_to_dict
from presence.state.machine import evaluate, ingest
from presence.state.model import State
from tests.conftest import make_config
from tests.state.test_machine import NICK_PHONE, STRANGER, T0, ha, wifi


def devices(state):
    return tuple(record for record in state.history_out if record["kind"] == "device")


def run(state, config, *steps):
    """Fold in reports and evaluations in order: a report, or a time to evaluate at."""
    for step in steps:
        if isinstance(step, float):
            state = evaluate(state, config, step)[0]
        else:
            state = ingest(state, step, config)[0]
    return state


def test_a_device_present_across_short_silences_is_one_interval_closed_once_it_is_gone(config):
    # Nick's grace is 600 s, a stranger's the global 300 s: silences shorter than those merge.
    state = run(State(), config, wifi(T0, NICK_PHONE, STRANGER), T0, wifi(T0 + 250, NICK_PHONE, STRANGER), T0 + 250,
                wifi(T0 + 800, NICK_PHONE), T0 + 800, T0 + 1000)
    assert devices(state) == ({"kind": "device", "mac": STRANGER, "start": T0, "end": T0 + 250, "personal": False},)
    assert state.devices[NICK_PHONE].present_since == T0 and state.devices[STRANGER].present_since is None
    state = run(state, config, T0 + 1500)
    assert devices(state)[-1] == {"kind": "device", "mac": NICK_PHONE, "start": T0, "end": T0 + 800, "personal": False}
    state = run(state, config, wifi(T0 + 5000, STRANGER))
    assert state.devices[STRANGER].present_since == T0 + 5000 and len(devices(state)) == 2


def test_a_device_back_after_its_grace_starts_a_new_interval_even_without_an_evaluation_between(config):
    state = run(State(), config, wifi(T0, STRANGER), wifi(T0 + 1000, STRANGER))
    assert state.history_out == ({"kind": "device", "mac": STRANGER, "start": T0, "end": T0, "personal": False},)
    assert state.devices[STRANGER].present_since == T0 + 1000


def test_home_assistants_answer_is_kept_as_intervals_of_home_and_away():
    raw = make_config(homeassistant={"url": "http://ha:8123", "poll_interval": 60})
    raw["people"][2]["homeassistant_entities"] = ["person.charlie"]
    config = parse_config(raw)
    state = run(State(), config, ha(T0, person__charlie="home"), T0, ha(T0 + 60, person__charlie="home"), T0 + 60,
                ha(T0 + 120, person__charlie="not_home"), T0 + 120, ha(T0 + 180, person__charlie="home"), T0 + 180)
    assert state.history_out == ({"kind": "ha", "person": "charlie", "start": T0, "end": T0 + 120, "home": True},
                                 {"kind": "ha", "person": "charlie", "start": T0 + 120, "end": T0 + 180, "home": False})
    # Home Assistant silent past its max age: the answer is unknown, and the last one is closed.
    state = run(state, config, T0 + 180 + config.homeassistant.max_age + 1)
    assert state.history_out[-1]["home"] is True and state.people["charlie"].ha_home is None


def test_the_watch_of_the_lan_lapses_when_sweeps_stop_for_longer_than_the_grace(config):
    state = run(State(), config, wifi(T0), wifi(T0 + 30), wifi(T0 + 60), wifi(T0 + 2000), wifi(T0 + 2030))
    assert state.history_out == ({"kind": "watched", "start": T0, "end": T0 + 60},)
    assert state.watched == (T0 + 2000, T0 + 2030)
    failed = run(state, config, wifi(T0 + 2060, ok=False))
    assert failed.watched == (T0 + 2000, T0 + 2030)


def test_open_intervals_survive_a_restart_and_close_where_they_ended(config):
    state = run(State(), config, wifi(T0, STRANGER), T0, wifi(T0 + 30, STRANGER), T0 + 30)
    restarted = state_from_dict(state_to_dict(state, T0 + 31))
    assert restarted.devices[STRANGER].present_since == T0 and restarted.watched == (T0, T0 + 30)
    later = run(restarted, config, wifi(T0 + 3600), T0 + 3600)
    assert {"kind": "device", "mac": STRANGER, "start": T0, "end": T0 + 30, "personal": False} in later.history_out
    assert {"kind": "watched", "start": T0, "end": T0 + 30} in later.history_out


def test_a_state_file_from_before_the_history_loads_with_nothing_open(config):
    data = state_to_dict(run(State(), config, wifi(T0, STRANGER), T0), T0)
    del data["watched"]
    for record in data["devices"].values():
        del record["present_since"]
    loaded = state_from_dict(data)
    assert loaded.watched is None and loaded.devices[STRANGER].present_since is None


def test_a_phone_unseen_for_days_while_home_assistant_says_home_is_vanished_and_a_new_mapping_is_not():
    from presence.state.vanished import describe, vanished_devices

    raw = make_config(homeassistant={"url": "http://ha:8123", "poll_interval": 60}, wifi={"vanished_after": 172800})
    raw["people"][1]["homeassistant_entities"] = ["person.susan"]
    config = parse_config(raw)
    old_phone, laptop = "02:00:00:00:02:01", "02:00:00:00:02:02"
    state = run(State(), config, wifi(T0, old_phone, laptop), T0)
    later = T0 + 3 * 86400
    state = run(state, config, wifi(later - 60, laptop), ha(later, person__susan="home"), later)
    (item,) = vanished_devices(state, config, later)
    assert (item.key, item.mac, item.by) == ("susan", old_phone, "Home Assistant")
    assert describe(item) == f"susan: {old_phone} not seen for 3 days while Susan was home (Home Assistant)"
    # Nick's phone: unseen as long, but nothing says Nick was home meanwhile; Tom's never seen at all.
    assert [v.mac for v in vanished_devices(state, config, later)] == [old_phone]


def test_another_device_of_the_person_is_evidence_too():
    from presence.state.vanished import vanished_devices

    old_phone, laptop = "02:00:00:00:02:01", "02:00:00:00:02:02"
    quick = parse_config(make_config(wifi={"scan_interval": 30, "offline_grace": 300, "vanished_after": 3600}))
    state = run(State(), quick, wifi(T0, old_phone, laptop), T0, wifi(T0 + 7200, laptop), T0 + 7200)
    assert [(v.mac, v.by) for v in vanished_devices(state, quick, T0 + 7200)] == [(old_phone, laptop)]
    assert vanished_devices(state, quick, T0 + 3000) == []


def test_the_writer_keeps_what_it_cannot_write_says_so_once_and_writes_it_later(tmp_path, caplog):
    from presence.history import journal
    from presence.outputs.history.writer import HistoryWriter

    caplog.set_level("INFO")
    blocker = tmp_path / "history"
    blocker.write_text("a file where the history's folder should be")
    writer = HistoryWriter(str(blocker), T0, flush_interval=0)
    records = [{"kind": "watched", "start": T0 + i, "end": T0 + i + 0.5} for i in range(3)]
    for record in records:
        writer.write([record], T0 + 10)
    assert caplog.text.count("Cannot write the device history") == 1 and len(writer.pending) == 3
    assert writer.problem() == "device history not written: File exists (3 records held; a restart now loses them)"
    blocker.unlink()
    writer.write([], T0 + 20)
    assert writer.pending == [] and "Device history written to" in caplog.text and writer.problem() is None
    assert [(item.start, item.end) for item in journal.read(str(blocker), T0, T0 + 60).watched] == \
        [(T0 + i, T0 + i + 0.5) for i in range(3)]


def test_the_writer_appends_in_batches_a_minute_apart_and_at_flush(tmp_path, monkeypatch):
    from presence.history import journal
    from presence.outputs.history.writer import HistoryWriter

    appends = []
    real_append = journal.append
    monkeypatch.setattr(journal, "append", lambda *args, **kwargs: appends.append(len(args[1])) or
                        real_append(*args, **kwargs))
    folder = str(tmp_path / "history")
    writer = HistoryWriter(folder, T0)
    for second in range(0, 150, 5):
        writer.write([{"kind": "watched", "start": T0 + second, "end": T0 + second + 1}], T0 + second + 1)
    assert appends == [13, 12]  # at T0 + 61 and T0 + 121; five records wait for the next batch
    assert len(writer.pending) == 5 and writer.flush(T0 + 150) and appends == [13, 12, 5]
    writer.write([{"kind": "watched", "start": T0 + 10, "end": T0 + 11}], T0 + 11)  # the clock went back
    assert appends == [13, 12, 5, 1]
    assert len(journal.read(folder, T0, T0 + 200).watched) == 30  # each of the 30 once (the last one twice)


def test_a_mapped_phones_records_keep_their_room_in_a_day_a_flood_filled(tmp_path, monkeypatch):
    from presence.config import defaults
    from presence.history import journal
    from presence.outputs.history.writer import HistoryWriter

    monkeypatch.setattr(defaults, "MAX_HISTORY_DAY_BYTES", 1_000)
    folder = str(tmp_path / "history")
    writer = HistoryWriter(folder, T0, flush_interval=0)
    phone = "02:00:00:00:01:01"
    flood = [{"kind": "device", "mac": f"06:00:00:00:01:{i:02x}", "start": T0 + i, "end": T0 + i + 1}
             for i in range(100)]
    writer.write(flood, T0 + 100, people_macs={phone: "nick"})
    writer.write([{"kind": "device", "mac": phone, "start": T0, "end": T0 + 100}], T0 + 101)
    assert journal.read(folder, T0, T0 + 200).devices[phone].intervals[0].end == T0 + 100
    assert writer.pending == [] and writer.problem() is None
