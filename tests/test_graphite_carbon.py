"""The sink against a real carbon-cache: what the daemon sends is what whisper stores."""

import os
import time

import pytest

from graphite_helper import GraphiteSender
from presence.loop import Daemon
from presence.observations import DeviceSighting, SourceReport
from presence.state import State
from tests.carbon import Carbon, carbon_unavailable_reason


@pytest.fixture
def carbon(tmp_path):
    reason = carbon_unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the carbon tests: {reason}", pytrace=False)
        pytest.skip(reason)
    server = Carbon(tmp_path / "carbon").start()
    yield server
    server.stop()


def test_every_tick_lands_with_its_timestamp_and_value(carbon, tmp_path, config):
    sender = GraphiteSender("127.0.0.1", carbon.port)
    daemon = Daemon(config, State(), sender, str(tmp_path / "state.json"))
    first = int(time.time()) // 5 * 5 - 60
    ticks = [first + 5 * i for i in range(6)]
    daemon.ingest(SourceReport(source="wifi", at=first, ok=True, sightings=(
        DeviceSighting("02:00:00:00:01:01", "198.51.100.11", first),
        DeviceSighting("da:a1:19:00:00:01", "198.51.100.99", first))))
    for tick in ticks:
        daemon.tick(tick)
    sender.close()

    expected_home = {tick: 1.0 for tick in ticks}
    assert carbon.wait_for_points("home.presence.nick.is_home", first - 5, first + 60, 6) == expected_home
    assert carbon.wait_for_points("home.presence.count_home", first - 5, first + 60, 6) == expected_home
    assert carbon.wait_for_points("home.presence.susan.is_home", first - 5, first + 60, 6) == \
        {tick: 0.0 for tick in ticks}
    assert carbon.wait_for_points("home.presence.wifi.devices_present_count", first - 5, first + 60, 6) == \
        {tick: 2.0 for tick in ticks}
    stored = sorted(os.path.relpath(os.path.join(folder, name), carbon.whisper_dir)
                    for folder, _, names in os.walk(carbon.whisper_dir) for name in names)
    assert len(stored) == 27


def test_ticks_sent_while_carbon_is_down_land_after_it_returns(carbon, tmp_path, config):
    sender = GraphiteSender("127.0.0.1", carbon.port, max_backoff=0.1)
    daemon = Daemon(config, State(), sender, str(tmp_path / "state.json"))
    first = int(time.time()) // 5 * 5 - 60
    ticks = [first + 5 * i for i in range(8)]
    daemon.tick(ticks[0])
    assert carbon.wait_for_points("home.presence.count_home", first - 5, first + 60, 1) == {first: 0.0}
    carbon.stop()
    for tick in ticks[1:6]:
        daemon.tick(tick)
    assert len(sender.pending) == 5  # the closed connection was noticed: not even the first was lost
    carbon.start()
    time.sleep(0.2)
    for tick in ticks[6:]:
        daemon.tick(tick)
    sender.close()
    landed = carbon.wait_for_points("home.presence.count_home", first - 5, first + 60, 8)
    assert landed == {tick: 0.0 for tick in ticks}
