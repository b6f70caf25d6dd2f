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
