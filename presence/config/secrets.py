"""Secrets the config names but does not hold: the Home Assistant token, from a systemd credential or
the environment, checked once at start and never shown."""

import os

from presence.config import defaults
from presence.config.model import ConfigError


class Secret(str):
    """A string that never shows itself in a repr, a log line or a traceback's locals."""

    def __repr__(self):
        return "'***'"


def read_token(ha_config, config_path, environ=os.environ):
    """Return the token from $CREDENTIALS_DIRECTORY/ha_token or the configured variable."""
    credentials = environ.get("CREDENTIALS_DIRECTORY")
    if credentials:
        path = os.path.join(credentials, defaults.HA_CREDENTIAL_NAME)
        token = _read_credential(path, config_path)
        if token:
            return _checked_token(token, f"homeassistant: the credential {path}", config_path)
    token = environ.get(ha_config.token_env, "").strip()
    if not token:
        raise ConfigError(config_path, [
            f"homeassistant.token_env: the environment variable {ha_config.token_env} is empty or "
            f"not set, and there is no systemd credential '{defaults.HA_CREDENTIAL_NAME}'; create a "
            "long-lived access token in Home Assistant (your profile, Security tab) and provide it"])
    return _checked_token(token, f"homeassistant.token_env: the environment variable {ha_config.token_env}",
                          config_path)


def _read_credential(path, config_path):
    longest = defaults.MAX_HA_TOKEN_LENGTH
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(longest + 1)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigError(config_path, [f"homeassistant: cannot read the credential {path}: "
                                        f"{error.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError(config_path, [f"homeassistant: the credential {path} is not UTF-8 text; "
                                        "put the token alone in it"]) from None
    if len(text) > longest:
        raise ConfigError(config_path, [f"homeassistant: the credential {path} is longer than any token "
                                        f"({longest} characters); put the token alone in it"])
    return text.strip()


def _checked_token(token, where, config_path):
    """A token is printable ASCII without spaces; anything else is refused without showing it."""
    if all(" " < char < "\x7f" for char in token):
        return Secret(token)
    raise ConfigError(config_path, [f"{where} holds a space, a line break, a control character or a "
                                    "non-ASCII character inside the token; a Home Assistant token has "
                                    "none: put the token alone on one line"])
