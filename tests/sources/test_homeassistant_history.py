"""Home Assistant's history API (`suggest` on the first day), against the stand-in on loopback."""

import pytest

from presence.config.secrets import Secret
from presence.sources.homeassistant import HomeAssistantError, HomeAssistantSource
from tests.sources.test_homeassistant import LIMIT, T0, TOKEN, ha_config
from testbed.fake_homeassistant import FakeHomeAssistant
from testbed.hostile_http import HostileServer, answers, bounded, endless_body

# Home Assistant's history API (`suggest` on the first day). T0 is 2027-01-15 08:00 UTC.
HOUR = 3600.0
RECORDED = {"person.susan": [(T0 - HOUR, "home"), (T0 + 600, "Work"), (T0 + 1200, "not_home"),
                             (T0 + 1800, "unavailable"), (T0 + 2400, "home"), (T0 + 2500, "home"), (T0 + 2 * HOUR, "Work")],
            "device_tracker.nick_phone": [(T0 + 100, "not_home")],
            "binary_sensor.mo_bed": [(T0 - 2 * HOUR, "on"), (T0 - HOUR, "off")]}


@pytest.fixture
def recorder():
    server = FakeHomeAssistant(TOKEN, history=RECORDED)
    yield server
    server.close()


def test_history_gives_each_entitys_spans_as_home_assistant_means_them(recorder):
    source = HomeAssistantSource(ha_config(recorder.url), [], Secret(TOKEN))
    entities = ["person.susan", "device_tracker.nick_phone", "binary_sensor.mo_bed", "person.tom"]
    assert source.history(entities, T0, T0 + HOUR) == {
        # Work and not_home both mean away: one span; unavailable is no evidence.
        "person.susan": [(T0, T0 + 600, True), (T0 + 600, T0 + 1800, False), (T0 + 1800, T0 + 2400, None),
                         (T0 + 2400, T0 + HOUR, True)],
        "device_tracker.nick_phone": [(T0 + 100, T0 + HOUR, False)],
        "binary_sensor.mo_bed": [(T0, T0 + HOUR, False)],
        "person.tom": []}
    path, authorization = recorder.requests[-1]
    assert authorization == f"Bearer {TOKEN}"
    assert path == ("/api/history/period/2027-01-15T08:00:00%2B00:00?filter_entity_id=person.susan,"
                    "device_tracker.nick_phone,binary_sensor.mo_bed,person.tom&end_time=2027-01-15T09:00:00%2B00:00"
                    "&minimal_response&no_attributes")
    assert source.history([], T0, T0 + HOUR) == {} and len(recorder.requests) == 1


def test_history_with_fractions_of_seconds_and_a_long_timeout(recorder):
    source = HomeAssistantSource(ha_config(recorder.url, timeout=0.2), [], Secret(TOKEN))
    recorder.delay = 0.5
    assert source.history(["person.susan"], T0 + 0.25, T0 + 600.5, timeout=5) == {
        "person.susan": [(T0 + 0.25, T0 + 600, True), (T0 + 600, T0 + 600.5, False)]}
    assert recorder.requests[-1][0].startswith("/api/history/period/2027-01-15T08:00:00.250000%2B00:00?")
    with pytest.raises(HomeAssistantError, match="Timeout"):
        source.history(["person.susan"], T0, T0 + 600)


def test_history_without_the_history_integration_is_said_plainly():
    ha = FakeHomeAssistant(TOKEN, {"person.nick": "home"})
    try:
        with pytest.raises(HomeAssistantError) as caught:
            HomeAssistantSource(ha_config(ha.url), [], Secret(TOKEN)).history(["person.nick"], T0, T0 + HOUR)
    finally:
        ha.close()
    assert str(caught.value) == (f"{ha.url}/api/history/period was not found: Home Assistant keeps no history "
                                 "there (its history integration, part of default_config, is not loaded)")
    assert caught.value.kind == "missing"


def test_history_with_a_wrong_token_is_the_usual_auth_error(recorder):
    with pytest.raises(HomeAssistantError) as caught:
        HomeAssistantSource(ha_config(recorder.url), [], Secret("wrong")).history(["person.nick"], T0, T0 + HOUR)
    assert caught.value.kind == "auth" and "refused the access token (401)" in str(caught.value)


STAMP = "2027-01-15T08:00:00+00:00"


@pytest.mark.parametrize("body, what", [
    ({"person.nick": []}, "/api/history/period answered an object, not a list of entities"),
    ([{"entity_id": "person.nick", "state": "home", "last_changed": STAMP}],
     "/api/history/period (entity 0) answered an object, not a list of states"),
    ([["home"]], "/api/history/period (entity 0) answered a string, not an object"),
    ([[{"state": "home", "last_changed": STAMP}]], "/api/history/period (entity 0) answered without 'entity_id'"),
    ([[{"entity_id": "person.nick", "state": "home"}]],
     "/api/history/period (entity 0) answered without 'last_changed'"),
    ([[{"entity_id": "person.nick", "state": "home", "last_changed": STAMP}, {"last_changed": STAMP, "state": 1}]],
     "/api/history/period (entity 0) answered a number for 'state', not a string"),
    ([[], [{"entity_id": "person.nick", "state": "home", "last_changed": "yesterday\x1b[2J"}]],
     "/api/history/period (entity 1) answered 'yesterday\\x1b[2J' for 'last_changed', not a time with its zone"),
    ([[{"entity_id": "person.nick", "state": "home", "last_changed": "2027-01-15T08:00:00"}]],
     "/api/history/period (entity 0) answered '2027-01-15T08:00:00' for 'last_changed', not a time with its zone"),
])
def test_history_of_the_wrong_shape_is_a_clear_error(body, what):
    with HostileServer(answers(lambda _path: (200, body))) as server:
        with pytest.raises(HomeAssistantError) as caught:
            HomeAssistantSource(ha_config(server.url), [], Secret(TOKEN)).history(["person.nick"], T0, T0 + HOUR)
    assert str(caught.value) == f"{server.url}{what}: is this Home Assistant's address?"


def test_history_of_entities_not_asked_for_or_out_of_order_is_read_safely():
    body = [[{"entity_id": "person.other", "state": "home", "last_changed": STAMP}],
            [{"entity_id": "person.nick", "state": "home", "last_changed": "2027-01-15T08:30:00+00:00"},
             {"state": "not_home", "last_changed": "2027-01-15T09:00:00+01:00"},  # 08:00 UTC: sorted first
             {"state": "home", "last_changed": "2027-01-15T07:00:00Z"}]]  # before the start: clipped
    with HostileServer(answers(lambda _path: (200, body))) as server:
        spans = HomeAssistantSource(ha_config(server.url), [], Secret(TOKEN)).history(["person.nick"], T0, T0 + HOUR)
    assert spans == {"person.nick": [(T0, T0 + HOUR / 2, False), (T0 + HOUR / 2, T0 + HOUR, True)]}


def test_an_endless_history_is_refused_at_its_bound():
    with HostileServer(endless_body()) as server:
        source = HomeAssistantSource(ha_config(server.url, timeout=10), [], Secret(TOKEN))
        with pytest.raises(HomeAssistantError) as caught:
            bounded(LIMIT + 5, source.history, ["person.nick"], T0, T0 + HOUR)
    assert str(caught.value) == f"{server.url}/api/history/period: the answer is more than the 16,000,000 bytes accepted"
