import logging
import socket

import pytest

from presence.config.model import ConfigError
from presence.config.load import parse_config
from presence.config.secrets import Secret, read_token
from presence.sources.homeassistant import HomeAssistantError, HomeAssistantSource, says_home
from tests.conftest import make_config
from testbed.fake_homeassistant import FakeHomeAssistant
from testbed.hostile_http import (HostileServer, answers, bounded, endless_body, self_signed, silent,
                                  tls_server_context, trickle_body, trickle_headers)

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


# Peers that answer badly: each request ends within homeassistant.timeout (1 s here) plus a margin.
LIMIT = 1.0 + 3


@pytest.mark.parametrize("behaviour", [trickle_headers(), trickle_body(), silent()],
                         ids=["trickling headers", "trickling body", "silent"])
@pytest.mark.lab
def test_a_home_assistant_that_trickles_or_says_nothing_fails_the_poll_at_its_timeout(behaviour):
    with HostileServer(behaviour) as server:
        source = HomeAssistantSource(ha_config(server.url, timeout=1), ["person.nick"], Secret(TOKEN))
        report, _ = bounded(LIMIT, source.poll, T0)
    assert not report.ok and report.retry_after
    assert report.error == f"cannot reach {server.url}: Timeout: no complete answer within 1 s"


def test_an_endless_entity_is_refused_not_kept():
    with HostileServer(endless_body()) as server:
        source = HomeAssistantSource(ha_config(server.url, timeout=10), ["person.nick"], Secret(TOKEN))
        report, _ = bounded(LIMIT, source.poll, T0)
    assert not report.ok
    assert report.error == (f"{server.url}/api/states/person.nick: the answer is more than the 1,000,000 "
                            "bytes accepted")


def entity_answers(body):
    return answers(lambda path: (200, body if path.startswith("/api/states/") else {"message": "API running."}))


@pytest.mark.parametrize("body, what", [
    ([{"state": "home"}], "answered a list, not an object"),
    ({"entity_id": "person.nick"}, "answered without 'state'"),
    ({"state": 5}, "answered a number for 'state', not a string"),
    ({"state": None}, "answered null for 'state', not a string"),
    ({"state": {"home": True}}, "answered an object for 'state', not a string"),
    ('"home"', "answered a string, not an object"),
])
def test_an_entity_of_the_wrong_shape_is_a_clear_error(body, what):
    with HostileServer(entity_answers(body)) as server:
        source = HomeAssistantSource(ha_config(server.url), ["person.nick"], Secret(TOKEN))
        report = source.poll(T0)
        with pytest.raises(HomeAssistantError) as caught:
            source.read("person.nick")
    assert not report.ok and report.error == str(caught.value)
    assert report.error == f"{server.url}/api/states/person.nick {what}: is this Home Assistant's address?"


def test_json_too_deep_to_parse_is_not_json():
    with HostileServer(entity_answers("[" * 100_000 + "]" * 100_000)) as server:
        report = HomeAssistantSource(ha_config(server.url), ["person.nick"], Secret(TOKEN)).poll(T0)
    assert report.error == f"{server.url}/api/states/person.nick did not answer JSON"


def test_a_state_is_kept_printable_and_no_longer_than_home_assistants_own():
    states = {"person.nick": "home\x1b[2J\n", "person.susan": "W" * 5000}
    route = answers(lambda path: (200, {"state": states[path.removeprefix("/api/states/")]}))
    with HostileServer(route) as server:
        report = HomeAssistantSource(ha_config(server.url), list(states), Secret(TOKEN)).poll(T0)
    nick, susan = report.readings
    assert (nick.state, nick.home) == ("home\\x1b[2J\\x0a", False)
    assert susan.state == "W" * 255


@pytest.mark.parametrize("body, what", [
    ({"entity_id": "person.nick"}, "/api/states answered an object, not a list of entities"),
    ([["person.nick", "home"]], "/api/states (entity 0) answered a list, not an object"),
    ([{"state": "home"}], "/api/states (entity 0) answered without 'entity_id'"),
    ([{"entity_id": "person.a", "state": "home"}, {"entity_id": "person.b", "state": 1}],
     "/api/states (entity 1) answered a number for 'state', not a string"),
])
def test_states_of_the_wrong_shape_are_a_clear_error(body, what):
    with HostileServer(answers(lambda _path: (200, body))) as server:
        with pytest.raises(HomeAssistantError) as caught:
            HomeAssistantSource(ha_config(server.url), [], Secret(TOKEN)).states()
    assert str(caught.value) == f"{server.url}{what}: is this Home Assistant's address?"


def test_ping_of_the_wrong_shape_is_a_clear_error():
    with HostileServer(answers(lambda _path: (200, ["API running."]))) as server:
        with pytest.raises(HomeAssistantError) as caught:
            HomeAssistantSource(ha_config(server.url), [], Secret(TOKEN)).ping()
    assert "/api/ answered a list, not an object" in str(caught.value)


def test_a_password_in_the_url_never_reaches_a_message():
    with HostileServer(answers(lambda _path: (502, "bad gateway"))) as server:
        url = server.url.replace("http://", "http://ha-user:pw-123@")
        report = HomeAssistantSource(ha_config(url), ["person.nick"], Secret(TOKEN)).poll(T0)
    assert report.error == f"{server.url.replace('http://', 'http://***@')}/api/states/person.nick answered HTTP 502"


@pytest.fixture
def tls_home_assistant(tmp_path):
    cert, key = self_signed(str(tmp_path))
    route = answers(lambda path: (200, {"state": "home"} if path.startswith("/api/states/") else {}))
    with HostileServer(route, tls=tls_server_context(cert, key)) as server:
        yield server.url, cert, self_signed(str(tmp_path), "other")[0]


def test_tls_errors_say_what_to_do_with_or_without_a_ca_bundle(tls_home_assistant, tmp_path):
    url, cert, other = tls_home_assistant

    def poll(**extra):
        return HomeAssistantSource(ha_config(url, **extra), ["person.nick"], Secret(TOKEN)).poll(T0)

    assert poll(ca_bundle=cert).readings[0].home is True
    assert poll().error == (f"{url}: its TLS certificate is not trusted (self-signed certificate); for a private "
                            "CA set homeassistant.ca_bundle")
    assert poll(ca_bundle=other).error == (f"{url}: its TLS certificate is not trusted by homeassistant.ca_bundle "
                                           f"({other}): self-signed certificate")
    missing = str(tmp_path / "missing.pem")
    assert poll(ca_bundle=missing).error == f"homeassistant.ca_bundle: cannot read {missing}: No such file or directory"


@pytest.mark.parametrize("token", ["abc\ndef", "abc def", "abc\x1bdef", "abcdéf", "two\ttokens"])
def test_a_token_with_whitespace_or_controls_inside_is_a_config_error(token, tmp_path):
    config = ha_config("http://ha:8123", token_env="MY_HA_TOKEN")
    with pytest.raises(ConfigError) as caught:
        read_token(config, "p.yaml", {"MY_HA_TOKEN": token})
    assert caught.value.problems[0].startswith("homeassistant.token_env: the environment variable MY_HA_TOKEN "
                                               "holds a space, a line break")
    (tmp_path / "ha_token").write_text(f"\n{token}\n")
    with pytest.raises(ConfigError) as caught:
        read_token(config, "p.yaml", {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert caught.value.problems[0].startswith(f"homeassistant: the credential {tmp_path / 'ha_token'} holds")
    assert token not in str(caught.value) and "def" not in str(caught.value)


def test_a_credential_that_is_not_utf8_or_not_readable_is_a_config_error(tmp_path):
    config = ha_config("http://ha:8123")
    credential = tmp_path / "ha_token"
    credential.write_bytes(b"\xff\xfetoken")
    with pytest.raises(ConfigError) as caught:
        read_token(config, "p.yaml", {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert caught.value.problems == [f"homeassistant: the credential {credential} is not UTF-8 text; put the "
                                     "token alone in it"]
    credential.unlink()
    credential.mkdir()
    with pytest.raises(ConfigError) as caught:
        read_token(config, "p.yaml", {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert caught.value.problems == [f"homeassistant: cannot read the credential {credential}: Is a directory"]


OWN = (frozenset({"device_tracker.presence_nick", "binary_sensor.presence_anyone_home"}), "presence")


def test_our_own_entities_are_no_evidence_even_renamed_or_behind_a_person(ha, caplog):
    """The loop guard: by id, by the presence_topic attribute, and through a person.* that tracks one."""
    ha.states.update({"device_tracker.presence_nick": "home", "device_tracker.nicks_presence": "home",
                      "person.charlie": "home", "device_tracker.charlie_gps": "home", "person.mo": "home",
                      "device_tracker.elsewhere": "home"})
    ha.attributes.update({
        "device_tracker.nicks_presence": {"presence_topic": "presence"},  # ours, renamed in Home Assistant
        "device_tracker.elsewhere": {"presence_topic": "another/site"},  # another daemon's: evidence
        "person.nick": {"device_trackers": ["device_tracker.nick_phone", "device_tracker.presence_nick"]},
        "person.charlie": {"device_trackers": ["device_tracker.charlie_gps", "device_tracker.nicks_presence"]},
        "person.mo": {"device_trackers": ["device_tracker.charlie_gps", 7], "source": "device_tracker.charlie_gps"},
        # As Home Assistant shows a tracker in a real state: with its source_type (without attributes it would be
        # undecided, since an unavailable tracker of ours shows none).
        "device_tracker.charlie_gps": {"source_type": "gps"}})
    entities = ["device_tracker.presence_nick", "device_tracker.nicks_presence", "person.nick", "person.charlie",
                "person.mo", "device_tracker.elsewhere", "device_tracker.nick_phone"]
    source = HomeAssistantSource(ha_config(ha.url), entities, Secret(TOKEN), own=OWN)
    for _ in range(2):
        readings = {r.entity_id: (r.state, r.home) for r in source.poll(T0).readings}
    assert readings == {"device_tracker.presence_nick": ("home (our own output)", None),
                        "device_tracker.nicks_presence": ("home (our own output)", None),
                        "person.nick": ("home (our own output)", None),
                        "person.charlie": ("home (our own output)", None),
                        "person.mo": ("home", True), "device_tracker.elsewhere": ("home", True),
                        "device_tracker.nick_phone": ("not_home", False)}
    said = [r.getMessage() for r in caplog.records if "this daemon publishes" in r.getMessage()
            or "published by this daemon" in r.getMessage()]
    assert len(said) == 4  # once each, not at every poll
    assert ("person.charlie follows device_tracker.nicks_presence, which this daemon publishes over MQTT: it is "
            "ignored, since it would echo our own verdict; map that person's other trackers in "
            "homeassistant_entities instead of person.charlie, or remove device_tracker.nicks_presence from the "
            "person in Home Assistant") in said
    asked = [path for path, _ in ha.requests]
    assert asked.count("/api/states/device_tracker.nicks_presence") == 2 + 1  # its polls, and once for charlie


def test_without_an_mqtt_section_a_tracker_like_ours_is_evidence(ha):
    ha.states["device_tracker.presence_nick"] = "home"
    source = HomeAssistantSource(ha_config(ha.url), ["device_tracker.presence_nick"], Secret(TOKEN))
    assert [(r.state, r.home) for r in source.poll(T0).readings] == [("home", True)]


def test_check_fails_for_a_loop_and_says_how_to_end_it(ha, monkeypatch):
    from presence.commands.check import Outcome, check_homeassistant

    monkeypatch.setenv("PRESENCE_TEST_TOKEN", TOKEN)
    ha.attributes["person.nick"] = {"device_trackers": ["device_tracker.nick_phone", "device_tracker.presence_nick"]}
    raw = make_config(homeassistant={"url": ha.url, "token_env": "PRESENCE_TEST_TOKEN"}, mqtt={"host": "broker"})
    raw["people"][0]["homeassistant_entities"] = ["person.nick", "device_tracker.nick_phone"]
    raw["people"][1]["homeassistant_entities"] = ["binary_sensor.presence_anyone_home"]  # not in Home Assistant
    result = check_homeassistant(parse_config(raw))
    assert result.outcome is Outcome.FAIL
    assert result.text == (
        f"{ha.url}: a loop: person.nick follows device_tracker.presence_nick, which this daemon publishes over MQTT: "
        "it is ignored, since it would echo our own verdict; map that person's other trackers in "
        "homeassistant_entities instead of person.nick, or remove device_tracker.presence_nick from the person in "
        "Home Assistant; people[1].homeassistant_entities[0]: binary_sensor.presence_anyone_home is published by "
        "this daemon over MQTT: it is ignored, since reading it back would count our own verdict as evidence; "
        "remove it from that person's homeassistant_entities")
    asked = [path for path, _ in ha.requests]
    assert asked.count("/api/states/person.nick") == 1  # its state and attributes from one request
    del ha.attributes["person.nick"]
    raw["people"][1]["homeassistant_entities"] = []
    assert check_homeassistant(parse_config(raw)).outcome is Outcome.OK


def test_homeassistant_backs_off_with_jitter_and_rarely_after_a_401():
    raw = make_config(homeassistant={"url": "http://127.0.0.1:9", "poll_interval": 60})
    ha_config = parse_config(raw).homeassistant
    source = HomeAssistantSource(ha_config, ["person.nick"], Secret("t"), random=lambda: 0.5)
    retries = [source.poll(T0).retry_after for _ in range(6)]
    assert retries == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]
    jittery = HomeAssistantSource(ha_config, ["person.nick"], Secret("t"), random=lambda: 0.0)
    assert jittery.poll(T0).retry_after == 3.75
    ha = FakeHomeAssistant("right", {"person.nick": "home"})
    try:
        raw["homeassistant"]["url"] = ha.url
        refused = HomeAssistantSource(parse_config(raw).homeassistant, ["person.nick"], Secret("wrong"))
        assert refused.poll(T0).retry_after == 1800.0
    finally:
        ha.close()
