"""When the state file is written: at once for what a restart needs, else at most every state_save_interval."""

from dataclasses import replace

import pytest

from presence.config import defaults
from presence.config.load import parse_config
from presence.config.model import ConfigError
from presence.state.machine import evaluate, ingest
from presence.state.model import State
from presence.state.save_policy import save_reason
from tests.conftest import make_config
from tests.state.test_machine import NICK_PHONE, STRANGER, T0, ha, ha_config, wifi


def run(state, config, *reports):
    for report in reports:
        state, _ = ingest(state, report, config)
    state, _, _, _ = evaluate(state, config, reports[-1].at)
    return state


@pytest.fixture
def config():
    # Nick's grace (600 s) is longer than the margin plus the interval: refreshes alone can wait.
    return parse_config(make_config(state_save_interval=120))


def test_the_first_save_and_a_new_device_are_written_at_once(config):
    state = run(State(), config, wifi(T0, NICK_PHONE))
    assert save_reason(None, state, config, T0, -1e18) == "first save"
    later = run(state, config, wifi(T0 + 30, NICK_PHONE, STRANGER))
    assert save_reason(state, later, config, T0 + 30, T0) == "a person or a device changed"


def test_a_refreshed_last_seen_waits_for_the_interval(config):
    state = run(State(), config, wifi(T0, NICK_PHONE))
    later = run(state, config, wifi(T0 + 30, NICK_PHONE))
    assert later.devices[NICK_PHONE].last_seen == T0 + 30
    assert save_reason(state, later, config, T0 + 30, T0) is None
    assert save_reason(state, later, config, T0 + 120, T0) == "interval"
    assert save_reason(later, later, config, T0 + 500, T0) is None, "nothing changed: nothing to write"


def test_a_departure_and_an_arrival_are_written_at_once(config):
    state = run(State(), config, wifi(T0, NICK_PHONE))
    gone = run(state, config, wifi(T0 + 700))
    assert not gone.people["nick"].is_home
    assert save_reason(state, gone, config, T0 + 700, T0 + 690) == "a person or a device changed"


def test_the_file_never_lets_a_person_run_out_of_grace_before_the_memory_would():
    # Susan's grace (300 s): once the file's last sighting of her phone is within the margin of running out
    # while memory has a later one, a crash and restart then would invent her departure: written at once.
    config = parse_config(make_config(state_save_interval=3600))
    phone = "02:00:00:00:02:01"
    state = run(State(), config, wifi(T0, phone))
    at = T0 + 300 - defaults.STATE_RESTART_MARGIN
    before = run(state, config, wifi(at - 1, phone))
    assert save_reason(state, before, config, at - 2, T0) is None
    assert save_reason(state, before, config, at, T0) == "the file would let a person's grace run out"
    # Memory has nothing later either (she is leaving): writing would not help, so nothing is written.
    assert save_reason(state, state, config, at, T0) is None


def test_home_assistant_evidence_counts_as_keeping_a_person_home():
    config = ha_config()
    state = run(State(), config, ha(T0, person__charlie="home"))
    assert state.people["charlie"].is_home
    max_age = config.homeassistant.max_age
    fresher = run(state, config, ha(T0 + max_age - defaults.STATE_RESTART_MARGIN, person__charlie="home"))
    assert save_reason(state, fresher, config, T0 + max_age - defaults.STATE_RESTART_MARGIN, T0) == \
        "the file would let a person's grace run out"
    changed = run(state, config, ha(T0 + 10, person__charlie="not_home"))
    assert save_reason(state, changed, config, T0 + 10, T0) == "a person or a device changed"


def test_zero_saves_every_change_and_bad_values_name_the_key():
    config = parse_config(make_config(state_save_interval=0))
    state = run(State(), config, wifi(T0, NICK_PHONE))
    later = run(state, config, wifi(T0 + 30, NICK_PHONE))
    assert save_reason(state, later, config, T0 + 30, T0 + 29) == "interval"
    assert parse_config(make_config()).state_save_interval == defaults.DEFAULT_STATE_SAVE_INTERVAL
    for bad in (-1, "often", 10**6):
        with pytest.raises(ConfigError) as error:
            parse_config(make_config(state_save_interval=bad))
        assert "state_save_interval" in str(error.value)


def test_a_late_home_assistant_reading_never_overwrites_a_newer_one():
    config = ha_config()
    state = run(State(), config, ha(T0 + 10, person__charlie="not_home"))
    state, _ = ingest(state, ha(T0, person__charlie="home"), config)
    assert state.entities["person.charlie"].state == "not_home" and state.ha_answered_at == T0 + 10
    assert replace(state).entities["person.charlie"].at == T0 + 10
