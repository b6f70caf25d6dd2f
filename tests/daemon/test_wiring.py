"""The registry: what the daemon is made of for a config, and what a reload replaces. A new output is one
class and one registry line; the loop is not touched."""

import threading

from presence.config.load import parse_config
from presence.daemon import wiring
from presence.daemon.loop import Daemon
from presence.outputs.graphite.output import GraphiteOutput
from presence.outputs.history.output import HistoryOutput
from presence.outputs.mqtt.output import MqttOutput
from presence.outputs.mqtt.wanted import PrintingPublisher
from presence.outputs.printing.stdout import StdoutSink
from presence.sources.base import Every
from presence.sources.listener import WifiListener
from presence.sources.wifi import WifiSource
from presence.state.model import State
from testbed.loopback import LineCollector
from tests.conftest import make_config
from tests.fakes import T0, FakeClock, RecordingOutput

T0 = int(T0)


def test_an_output_added_by_one_registry_line_gets_every_tick_beside_graphite(tmp_path, monkeypatch):
    monkeypatch.setattr(wiring, "OUTPUTS", wiring.OUTPUTS + [wiring.Entry("recorder", lambda config, _w: RecordingOutput())])
    collector = LineCollector()
    config = parse_config(make_config(graphite={"host": "127.0.0.1", "port": collector.port, "send_interval": 1}))
    clock, stop = FakeClock(), threading.Event()
    state_path = str(tmp_path / "state.json")
    outputs = wiring.Wiring(state_path, clock).outputs(config)
    assert [output.name for output in outputs] == ["Graphite", "history", "recorder"]
    recorder = outputs[-1]
    daemon = Daemon(config, State(), outputs, state_path, clock)
    clock.at(T0 + 3.5, stop.set)
    try:
        daemon.run([], stop)
        assert [(tick.at, tick.scheduled) for tick in recorder.ticks] == [(T0 + 1, True), (T0 + 2, True), (T0 + 3, True)]
        assert all(tick.snapshot.count_home == 0 and tick.config is config for tick in recorder.ticks)
        assert recorder.calls[0] == ("start",) and recorder.calls[-1][0] == "close"
        lines = collector.wait_for(3 * len(recorder_lines(config, T0)), timeout=10).decode().splitlines()
        assert sorted({int(line.split()[2]) for line in lines}) == [T0 + 1, T0 + 2, T0 + 3]
    finally:
        collector.close()


def recorder_lines(config, at):
    """The bytes of one tick with nobody home."""
    from graphite_helper import build_message
    from presence.metrics import metric_values
    from presence.state.machine import evaluate

    return build_message(config.graphite.prefix, metric_values(evaluate(State(), config, at)[1]), at)


def test_a_failing_output_keeps_from_no_other_and_is_said_once(tmp_path, monkeypatch, caplog):
    broken = RecordingOutput(fail=RuntimeError("a bug in a new output"))
    monkeypatch.setattr(wiring, "OUTPUTS", [wiring.Entry("recorder", lambda config, _w: broken)] + wiring.OUTPUTS)
    config = parse_config(make_config(graphite={"send_interval": 1}))
    clock, stop = FakeClock(), threading.Event()
    outputs = wiring.Wiring(str(tmp_path / "state.json"), clock).outputs(config)
    graphite = outputs[1]
    graphite.transport = lines = RecordingTransport()
    clock.at(T0 + 3.5, stop.set)
    Daemon(config, State(), outputs, str(tmp_path / "state.json"), clock).run([], stop)
    assert len(broken.ticks) == 3 and len(lines.messages) == 3
    assert caplog.text.count("The recorder output failed (emit): RuntimeError: a bug in a new output") == 1


class RecordingTransport(StdoutSink):
    def __init__(self):
        super().__init__()
        self.messages = []

    def send(self, message):
        self.messages.append(message)


def test_a_dry_run_is_made_of_the_printing_outputs(tmp_path, capsys):
    config = parse_config(make_config(graphite={"host": "graphite.invalid"}, mqtt={"host": "broker.invalid"}))
    outputs = wiring.Wiring(str(tmp_path / "state.json"), FakeClock(), dry_run=True).outputs(config)
    graphite, mqtt, history = outputs
    assert isinstance(graphite, GraphiteOutput) and isinstance(graphite.transport, StdoutSink)
    assert isinstance(mqtt, MqttOutput) and isinstance(mqtt.publisher, PrintingPublisher)
    assert isinstance(history, HistoryOutput)
    assert "mqtt presence/status online" in capsys.readouterr().out


def test_without_a_graphite_host_the_lines_are_printed_and_without_mqtt_there_is_no_mqtt_output(tmp_path):
    config = parse_config(make_config())
    outputs = wiring.Wiring(str(tmp_path / "state.json"), FakeClock()).outputs(config)
    assert [output.name for output in outputs] == ["Graphite", "history"]
    assert isinstance(outputs[0].transport, StdoutSink)


def test_a_reload_replaces_only_the_outputs_whose_section_changed(tmp_path):
    made = wiring.Wiring(str(tmp_path / "state.json"), FakeClock(), dry_run=True)
    plain = parse_config(make_config())
    with_mqtt = parse_config(make_config(mqtt={"host": "broker.invalid"}))
    moved = parse_config(make_config(mqtt={"host": "other-broker.invalid"}, graphite={"prefix": "flat.presence"}))
    added = made.reload(plain, with_mqtt)
    assert set(added.outputs) == {"MQTT"} and isinstance(added.outputs["MQTT"], MqttOutput)
    assert set(made.reload(with_mqtt, moved).outputs) == {"MQTT"}  # Graphite takes a new prefix in place
    assert made.reload(with_mqtt, plain).outputs == {"MQTT": None}
    assert made.reload(plain, plain).outputs == {}


def test_the_sources_are_the_sweep_the_listener_and_home_assistant_when_mapped(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME_ASSISTANT_TOKEN", "a-token")
    raw = make_config(homeassistant={"url": "http://ha.invalid:8123", "poll_interval": 10})
    raw["people"][0]["homeassistant_entities"] = ["person.nick"]
    made = wiring.Wiring(str(tmp_path / "state.json"), FakeClock())
    sweep, listener, homeassistant = made.sources(parse_config(raw))
    assert isinstance(sweep, Every) and isinstance(sweep.poller, WifiSource) and sweep.first_wait
    assert isinstance(listener, WifiListener) and not listener.first_wait
    assert homeassistant.name == "homeassistant" and homeassistant.interval == 10
    assert [source.name for source in made.sources(parse_config(make_config()))] == ["wifi", "wifi-listen"]
