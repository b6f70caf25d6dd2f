"""`suggest` and the vanished-device warning end to end: the real daemon on the namespaced LAN, a real Home
Assistant core with its recorder, and a household that comes and goes in compressed time (seconds for hours)."""

import json
import os
import re
import signal
import time
from functools import partial

import pytest

from tests.conftest import cli, make_config, write_config
from testbed.daemon_process import DaemonProcess

pytestmark = pytest.mark.lab  # a real Home Assistant core and the daemon on the namespace lab

SUSAN_OLD, SUSAN_NEW = "76:3b:00:00:02:01", "3a:f1:00:00:02:9c"  # private addresses, the new one unmapped
MO_TABLET = "58:00:00:00:05:0a"
NICK_LAPTOP, NICK_PHONE = "00:1b:63:00:01:01", "ee:00:00:00:01:9c"
TV, GUEST = "00:11:22:33:44:55", "de:ad:00:00:00:01"
TRACKERS = {"susan": ["device_tracker.susan_phone"], "mo": ["device_tracker.mo_phone"]}
SCAN, GRACE, POLL = 0.5, 2, 1
WINDOW = f"{2 * GRACE} s"  # an arrival or departure coincides within two graces (SUGGEST_COINCIDENCE_GRACES)

# Who is home when: stays as (arrival, departure) in seconds after the daemon's first tick; 0: home from the
# start, None: home to the end. Three schedules of their own: no one follows another.
SUSAN = ((0, 7), (13, 23), (29, 39), (45, 55))
SUSAN_OLD_STAYS = 1  # then her phone forgets the WiFi while she is out and comes back with a new address
MO = ((2.5, 10.5), (15, 23), (27.5, 35.5), (40, 48), (52.5, None))
NICK = ((0, 4.5), (9, 14), (18.5, 23.5), (28, 33), (37.5, 42.5), (47, 52), (56.5, None))
GUEST_STAY = ((30.5, 38),)  # one evening: fewer of anyone's comings and goings than `suggest` needs
# Susan's phone finds the WiFi a moment after her Home Assistant app said home (the app's zone reaches further
# than the WiFi) and leaves it first. A moment of a second: the daemon learns Home Assistant's answer up to a
# poll late, and the warning's hint judges by the daemon's own record of it alone. A phone on the LAN before
# that record says she is home would count as on the LAN while she was out (in real time, a minute in hours).
WIFI_AFTER_APP = 1.0
# Susan's old phone is last seen as she leaves at 7 s; the warning is due once her phone's new address has
# followed her six comings and goings, 3.5 s after the last.
VANISHED_AFTER = 55 + 3.5 - 7


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from testbed.carbon import require
    from testbed.homeassistant_core import HomeAssistantCore, homeassistant_unavailable_reason
    from testbed.lab import Lan, lab_unavailable_reason

    require(lab_unavailable_reason() or homeassistant_unavailable_reason())
    with Lan() as lan:
        devices = {name: lan.add_device(name, mac, f"198.51.100.{number}") for number, (name, mac) in enumerate(
            [("susan_old", SUSAN_OLD), ("susan_new", SUSAN_NEW), ("mo_tablet", MO_TABLET), ("nick_laptop", NICK_LAPTOP),
             ("nick_phone", NICK_PHONE), ("tv", TV), ("guest", GUEST)], start=11)}
        ha = HomeAssistantCore(tmp_path_factory.mktemp("ha"), lan.scanner_ns, TRACKERS, recorder=True)
        try:
            yield lan, devices, ha.start()
        finally:
            ha.stop()


def household(tmp_path, ha):
    raw = make_config(wifi={"scan_interval": SCAN, "offline_grace": GRACE, "vanished_after": VANISHED_AFTER},
                      graphite={"send_interval": 1},
                      homeassistant={"url": ha.url, "token_env": "PRESENCE_HA_TOKEN", "poll_interval": POLL})
    raw["people"] = [{"name": "Susan", "macs": [SUSAN_OLD], "homeassistant_entities": ["person.susan"]},
                     {"name": "Mo", "homeassistant_entities": ["person.mo"]},
                     {"name": "Nick", "macs": [NICK_LAPTOP]}]
    raw["ignore_macs"] = []
    env = {**os.environ, "PRESENCE_HA_TOKEN": ha.token}
    return write_config(tmp_path / "people.yaml", raw), str(tmp_path / "state.json"), env


def comings_and_goings(devices, ha):
    """[(seconds, what to do)] of every arrival and departure: lab devices join or leave, Home Assistant's
    trackers say home or not_home; in order."""
    people = [("susan", SUSAN, lambda stay: [devices["susan_old" if stay < SUSAN_OLD_STAYS else "susan_new"]]),
              ("mo", MO, lambda stay: [devices["mo_tablet"]]),
              ("nick", NICK, lambda stay: [devices["nick_laptop"], devices["nick_phone"]]),
              ("guest", GUEST_STAY, lambda stay: [devices["guest"]])]
    moves = []
    for who, stays, owned in people:
        tracker = TRACKERS.get(who, [None])[0]
        late = WIFI_AFTER_APP if who == "susan" else 0.0
        for index, (arrival, departure) in enumerate(stays):
            if arrival:
                moves += [(arrival + late, device.join) for device in owned(index)]
                moves += [(arrival, partial(ha.set_tracker, tracker, "home", "gps"))] if tracker else []
            if departure:
                moves += [(departure, device.leave) for device in owned(index)]
                moves += [(departure, partial(ha.set_tracker, tracker, "not_home", "gps"))] if tracker else []
    return sorted(moves, key=lambda move: move[0])


def play(moves):
    """Make each move at its time after now; when one comes late, every later one waits as long (no stay is
    cut short)."""
    start, slip = time.time(), 0.0
    for at, move in moves:
        delay = start + slip + at - time.time()
        if delay > 0:
            time.sleep(delay)
        else:
            slip -= delay
        move()


def wait_for_line(daemon, text, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [line for line in list(daemon.stderr) if text in line]
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"{text!r} not logged within {timeout} s; stderr ends: {daemon.stderr[-5:]}")


def counts(stays, since=0):
    """How many arrivals and departures `stays` have after `since` seconds."""
    return (sum(1 for arrival, _ in stays if arrival > since),
            sum(1 for _, departure in stays if departure is not None and departure > since))


def yaml_people(text):
    """{person's name: [MAC]} from `suggest --yaml`: each `# Name:` comment heads the entries under it."""
    people, name = {}, None
    for line in text.splitlines():
        if heading := re.fullmatch(r"# (\w+):", line):
            name = heading.group(1)
        elif entry := re.fullmatch(r'\s+- "([0-9a-f:]{17})"\s+# suggest: [0-9.]+', line):
            people.setdefault(name, []).append(entry.group(1))
    return people


def test_suggest_names_each_new_device_and_the_daemon_warns_of_susans_old_phone(home, tmp_path):
    lan, devices, ha = home
    config, state, env = household(tmp_path, ha)
    for name in ("susan_new", "mo_tablet", "guest"):
        devices[name].leave()
    ha.set_tracker(TRACKERS["susan"][0], "home", "gps")
    ha.set_tracker(TRACKERS["mo"][0], "not_home", "gps")
    ha.wait_for_state("person.susan", "home")
    ha.wait_for_state("person.mo", "not_home")

    daemon = DaemonProcess(lan, config, state, people=3, env=env)
    try:
        # Susan's old phone, Nick's laptop and phone, the TV.
        daemon.wait_until(lambda t: t["susan.is_home"] and t["nick.is_home"] and not t["mo.is_home"]
                          and t["wifi.devices_present_count"] == 4, timeout=15)
        play(comings_and_goings(devices, ha))
        warnings = wait_for_line(daemon, f"susan: {SUSAN_OLD} not seen for ", timeout=15)
        # Susan out, Mo's tablet, Nick's laptop and phone, the TV.
        daemon.wait_until(lambda t: not t["susan.is_home"] and t["mo.is_home"] and t["nick.from_wifi"]
                          and t["wifi.devices_present_count"] == 4, timeout=10)
        status, _ = daemon.stop(signal.SIGTERM)
        assert status == 0
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
    said = [line for line in daemon.stderr if f"susan: {SUSAN_OLD} not seen for " in line]
    assert said == warnings[:1] and " WARNING " in said[0], "".join(daemon.stderr)  # said once
    assert re.search(rf"susan: {SUSAN_OLD} not seen for \d+ s while Susan was home \(Home Assistant\); {SUSAN_NEW} "
                     r"looks like its new private address \((0\.[89]\d|1\.00)\): see 'suggest'", said[0]), said[0]

    result = cli(lan, "--config", config, "--state", state, "suggest", "--json", env=env)
    assert result.returncode == 0, result.stderr
    found = {item["mac"]: item for item in json.loads(result.stdout)}
    assert set(found) == {SUSAN_NEW, MO_TABLET, NICK_PHONE, TV, GUEST}, result.stdout
    shown = json.dumps(found, indent=1)
    assert [found[mac]["person"] for mac in (SUSAN_NEW, MO_TABLET, NICK_PHONE, TV, GUEST)] == \
        ["susan", "mo", "nick", None, None], shown

    susan = found[SUSAN_NEW]
    assert susan["randomized"] and susan["confidence"] >= 0.8
    arrivals, departures = counts(SUSAN[SUSAN_OLD_STAYS:], since=SUSAN[SUSAN_OLD_STAYS - 1][1])
    assert re.fullmatch(r"on the LAN \d+ % of the \d+ s Susan was home \(Home Assistant\), \d+ % of the \d+ s Susan "
                        r"was out", susan["reasons"][0]), shown
    assert susan["reasons"][1] == (f"arrived within {WINDOW} of Susan {arrivals} of {arrivals} times, "
                                   f"left within {WINDOW} of Susan {departures} of {departures} times"), shown

    mo = found[MO_TABLET]
    assert not mo["randomized"] and mo["confidence"] >= 0.8
    arrivals, departures = counts(MO)
    assert re.fullmatch(r"on the LAN \d+ % of the \d+ s Mo was home \(Home Assistant\), \d+ % of the \d+ s Mo was out",
                        mo["reasons"][0]), shown
    assert mo["reasons"][1] == (f"arrived within {WINDOW} of Mo {arrivals} of {arrivals} times, "
                                f"left within {WINDOW} of Mo {departures} of {departures} times"), shown

    nick = found[NICK_PHONE]
    assert nick["confidence"] >= 0.8
    arrivals, departures = counts(NICK)
    assert re.fullmatch(rf"on the LAN \d+ % of the \d+ s Nick was home \({NICK_LAPTOP}\), \d+ % of the \d+ s Nick "
                        r"was out", nick["reasons"][0]), shown
    assert nick["reasons"][1] == (f"arrived within {WINDOW} of Nick {arrivals} of {arrivals} times, "
                                  f"left within {WINDOW} of Nick {departures} of {departures} times"), shown

    assert found[TV]["confidence"] == 0.0
    assert found[TV]["reasons"][-1] == ("there whatever anyone does: on the LAN 100 % of Susan's time out, "
                                        "100 % of Mo's time out, 100 % of Nick's time out"), shown
    assert found[GUEST]["confidence"] == 0.0
    assert re.fullmatch(r"too little evidence: \w+ came or went [0-4] times between its first and last sighting "
                        r"\(\d+ s\), 5 needed", found[GUEST]["reasons"][-1]), shown

    result = cli(lan, "--config", config, "--state", state, "suggest", "--yaml", env=env)
    assert result.returncode == 0, result.stderr
    assert yaml_people(result.stdout) == {"Susan": [SUSAN_NEW], "Mo": [MO_TABLET], "Nick": [NICK_PHONE]}, \
        result.stdout

    result = cli(lan, "--config", config, "--state", state, "check", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    line = next((line for line in result.stdout.splitlines() if line.split()[1:2] == ["devices"]), result.stdout)
    assert line.startswith("WARN ") and f"susan: {SUSAN_OLD} not seen for " in line, result.stdout
    assert f"{SUSAN_NEW} looks like its new private address" in line, result.stdout
