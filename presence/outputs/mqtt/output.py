"""The MQTT output: each decision handed to the publisher at once (to the broker, or printed in a dry run)."""

from presence.config import defaults


class MqttOutput:
    """Every decision, scheduled or not, to Home Assistant through `publisher` (presence.outputs.mqtt.publisher and .wanted)."""

    name = "MQTT"

    def __init__(self, publisher, clock):
        self.publisher, self.clock = publisher, clock

    def start(self):
        """Start the publisher's connection thread."""
        self.publisher.start()

    def emit(self, tick):
        """Publish what changed."""
        self.publisher.publish(tick.snapshot, tick.state)

    def problem(self):
        """What keeps the presence from the broker, or None."""
        return self.publisher.problem()

    def alive(self):
        """Whether the connection thread lives."""
        return self.publisher.alive()

    def reconfigure(self, config):
        """New people published, people no longer in the config removed."""
        self.publisher.reconfigure(config)

    def close(self, deadline):
        """Let what was published get on its way (most of the time), then say `offline` and disconnect."""
        remaining = max(0.0, deadline - self.clock.monotonic())
        self.publisher.settle(max(0.0, remaining - min(defaults.SHUTDOWN_DEADLINE, remaining / 2)))
        self.publisher.close(timeout=max(0.1, deadline - self.clock.monotonic()))
