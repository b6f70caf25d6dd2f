import logging
import threading

from presence.outputs.graphite.sender import GraphiteSender
from presence.config.load import parse_config
from presence.config.secrets import Secret
from presence.sources.homeassistant import HomeAssistantSource
from presence.config.defaults import FIRST_SCAN_WAIT
from presence.daemon.loop import Daemon, Setup
from presence.outputs.graphite.output import GraphiteOutput
from presence.outputs.mqtt.output import MqttOutput
from presence.sources.base import Every, poll_safely
from presence.observations import DeviceSighting, SourceReport
from presence.state.model import State
from tests.conftest import make_config
from tests.fakes import T0, FakeClock, ListPublisher, ListSink, make_daemon
from testbed.fake_homeassistant import FakeHomeAssistant
from testbed.loopback import LineCollector

T0 = int(T0)


class HangingSource:
    """A poll that never returns until released (a wedged driver)."""

    name = "hanging"

    def __init__(self):
        self.release = threading.Event()

    def poll(self, now):
        self.release.wait()
        return SourceReport(source=self.name, at=now, ok=True)

    def close(self):
        pass


class BrokenSource:
    name = "broken"

    def poll(self, now):
        raise RuntimeError("driver exploded")

    def close(self):
        pass


def test_one_tick_is_one_write_of_exact_bytes(tmp_path, config):
    collector = LineCollector()
    sender = GraphiteSender("127.0.0.1", collector.port)
    daemon = make_daemon(config, State(), sender, str(tmp_path / "state.json"))
    daemon.ingest(SourceReport(source="wifi", at=T0 - 3, ok=True, sightings=(
        DeviceSighting("02:00:00:00:01:01", "198.51.100.11", T0 - 3),
        DeviceSighting("02:00:00:00:02:01", "198.51.100.12", T0 - 3),
        DeviceSighting("02:00:00:00:02:02", "198.51.100.13", T0 - 3),
        DeviceSighting("da:a1:19:00:00:01", "198.51.100.99", T0 - 3))))
    daemon.tick(T0)
    expected = "".join(f"home.presence.{line} {T0}\n" for line in [
        "nick.is_home 1", "nick.from_wifi 1", "nick.from_homeassistant 0", "nick.devices_present 1",
        "susan.is_home 1", "susan.from_wifi 1", "susan.from_homeassistant 0", "susan.devices_present 2",
        "charlie.is_home 0", "charlie.from_wifi 0", "charlie.from_homeassistant 0", "charlie.devices_present 0",
        "archie.is_home 0", "archie.from_wifi 0", "archie.from_homeassistant 0", "archie.devices_present 0",
        "mo.is_home 0", "mo.from_wifi 0", "mo.from_homeassistant 0", "mo.devices_present 0",
        "tom.is_home 0", "tom.from_wifi 0", "tom.from_homeassistant 0", "tom.devices_present 0",
        "count_home 2", "anyone_home 1", "wifi.devices_present_count 4",
        "events.nick.arrival 1", "events.susan.arrival 1"]).encode()
    try:
        assert collector.wait_for(len(expected)) == expected
        assert len(collector.received) == 1 and expected.count(b"\n") == 27 + 2  # the set, and two arrivals
    finally:
        sender.close()
        collector.close()


def test_a_hanging_source_never_delays_a_send(tmp_path):
    config = parse_config(make_config(graphite={"send_interval": 1}))
    sink, stop, hanging, clock = ListSink(), threading.Event(), HangingSource(), FakeClock()
    daemon = make_daemon(config, State(), sink, str(tmp_path / "state.json"), clock)
    clock.at(T0 + FIRST_SCAN_WAIT + 3.5, stop.set)
    try:
        daemon.run([Every(hanging, 1.0), Every(BrokenSource(), 1.0)], stop)
    finally:
        hanging.release.set()
    # The first sweep never comes: the first tick waits FIRST_SCAN_WAIT for it, then every second ticks.
    stamps = [int(message.split()[2]) for message in sink.messages]
    assert stamps == [T0 + FIRST_SCAN_WAIT + 1, T0 + FIRST_SCAN_WAIT + 2, T0 + FIRST_SCAN_WAIT + 3]
    assert b"home.presence.count_home 0" in sink.messages[-1]


def test_token_never_reaches_a_log_or_the_state_file(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "tok-" + "9" * 40
    ha = FakeHomeAssistant("another-token", {"person.nick": "home"})
    raw = make_config(homeassistant={"url": ha.url})
    raw["people"][0]["homeassistant_entities"] = ["person.nick"]
    config = parse_config(raw)
    state_path = tmp_path / "state.json"
    daemon = make_daemon(config, State(), ListSink(), str(state_path))
    source = HomeAssistantSource(config.homeassistant, ["person.nick"], Secret(secret))
    try:
        daemon.ingest(poll_safely(source, T0))
        daemon.tick(T0)
    finally:
        ha.close()
    assert "refused the access token" in caplog.text
    assert secret not in caplog.text and secret not in state_path.read_text()


def test_a_transition_adds_its_event_line_to_that_tick_only(tmp_path, config):
    sink = ListSink()
    daemon = make_daemon(config, State(), sink, str(tmp_path / "state.json"))
    daemon.ingest(SourceReport(source="wifi", at=T0 - 1, ok=True,
                               sightings=(DeviceSighting("02:00:00:00:01:01", "198.51.100.11", T0 - 1),)))
    daemon.decide(T0 - 1)  # decided between ticks, as a passive arrival is
    daemon.tick(T0)
    daemon.tick(T0 + 5)
    first, second = (message.decode() for message in sink.messages)
    assert first.endswith(f"home.presence.events.nick.arrival 1 {T0}\n") and first.count("\n") == 28
    assert "events" not in second and second.count("\n") == 27


def test_a_failing_save_is_logged_once_and_the_stop_says_it_was_not_saved(tmp_path, config, caplog):
    caplog.set_level(logging.INFO)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state's folder should be")
    daemon = make_daemon(config, State(), ListSink(), str(blocker / "state.json"))
    for second in range(5):
        daemon.ingest(SourceReport(source="wifi", at=T0 + second, ok=True, sightings=(
            DeviceSighting("02:00:00:00:01:01", "198.51.100.11", T0 + second),)))
        daemon.tick(T0 + second)
    assert caplog.text.count("State not saved to") == 1 and "a restart now starts fresh" in caplog.text
    assert "state not saved: File exists" in daemon.status_line()
    daemon.shutdown()
    assert "Stopped; the state could NOT be saved" in caplog.text and "Stopped; state saved" not in caplog.text

    blocker.unlink()
    blocker.mkdir()
    daemon.ingest(SourceReport(source="wifi", at=T0 + 9, ok=True, sightings=(
        DeviceSighting("02:00:00:00:02:01", "198.51.100.12", T0 + 9),)))
    daemon.tick(T0 + 10)
    assert "State saved to" in caplog.text and (blocker / "state.json").exists()
    assert "state not saved" not in daemon.status_line()


def test_a_reload_that_changes_graphite_closes_the_old_sink_before_making_the_new(tmp_path):
    config = parse_config(make_config(graphite={"send_interval": 1}))
    reloaded = parse_config(make_config(graphite={"send_interval": 1, "prefix": "flat.presence"}))
    old, new, stop, clock = ListSink(), ListSink(), threading.Event(), FakeClock()
    made_after_close = []
    sinks = iter([old, new])

    def make_sink(_config):
        made_after_close.append(old.closed)
        return next(sinks)

    daemon = Daemon(config, State(), [GraphiteOutput(config, make_sink, clock)], str(tmp_path / "state.json"), clock)
    clock.at(T0 + 2.5, daemon.reload_requested.set)
    clock.at(T0 + 5.5, stop.set)
    daemon.run([], stop, lambda: Setup(reloaded, []))
    assert made_after_close == [False, True]
    assert [int(m.split()[2]) for m in old.messages] == [T0 + 1, T0 + 2]
    assert [int(m.split()[2]) for m in new.messages] == [T0 + 3, T0 + 4, T0 + 5]
    assert old.messages[0].startswith(b"home.presence.") and new.messages[0].startswith(b"flat.presence.")
    assert daemon.config is reloaded and new.closed


def test_a_slow_reload_leaves_no_tick_out(tmp_path):
    config = parse_config(make_config(graphite={"send_interval": 1}))
    sink, stop, clock = ListSink(), threading.Event(), FakeClock()

    def slow_reload():
        clock.sleep(2.4)  # reading the config, the old sources' ends, the new ones' first sweep
        return Setup(config, [])

    daemon = make_daemon(config, State(), sink, str(tmp_path / "state.json"), clock)
    clock.at(T0 + 2.9, daemon.reload_requested.set)
    clock.at(T0 + 7.5, stop.set)
    daemon.run([], stop, slow_reload)
    assert [int(m.split()[2]) for m in sink.messages if b".count_home " in m] == [T0 + i for i in range(1, 8)]


def test_a_reload_that_fails_unexpectedly_keeps_the_daemon_running(tmp_path, caplog):
    config = parse_config(make_config(graphite={"send_interval": 1}))
    sink, stop, clock = ListSink(), threading.Event(), FakeClock()

    def broken_reload():
        raise RuntimeError("the new sources could not be built")

    daemon = make_daemon(config, State(), sink, str(tmp_path / "state.json"), clock)
    clock.at(T0 + 1.5, daemon.reload_requested.set)
    clock.at(T0 + 4.5, stop.set)
    daemon.run([], stop, broken_reload)
    assert [int(m.split()[2]) for m in sink.messages] == [T0 + 1, T0 + 2, T0 + 3, T0 + 4]
    assert "Reload failed (RuntimeError: the new sources could not be built); running on" in caplog.text
    assert daemon.config is config


def arrival(at, mac="02:00:00:00:01:01", ip="198.51.100.11"):
    return SourceReport(source="listener", at=at, ok=True, sightings=(DeviceSighting(mac, ip, at, how="passive"),))


def test_a_decision_between_ticks_is_published_at_once_and_a_failing_publisher_never_stops_a_tick(tmp_path,
                                                                                                  caplog):
    config = parse_config(make_config(graphite={"send_interval": 1}, mqtt={"host": "broker.lan"}))
    sink, publisher, stop, clock = ListSink(), ListPublisher(fail=RuntimeError("a bug")), threading.Event(), \
        FakeClock()
    daemon = make_daemon(config, State(), sink, str(tmp_path / "state.json"), clock, publisher=publisher)
    clock.at(T0 + 2.3, lambda: daemon.reports.put(arrival(T0 + 2.3)))
    clock.at(T0 + 4.5, stop.set)
    daemon.run([], stop)
    published = publisher.published()
    assert [snapshot.at for snapshot in published] == [T0 + 1, T0 + 2, T0 + 2.3, T0 + 3, T0 + 4]
    assert [snapshot.count_home for snapshot in published] == [0, 0, 1, 1, 1]
    assert [int(m.split()[2]) for m in sink.messages] == [T0 + 1, T0 + 2, T0 + 3, T0 + 4]
    assert caplog.text.count("The MQTT output failed (emit): RuntimeError: a bug") == 1
    assert publisher.calls[-1] == ("close",)


def test_a_reload_tells_the_publisher_of_new_people_and_replaces_it_for_a_new_broker(tmp_path):
    config = parse_config(make_config(graphite={"send_interval": 1}, mqtt={"host": "broker.lan"}))
    fewer = make_config(graphite={"send_interval": 1}, mqtt={"host": "broker.lan"})
    fewer["people"] = fewer["people"][:2]
    fewer = parse_config(fewer)
    moved = parse_config(make_config(graphite={"send_interval": 1}, mqtt={"host": "new-broker.lan"}))
    old, new, stop, clock = ListPublisher(), ListPublisher(), threading.Event(), FakeClock()
    closed_before_started = []
    new.on_start = lambda: closed_before_started.append(old.calls[-1] == ("close",))

    setups = iter([Setup(fewer, []), Setup(moved, [], {"MQTT": MqttOutput(new, clock)})])
    daemon = make_daemon(config, State(), ListSink(), str(tmp_path / "state.json"), clock, publisher=old)
    clock.at(T0 + 1.5, daemon.reload_requested.set)
    clock.at(T0 + 3.5, daemon.reload_requested.set)
    clock.at(T0 + 5.5, stop.set)
    daemon.run([], stop, lambda: next(setups))
    assert ("reconfigure", fewer) in old.calls and closed_before_started == [True]
    assert len(old.published()[-1].people) == 2 and len(new.published()[0].people) == 6
    assert daemon.outputs.get("MQTT").publisher is new and new.calls[-1] == ("close",)


def test_the_publishers_problem_is_in_the_status_line_and_its_death_stops_the_watchdog(tmp_path):
    config = parse_config(make_config(mqtt={"host": "broker.lan"}))
    publisher = ListPublisher(problem="MQTT: cannot reach broker.lan:1883: Connection refused (since 12 s)")
    daemon = make_daemon(config, State(), ListSink(), str(tmp_path / "state.json"), FakeClock(), publisher=publisher)
    assert daemon.status_line().startswith("MQTT: cannot reach broker.lan:1883")
    assert daemon.outputs.dead() is None
    publisher.living = False
    assert daemon.outputs.dead() == "the MQTT output has stopped"
