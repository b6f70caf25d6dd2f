"""The Home Assistant token and the broker password: from the systemd credential before the environment, and
every refusal says where it looked without ever showing the secret."""

import os

import pytest

from presence.config import defaults
from presence.config.load import parse_config
from presence.config.model import ConfigError
from presence.config.secrets import Secret, read_mqtt_password, read_token
from tests.conftest import make_config

TOKEN = "eyJhbGciOiJIUzI1NiJ9.token-from-env.abc123"
CREDENTIAL_TOKEN = "eyJhbGciOiJIUzI1NiJ9.token-from-credential.xyz789"


@pytest.fixture
def homeassistant():
    raw = make_config(homeassistant={"url": "http://198.51.100.10:8123", "token_env": "PRESENCE_TEST_TOKEN"})
    return parse_config(raw).homeassistant


@pytest.fixture
def mqtt():
    return parse_config(make_config(mqtt={"host": "broker.lan", "username": "presence"})).mqtt


@pytest.fixture
def environ(monkeypatch):
    """The process environment with neither secret nor a credential folder, as the functions read it by default."""
    for name in ("PRESENCE_TEST_TOKEN", "MQTT_PASSWORD", "CREDENTIALS_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def refusal(read, section, environ=None):
    with pytest.raises(ConfigError) as caught:
        read(section, "/etc/presence/people.yaml", *([environ] if environ is not None else []))
    assert caught.value.source == "/etc/presence/people.yaml"
    return caught.value


def test_the_token_comes_from_the_environment_variable_without_surrounding_whitespace(homeassistant, environ):
    environ.setenv("PRESENCE_TEST_TOKEN", f"  {TOKEN}\n")
    token = read_token(homeassistant, "people.yaml")
    assert token == TOKEN and isinstance(token, Secret) and isinstance(token, str)


def test_the_credential_beats_the_environment_variable(homeassistant, environ, tmp_path):
    (tmp_path / defaults.HA_CREDENTIAL_NAME).write_text(CREDENTIAL_TOKEN + "\n")
    environ.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    environ.setenv("PRESENCE_TEST_TOKEN", TOKEN)
    assert read_token(homeassistant, "people.yaml") == CREDENTIAL_TOKEN


def test_a_credential_folder_without_the_token_or_with_an_empty_one_falls_back_to_the_environment(
        homeassistant, environ, tmp_path):
    environ.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    environ.setenv("PRESENCE_TEST_TOKEN", TOKEN)
    (tmp_path / defaults.MQTT_CREDENTIAL_NAME).write_text("not the token")
    assert read_token(homeassistant, "people.yaml") == TOKEN
    (tmp_path / defaults.HA_CREDENTIAL_NAME).write_text(" \n")
    assert read_token(homeassistant, "people.yaml") == TOKEN


def test_an_empty_credential_folder_variable_means_no_credentials(homeassistant, tmp_path):
    (tmp_path / defaults.HA_CREDENTIAL_NAME).write_text(CREDENTIAL_TOKEN)
    assert read_token(homeassistant, "p.yaml", {"CREDENTIALS_DIRECTORY": "", "PRESENCE_TEST_TOKEN": TOKEN}) == TOKEN


@pytest.mark.parametrize("value", [None, "", "  \n"])
def test_no_token_anywhere_says_where_it_was_looked_for_and_how_to_make_one(homeassistant, environ, value):
    if value is not None:
        environ.setenv("PRESENCE_TEST_TOKEN", value)
    assert refusal(read_token, homeassistant).problems == [
        "homeassistant.token_env: the environment variable PRESENCE_TEST_TOKEN is empty or not set, and there is "
        "no systemd credential 'ha_token'; create a long-lived access token in Home Assistant (your profile, "
        "Security tab) and provide it"]


@pytest.mark.parametrize("token", ["tok3n word9", "tok3n\tword9", "tok3n-w\u00f6rd9", "tok3n\nword9", "tok3n\x7fword9"])
def test_a_token_with_a_space_control_or_non_ascii_character_is_refused_unseen(homeassistant, token):
    error = refusal(read_token, homeassistant, {"PRESENCE_TEST_TOKEN": token})
    assert error.problems == [
        "homeassistant.token_env: the environment variable PRESENCE_TEST_TOKEN holds a space, a line break, a "
        "control character or a non-ASCII character inside the token; a Home Assistant token has none: put the "
        "token alone on one line"]
    assert "tok3n" not in str(error) and "rd9" not in str(error)


def test_a_bad_token_in_the_credential_is_blamed_on_the_credential_file(homeassistant, tmp_path):
    path = tmp_path / defaults.HA_CREDENTIAL_NAME
    path.write_text("secret-part-one\nsecret-part-two\n")
    error = refusal(read_token, homeassistant, {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert error.problems[0].startswith(f"homeassistant: the credential {path} holds a space, a line break")
    assert "secret-part" not in str(error)


def test_a_credential_longer_than_any_secret_is_refused_unread(homeassistant, mqtt, tmp_path):
    environ = {"CREDENTIALS_DIRECTORY": str(tmp_path), "PRESENCE_TEST_TOKEN": TOKEN, "MQTT_PASSWORD": "pw"}
    (tmp_path / defaults.HA_CREDENTIAL_NAME).write_text("T" * (defaults.MAX_SECRET_LENGTH + 1))
    error = refusal(read_token, homeassistant, environ)
    assert error.problems == [f"homeassistant: the credential {tmp_path / 'ha_token'} is longer than any token "
                              f"({defaults.MAX_SECRET_LENGTH} characters); put the token alone in it"]
    assert "TTTT" not in str(error)
    (tmp_path / defaults.MQTT_CREDENTIAL_NAME).write_text("p" * defaults.MAX_SECRET_LENGTH)
    assert read_mqtt_password(mqtt, "p.yaml", environ) == "p" * defaults.MAX_SECRET_LENGTH


def test_a_credential_that_is_not_utf8_or_cannot_be_read_is_named_not_shown(homeassistant, mqtt, tmp_path):
    (tmp_path / defaults.HA_CREDENTIAL_NAME).write_bytes(b"secret\xff\xfe")
    environ = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    error = refusal(read_token, homeassistant, environ)
    assert error.problems == [f"homeassistant: the credential {tmp_path / 'ha_token'} is not UTF-8 text; put the "
                              "token alone in it"]
    assert "secret" not in str(error)
    os.mkdir(tmp_path / defaults.MQTT_CREDENTIAL_NAME)
    assert refusal(read_mqtt_password, mqtt, environ).problems == [
        f"mqtt: cannot read the credential {tmp_path / 'mqtt_password'}: Is a directory"]


def test_a_password_may_hold_spaces_and_non_ascii_but_not_a_control_character(mqtt, tmp_path):
    assert read_mqtt_password(mqtt, "p.yaml", {"MQTT_PASSWORD": "correct horse b\u00e4ttery"}) == \
        "correct horse b\u00e4ttery"
    path = tmp_path / defaults.MQTT_CREDENTIAL_NAME
    path.write_text("hunter2\x07bell")
    error = refusal(read_mqtt_password, mqtt, {"CREDENTIALS_DIRECTORY": str(tmp_path), "MQTT_PASSWORD": "pw"})
    assert error.problems == [f"mqtt: the credential {path} holds a line break or a control character inside the "
                              "password: put the password alone on one line"]
    assert "hunter2" not in str(error)


def test_the_password_is_read_from_the_process_environment_by_default(mqtt, environ, tmp_path):
    environ.setenv("MQTT_PASSWORD", "from-env")
    assert read_mqtt_password(mqtt, "p.yaml") == "from-env"
    (tmp_path / defaults.MQTT_CREDENTIAL_NAME).write_text("from-credential\n")
    environ.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert read_mqtt_password(mqtt, "p.yaml") == "from-credential"


def test_a_secret_never_shows_itself_in_a_repr_but_is_its_text_everywhere_else():
    secret = Secret(TOKEN)
    assert repr(secret) == "'***'" and repr([secret]) == "['***']" and f"{secret!r}" == "'***'"
    assert TOKEN not in repr({"token": secret})
    assert f"Bearer {secret}" == f"Bearer {TOKEN}" and secret == TOKEN
