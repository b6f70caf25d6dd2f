"""Household scenarios end to end on the namespaced LAN: scan 2 s, grace 8 s, send 1 s."""

import json
import re
import signal
import time

import pytest

from tests.conftest import make_config, write_config
from testbed.daemon_process import DaemonProcess

SCAN, GRACE = 2, 8
PEOPLE = ("nick", "susan", "charlie", "archie", "mo", "tom")
PHONES = {name: f"02:00:00:00:0{i + 1}:01" for i, name in enumerate(PEOPLE)}
SUSAN_LAPTOP, GUEST, ROUTER = "02:00:00:00:02:02", "da:a1:19:00:00:99", "02:00:00:00:ff:ff"


@pytest.fixture
def household(nft_lan, tmp_path):
    raw = make_config(wifi={"scan_interval": SCAN, "offline_grace": GRACE}, graphite={"send_interval": 1})
    raw["people"] = [{"name": name, "macs": [mac] + ([SUSAN_LAPTOP] if name == "susan" else [])}
                     for name, mac in PHONES.items()]
    raw["ignore_macs"] = [ROUTER]
    devices = {name: nft_lan.add_device(name, mac, f"198.51.100.{11 + i}") for i, (name, mac) in enumerate(PHONES.items())}
    devices["susan_laptop"] = nft_lan.add_device("susan_laptop", SUSAN_LAPTOP, "198.51.100.30")
    devices["guest"] = nft_lan.add_device("guest", GUEST, "198.51.100.99")
    devices["router"] = nft_lan.add_device("router", ROUTER, "198.51.100.1")
    devices["charlie"].doze()  # charlie's phone dozes through the whole run
    config, state = write_config(tmp_path / "people.yaml", raw), str(tmp_path / "state.json")
    return nft_lan, DaemonProcess(nft_lan, config, state, people=len(PEOPLE)), devices, state


def everyone(value):
    return lambda tick: all(tick[f"{name}.is_home"] == value for name in PEOPLE)


def test_a_day_in_the_household(household):
    lan, daemon, devices, state = household
    # Charlie's phone is dozing from the start and nobody is home yet, so nothing searches for it
    # (issue 12: no re-probes for people who are away); like any phone, it is heard as it joins.
    daemon.wait_until(lambda tick: True, timeout=10)
    devices["charlie"].join()
    daemon.wait_until(everyone(1), timeout=10)

    # WiFi toggle for each person: all phones (and susan's laptop) leave, then come back.
    for name in (*PEOPLE, "susan_laptop"):
        devices[name].leave()
    daemon.wait_until(everyone(0), timeout=GRACE + SCAN + 5)
    for name in (*PEOPLE, "susan_laptop"):
        devices[name].join()
    back = time.time()
    assert daemon.wait_until(everyone(1), timeout=5) - back <= 2.0

    # Then for four grace periods: susan's laptop leaves, archie's IP changes, mo's phone goes
    # deaf for less than the grace; charlie's dozing phone is never shown away.
    calm_from = time.time()
    devices["susan_laptop"].leave()
    devices["archie"].set_ip("198.51.100.55")
    devices["mo"].go_silent()
    time.sleep(GRACE - SCAN - 1)
    devices["mo"].wake()
    daemon.wait_until(lambda t: t["susan.devices_present"] == 1, timeout=GRACE + SCAN + 3)
    time.sleep(max(0.0, calm_from + 4 * GRACE - time.time()))
    status, _ = daemon.stop(signal.SIGTERM)
    assert status == 0

    ticks = daemon.complete_ticks()
    stamps = list(ticks)
    assert stamps == list(range(stamps[0], stamps[-1] + 1)), "a tick went missing"
    for stamp, tick in ticks.items():
        assert tick["count_home"] == sum(tick[f"{name}.is_home"] for name in PEOPLE)
        assert tick["anyone_home"] == int(tick["count_home"] > 0)
        if stamp >= calm_from + 1:
            assert tick["count_home"] == 6, f"someone shown away at {stamp}: {tick}"
    charlie = [tick["charlie.is_home"] for stamp, tick in ticks.items()]
    assert charlie.count(0) <= GRACE + SCAN + 2  # only in the toggle, never while dozing at home

    # Unknown and randomized devices count as devices, not people; the router is ignored.
    last = ticks[stamps[-1]]
    assert last["wifi.devices_present_count"] == len(PEOPLE) + 1  # phones + guest; laptop gone, router ignored

    # Departures happened when the grace since the last reply ran out, not before, within a tick.
    log = "".join(daemon.stderr)
    gaps = [int(seconds) for seconds in re.findall(r"home -> away \(last seen (\d+) s ago by wifi", log)]
    assert len(gaps) == len(PEOPLE) and all(GRACE <= gap <= GRACE + 1 for gap in gaps), gaps

    # Each arrival and departure went out once as a sparse event line, for Grafana's annotations.
    events = [name for _, name in daemon.events]
    for name in PEOPLE:
        assert events.count(f"{name}.departure") == 1 and events.count(f"{name}.arrival") >= 2, events

    saved = json.loads(open(state).read())
    assert saved["devices"][PHONES["archie"]]["ip"] == "198.51.100.55"
    assert ROUTER not in saved["devices"] and GUEST in saved["devices"]
