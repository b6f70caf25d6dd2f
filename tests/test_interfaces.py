"""Each part offers the whole of its role's interface (the loop calls these and nothing else)."""

import inspect

import pytest

from presence.clock import Clock, SystemClock
from presence.outputs.base import Output
from presence.outputs.graphite.output import GraphiteOutput, Transport
from presence.outputs.graphite.sender import GraphiteSender
from presence.outputs.history.output import HistoryOutput
from presence.outputs.mqtt.output import MqttOutput
from presence.outputs.printing.stdout import StdoutSink
from presence.sources.base import Every, Poller, Source
from presence.sources.homeassistant import HomeAssistantSource
from presence.sources.listener import WifiListener
from presence.sources.wifi import WifiSource
from tests.fakes import FakeClock, RecordingOutput


def members(protocol):
    """The methods a protocol asks for, with their parameter names."""
    return {name: list(inspect.signature(value).parameters) for name, value in vars(protocol).items()
            if callable(value) and not name.startswith("_")}


@pytest.mark.parametrize("part, role", [
    (WifiSource, Poller), (HomeAssistantSource, Poller), (Every, Source), (WifiListener, Source),
    (GraphiteOutput, Output), (MqttOutput, Output), (HistoryOutput, Output), (RecordingOutput, Output),
    (GraphiteSender, Transport), (StdoutSink, Transport), (SystemClock, Clock), (FakeClock, Clock)])
def test_each_part_offers_its_roles_methods_with_the_same_parameters(part, role):
    wanted = members(role)
    assert wanted, role
    for name, parameters in wanted.items():
        method = getattr(part, name, None)
        assert callable(method), f"{part.__name__} has no {name}()"
        assert list(inspect.signature(method).parameters)[:len(parameters)] == parameters, (part.__name__, name)
    for attribute in ("name", "first_wait"):
        if attribute in getattr(role, "__annotations__", {}):
            assert hasattr(part, attribute), f"{part.__name__} has no {attribute}"
