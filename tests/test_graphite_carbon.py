"""The sink against a real carbon-cache: what the daemon sends is what whisper stores."""

import os
import threading
import time

import pytest

from graphite_helper import GraphiteSender
from presence.config import parse_config
from presence.loop import Daemon
from presence.observations import DeviceSighting, SourceReport
from presence.spool import Spool
from presence.state import State
from tests.carbon import Carbon, carbon_unavailable_reason, require
from tests.conftest import make_config
from tests.tcp_proxy import FlakyProxy


@pytest.fixture
def carbon(tmp_path):
    require(carbon_unavailable_reason())
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
    assert len(stored) == 27 + 1  # and nick's arrival event


def test_ticks_sent_while_carbon_is_down_land_after_it_returns(carbon, tmp_path, config):
    sender = GraphiteSender("127.0.0.1", carbon.port, max_backoff=0.1, retry_every=0.05)
    daemon = Daemon(config, State(), sender, str(tmp_path / "state.json"))
    first = int(time.time()) // 5 * 5 - 60
    ticks = [first + 5 * i for i in range(8)]
    daemon.tick(ticks[0])
    assert carbon.wait_for_points("home.presence.count_home", first - 5, first + 60, 1) == {first: 0.0}
    carbon.stop()
    for tick in ticks[1:6]:
        daemon.tick(tick)
    deadline = time.monotonic() + 5
    while len(sender.memory) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    # The five outage ticks, and the last one sent before carbon stopped: carbon may not have
    # read it before it went, so it is sent again (a repeated point is harmless).
    assert len(sender.memory) == 6
    carbon.start()
    time.sleep(0.2)
    for tick in ticks[6:]:
        daemon.tick(tick)
    sender.close()
    landed = carbon.wait_for_points("home.presence.count_home", first - 5, first + 60, 8)
    assert landed == {tick: 0.0 for tick in ticks}


class RecordingSink:
    """Pass ticks on to the real sender, noting each tick's timestamp."""

    def __init__(self, sender):
        self.sender, self.stamps = sender, []

    def send(self, message):
        self.stamps.append(int(message.split()[2]))
        self.sender.send(message)

    def close(self, timeout=None):
        self.sender.close(timeout)


def test_a_server_that_closes_or_stalls_costs_no_tick_and_no_point(carbon, tmp_path):
    config = parse_config(make_config(graphite={"send_interval": 1}))
    proxy = FlakyProxy(carbon.port)
    sender = GraphiteSender("127.0.0.1", proxy.port, spool=Spool(str(tmp_path / "spool"), 10**7),
                            max_backoff=1.0, retry_every=0.1)
    sink, stop = RecordingSink(sender), threading.Event()
    daemon = Daemon(config, State(), sink, str(tmp_path / "state.json"))
    runner = threading.Thread(target=daemon.run, args=([], stop))
    runner.start()
    try:
        for mode, seconds in (("forward", 2), ("close", 5), ("stall", 3), ("forward", 4)):
            proxy.mode = mode
            time.sleep(seconds)
    finally:
        stop.set()
        runner.join(5)
        proxy.close()
    assert proxy.closed_on_accept >= 1
    stamps = sink.stamps
    assert stamps == list(range(stamps[0], stamps[0] + len(stamps))), "the loop skipped a tick"
    assert len(stamps) >= 10
    landed = carbon.wait_for_points("home.presence.count_home", stamps[0] - 1, stamps[-1] + 1, len(stamps))
    assert sorted(landed) == stamps


def test_spool_bound_keeps_the_newest_and_logs_what_was_dropped(carbon, tmp_path, caplog, config):
    tick_size = 27 * 52
    spool = Spool(str(tmp_path / "spool"), max_bytes=tick_size * 10, segment_messages=2)
    carbon.stop()
    sender = GraphiteSender("127.0.0.1", carbon.port, spool=spool, max_backoff=0.2, retry_every=0.05)
    daemon = Daemon(config, State(), sender, str(tmp_path / "state.json"))
    first = int(time.time()) - 40
    for i in range(30):
        daemon.tick(first + i)
    sender.close()
    assert spool.dropped_lines > 0 and spool.bytes <= tick_size * 10
    assert "dropped the oldest" in caplog.text
    on_disk = sum(os.path.getsize(tmp_path / "spool" / name) for name in os.listdir(tmp_path / "spool"))
    assert on_disk <= tick_size * 10
    kept = on_disk // tick_size

    carbon.start()
    replay = GraphiteSender("127.0.0.1", carbon.port, spool=Spool(str(tmp_path / "spool"), tick_size * 10))
    assert replay.wait_idle()
    replay.close()
    landed = carbon.wait_for_points("home.presence.count_home", first - 1, first + 31, kept)
    assert sorted(landed) == list(range(first + 30 - len(landed), first + 30))  # the newest, none lost among them
    assert len(landed) >= 8


def test_shipped_storage_schema_and_aggregation_apply(tmp_path):
    import shutil

    import whisper

    from tests.conftest import ROOT

    require(carbon_unavailable_reason())
    carbon = Carbon(tmp_path / "carbon")
    for name in ("storage-schemas.conf", "storage-aggregation.conf"):
        shutil.copy(os.path.join(ROOT, "graphite", name), os.path.join(carbon.folder, name))
    carbon.start()
    try:
        sender = GraphiteSender("127.0.0.1", carbon.port)
        stamp = int(time.time()) // 5 * 5
        sender.send(b"home.presence.count_home 2 %d\n" % stamp)
        sender.close()
        assert carbon.wait_for_points("home.presence.count_home", stamp - 10, stamp + 5, 1) == {stamp: 2.0}
    finally:
        carbon.stop()
    info = whisper.info(os.path.join(carbon.whisper_dir, "home", "presence", "count_home.wsp"))
    assert [(a["secondsPerPoint"], a["points"]) for a in info["archives"]] == \
        [(5, 17280), (60, 43200), (3600, 26280)]
    assert info["aggregationMethod"] == "average" and abs(info["xFilesFactor"] - 0.1) < 1e-6
    size = os.path.getsize(os.path.join(carbon.whisper_dir, "home", "presence", "count_home.wsp"))
    assert size < 1_100_000  # about 1 MB a metric, 27 MB for the household
