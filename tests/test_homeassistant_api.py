import logging
import socket

import pytest

from presence.config import ConfigError, parse_config
from presence.homeassistant_api import HomeAssistantSource, Secret, read_token, says_home
from tests.conftest import make_config
from tests.fake_homeassistant import FakeHomeAssistant

TOKEN = "eyJ-secret-token-value-1234"
T0 = 1_800_000_000.0


@pytest.fixture
def ha():
    server = FakeHomeAssistant(TOKEN, {"person.nick": "home", "device_tracker.nick_phone": "not_home",
                                       "person.susan": "Work", "person.tom": "unavailable",
                                       "binary_sensor.mo_bed": "on"})
    yield server
    server.close()


def ha_config(url, **extra):
    raw = make_config(homeassistant={"url": url, **extra})
    raw["people"][0]["homeassistant_entities"] = ["person.nick", "device_tracker.nick_phone"]
    return parse_config(raw).homeassistant


@pytest.mark.parametrize("entity, state, expected", [
    ("person.nick", "home", True), ("person.nick", "not_home", False), ("person.nick", "School", False),
    ("device_tracker.x", "home", True), ("person.nick", "unknown", None), ("person.nick", "unavailable", None),
    ("person.nick", None, None), ("binary_sensor.bed", "on", True), ("input_boolean.guest", "off", False),
])
def test_states_are_read_as_home_assistant_means_them(entity, state, expected):
    assert says_home(entity, state) is expected


def test_poll_reads_each_entity_with_the_bearer_token(ha):
    source = HomeAssistantSource(ha_config(ha.url), ["person.nick", "person.susan", "person.tom",
                                                     "person.gone", "binary_sensor.mo_bed"], Secret(TOKEN))
    report = source.poll(T0)
    assert report.ok
    assert [(r.entity_id, r.state, r.home, r.at) for r in report.readings] == [
        ("person.nick", "home", True, T0), ("person.susan", "Work", False, T0),
        ("person.tom", "unavailable", None, T0), ("person.gone", "missing", None, T0),
        ("binary_sensor.mo_bed", "on", True, T0)]
    assert {auth for _, auth in ha.requests} == {f"Bearer {TOKEN}"}


def test_wrong_token_is_a_clear_error_without_the_token(ha, caplog):
    caplog.set_level(logging.DEBUG)
    source = HomeAssistantSource(ha_config(ha.url), ["person.nick"], Secret("wrong-token-999"))
    report = source.poll(T0)
    assert not report.ok and "refused the access token (401)" in report.error
    assert "wrong-token-999" not in report.error + caplog.text


def test_banned_host_is_said_plainly(ha):
    ha.status = 403
    report = HomeAssistantSource(ha_config(ha.url), ["person.nick"], Secret(TOKEN)).poll(T0)
    assert "this host is banned by Home Assistant" in report.error


def test_server_error_and_dead_server(ha):
    ha.status = 502
    report = HomeAssistantSource(ha_config(ha.url), ["person.nick"], Secret(TOKEN)).poll(T0)
    assert report.error.endswith("answered HTTP 502")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    report = HomeAssistantSource(ha_config(dead), ["person.nick"], Secret(TOKEN)).poll(T0)
    assert not report.ok and report.error.startswith(f"cannot reach {dead}")


def test_slow_server_times_out(ha):
    ha.delay = 1.0
    report = HomeAssistantSource(ha_config(ha.url, timeout=0.2), ["person.nick"], Secret(TOKEN)).poll(T0)
    assert not report.ok and "Timeout" in report.error


def test_ping(ha):
    assert HomeAssistantSource(ha_config(ha.url), [], Secret(TOKEN)).ping() == "API running."


def test_token_from_environment_or_credential(tmp_path):
    config = ha_config("http://ha:8123", token_env="MY_HA_TOKEN")
    assert read_token(config, "p.yaml", {"MY_HA_TOKEN": " abc \n"}) == "abc"
    (tmp_path / "ha_token").write_text("from-credential\n")
    env = {"MY_HA_TOKEN": "abc", "CREDENTIALS_DIRECTORY": str(tmp_path)}
    assert read_token(config, "p.yaml", env) == "from-credential"


def test_missing_token_names_the_key_and_variable():
    with pytest.raises(ConfigError) as caught:
        read_token(ha_config("http://ha:8123"), "p.yaml", {})
    assert caught.value.problems[0].startswith(
        "homeassistant.token_env: the environment variable HOME_ASSISTANT_TOKEN is empty or not set")


def test_secret_never_shows_in_repr():
    secret = Secret(TOKEN)
    assert repr(secret) == "'***'" and TOKEN not in repr({"token": secret})
