"""The Graphite output: the metric set on scheduled ticks, with the transitions decided between them."""

from presence.config.load import parse_config
from presence.outputs.base import Tick
from presence.outputs.graphite.output import GraphiteOutput
from presence.state.machine import evaluate
from presence.state.model import State, Transition
from tests.conftest import make_config
from tests.fakes import T0, FakeClock, ListSink


def tick(config, at, scheduled, transitions=()):
    _, snapshot, _, _ = evaluate(State(), config, at)
    return Tick(at, snapshot, State(), config, tuple(transitions), (), scheduled)


def test_transitions_between_ticks_go_with_the_next_scheduled_tick_once(config):
    sink = ListSink()
    output = GraphiteOutput(config, lambda _config: sink, FakeClock())
    output.emit(tick(config, T0 - 2, False, [Transition("nick", True, T0 - 2, "wifi")]))
    assert sink.messages == []  # a decision between ticks is not a point in Graphite
    output.emit(tick(config, T0, True, [Transition("susan", True, T0, "wifi")]))
    output.emit(tick(config, T0 + 5, True))
    first, second = (message.decode() for message in sink.messages)
    assert f"home.presence.events.nick.arrival 1 {int(T0)}\n" in first
    assert f"home.presence.events.susan.arrival 1 {int(T0)}\n" in first
    assert "events" not in second and second.count("\n") == 27


def test_a_new_graphite_section_closes_the_old_transport_before_the_next_is_made():
    config = parse_config(make_config())
    moved = parse_config(make_config(graphite={"prefix": "flat.presence", "host": "graphite.invalid"}))
    made = []

    def transport(new_config):
        made.append((new_config.graphite.prefix, [sink.closed for sink in made_sinks]))
        made_sinks.append(ListSink())
        return made_sinks[-1]

    made_sinks = []
    output = GraphiteOutput(config, transport, FakeClock())
    output.reconfigure(config)  # the same section: the same transport
    output.reconfigure(moved)
    assert made == [("home.presence", []), ("flat.presence", [True])]
    output.emit(tick(moved, T0, True))
    assert made_sinks[1].messages[0].startswith(b"flat.presence.")
