"""The Home Assistant source against a real Home Assistant core, in the lab's scanner namespace."""

import os
import re
import signal
import time

import pytest

from presence.config.load import parse_config
from presence.config.secrets import Secret
from presence.sources.homeassistant import HomeAssistantSource
from tests.conftest import cli, make_config, write_config
from testbed.daemon_process import DaemonProcess
from testbed.lab.netns_thread import call_in_netns

TOM_PHONE = "02:00:00:00:06:01"
TRACKERS = {"nick": ["device_tracker.nick_phone"],
            "charlie": ["device_tracker.charlie_router", "device_tracker.charlie_gps"]}

pytestmark = pytest.mark.lab  # a real Home Assistant core on the namespace lab


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from testbed.carbon import require
    from testbed.homeassistant_core import HomeAssistantCore, homeassistant_unavailable_reason
    from testbed.lab import Lan, lab_unavailable_reason

    require(lab_unavailable_reason() or homeassistant_unavailable_reason())
    with Lan() as lan:
        lan.add_device("tom", TOM_PHONE, "198.51.100.16")
        ha = HomeAssistantCore(tmp_path_factory.mktemp("ha"), lan.scanner_ns, TRACKERS, recorder=True)
        try:
            yield lan, ha.start()
        finally:
            ha.stop()


def household(tmp_path, ha, token=None, **homeassistant):
    raw = make_config(wifi={"scan_interval": 2, "offline_grace": 6}, graphite={"send_interval": 1},
                      homeassistant={"url": ha.url, "token_env": "PRESENCE_HA_TOKEN", **homeassistant})
    raw["people"] = [
        {"name": "Nick", "homeassistant_entities": ["person.nick", "device_tracker.nick_phone"]},
        {"name": "Charlie", "homeassistant_entities": ["person.charlie"]},
        {"name": "Susan", "homeassistant_entities": ["person.susan_not_in_ha"]},
        {"name": "Tom", "macs": [TOM_PHONE]},
    ]
    env = {**os.environ, "PRESENCE_HA_TOKEN": token or ha.token}
    return write_config(tmp_path / "people.yaml", raw), str(tmp_path / "state.json"), env


def once(lan, config, state, env):
    result = cli(lan, "--config", config, "--state", state, "once", "--dry-run", env=env)
    assert result.returncode == 0, result.stderr
    values = {line.split()[0].removeprefix("home.presence."): int(line.split()[1]) for line in result.stdout.splitlines()}
    return values, result.stderr


@pytest.mark.parametrize("tracker_state, person_state, home_metric", [
    ("home", "home", 1), ("not_home", "not_home", 0), ("Work", "Work", 0), ("unavailable", "unknown", 0),
])
def test_states_are_read_as_home_assistant_means_them(home, tmp_path, tracker_state, person_state, home_metric):
    lan, ha = home
    ha.set_tracker("device_tracker.nick_phone", tracker_state, "gps")
    ha.wait_for_state("person.nick", person_state)
    values, log = once(lan, *household(tmp_path, ha))
    assert values["nick.from_homeassistant"] == home_metric and values["nick.is_home"] == home_metric
    if tracker_state == "unavailable":
        assert "device_tracker.nick_phone is unavailable; it neither sets nor clears its person" in log
        assert "person.nick is unknown; it neither sets nor clears its person" in log
    assert log.count("person.susan_not_in_ha is missing") == 1
    assert ha.token not in log


def test_router_and_gps_trackers_that_disagree_give_home_assistants_answer(home, tmp_path):
    lan, ha = home
    ha.set_tracker("device_tracker.charlie_router", "home", "router")
    ha.set_tracker("device_tracker.charlie_gps", "not_home", "gps")
    time.sleep(0.5)
    verdict = ha.state("person.charlie")
    values, _ = once(lan, *household(tmp_path, ha))
    assert values["charlie.from_homeassistant"] == int(verdict == "home")
    ha.set_tracker("device_tracker.charlie_router", "not_home", "router")
    ha.set_tracker("device_tracker.charlie_gps", "home", "gps")
    time.sleep(0.5)
    verdict = ha.state("person.charlie")
    values, _ = once(lan, *household(tmp_path, ha))
    assert values["charlie.from_homeassistant"] == int(verdict == "home")


def test_a_home_assistant_restart_ages_out_and_comes_back_while_wifi_goes_on(home, tmp_path):
    lan, ha = home
    ha.set_tracker("device_tracker.nick_phone", "home", "gps")
    ha.wait_for_state("person.nick", "home")
    config, state, env = household(tmp_path, ha, poll_interval=1, stale_after=4)
    daemon = DaemonProcess(lan, config, state, people=4, env=env)
    try:
        daemon.wait_until(lambda t: t["nick.from_homeassistant"] and t["tom.from_wifi"], timeout=15)
        stopping = time.time()
        ha.stop()
        stopped = time.time()
        aged = daemon.wait_until(lambda t: not t["nick.from_homeassistant"], timeout=15)
        # Kept for stale_after (4 s) after the last answer (at most a poll, 1 s, before the stop), then unknown.
        assert stopping + 4 - 1 - 1 <= aged <= stopped + 4 + 2
        ha.start()
        ha.set_tracker("device_tracker.nick_phone", "home", "gps")
        daemon.wait_until(lambda t: t["nick.from_homeassistant"], timeout=15)
        status, _ = daemon.stop(signal.SIGTERM)
        assert status == 0
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
        if ha.proc.poll() is not None:
            ha.start()  # the next tests need it
    ticks = daemon.complete_ticks()
    stamps = list(ticks)
    assert stamps == list(range(stamps[0], stamps[-1] + 1)), "a tick went missing while Home Assistant was down"
    assert all(tick["tom.from_wifi"] == 1 for tick in ticks.values())
    log = "".join(daemon.stderr)
    assert log.count("homeassistant: cannot reach") == 1 and log.count("homeassistant: working again") == 1
    assert "homeassistant: no successful poll for" in log


def test_a_wrong_token_is_said_once_and_not_hammered(home, tmp_path):
    lan, ha = home
    wrong = "wrong-token-" + "5" * 40
    refused_before = len(ha.log_lines("invalid authentication"))
    config, state, env = household(tmp_path, ha, token=wrong, poll_interval=1)
    daemon = DaemonProcess(lan, config, state, people=4, env=env)
    try:
        daemon.wait_until(lambda t: t["tom.from_wifi"], timeout=10)
        time.sleep(6)
        status, _ = daemon.stop(signal.SIGTERM)
        assert status == 0
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
    log = "".join(daemon.stderr)
    assert log.count("refused the access token (401)") == 1
    assert wrong not in log and wrong not in open(state).read()
    # One request in all, though the poll interval is 1 s: every refusal counts towards a ban.
    assert len(ha.log_lines("invalid authentication")) - refused_before == 1


def test_check_and_discover_homeassistant(home, tmp_path):
    lan, ha = home
    ha.set_tracker("device_tracker.charlie_router", "not_home", "router")
    ha.set_tracker("device_tracker.nick_phone", "home", "gps")
    ha.wait_for_state("person.nick", "home")
    config, _, env = household(tmp_path, ha)
    result = cli(lan, "--config", config, "check", env=env)
    line = next(line for line in result.stdout.splitlines() if "homeassistant" in line)
    assert line.startswith("FAIL") and "no such entity: person.susan_not_in_ha" in line
    assert "person.nick=home" in line and "device_tracker.nick_phone=home" in line
    result = cli(lan, "--config", config, "discover", "--homeassistant", env=env)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1:3] for line in result.stdout.splitlines()[1:]}
    assert rows["person.nick"] == ["home", "nick"]
    assert rows["device_tracker.charlie_router"] == ["not_home", "-"]
    assert re.search(r"person\.charlie\s", result.stdout)


def test_history_reads_back_the_comings_and_goings_home_assistant_recorded(home):
    lan, ha = home
    raw = make_config(homeassistant={"url": ha.url})
    raw["people"][0]["homeassistant_entities"] = ["person.nick"]
    source = HomeAssistantSource(parse_config(raw).homeassistant, [], Secret(ha.token))
    ha.set_tracker("device_tracker.nick_phone", "not_home", "gps")
    ha.wait_for_state("person.nick", "not_home")
    time.sleep(0.2)
    start, changed = time.time(), []
    for state in ["home", "not_home", "home", "home", "Work"]:
        before = time.time()
        ha.set_tracker("device_tracker.nick_phone", state, "gps")
        ha.wait_for_state("person.nick", state)
        changed.append((before, time.time()))
        time.sleep(0.3)
    end = time.time()
    entities = ["person.nick", "device_tracker.nick_phone", "person.nobody"]
    deadline = time.monotonic() + 15
    while True:  # the recorder writes from its own thread: wait for the last change to be in
        spans = call_in_netns(lan.scanner_ns, source.history, entities, start, end)
        if len(spans["person.nick"]) == 5 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    nick = spans["person.nick"]
    # "home" twice is one span; Work means away.
    assert [home for _, _, home in nick] == [False, True, False, True, False]
    assert nick[0][0] == pytest.approx(start, abs=1e-6) and nick[-1][1] == end  # the URL's times are in µs
    for (_, finish, _), (begin, _, _), (before, after) in zip(nick, nick[1:], [changed[i] for i in (0, 1, 2, 4)]):
        assert finish == begin and before - 0.05 <= begin <= after + 0.05
    assert [home for _, _, home in spans["device_tracker.nick_phone"]] == [False, True, False, True, False]
    assert spans["person.nobody"] == []
