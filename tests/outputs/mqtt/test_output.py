"""The MQTT output: every decision published, and a close that first lets what was published go."""

from presence.outputs.base import Tick
from presence.outputs.mqtt.output import MqttOutput
from presence.state.machine import evaluate
from presence.state.model import State
from tests.fakes import T0, FakeClock, ListPublisher


def test_every_decision_is_published_scheduled_or_not(config):
    publisher = ListPublisher()
    output = MqttOutput(publisher, FakeClock())
    output.start()
    for at, scheduled in ((T0, True), (T0 + 1.3, False)):
        state, snapshot, _, _ = evaluate(State(), config, at)
        output.emit(Tick(at, snapshot, state, config, scheduled=scheduled))
    assert [snapshot.at for snapshot in publisher.published()] == [T0, T0 + 1.3]
    assert publisher.calls[0] == ("start",)


def test_close_settles_before_it_says_offline_within_the_deadline():
    clock, publisher = FakeClock(), ListPublisher()
    waits = []
    publisher.settle = lambda timeout: (waits.append(timeout), publisher.calls.append(("settle",)))
    MqttOutput(publisher, clock).close(clock.monotonic() + 7.0)
    assert [call[0] for call in publisher.calls] == ["settle", "close"]
    assert waits == [5.0]  # `once`: up to 5 s for the broker, 2 s to say goodbye
