"""What Home Assistant should see now, kept current as decisions come: the part of a publisher that is not
the connection; and the dry run's, which prints each message instead of sending it."""

import threading

from presence.outputs.mqtt.messages import (OFFLINE, ONLINE, Message, discovery_messages, removal_messages,
                                            state_messages)
from presence.outputs.mqtt.topics import Topics


class Publisher:
    """What Home Assistant should see now; `_queue` hands messages on (called under `_lock`, never blocks).

    Subclasses say where they go: MqttPublisher (presence.outputs.mqtt.publisher) to a broker, PrintingPublisher
    to a stream."""

    def __init__(self, config):
        self._lock = threading.Lock()
        self._wanted = {}  # state topic -> payload: the latest of each, sent or waiting
        self._discovery = {}
        self.topics = Topics(config.mqtt)
        self.reconfigure(config)

    def start(self):
        """Nothing to start; return self."""
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
                    self._queue([message])
            self._queue([Message(topic, payload) for topic, payload in configs.items()])

    def publish(self, snapshot, state):
        """Send what changed since the last call (at once, retained); keep all of it for a republish."""
        with self._lock:
            for message in state_messages(self.topics, snapshot, state, self.config):
                if self._wanted.get(message.topic) != message.payload:
                    self._wanted[message.topic] = message.payload
                    self._queue([message])

    def republish(self):
        """Everything again: configs, states, then `online` (so no entity is shown with a stale state)."""
        with self._lock:
            self._queue(self._everything())

    def _everything(self):
        return [*(Message(topic, payload) for topic, payload in [*self._discovery.items(), *self._wanted.items()]),
                Message(self.topics.availability, ONLINE)]

    def problem(self):
        """None: nothing keeps the messages from where they go."""
        return None

    def alive(self):
        """True: no thread to lose."""
        return True

    def settle(self, timeout):
        """Wait up to `timeout` seconds for what was published to be on its way (`once`)."""

    def close(self, timeout=None):
        """Nothing to let go."""

    def _queue(self, messages):
        raise NotImplementedError


class PrintingPublisher(Publisher):
    """`--dry-run`: print each message instead of connecting (`mqtt TOPIC PAYLOAD`, retained unless said)."""

    def __init__(self, config, stream):
        self.stream = stream
        super().__init__(config)
        self._queue([Message(self.topics.availability, ONLINE)])

    def _queue(self, messages):
        for message in messages:
            retained = "" if message.retain else " (not retained)"
            self.stream.write(f"mqtt {message.topic} {message.payload or '(empty: removes it)'}{retained}\n")
        self.stream.flush()

    def close(self, timeout=None):
        """Print `offline`, as the broker would have it at a shutdown."""
        self._queue([Message(self.topics.availability, OFFLINE)])
