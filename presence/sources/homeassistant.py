"""The Home Assistant source: read the mapped entities through its REST API."""

import datetime
import logging
import random
from urllib.parse import quote

from presence.net import web
from presence.config import defaults
from presence.config.secrets import Secret
from presence.observations import EntityReading, SourceReport
from presence.sources.loop_guard import NO_EVIDENCE_STATES, LoopGuard, decisive, loop_ended, loop_problem
from presence.safe_text import safe
from presence.net.web import redact

log = logging.getLogger(__name__)

_ON_MEANS_HOME = ("binary_sensor.", "input_boolean.")


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

    def __init__(self, ha_config, entities, token, random=random.random, own=None):
        """`own`: (entity ids, base topic) of what this daemon publishes over MQTT: never read as evidence."""
        self.url = ha_config.url
        self.shown_url = redact(ha_config.url)
        self.timeout = ha_config.timeout
        self.ca_bundle = ha_config.ca_bundle
        self.poll_interval = ha_config.poll_interval
        self.entities = tuple(entities)
        self._authorization = Secret(f"Bearer {token}")
        self.random = random
        self._failures = 0
        self._guard = LoopGuard(self._read_entity, own)
        self._loops_said = {}  # entity id -> the entity of ours it was said to be or follow

    def recheck_own(self):
        """Ask Home Assistant again at the next poll which trackers are ours (thread-safe, returns at once).

        For Home Assistant's birth message: a restarted Home Assistant may have renamed or remade them."""
        self._guard.recheck()

    def poll(self, now):
        """Read every configured entity; a failure of the whole poll is reported, not raised."""
        self._guard.start_poll()
        readings = []
        try:
            for entity_id in self.entities:
                state, attributes = self._read_entity(entity_id)
                loop, doubt = self._guard.echo_of(entity_id, attributes, now)
                self._say_loop(entity_id, loop, decisive=decisive(state, attributes) and not doubt)
                shown = (kept_state(state) or "missing") + (" (our own output)" if loop else "")
                home = None if loop else says_home(entity_id, state)
                if doubt and home:
                    # Its state may be our own verdict: no evidence until Home Assistant shows what that is.
                    home, shown = None, f"{shown} (from {doubt}, not known yet to be ours or not)"
                readings.append(EntityReading(entity_id=entity_id, state=shown, home=home, at=now, echo=bool(loop)))
        except HomeAssistantError as error:
            self._failures += 1
            return SourceReport(source=self.name, at=now, ok=False, error=str(error),
                                retry_after=self._retry_after(error))
        self._failures = 0
        return SourceReport(source=self.name, at=now, ok=True, readings=tuple(readings))

    def close(self):
        """Nothing to let go: every poll opens and closes its own connection."""

    def _retry_after(self, error):
        if error.kind in ("auth", "banned"):
            # Each refused token counts towards Home Assistant's IP ban: ask rarely.
            return max(self.poll_interval, defaults.HA_AUTH_RETRY)
        # Restarting, or a proxy in front: retry soon, then less often, never in step with others.
        base = min(self.poll_interval, defaults.HA_FIRST_RETRY * 2 ** (self._failures - 1))
        jitter = defaults.HA_RETRY_JITTER
        return base * (1 - jitter + 2 * jitter * self.random())

    def ping(self):
        """Return Home Assistant's answer to `/api/`, raising HomeAssistantError on failure."""
        answer = self._get("/api/", defaults.MAX_HA_ENTITY_BYTES)
        if not isinstance(answer, dict):
            raise self._shape("/api/", f"answered {_json_kind(answer)}, not an object")
        message = answer.get("message")
        return message[:defaults.MAX_HA_STATE_LENGTH] if isinstance(message, str) else ""

    def states(self, domains=("person", "device_tracker")):
        """Return [(entity_id, state, friendly name)] of every entity of `domains`, sorted.

        The strings are as Home Assistant sent them (cut to 255 characters): escape them to print them.
        """
        answer = self._get("/api/states", defaults.MAX_HA_STATES_BYTES)
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
                rows.append((entity_id, state[:defaults.MAX_HA_STATE_LENGTH],
                             None if name is None else str(name)[:defaults.MAX_HA_STATE_LENGTH]))
        return sorted(rows)

    def history(self, entity_ids, start, end, timeout=None):
        """Return {entity_id: [(start, end, home)]}: what Home Assistant's recorder kept of each entity from
        `start` to `end` (epoch seconds, `end` no later than now), as spans oldest first; `home` as in
        `says_home` (None: no evidence). An entity the recorder kept nothing of has no spans.

        One request (`timeout`: seconds, else homeassistant.timeout); raises HomeAssistantError.
        """
        spans = {entity_id: [] for entity_id in entity_ids}
        if not spans:
            return spans
        path = "/api/history/period"
        tail = (f"/{_iso(start)}?filter_entity_id={quote(','.join(spans), safe=',')}&end_time={_iso(end)}"
                "&minimal_response&no_attributes")
        answer = self._get(path, defaults.MAX_HA_HISTORY_BYTES, missing_ok=True, tail=tail, timeout=timeout)
        if answer is None:
            raise HomeAssistantError(f"{self.shown_url}{path} was not found: Home Assistant keeps no history "
                                     "there (its history integration, part of default_config, is not loaded)",
                                     "missing")
        if not isinstance(answer, list):
            raise self._shape(path, f"answered {_json_kind(answer)}, not a list of entities")
        for index, states in enumerate(answer):
            entity_id, changes = self._changes(states, f"{path} (entity {index})")
            if entity_id in spans:
                spans[entity_id] = _spans(entity_id, changes, start, end)
        return spans

    def _changes(self, states, where):
        """(entity_id, [(epoch seconds, state)]) of one entity's states: the first names the entity."""
        if not isinstance(states, list):
            raise self._shape(where, f"answered {_json_kind(states)}, not a list of states")
        entity_id = self._field(states[0], "entity_id", where) if states else None
        changes = []
        for state in states:
            at = self._field(state, "last_changed", where)
            try:
                moment = datetime.datetime.fromisoformat(at)
            except ValueError:
                moment = None
            if moment is None or moment.tzinfo is None:
                raise self._shape(where, f"answered '{safe(at[:40])}' for 'last_changed', not a time with its zone")
            changes.append((moment.timestamp(), self._field(state, "state", where)))
        return entity_id, changes

    def read(self, entity_id):
        """Return the entity's state now (as kept: bounded, printable), or None when there is no such entity."""
        return self.inspect(entity_id)[0]

    def inspect(self, entity_id):
        """(its state, as `read` gives it; the entity we publish that it is or follows, a `person.*` using our
        tracker, or None), from one request."""
        state, attributes = self._read_entity(entity_id)
        return kept_state(state), None if state is None else self._guard.echo_of(entity_id, attributes)[0]

    def _say_loop(self, entity_id, loop, decisive):
        """Say a loop once when found, and once when a decisive read shows it has ended."""
        if loop and self._loops_said.get(entity_id) != loop:
            log.warning("%s", loop_problem(entity_id, loop))
            self._loops_said[entity_id] = loop
        elif not loop and decisive and entity_id in self._loops_said:
            log.info("%s", loop_ended(entity_id, self._loops_said.pop(entity_id)))

    def _read_entity(self, entity_id):
        """(state, attributes) of an entity; (None, {}) when there is no such entity."""
        path = f"/api/states/{entity_id}"
        answer = self._get(path, defaults.MAX_HA_ENTITY_BYTES, missing_ok=True)
        if answer is None:
            return None, {}
        state = self._field(answer, "state", path)  # first: it checks that the answer is an object
        attributes = answer.get("attributes")
        return state, attributes if isinstance(attributes, dict) else {}

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

    def _get(self, path, max_bytes, missing_ok=False, tail="", timeout=None):
        """The answer's JSON; None for a 404 when `missing_ok`. `path` names the request in messages; `tail`
        (more path, a query) follows it in the URL."""
        try:
            response = web.get(self.url + path + tail, timeout or self.timeout, max_bytes, ca_bundle=self.ca_bundle,
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
            where = safe(redact(location))[:defaults.QUOTED_ANSWER_LENGTH]
            raise HomeAssistantError(f"{self.shown_url}{path} answered HTTP {status}, a redirect to {where}: "
                                     "set homeassistant.url to that address", "server")
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
    return None if state is None else safe(state)[:defaults.MAX_HA_STATE_LENGTH]


def _iso(at):
    """Epoch seconds as Home Assistant reads a time in a URL: ISO 8601 in UTC, its `+` escaped."""
    return quote(datetime.datetime.fromtimestamp(at, datetime.timezone.utc).isoformat(), safe=":")


def _spans(entity_id, changes, start, end):
    """[(start, end, home)] of the states between `start` and `end`, joining neighbours that mean the same."""
    changes = sorted(changes, key=lambda change: change[0])
    spans = []
    for (at, state), until in zip(changes, [change[0] for change in changes[1:]] + [end]):
        begin, finish, home = max(at, start), min(until, end), says_home(entity_id, state)
        if finish <= begin:
            continue
        if spans and spans[-1][2] is home:
            spans[-1] = (spans[-1][0], finish, home)
        else:
            spans.append((begin, finish, home))
    return spans


def _json_kind(value):
    kinds = ((bool, "true/false"), (dict, "an object"), (list, "a list"), (str, "a string"),
             ((int, float), "a number"), (type(None), "null"))
    return next(name for kind, name in kinds if isinstance(value, kind))


class HomeAssistantError(Exception):
    """Home Assistant could not be read; the message is safe to log (it never holds the token)."""

    def __init__(self, message, kind="server"):
        super().__init__(message)
        self.kind = kind
