"""A broker away for a minute: every Graphite point still lands, and Home Assistant catches up afterwards.

A minute is past the connection's keepalive (mqtt: 30 s) and long enough for the reconnect backoff to reach
its cap (1, 2, 4, 8, 16, then 30 s), so the broker comes back while the publisher waits its longest. Its own
module, with its own servers, so that its minute runs beside the other Home Assistant tests."""

import time

import pytest

from tests.lab.test_homeassistant_mqtt import everyone, running_daemon, servers, wait_for

pytestmark = pytest.mark.lab  # the namespace lab, a real broker, carbon and Home Assistant core


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    yield from servers(tmp_path_factory)


@pytest.fixture
def daemon(home, tmp_path):
    yield from running_daemon(home, tmp_path)


def test_a_broker_down_for_a_minute_loses_no_graphite_point_and_home_assistant_catches_up(home, daemon):
    lan, phones, broker, carbon, ha = home
    wait_for(ha, everyone("not_home", "not_home"), timeout=10)
    down = int(time.time()) + 1
    broker.stop()
    daemon.wait_for_line("MQTT: lost the connection", timeout=5)
    time.sleep(30)
    phones["tom"].join()  # an arrival while the broker is away
    daemon.wait_for_line("tom: away -> home")
    time.sleep(30)
    broker.start()
    up = int(time.time())
    wait_for(ha, everyone("not_home", "home"), timeout=40)
    # whisper gives the points after `down` up to `up`: one a second, none missing.
    stamps = sorted(carbon.wait_for_points("home.presence.count_home", down, up, up - down, timeout=15))
    assert stamps == list(range(down + 1, up + 1)), "a Graphite point went missing while the broker was down"
    assert "Traceback" not in daemon.log() and broker.users["presence"] not in daemon.log()
