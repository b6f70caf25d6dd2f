"""Secrets the config names but does not hold (the Home Assistant token, the MQTT password), from a systemd
credential or the environment, checked once at start and never shown."""

import os

from presence.config import defaults
from presence.config.model import ConfigError


class Secret(str):
    """A string that never shows itself in a repr, a log line or a traceback's locals."""

    def __repr__(self):
        return "'***'"


def read_token(ha_config, config_path, environ=os.environ):
    """Return the token from $CREDENTIALS_DIRECTORY/ha_token or the configured variable."""
    token, where = _read_secret(defaults.HA_CREDENTIAL_NAME, ha_config.token_env, "homeassistant.token_env", "token",
                                config_path, environ)
    if not token:
        raise ConfigError(config_path, [
            f"homeassistant.token_env: the environment variable {ha_config.token_env} is empty or "
            f"not set, and there is no systemd credential '{defaults.HA_CREDENTIAL_NAME}'; create a "
            "long-lived access token in Home Assistant (your profile, Security tab) and provide it"])
    # A token is printable ASCII without spaces; anything else is refused without showing it.
    if all(" " < char < "\x7f" for char in token):
        return Secret(token)
    raise ConfigError(config_path, [f"{where} holds a space, a line break, a control character or a "
                                    "non-ASCII character inside the token; a Home Assistant token has "
                                    "none: put the token alone on one line"])


def read_mqtt_password(mqtt_config, config_path, environ=os.environ):
    """Return the broker password from $CREDENTIALS_DIRECTORY/mqtt_password or the configured variable;
    None without mqtt.username (an anonymous broker)."""
    if not mqtt_config.username:
        return None
    password, where = _read_secret(defaults.MQTT_CREDENTIAL_NAME, mqtt_config.password_env, "mqtt.password_env",
                                   "password", config_path, environ)
    if not password:
        raise ConfigError(config_path, [
            f"mqtt.password_env: the environment variable {mqtt_config.password_env} is empty or not set, and "
            f"there is no systemd credential '{defaults.MQTT_CREDENTIAL_NAME}'; provide the broker password of "
            "mqtt.username"])
    if any(char < " " or char == "\x7f" for char in password):
        raise ConfigError(config_path, [f"{where} holds a line break or a control character inside the "
                                        "password: put the password alone on one line"])
    return Secret(password)


def _read_secret(credential, env_name, env_key, noun, config_path, environ):
    """(secret or None, where it came from): the systemd credential when it is there and not empty."""
    section = env_key.split(".")[0]
    credentials = environ.get("CREDENTIALS_DIRECTORY")
    if credentials:
        path = os.path.join(credentials, credential)
        secret = _read_credential(path, section, noun, config_path)
        if secret:
            return secret, f"{section}: the credential {path}"
    return environ.get(env_name, "").strip(), f"{env_key}: the environment variable {env_name}"


def _read_credential(path, section, noun, config_path):
    longest = defaults.MAX_SECRET_LENGTH
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(longest + 1)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigError(config_path, [f"{section}: cannot read the credential {path}: "
                                        f"{error.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError(config_path, [f"{section}: the credential {path} is not UTF-8 text; "
                                        f"put the {noun} alone in it"]) from None
    if len(text) > longest:
        raise ConfigError(config_path, [f"{section}: the credential {path} is longer than any {noun} "
                                        f"({longest} characters); put the {noun} alone in it"])
    return text.strip()
