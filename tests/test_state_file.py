import json
import os
import stat

from presence.state import State, evaluate, ingest
from presence.state_file import load_state, save_state
from tests.test_state import NICK_PHONE, T0, ha, ha_config, wifi


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
    for text in ('{"version": 99}', '[1, 2]', '{"version": 1, "devices": {"x": {}}, "people": {}}'):
        path = tmp_path / "state.json"
        path.write_text(text)
        assert load_state(str(path), T0) == State()
        assert not path.exists()
        os.remove(tmp_path / f"state.json.corrupt-{int(T0)}")


def test_missing_file_starts_fresh(tmp_path):
    assert load_state(str(tmp_path / "none.json"), T0) == State()
