"""The `mqtt:` section and the broker password: defaults, and every mistake named by its key."""

import pytest

from presence.config.load import parse_config
from presence.config.model import ConfigError
from presence.config.secrets import read_mqtt_password
from tests.conftest import make_config


def mqtt(**section):
    return parse_config(make_config(mqtt=section)).mqtt


def problems(**section):
    with pytest.raises(ConfigError) as caught:
        parse_config(make_config(mqtt=section))
    return caught.value.problems


def test_defaults_need_only_the_host():
    section = mqtt(host="broker.lan")
    assert (section.host, section.port, section.tls, section.verify_tls) == ("broker.lan", 1883, False, True)
    assert (section.discovery_prefix, section.base_topic) == ("homeassistant", "presence")
    assert section.username is None and section.password_env == "MQTT_PASSWORD" and section.client_id is None
    assert parse_config(make_config()).mqtt is None


def test_tls_defaults_to_port_8883_and_a_ca_file_implies_tls():
    assert mqtt(host="b", tls=True).port == 8883
    section = mqtt(host="b", ca_file="/etc/ssl/home-ca.pem")
    assert section.tls and section.port == 8883 and section.ca_file == "/etc/ssl/home-ca.pem"
    assert mqtt(host="b", tls=True, port=8884, verify_tls=False).verify_tls is False


@pytest.mark.parametrize("section, expected", [
    ({}, "mqtt.host: missing: the MQTT broker Home Assistant uses"),
    ({"host": "b", "port": 0}, "mqtt.port: "),
    ({"host": "b", "tls": "yes"}, "mqtt.tls: must be true or false"),
    ({"host": "b", "tls": False, "ca_file": "/ca.pem"}, "mqtt.ca_file: set, but mqtt.tls is false"),
    ({"host": "b", "username": "a\nb"}, "mqtt.username: "),
    ({"host": "b", "password_env": "MY PASSWORD"}, "mqtt.password_env: 'MY PASSWORD' is not an environment variable"),
    ({"host": "b", "client_id": "has space"}, "mqtt.client_id: "),
    ({"host": "b", "discovery_prefix": "home/#"}, "mqtt.discovery_prefix: 'home/#' is not a topic"),
    ({"host": "b", "base_topic": "/presence"}, "mqtt.base_topic: '/presence' is not a topic"),
    ({"host": "b", "base_topic": "homeassistant"}, "mqtt.base_topic: must differ from mqtt.discovery_prefix"),
    ({"host": "b", "password": "secret"}, "mqtt.password: unknown key"),
])
def test_each_mistake_names_its_key(section, expected):
    found = problems(**section)
    assert any(problem.startswith(expected) for problem in found), found
    assert not any("secret" in problem for problem in found)


def test_the_password_comes_from_the_credential_before_the_environment(tmp_path):
    section = mqtt(host="b", username="presence", password_env="BROKER_PW")
    assert read_mqtt_password(section, "p.yaml", {"BROKER_PW": " pw from env \n"}) == "pw from env"
    (tmp_path / "mqtt_password").write_text("pw from credential\n")
    environ = {"BROKER_PW": "pw from env", "CREDENTIALS_DIRECTORY": str(tmp_path)}
    assert read_mqtt_password(section, "p.yaml", environ) == "pw from credential"
    (tmp_path / "mqtt_password").write_text("")  # the unit's empty credential: the environment's then
    assert read_mqtt_password(section, "p.yaml", environ) == "pw from env"
    assert repr(read_mqtt_password(section, "p.yaml", environ)) == "'***'"


def test_no_username_needs_no_password_and_a_missing_one_says_where_it_was_looked_for():
    assert read_mqtt_password(mqtt(host="b"), "p.yaml", {}) is None
    with pytest.raises(ConfigError) as caught:
        read_mqtt_password(mqtt(host="b", username="presence"), "p.yaml", {})
    assert caught.value.problems == [
        "mqtt.password_env: the environment variable MQTT_PASSWORD is empty or not set, and there is no systemd "
        "credential 'mqtt_password'; provide the broker password of mqtt.username"]


def test_a_password_with_a_line_break_inside_is_refused_without_showing_it(tmp_path):
    with pytest.raises(ConfigError) as caught:
        read_mqtt_password(mqtt(host="b", username="u"), "p.yaml", {"MQTT_PASSWORD": "hunter2\nsecond"})
    assert caught.value.problems[0].startswith("mqtt.password_env: the environment variable MQTT_PASSWORD holds "
                                               "a line break")
    assert "hunter2" not in str(caught.value)
