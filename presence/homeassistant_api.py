"""The Home Assistant source: read the mapped entities through its REST API."""

import logging
import os
import random

import requests

from presence import defaults
from presence.config import ConfigError
from presence.observations import EntityReading, SourceReport

log = logging.getLogger(__name__)

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
        try:
            with open(path, encoding="utf-8") as handle:
                token = handle.read().strip()
            if token:
                return Secret(token)
        except FileNotFoundError:
            pass
        except OSError as error:
            raise ConfigError(config_path, [f"homeassistant: cannot read the credential {path}: "
                                            f"{error.strerror}"]) from None
    token = environ.get(ha_config.token_env, "").strip()
    if not token:
        raise ConfigError(config_path, [
            f"homeassistant.token_env: the environment variable {ha_config.token_env} is empty or "
            f"not set, and there is no systemd credential '{defaults.HA_CREDENTIAL_NAME}'; create a "
            "long-lived access token in Home Assistant (your profile, Security tab) and provide it"])
    return Secret(token)


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
    """

    name = "homeassistant"

    def __init__(self, ha_config, entities, token, session=None, random=random.random):
        self.url = ha_config.url
        self.timeout = ha_config.timeout
        self.poll_interval = ha_config.poll_interval
        self.entities = tuple(entities)
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.verify = ha_config.ca_bundle or True
        self.random = random
        self._failures = 0

    def poll(self, now):
        """Read every configured entity; a failure of the whole poll is reported, not raised."""
        readings = []
        try:
            for entity_id in self.entities:
                state = self._read_state(entity_id)
                readings.append(EntityReading(entity_id=entity_id, state=state or "missing",
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
        return self._get("/api/").json().get("message", "")

    def states(self, domains=("person", "device_tracker")):
        """Return [(entity_id, state, friendly name)] of every entity of `domains`, sorted."""
        rows = []
        for item in self._get("/api/states").json():
            entity_id = item.get("entity_id", "")
            if entity_id.split(".", 1)[0] in domains:
                rows.append((entity_id, item.get("state"), (item.get("attributes") or {}).get("friendly_name")))
        return sorted(rows)

    def read(self, entity_id):
        """Return the entity's state now, or None when Home Assistant has no such entity."""
        return self._read_state(entity_id)

    def _read_state(self, entity_id):
        response = self._get(f"/api/states/{entity_id}", missing_ok=True)
        if response is None:
            return None
        return response.json().get("state")

    def _get(self, path, missing_ok=False):
        try:
            response = self.session.get(self.url + path, timeout=self.timeout)
        except requests.exceptions.SSLError:
            raise HomeAssistantError(f"{self.url}: its TLS certificate is not trusted; for a private CA set "
                                     "homeassistant.ca_bundle", "unreachable") from None
        except requests.RequestException as error:
            raise HomeAssistantError(f"cannot reach {self.url}: {type(error).__name__}", "unreachable") from None
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code == 401:
            raise HomeAssistantError(f"{self.url} refused the access token (401): check homeassistant.token_env "
                                     f"or the ha_token credential; retrying every {defaults.HA_AUTH_RETRY / 60:.0f} min",
                                     "auth")
        if response.status_code == 403:
            raise HomeAssistantError(f"{self.url} answered 403: this host is banned by Home Assistant (too many "
                                     "failed logins); remove its address from ip_bans.yaml and restart "
                                     "Home Assistant", "banned")
        if response.status_code != 200:
            raise HomeAssistantError(f"{self.url}{path} answered HTTP {response.status_code}", "server")
        try:
            response.json()
        except ValueError:
            raise HomeAssistantError(f"{self.url}{path} did not answer JSON", "server") from None
        return response


class HomeAssistantError(Exception):
    """Home Assistant could not be read; the message is safe to log (it never holds the token)."""

    def __init__(self, message, kind="server"):
        super().__init__(message)
        self.kind = kind
