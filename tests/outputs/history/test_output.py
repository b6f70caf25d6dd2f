"""The history output: closed records to the journal; a vanished device said once, with the history's hint."""

import logging

from presence.config.load import parse_config
from presence.history import journal
from presence.outputs.base import Tick
from presence.outputs.history.output import HistoryOutput
from presence.state.machine import evaluate, ingest
from presence.state.model import State
from tests.conftest import make_config
from tests.fakes import T0, FakeClock
from tests.state.test_machine import ha, wifi


def decide(state, config, at, *reports, scheduled=True):
    for report in reports:
        state, _ = ingest(state, report, config)
    state, snapshot, transitions, _ = evaluate(state, config, at)
    return state, Tick(at, snapshot, state, config, tuple(transitions), state.history_out, scheduled)


def test_closed_records_reach_the_journal_at_close(tmp_path, config):
    clock = FakeClock(start=T0 + 4000)  # the batch is not due yet when the record closes
    output = HistoryOutput(str(tmp_path / "history"), clock)
    state, first = decide(State(), config, T0, wifi(T0, "02:00:00:00:01:01"))
    output.emit(first)
    _, later = decide(state, config, T0 + 4000, wifi(T0 + 4000, "02:00:00:00:02:01"))
    assert later.history, "Nick's phone, gone past its grace, closes its interval"
    output.emit(later)
    assert "02:00:00:00:01:01" not in journal.read(str(tmp_path / "history"), T0 - 10, T0 + 5000).devices
    output.close(clock.monotonic() + 1)
    kept = journal.read(str(tmp_path / "history"), T0 - 10, T0 + 5000)
    assert kept.devices["02:00:00:00:01:01"].intervals


def test_a_vanished_phone_is_said_once_on_scheduled_ticks(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    raw = make_config(homeassistant={"url": "http://ha:8123", "poll_interval": 60}, wifi={"vanished_after": 172800})
    raw["people"][1]["homeassistant_entities"] = ["person.susan"]
    config = parse_config(raw)
    old_phone, laptop = "02:00:00:00:02:01", "02:00:00:00:02:02"
    output = HistoryOutput(str(tmp_path / "history"), FakeClock())
    state, tick = decide(State(), config, T0, wifi(T0, old_phone, laptop))
    output.emit(tick)
    later = T0 + 3 * 86400
    state, between = decide(state, config, later, wifi(later - 60, laptop), ha(later, person__susan="home"),
                            scheduled=False)
    output.emit(between)
    assert "not seen for" not in caplog.text  # said on the ticks Graphite records, not between
    for at in (later + 5, later + 10):
        state, tick = decide(state, config, at)
        output.emit(tick)
    assert caplog.text.count(f"susan: {old_phone} not seen for 3 days while Susan was home") == 1
