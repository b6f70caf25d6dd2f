"""The Home Assistant source: read the mapped entities through its REST API."""

import logging
import os
import random

from presence.config import defaults
from presence import web
from presence.config.model import ConfigError
from presence.observations import EntityReading, SourceReport
from presence.safe_text import safe
from presence.web import redact

log = logging.getLogger(__name__)

# Bounds on what Home Assistant may send: one entity's answer, all of `/api/states` (a large home is
# a few MB), a state as kept (Home Assistant's own limit), and a token read from a file.
MAX_ENTITY_BYTES = 1_000_000
MAX_STATES_BYTES = 64_000_000
MAX_STATE_LENGTH = 255
MAX_TOKEN_LENGTH = 4096

NO_EVIDENCE_STATES = frozenset({"unknown", "unavailable"})
_ON_MEANS_HOME = ("binary_sensor.", "input_boolean.")


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
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(MAX_TOKEN_LENGTH + 1)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigError(config_path, [f"homeassistant: cannot read the credential {path}: "
                                        f"{error.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError(config_path, [f"homeassistant: the credential {path} is not UTF-8 text; "
                                        "put the token alone in it"]) from None
    if len(text) > MAX_TOKEN_LENGTH:
        raise ConfigError(config_path, [f"homeassistant: the credential {path} is longer than any token "
                                        f"({MAX_TOKEN_LENGTH} characters); put the token alone in it"])
    return text.strip()


def _checked_token(token, where, config_path):
    """A token is printable ASCII without spaces; anything else is refused without showing it."""
    if all(" " < char < "\x7f" for char in token):
        return Secret(token)
    raise ConfigError(config_path, [f"{where} holds a space, a line break, a control character or a "
                                    "non-ASCII character inside the token; a Home Assistant token has "
                                    "none: put the token alone on one line"])


def says_home(entity_id, state):
    """Interpret a state as Home Assistant means it: True home, False away, None no evidence."""
    if state is None or state in NO_EVIDENCE_STATES:
        return None
    if entity_id.startswith(_ON_MEANS_HOME):
        return state == "on"
    return state == "home"


class HomeAssistantSource:
    """Read each configured entity at `/api/states/<entity_id>`.

    One small request per mapped entity is far cheaper than `/api/states`, which returns every entity
    of the home (see docs/performance.md). Failures back off on their own schedule (`retry_after`).
    Each request ends within `homeassistant.timeout` and reads a bounded answer.
    """

    name = "homeassistant"

    def __init__(self, ha_config, entities, token, random=random.random):
        self.url = ha_config.url
        self.shown_url = redact(ha_config.url)
        self.timeout = ha_config.timeout
        self.ca_bundle = ha_config.ca_bundle
        self.poll_interval = ha_config.poll_interval
        self.entities = tuple(entities)
        self._authorization = Secret(f"Bearer {token}")
        self.random = random
        self._failures = 0

    def poll(self, now):
        """Read every configured entity; a failure of the whole poll is reported, not raised."""
        readings = []
        try:
            for entity_id in self.entities:
                state = self._read_state(entity_id)
                readings.append(EntityReading(entity_id=entity_id, state=kept_state(state) or "missing",
                                              home=says_home(entity_id, state), at=now))
        except HomeAssistantError as error:
            self._failures += 1
            return SourceReport(source=self.name, at=now, ok=False, error=str(error),
                                retry_after=self._retry_after(error))
        self._failures = 0
        return SourceReport(source=self.name, at=now, ok=True, readings=tuple(readings))

    def _retry_after(self, error):
        if error.kind in ("auth", "banned"):
            # Each refused token counts towards Home Assistant's IP ban: ask rarely.
            return max(self.poll_interval, defaults.HA_AUTH_RETRY)
        # Restarting, or a proxy in front: retry soon, then less often, never in step with others.
        base = min(self.poll_interval, defaults.HA_FIRST_RETRY * 2 ** (self._failures - 1))
        return base * (0.75 + 0.5 * self.random())

    def ping(self):
        """Return Home Assistant's answer to `/api/`, raising HomeAssistantError on failure."""
        answer = self._get("/api/", MAX_ENTITY_BYTES)
        if not isinstance(answer, dict):
            raise self._shape("/api/", f"answered {_json_kind(answer)}, not an object")
        message = answer.get("message")
        return message[:MAX_STATE_LENGTH] if isinstance(message, str) else ""

    def states(self, domains=("person", "device_tracker")):
        """Return [(entity_id, state, friendly name)] of every entity of `domains`, sorted.

        The strings are as Home Assistant sent them (cut to 255 characters): escape them to print them.
        """
        answer = self._get("/api/states", MAX_STATES_BYTES)
        if not isinstance(answer, list):
            raise self._shape("/api/states", f"answered {_json_kind(answer)}, not a list of entities")
        rows = []
        for index, item in enumerate(answer):
            where = f"/api/states (entity {index})"
            entity_id = self._field(item, "entity_id", where)
            if entity_id.split(".", 1)[0] in domains:
                state = self._field(item, "state", where)
                attributes = item.get("attributes")
                name = attributes.get("friendly_name") if isinstance(attributes, dict) else None
                rows.append((entity_id, state[:MAX_STATE_LENGTH],
                             None if name is None else str(name)[:MAX_STATE_LENGTH]))
        return sorted(rows)

    def read(self, entity_id):
        """Return the entity's state now (as kept: bounded, printable), or None when there is no such entity."""
        return kept_state(self._read_state(entity_id))

    def _read_state(self, entity_id):
        path = f"/api/states/{entity_id}"
        answer = self._get(path, MAX_ENTITY_BYTES, missing_ok=True)
        return None if answer is None else self._field(answer, "state", path)

    def _field(self, item, key, where):
        """`item[key]`, which must be a string of an object, or a HomeAssistantError saying what came."""
        if not isinstance(item, dict):
            raise self._shape(where, f"answered {_json_kind(item)}, not an object")
        if key not in item:
            raise self._shape(where, f"answered without '{key}'")
        if not isinstance(item[key], str):
            raise self._shape(where, f"answered {_json_kind(item[key])} for '{key}', not a string")
        return item[key]

    def _shape(self, path, what):
        return HomeAssistantError(f"{self.shown_url}{path} {what}: is this Home Assistant's address?", "server")

    def _get(self, path, max_bytes, missing_ok=False):
        """The answer's JSON; None for a 404 when `missing_ok`."""
        try:
            response = web.get(self.url + path, self.timeout, max_bytes, ca_bundle=self.ca_bundle,
                               headers={"Authorization": self._authorization, "Accept": "application/json"})
        except web.TlsError as error:
            raise HomeAssistantError(self._tls_problem(error), "unreachable") from None
        except web.TooLarge as error:
            raise HomeAssistantError(f"{self.shown_url}{path}: {error}", "server") from None
        except web.WebError as error:
            raise HomeAssistantError(f"cannot reach {self.shown_url}: {error}", "unreachable") from None
        if response.status == 404 and missing_ok:
            return None
        self._check_status(response.status, path, response.location)
        try:
            return response.json()
        except ValueError:
            raise HomeAssistantError(f"{self.shown_url}{path} did not answer JSON", "server") from None

    def _check_status(self, status, path, location):
        if status == 401:
            raise HomeAssistantError(f"{self.shown_url} refused the access token (401): check "
                                     "homeassistant.token_env or the ha_token credential; retrying every "
                                     f"{defaults.HA_AUTH_RETRY / 60:.0f} min", "auth")
        if status == 403:
            raise HomeAssistantError(f"{self.shown_url} answered 403: this host is banned by Home Assistant "
                                     "(too many failed logins); remove its address from ip_bans.yaml and "
                                     "restart Home Assistant", "banned")
        if 300 <= status < 400 and location:
            raise HomeAssistantError(f"{self.shown_url}{path} answered HTTP {status}, a redirect to "
                                     f"{safe(redact(location))[:200]}: set homeassistant.url to that address",
                                     "server")
        if status != 200:
            raise HomeAssistantError(f"{self.shown_url}{path} answered HTTP {status}", "server")

    def _tls_problem(self, error):
        if error.kind == "bundle":
            return f"homeassistant.ca_bundle: {error}"
        if error.kind == "untrusted" and self.ca_bundle:
            return (f"{self.shown_url}: its TLS certificate is not trusted by homeassistant.ca_bundle "
                    f"({self.ca_bundle}): {error.reason}")
        if error.kind == "untrusted":
            return (f"{self.shown_url}: its TLS certificate is not trusted ({error.reason}); for a private CA "
                    "set homeassistant.ca_bundle")
        return f"cannot reach {self.shown_url}: {error}"


def kept_state(state):
    """A state as kept and shown: printable, and no longer than Home Assistant's own (255 characters)."""
    return None if state is None else safe(state)[:MAX_STATE_LENGTH]


def _json_kind(value):
    kinds = ((bool, "true/false"), (dict, "an object"), (list, "a list"), (str, "a string"),
             ((int, float), "a number"), (type(None), "null"))
    return next(name for kind, name in kinds if isinstance(value, kind))


class HomeAssistantError(Exception):
    """Home Assistant could not be read; the message is safe to log (it never holds the token)."""

    def __init__(self, message, kind="server"):
        super().__init__(message)
        self.kind = kind
