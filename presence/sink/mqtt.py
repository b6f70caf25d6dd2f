"""Hand presence to Home Assistant over MQTT: retained discovery configs and states, kept current.

The loop calls `publish` after every decision; only what changed goes out, at once. The connection has
its own thread, so a slow or dead broker never holds up the loop, the scans or Graphite: while it is
down the latest states wait here, and everything is published again on reconnect and whenever Home
Assistant announces itself (it may have lost what it knew).
"""

import logging
import socket
import ssl
import threading
import time

import paho.mqtt.client as paho

from presence.config import defaults
from presence.config.model import ConfigError
from presence.config.mqtt_topics import Topics
from presence.sink.mqtt_messages import (OFFLINE, ONLINE, Message, discovery_messages, removal_messages,
                                         state_messages)

log = logging.getLogger(__name__)

# CONNACK's "bad user name or password" and "not authorized", as paho gives them for MQTT 3.1.1 and 5.
_REFUSED_LOGIN = frozenset({4, 5, 134, 135})


class Publisher:
    """What Home Assistant should see now; `_send` delivers one message, `_live` says whether it can."""

    def __init__(self, config):
        self._lock = threading.Lock()
        self._wanted = {}  # state topic -> payload: the latest of each, sent or waiting
        self._discovery = {}
        self.topics = Topics(config.mqtt)
        self.reconfigure(config)

    def start(self):
        return self

    def reconfigure(self, config):
        """Take a reloaded config: publish new people, remove those no longer in it."""
        configs = {m.topic: m.payload for m in discovery_messages(self.topics, config.people)}
        with self._lock:
            self.config = config
            gone = [topic for topic in self._discovery if topic not in configs]
            self._discovery = configs
            for topic in gone:
                for message in removal_messages(self.topics, topic):
                    self._wanted.pop(message.topic, None)
                    self._send_if_live(message)
            for topic, payload in configs.items():
                self._send_if_live(Message(topic, payload))

    def publish(self, snapshot, state):
        """Send what changed since the last call (at once, retained); keep all of it for a republish."""
        with self._lock:
            for message in state_messages(self.topics, snapshot, state, self.config):
                if self._wanted.get(message.topic) != message.payload:
                    self._wanted[message.topic] = message.payload
                    self._send_if_live(message)

    def republish(self):
        """Everything again: configs, states, then `online` (so no entity is shown with a stale state)."""
        with self._lock:
            for topic, payload in [*self._discovery.items(), *self._wanted.items()]:
                self._send_if_live(Message(topic, payload))
            self._send_if_live(Message(self.topics.availability, ONLINE))

    def problem(self):
        return None

    def alive(self):
        return True

    def settle(self, timeout):
        """Wait up to `timeout` seconds for what was published to be on its way (`once`)."""

    def close(self, timeout=None):
        """Nothing to let go."""

    def _send_if_live(self, message):
        if self._live():
            self._send(message)

    def _live(self):
        return True

    def _send(self, message):
        raise NotImplementedError


class PrintingPublisher(Publisher):
    """`--dry-run`: print each message instead of connecting (`mqtt TOPIC PAYLOAD`, retained unless said)."""

    def __init__(self, config, stream):
        self.stream = stream
        super().__init__(config)
        self._send(Message(self.topics.availability, ONLINE))

    def _send(self, message):
        retained = "" if message.retain else " (not retained)"
        self.stream.write(f"mqtt {message.topic} {message.payload or '(empty: removes it)'}{retained}\n")
        self.stream.flush()

    def close(self, timeout=None):
        self._send(Message(self.topics.availability, OFFLINE))


class MqttPublisher(Publisher):
    """Publish through a broker, reconnecting with backoff; the broker sends our last will (`offline`) when
    the daemon dies or loses it, so Home Assistant shows every entity unavailable."""

    def __init__(self, config, password, clock=time):
        self.mqtt = config.mqtt
        self.shown = f"{self.mqtt.host}:{self.mqtt.port}"
        self._connected = False  # first: the base's constructor asks `_live`
        # (what is wrong, since when) or None; one tuple, so the loop's thread never reads half of a change.
        self._trouble_since = None
        self._clock = clock
        self._closing = threading.Event()
        self._republished = threading.Event()
        self._answered = False
        super().__init__(config)
        self._client = make_client(self.mqtt, password, client_id(self.mqtt), config.path)
        self._client.will_set(self.topics.availability, OFFLINE, qos=1, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._thread = threading.Thread(target=self._run, name="mqtt", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def alive(self):
        return self._thread.is_alive() or self._closing.is_set()

    def problem(self):
        trouble = self._trouble_since
        if trouble is None:
            return None
        return f"MQTT: {trouble[0]} (since {self._clock.time() - trouble[1]:.0f} s)"

    def settle(self, timeout):
        self._republished.wait(timeout)

    def close(self, timeout=defaults.SHUTDOWN_DEADLINE):
        """Say `offline` (a clean disconnect sends no last will) and disconnect, within `timeout`."""
        self._closing.set()
        with self._lock:
            connected, self._connected = self._connected, False
        if connected:
            try:
                self._client.publish(self.topics.availability, OFFLINE, qos=0, retain=True).wait_for_publish(
                    timeout=(timeout or 1) / 2)
            except (RuntimeError, ValueError):
                pass  # the connection went as we spoke: the broker then sends the will
        self._client.disconnect()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _live(self):
        return self._connected

    def _send(self, message):
        # QoS 0: a message lost with the connection is sent again on reconnect, and nothing stale is
        # queued to overtake the fresh state then.
        self._client.publish(message.topic, message.payload, qos=0, retain=message.retain)

    def _run(self):
        delay = 1
        while not self._closing.is_set():
            try:
                self._client.connect(self.mqtt.host, self.mqtt.port, keepalive=defaults.MQTT_KEEPALIVE)
            except (OSError, ValueError) as error:
                self._trouble(connect_problem(self.mqtt, error))
            else:
                started, self._answered = self._clock.monotonic(), False
                try:
                    self._client.loop_forever()
                except Exception as error:  # a bug of ours in a callback must not end the publishing
                    log.error("MQTT: %s: %s; reconnecting", type(error).__name__, error,
                              exc_info=log.isEnabledFor(logging.DEBUG))
                    self._client.disconnect()
                if not self._answered and not self._closing.is_set():
                    self._trouble(f"{self.shown} took the connection but did not answer as an MQTT broker "
                                  "(mqtt.port, mqtt.tls?)")
                if self._clock.monotonic() - started > defaults.MQTT_MAX_RECONNECT_DELAY:
                    delay = 1
            if self._closing.wait(delay):
                break
            delay = min(delay * 2, defaults.MQTT_MAX_RECONNECT_DELAY)

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties=None):
        self._answered = True
        if reason_code.is_failure:
            self._trouble(refusal(self.shown, reason_code))
            client.disconnect()
            return
        client.subscribe([(self.topics.birth, 0), (self.topics.own_configs, 0)])
        with self._lock:
            self._connected = True
        self.republish()
        self._republished.set()
        if self._trouble_since is not None:
            log.info("MQTT: connected to %s again; Home Assistant has the current presence", self.shown)
        else:
            log.info("MQTT: connected to %s; publishing %d people for Home Assistant under %s/", self.shown,
                     len(self.config.people), self.topics.prefix)
        self._trouble_since = None

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties=None):
        with self._lock:
            was_connected, self._connected = self._connected, False
        if was_connected and not self._closing.is_set():
            self._trouble(f"lost the connection to {self.shown} ({reason_code}); reconnecting")

    def _on_message(self, _client, _userdata, message):
        if message.topic == self.topics.birth:
            if message.payload == ONLINE.encode():
                log.info("MQTT: Home Assistant came online; publishing everything again")
                self.republish()
        elif message.retain and message.payload:
            with self._lock:
                if message.topic not in self._discovery:
                    log.info("MQTT: removing %s: no such person in the config any more", message.topic)
                    for removal in removal_messages(self.topics, message.topic):
                        self._send_if_live(removal)

    def _trouble(self, problem):
        """Say a problem once, and again only when it changes."""
        before = self._trouble_since
        if before is None or problem != before[0]:
            log.warning("MQTT: %s; Graphite and the scans go on, Home Assistant gets the presence when the "
                        "broker is back", problem)
        self._trouble_since = (problem, self._clock.time() if before is None else before[1])


def client_id(mqtt):
    return mqtt.client_id or (defaults.DEFAULT_MQTT_CLIENT_ID_PREFIX + socket.gethostname())[:64]


def make_client(mqtt, password, identity, config_path, protocol=paho.MQTTv311):
    """A paho client with the section's credentials and TLS, not yet connected; no reconnects of its own.
    Raises ConfigError when mqtt.ca_file cannot be used."""
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=identity, protocol=protocol,
                         reconnect_on_failure=False)
    client.connect_timeout = defaults.MQTT_TIMEOUT
    if mqtt.username:
        client.username_pw_set(mqtt.username, password)
    if mqtt.tls:
        try:
            context = ssl.create_default_context(cafile=mqtt.ca_file)
        except (OSError, ValueError) as error:
            reason = getattr(error, "strerror", None) or getattr(error, "reason", None) or error
            raise ConfigError(config_path, [f"mqtt.ca_file: cannot use {mqtt.ca_file} as CA certificates: "
                                            f"{reason}"]) from None
        if not mqtt.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        client.tls_set_context(context)
    return client


def refusal(shown, reason_code):
    """What a CONNACK that refused us means."""
    login = " (check mqtt.username and the password)" if reason_code.value in _REFUSED_LOGIN else ""
    return f"{shown} refused the connection: {reason_code}{login}"


def connect_problem(mqtt, error):
    """What a failed connect means, in the words of the config."""
    shown = f"{mqtt.host}:{mqtt.port}"
    if isinstance(error, ssl.SSLCertVerificationError):
        fix = "set mqtt.ca_file to the CA that signed it" if not mqtt.ca_file else \
            f"mqtt.ca_file ({mqtt.ca_file}) did not sign it"
        return f"the TLS certificate of {shown} is not trusted ({error.verify_message}): {fix}"
    if isinstance(error, ssl.SSLError) or (mqtt.tls and isinstance(error, (ConnectionResetError, EOFError))):
        reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or "the connection was closed"
        return f"TLS with {shown} failed ({reason}): does it speak TLS on that port (mqtt.tls, mqtt.port)?"
    if isinstance(error, socket.gaierror):
        return f"cannot resolve mqtt.host {mqtt.host!r}: {error.strerror}"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return f"cannot reach {shown}: no answer within {defaults.MQTT_TIMEOUT:g} s"
    return f"cannot reach {shown}: {getattr(error, 'strerror', None) or error}"
