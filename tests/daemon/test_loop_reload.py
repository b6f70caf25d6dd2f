"""A reload hands over cleanly: a source of the old configuration that reports late is not heard any more."""

import threading

from presence.config.load import parse_config
from presence.daemon.loop import Setup
from presence.observations import EntityReading, SourceReport
from presence.sources.base import Every
from presence.state.model import State
from tests.conftest import make_config
from tests.fakes import T0, FakeClock, ListSink, make_daemon


def ha_household():
    raw = make_config(graphite={"send_interval": 1}, homeassistant={"url": "http://ha:8123", "poll_interval": 60})
    raw["people"][2]["homeassistant_entities"] = ["person.charlie"]
    return parse_config(raw)


class HomeAssistantStandIn:
    """Answers `state` for person.charlie; with `hold`, each poll waits (in real time) until released."""

    name = "homeassistant"

    def __init__(self, state, clock, hold=None):
        self.state, self.clock, self.hold = state, clock, hold

    def poll(self, now):
        if self.hold is not None:
            self.hold.wait(30)
        at = self.clock.now()  # its reading is stamped when it ends: later than the new source's
        return SourceReport(source=self.name, at=at, ok=True, readings=(
            EntityReading("person.charlie", self.state, self.state == "home", at),))

    def close(self):
        pass


def test_a_late_report_of_the_old_configuration_never_overwrites_the_new_ones(tmp_path):
    config = ha_household()
    clock, stop, sink, release = FakeClock(), threading.Event(), ListSink(), threading.Event()
    old = HomeAssistantStandIn("home", clock, hold=release)
    new = HomeAssistantStandIn("not_home", clock)
    daemon = make_daemon(config, State(), sink, str(tmp_path / "state.json"), clock)
    clock.at(T0 + 4.5, daemon.reload_requested.set)
    clock.at(T0 + 7.5, release.set)  # the old poll ends after the reload, with "home"
    clock.at(T0 + 12.5, stop.set)
    try:
        daemon.run([Every(old, 60)], stop, lambda: Setup(config, [Every(new, 60)]))
    finally:
        release.set()
    charlie = {int(stamp): value for line in (m.decode() for m in sink.messages) for name, value, stamp in
               (row.split() for row in line.splitlines()) if name == "home.presence.charlie.is_home"}
    after = {stamp: value for stamp, value in charlie.items() if stamp > T0 + 6}
    assert after and set(after.values()) == {"0"}, charlie
    assert daemon.state.entities["person.charlie"].state == "not_home"
