"""Hand presence to Home Assistant through an MQTT broker: retained discovery configs and states, kept current.

The loop calls `publish` after every decision; only what changed goes out, at once. The connection has
its own thread, the only one that calls paho (so every socket write is there, and no lock of ours is held
while paho runs): `publish`, `reconfigure` and `close` only leave messages for it. A slow or dead broker
never holds up the loop, the scans or Graphite: while it is down the latest states wait here, and
everything is published again on reconnect and whenever Home Assistant announces itself (it may have
lost what it knew).
"""

import logging
import select
import socket
import threading

import paho.mqtt.client as paho

from presence.clock import SystemClock
from presence.config import defaults
from presence.outputs.mqtt.client import (UNSUPPORTED_PROTOCOL, client_id, connect_problem, connect_properties,
                                          make_client, refusal)
from presence.outputs.mqtt.messages import OFFLINE, ONLINE, Message, removal_messages
from presence.outputs.mqtt.wanted import Publisher

log = logging.getLogger(__name__)


class MqttPublisher(Publisher):
    """Publish through a broker, reconnecting with backoff; the broker sends our last will (`offline`) when
    the daemon dies or loses it, so Home Assistant shows every entity unavailable.

    `on_birth()` is called on the MQTT thread (so it must not block) each time Home Assistant announces
    itself, after everything is queued again. Every read of the time and every wait but the socket's is on
    `clock` (a presence.clock.Clock; the system's by default)."""

    def __init__(self, config, password, clock=None, on_birth=None):
        self.mqtt = config.mqtt
        self.shown = f"{self.mqtt.host}:{self.mqtt.port}"
        self._connected = threading.Event()  # first: the base's constructor queues
        self._outbox = {}  # topic -> Message, in the order of their latest change; under `_lock`
        self._wake_r, self._wake_w = socket.socketpair()
        for end in (self._wake_r, self._wake_w):
            end.setblocking(False)
        # (what is wrong, since when) or None; one tuple, so the loop's thread never reads half of a change.
        self._trouble_since = None
        self._clock = clock or SystemClock()
        self._on_birth = on_birth
        self._closing = threading.Event()
        self._close_by = None
        self._republished = threading.Event()
        self._answered = False
        self._oversized_said = set()
        super().__init__(config)
        self._password, self._protocol = password, paho.MQTTv5
        self._client = self._make_client()
        self._thread = threading.Thread(target=self._run, name="mqtt", daemon=True)

    def _make_client(self):
        client = make_client(self.mqtt, self._password, client_id(self.mqtt), self.config.path, self._protocol)
        client.will_set(self.topics.availability, OFFLINE, qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.give_up = self._closing.is_set
        return client

    def start(self):
        """Start the connection thread; return self."""
        self._thread.start()
        return self

    def alive(self):
        """True unless the connection thread ended without being closed (it should never)."""
        return self._thread.is_alive() or self._closing.is_set()

    def problem(self):
        """None, or one line on what keeps the presence from the broker, and since when."""
        trouble = self._trouble_since
        if trouble is None:
            return None
        return f"MQTT: {trouble[0]} (since {self._clock.now() - trouble[1]:.0f} s)"

    def settle(self, timeout):
        """Wait up to `timeout` seconds for the first full publish to be written to the broker (`once`)."""
        self._clock.wait(self._republished, timeout)

    def close(self, timeout=defaults.SHUTDOWN_DEADLINE):
        """Say `offline` (a clean disconnect sends no last will) and disconnect, within `timeout`."""
        with self._lock:
            self._queue([Message(self.topics.availability, OFFLINE)])
        self._close_by = self._clock.monotonic() + (timeout or 1) / 2
        self._closing.set()
        self._wake()
        if self._thread.is_alive():
            self._thread.join(timeout)
        elif self._thread.ident is None:  # never started
            self._close_wake()

    def _queue(self, messages):
        if not self._connected.is_set():
            return  # all of it goes out at the next connect
        for message in messages:
            self._outbox.pop(message.topic, None)
            self._outbox[message.topic] = message
        self._wake()

    def _wake(self):
        try:
            self._wake_w.send(b"!")
        except OSError:
            pass  # full (it is awake already) or closed (it has ended)

    def _close_wake(self):
        self._wake_r.close()
        self._wake_w.close()

    def _run(self):
        delay = 1
        try:
            while not self._closing.is_set():
                started, self._answered, protocol = self._clock.monotonic(), False, self._protocol
                client = self._client
                try:
                    client.connect(self.mqtt.host, self.mqtt.port, keepalive=defaults.MQTT_KEEPALIVE,
                                   properties=connect_properties(protocol))
                except (OSError, ValueError) as error:
                    if self._closing.is_set():
                        break
                    self._trouble(connect_problem(self.mqtt, error))
                else:
                    self._serve(client)
                    if self._protocol != protocol:
                        self._client = self._make_client()
                        continue  # at once: the broker answered
                    if not self._answered and not self._closing.is_set():
                        self._trouble(f"{self.shown} took the connection but did not answer as an MQTT broker "
                                      "(mqtt.port, mqtt.tls?)")
                    if self._clock.monotonic() - started > defaults.MQTT_MAX_RECONNECT_DELAY:
                        delay = 1
                if self._clock.wait(self._closing, delay):
                    break
                delay = min(delay * 2, defaults.MQTT_MAX_RECONNECT_DELAY)
        finally:
            self._connected.clear()
            self._close_wake()

    def _serve(self, client):
        """Run one connection until it is lost, unanswered or closed: all its reads and writes are here."""
        answer_by = self._clock.monotonic() + defaults.MQTT_TIMEOUT
        try:
            while (sock := client.socket()) is not None:
                if self._closing.is_set():
                    self._goodbye(client)
                    break
                if not self._answered and self._clock.monotonic() > answer_by:
                    break
                self._flush(client)
                if not self._step(client, sock):
                    break
        except Exception as error:  # a bug of ours in a callback must not end the publishing
            log.error("MQTT: %s: %s; reconnecting", type(error).__name__, error,
                      exc_info=log.isEnabledFor(logging.DEBUG))
        self._connected.clear()
        if (sock := client.socket()) is not None:
            sock.close()  # without a DISCONNECT: the broker says our last will

    def _step(self, client, sock):
        """Wait up to a second for the socket or a wake-up, and let paho read, write and ping: False when the
        connection has ended."""
        pending = sock.pending() if hasattr(sock, "pending") else 0  # TLS bytes read but not yet taken
        writing = [sock] if client.want_write() else []
        try:
            readable, writable, _ = select.select([sock, self._wake_r], writing, [], 0 if pending else 1.0)
        except (OSError, ValueError):
            return False
        if self._wake_r in readable:
            try:
                self._wake_r.recv(4096)
            except BlockingIOError:
                pass
        if (pending or sock in readable) and client.loop_read():
            return False
        if sock in writable and client.socket() is not None and client.loop_write():
            return False
        return client.socket() is not None and not client.loop_misc()

    def _flush(self, client):
        """Hand what waits to paho, once paho has written what it had (so the latest of each topic goes
        next, and nothing piles up behind a broker that reads slowly)."""
        if client.want_write() or not self._connected.is_set():
            return
        self._hand_over(client)
        if not client.want_write():
            self._republished.set()

    def _hand_over(self, client):
        """Give paho everything the outbox holds (on this thread only), emptying it."""
        with self._lock:
            batch, self._outbox = list(self._outbox.values()), {}
        for message in batch:
            # QoS 0: a message lost with the connection is sent again on reconnect, and nothing stale is
            # queued to overtake the fresh state then.
            client.publish(message.topic, message.payload, qos=0, retain=message.retain)

    def _goodbye(self, client):
        """`offline`, written within the close's time, then a clean disconnect; else none (the will says it)."""
        if not self._connected.is_set():
            return
        self._hand_over(client)
        sock = client.socket()
        while sock is not None and client.want_write() and self._clock.monotonic() < self._close_by:
            _, writable, _ = select.select([], [sock], [], max(0.0, self._close_by - self._clock.monotonic()))
            if writable and client.loop_write():
                return
            sock = client.socket()
        if sock is not None and not client.want_write():
            client.disconnect()

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties=None):
        self._answered = True
        if reason_code.is_failure:
            if reason_code.value == UNSUPPORTED_PROTOCOL and self._protocol == paho.MQTTv5:
                log.warning("MQTT: %s speaks only MQTT 3.1.1, which cannot ask it to keep large messages to "
                            "itself: its max_packet_size bounds what we read", self.shown)
                self._protocol = paho.MQTTv311
            else:
                self._trouble(refusal(self.shown, reason_code))
            client.disconnect()
            return
        client.subscribe([(self.topics.birth, 0), (self.topics.own_configs, 0)])
        with self._lock:
            self._connected.set()
            self._outbox = {}
            self._queue(self._everything())
        if self._trouble_since is not None:
            log.info("MQTT: connected to %s again; Home Assistant has the current presence", self.shown)
        else:
            log.info("MQTT: connected to %s; publishing %d people for Home Assistant under %s/", self.shown,
                     len(self.config.people), self.topics.prefix)
        self._trouble_since = None

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties=None):
        was_connected = self._connected.is_set()
        self._connected.clear()
        if was_connected and not self._closing.is_set():
            self._trouble(f"lost the connection to {self.shown} ({reason_code}); reconnecting")

    def _on_message(self, _client, _userdata, message):
        if len(message.payload) > defaults.MAX_MQTT_PAYLOAD:
            if message.topic not in self._oversized_said:
                log.warning("MQTT: ignoring %s: a message of %d bytes, more than the %d accepted (said once)",
                            message.topic, len(message.payload), defaults.MAX_MQTT_PAYLOAD)
                self._oversized_said.add(message.topic)
            return
        if message.topic == self.topics.birth:
            if message.payload == ONLINE.encode():
                log.info("MQTT: Home Assistant came online; publishing everything again")
                self.republish()
                self._birth()
        elif message.retain and message.payload:
            with self._lock:
                if message.topic not in self._discovery:
                    log.info("MQTT: removing %s: no such person in the config any more", message.topic)
                    self._queue(removal_messages(self.topics, message.topic))

    def _birth(self):
        if self._on_birth is None:
            return
        try:
            self._on_birth()
        except Exception as error:  # the hook's trouble must not end the publishing
            log.error("MQTT: on Home Assistant's birth: %s: %s", type(error).__name__, error,
                      exc_info=log.isEnabledFor(logging.DEBUG))

    def _trouble(self, problem):
        """Say a problem once, and again only when it changes."""
        before = self._trouble_since
        if before is None or problem != before[0]:
            log.warning("MQTT: %s; Graphite and the scans go on, Home Assistant gets the presence when the "
                        "broker is back", problem)
        self._trouble_since = (problem, self._clock.now() if before is None else before[1])
