"""`check`'s mqtt line against a real broker (Debian's mosquitto, with TLS, a password file and an ACL): taken
and allowed, an ACL that keeps us from the discovery prefix, and each mistake said with what to fix."""

import pytest

from presence.commands.check import Outcome, check_mqtt
from tests.outputs.mqtt.test_publisher import broker, household  # noqa: F401 (broker is a fixture)

pytestmark = pytest.mark.lab  # a real broker


def check(broker, monkeypatch, password, **mqtt):
    monkeypatch.setenv("MQTT_PASSWORD", password)
    return check_mqtt(household(broker, **mqtt))


def test_check_says_the_broker_took_us_and_may_publish_where_needed(broker, monkeypatch):
    result = check(broker, monkeypatch, "presence-pw")
    assert result.outcome is Outcome.OK, result.text
    assert result.text == (f"connected to 127.0.0.1:{broker.tls_port} over TLS as presence; may publish under "
                           "homeassistant/ (discovery) and presence/")


def test_check_fails_for_a_prefix_the_acl_keeps_us_from(broker, monkeypatch):
    result = check(broker, monkeypatch, "outsider-pw", username="outsider")
    assert result.outcome is Outcome.FAIL
    assert "may not publish to homeassistant/presence/check (Not authorized): allow this user to write " \
           "homeassistant/# and presence/#" in result.text


@pytest.mark.parametrize("password, mqtt, expected", [
    ("wrong-pw", {}, "refused the connection: Not authorized (check mqtt.username and the password)"),
    ("presence-pw", {"tls": False}, "TLS with"),
    ("", {}, "mqtt.password_env: the environment variable MQTT_PASSWORD is empty or not set"),
])
def test_check_fails_with_what_to_fix(broker, monkeypatch, password, mqtt, expected):
    if mqtt.get("tls") is False:  # TLS expected on the plain port
        mqtt = {"tls": True, "port": broker.port, "ca_file": broker.ca_file}
    result = check(broker, monkeypatch, password, **mqtt)
    assert result.outcome is Outcome.FAIL and expected in result.text, result.text
    assert "wrong-pw" not in result.text
