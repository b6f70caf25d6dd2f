"""Each part offers the whole of its role's interface (the loop calls these and nothing else)."""

import inspect

import pytest

from presence import roles
from presence.clock import SystemClock
from presence.outputs.graphite.sender import GraphiteSender
from presence.outputs.mqtt.publisher import MqttPublisher, PrintingPublisher
from presence.outputs.printing.stdout import StdoutSink
from presence.sources.homeassistant import HomeAssistantSource
from presence.sources.listener import WifiListener
from presence.sources.wifi import WifiSource
from tests.fakes import FakeClock


def members(protocol):
    """The methods a protocol asks for, with their parameter names."""
    return {name: list(inspect.signature(value).parameters) for name, value in vars(protocol).items()
            if callable(value) and not name.startswith("_")}


@pytest.mark.parametrize("part, role", [
    (WifiSource, roles.PolledSource), (HomeAssistantSource, roles.PolledSource), (WifiListener, roles.Listener),
    (GraphiteSender, roles.Sink), (StdoutSink, roles.Sink), (MqttPublisher, roles.Publisher),
    (PrintingPublisher, roles.Publisher), (SystemClock, roles.Clock), (FakeClock, roles.Clock)])
def test_each_part_offers_its_roles_methods_with_the_same_parameters(part, role):
    wanted = members(role)
    assert wanted, role
    for name, parameters in wanted.items():
        method = getattr(part, name, None)
        assert callable(method), f"{part.__name__} has no {name}()"
        assert list(inspect.signature(method).parameters)[:len(parameters)] == parameters, (part.__name__, name)
