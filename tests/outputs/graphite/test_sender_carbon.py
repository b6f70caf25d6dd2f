"""The sink against a real carbon-cache: what the daemon sends is what whisper stores."""

import os
import threading
import time

import pytest

from graphite_helper import build_message
from presence.config.load import parse_config
from tests.fakes import make_daemon
from presence.observations import DeviceSighting, SourceReport
from presence.outputs.graphite.sender import GraphiteSender
from presence.outputs.graphite.spool import Spool
from presence.state.model import State
from testbed.carbon import Carbon, carbon_unavailable_reason, require
from testbed.graphite_delivery import confirmed
from tests.conftest import make_config
from testbed.graphite_peers import Peer
from testbed.small_fs import fill, small_fs_unavailable_reason, small_tmpfs
from testbed.tcp_proxy import FlakyProxy, RecordingProxy

pytestmark = pytest.mark.lab  # a real carbon-cache in every test


@pytest.fixture
def carbon(tmp_path):
    require(carbon_unavailable_reason())
    server = Carbon(tmp_path / "carbon").start()
    yield server
    server.stop()


def test_every_tick_lands_with_its_timestamp_and_value(carbon, tmp_path, config):
    sender = GraphiteSender("127.0.0.1", carbon.port)
    daemon = make_daemon(config, State(), sender, str(tmp_path / "state.json"))
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
    daemon = make_daemon(config, State(), sender, str(tmp_path / "state.json"))
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

    def alive(self):
        return self.sender.alive()

    def problem(self):
        return self.sender.problem()


def test_a_server_that_closes_or_stalls_costs_no_tick_and_no_point(carbon, tmp_path):
    config = parse_config(make_config(graphite={"send_interval": 1}))
    proxy = FlakyProxy(carbon.port)
    sender = GraphiteSender("127.0.0.1", proxy.port, spool=Spool(str(tmp_path / "spool"), 10**7),
                            max_backoff=1.0, retry_every=0.1)
    sink, stop = RecordingSink(sender), threading.Event()
    daemon = make_daemon(config, State(), sink, str(tmp_path / "state.json"))
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
    daemon = make_daemon(config, State(), sender, str(tmp_path / "state.json"))
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
    replay = GraphiteSender("127.0.0.1", carbon.port, spool=Spool(str(tmp_path / "spool"), tick_size * 10),
                            confirm_period=0.05)
    assert confirmed(replay)
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


def household_ticks(first, count):
    """`count` ticks one second apart from `first`, 27 metrics each, every value the tick's number."""
    return [build_message("home.presence", [(f"m{k:02d}", i) for k in range(27)], first + i) for i in range(count)]


def wait(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def assert_landed(carbon, first, count):
    for metric in ("home.presence.m00", "home.presence.m26"):
        assert carbon.wait_for_points(metric, first - 1, first + count, count) == \
            {first + i: float(i) for i in range(count)}


def test_a_full_disk_keeps_ticks_in_memory_and_every_one_lands_later(carbon, tmp_path, caplog):
    require(small_fs_unavailable_reason())
    carbon.stop()
    first = int(time.time()) - 300
    messages = household_ticks(first, 50)  # about 40 kB
    with small_tmpfs(tmp_path / "disk", size="64k") as disk:
        filler = fill(disk, leave=12_000)
        sender = GraphiteSender("127.0.0.1", carbon.port, spool=Spool(os.path.join(disk, "spool"), 10**7),
                                max_backoff=0.2, retry_every=0.02, spool_retry=0.1, confirm_period=0.2)
        try:
            for message in messages:
                sender.send(message)
            wait(lambda: "No space left on device" in caplog.text and sender.inbox.unfinished_tasks == 0)
            assert sender.alive() and "spool unwritable: No space left on device" in sender.problem()
            assert 0 < len(sender.memory) < 50 and len(sender.spool)
            assert caplog.text.count("No space left on device") == 1
            os.remove(filler)
            assert wait(lambda: not sender.memory and "spool unwritable" not in sender.problem())
            carbon.start()
            assert confirmed(sender, timeout=15) and sender.problem() is None
        finally:
            sender.close()
    assert caplog.text.count("No space left on device") == 1
    assert_landed(carbon, first, 50)


def test_a_stalled_server_that_resets_then_a_real_carbon_every_tick_lands_once(carbon, tmp_path):
    stalled = Peer("stall", rcvbuf=4096)
    port = stalled.port
    # Minutes of stalling, scaled down: confirmations are asked for every second and given a second.
    sender = GraphiteSender("127.0.0.1", port, spool=Spool(str(tmp_path / "spool"), 10**7), max_backoff=0.3,
                            retry_every=0.02, send_timeout=0.3, confirm_period=1.0, confirm_timeout=1.0)
    first = int(time.time()) - 300
    messages = household_ticks(first, 45)
    proxy = None
    try:
        for message in messages[:40]:
            sender.send(message)
            time.sleep(0.1)
        assert "not confirming delivery" in sender.problem()
        stalled.close()  # every connection reset (SO_LINGER 0)
        proxy = RecordingProxy(carbon.port, port=port)
        for message in messages[40:]:
            sender.send(message)
        assert confirmed(sender, timeout=15)
    finally:
        sender.close()
        stalled.close()
        if proxy:
            proxy.close()
    assert proxy.data() == b"".join(messages)  # each line once, in order
    assert_landed(carbon, first, 45)


def test_a_large_spool_replayed_into_a_stalled_server_stays_until_a_real_carbon_has_it(carbon, tmp_path):
    folder = str(tmp_path / "spool")
    spool = Spool(folder, 10**8)
    first = int(time.time()) - 1600
    messages = household_ticks(first, 1500)  # about 1.2 MB, more than one confirmation's worth
    for message in messages:
        spool.append(message)
    spool.close()
    stalled = Peer("stall", rcvbuf=4096)
    port = stalled.port
    # A stall shows as a send timeout (0.3 s); carbon, busy beside a loaded suite, may take seconds to read
    # a megabyte to its end, hence the confirmation's 5 s.
    sender = GraphiteSender("127.0.0.1", port, spool=Spool(folder, 10**8), max_backoff=0.3, retry_every=0.02,
                            send_timeout=0.3, confirm_period=0.2, confirm_timeout=5.0)
    proxy = None
    try:
        wait(lambda: stalled.accepted["stall"] >= 3)  # it gave up on two connections
        on_disk = b"".join(open(os.path.join(folder, name), "rb").read() for name in sorted(os.listdir(folder)))
        assert on_disk == b"".join(messages)
        stalled.close()
        proxy = RecordingProxy(carbon.port, port=port)
        assert confirmed(sender, timeout=60)
    finally:
        sender.close()
        stalled.close()
        if proxy:
            proxy.close()
    sent, wanted = proxy.data(), b"".join(messages)
    # Compared as a flag: pytest's diff of two megabytes takes minutes.
    same = sent == wanted
    differs_at = None if same else next(i for i, (a, b) in enumerate(zip(sent + b"$", wanted + b"#")) if a != b)
    assert same, (f"{len(sent.splitlines())} lines reached carbon, {len(wanted.splitlines())} were spooled; "
                  f"the first difference is at byte {differs_at}")
    assert os.listdir(folder) == []
    assert_landed(carbon, first, 1500)
