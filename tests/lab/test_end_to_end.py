"""The whole daemon (`run`, `once`) on a namespaced LAN, with intervals scaled down to seconds."""

import json
import os
import signal
import time

import pytest

from tests.conftest import cli, make_config, write_config
from testbed.daemon_process import DaemonProcess

NICK, SUSAN_PHONE, SUSAN_LAPTOP, CHARLIE = ("02:00:00:00:01:01", "02:00:00:00:02:01",
                                           "02:00:00:00:02:02", "02:00:00:00:03:01")
GRACE, SCAN = 5, 2
NICK_GRACE = 30  # long enough that the restart check runs well inside it
# How long one sweep listens for replies (presence.config.defaults.DEFAULT_SWEEP_LISTEN) plus a tick.
SWEEP_AND_TICK = 2.1


@pytest.fixture
def household(lan, tmp_path):
    raw = make_config(wifi={"scan_interval": SCAN, "offline_grace": GRACE}, graphite={"send_interval": 1})
    raw["people"] = [{"name": "Nick", "macs": [NICK], "offline_grace": NICK_GRACE}, {"name": "Susan", "macs": [SUSAN_PHONE, SUSAN_LAPTOP]},
                     {"name": "Charlie", "macs": [CHARLIE]}]
    devices = {
        "nick": lan.add_device("nick", NICK, "198.51.100.11"),
        "susan_phone": lan.add_device("susan_phone", SUSAN_PHONE, "198.51.100.12"),
        "susan_laptop": lan.add_device("susan_laptop", SUSAN_LAPTOP, "198.51.100.13"),
        "guest": lan.add_device("guest", "da:a1:19:00:00:22", "198.51.100.22"),
        "router": lan.add_device("router", "02:00:00:00:ff:ff", "198.51.100.1"),
    }
    return write_config(tmp_path / "people.yaml", raw), str(tmp_path / "state.json"), devices


def test_arrival_departure_restart(lan, household):
    config, state, devices = household
    daemon = DaemonProcess(lan, config, state, people=3)
    daemon.wait_until(lambda t: t["nick.is_home"] and t["susan.devices_present"] == 2, timeout=10)
    first = daemon.ticks[min(daemon.ticks)]
    assert first["wifi.devices_present_count"] == 4  # guest counted, router ignored
    assert first["charlie.is_home"] == 0 and first["count_home"] == 2

    devices["susan_laptop"].leave()
    daemon.wait_until(lambda t: t["susan.devices_present"] == 1 and t["susan.is_home"], timeout=GRACE + 4)

    devices["susan_phone"].leave()
    left = time.time()
    gone = daemon.wait_until(lambda t: not t["susan.is_home"], timeout=GRACE + 4)
    # Away once the grace since her last reply has run out: never before, at most a tick later.
    assert left - SCAN - SWEEP_AND_TICK + GRACE <= gone <= left + GRACE + 1

    devices["susan_phone"].join()
    joined = time.time()
    back = daemon.wait_until(lambda t: t["susan.is_home"], timeout=SCAN + SWEEP_AND_TICK + 2)
    assert back - joined <= SCAN + SWEEP_AND_TICK  # seen by the next sweep

    status, took = daemon.stop(signal.SIGTERM)
    assert status == 0 and took < 2.0
    for stamp, tick in daemon.ticks.items():
        if len(tick) == daemon.lines_per_tick:
            assert tick["count_home"] == sum(tick[f"{p}.is_home"] for p in ("nick", "susan", "charlie"))
            assert tick["anyone_home"] == int(tick["count_home"] > 0)
    stamps = sorted(daemon.ticks)
    assert stamps == list(range(stamps[0], stamps[-1] + 1)), "a tick went missing"
    log = "".join(daemon.stderr)
    assert "susan: home -> away (last seen" in log and "susan: away -> home (wifi 02:00:00:00:02:01)" in log
    assert "Received SIGTERM" in log and "state saved" in log

    saved = json.loads(open(state).read())
    assert saved["people"]["nick"]["is_home"] is True and NICK in saved["devices"]

    devices["nick"].leave()
    result = cli(lan, "--config", config, "--state", state, "once", "--dry-run")
    assert result.returncode == 0
    assert "home.presence.nick.is_home 1 " in result.stdout, "a restart invented a departure"
    assert "nick: home -> away" not in result.stderr


def test_once_prints_one_tick_and_saves_state(lan, household):
    config, state, _ = household
    result = cli(lan, "--config", config, "--state", state, "once", "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 15 + 2 and len({line.split()[2] for line in lines}) == 1  # with nick's and susan's arrival
    assert int(lines[0].split()[2]) % 1 == 0
    assert "home.presence.count_home 2 " in result.stdout
    assert json.loads(open(state).read())["version"] == 1


def test_sigint_saves_state_and_exits_0_promptly(lan, household):
    config, state, _ = household
    daemon = DaemonProcess(lan, config, state, people=3)
    daemon.wait_until(lambda t: t["nick.is_home"], timeout=10)
    status, took = daemon.stop(signal.SIGINT)
    assert status == 0 and took < 2.0
    assert json.loads(open(state).read())["people"]["nick"]["is_home"] is True


def test_ticks_sent_while_graphite_is_down_survive_restarts(lan, tmp_path):
    """Three `once` runs (three process restarts); carbon comes up only before the last one."""
    from testbed.carbon import Carbon, carbon_unavailable_reason, require

    require(carbon_unavailable_reason())
    lan.add_device("nick", NICK, "198.51.100.11")
    carbon = Carbon(tmp_path / "carbon", netns=lan.scanner_ns)
    raw = make_config(graphite={"host": "127.0.0.1", "port": carbon.port, "send_interval": 1})
    raw["people"] = [{"name": "Nick", "macs": [NICK]}]
    config, state = write_config(tmp_path / "people.yaml", raw), str(tmp_path / "state" / "state.json")
    stamps = []
    try:
        for run in range(3):
            if run == 2:
                carbon.start()
            result = cli(lan, "--config", config, "--state", state, "once")
            assert result.returncode == 0, result.stderr
            stamps.append(int(time.time()))
            if run < 2:
                assert "cannot connect" in result.stderr
                assert os.listdir(tmp_path / "state" / "graphite-spool"), "nothing was spooled"
            time.sleep(1.1)
        landed = carbon.wait_for_points("home.presence.nick.is_home", stamps[0] - 5, stamps[-1] + 2, 3)
    finally:
        carbon.stop()
    assert len(landed) == 3 and set(landed.values()) == {1.0}
    assert not os.listdir(tmp_path / "state" / "graphite-spool"), "the spool was not emptied"
