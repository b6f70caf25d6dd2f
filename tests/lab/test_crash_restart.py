"""`kill -9` at any moment and a restart invent no departure, although the state file is written far less often
than every tick: the file always keeps a person who is home within their grace (presence.state.save_policy)."""

import time

import pytest

from testbed.daemon_process import DaemonProcess
from tests.conftest import make_config, write_config

NICK = "02:00:00:00:01:01"
GRACE, SCAN = 20, 2
# A sweep listens this long for replies (defaults.DEFAULT_SWEEP_LISTEN), and a tick follows within a second.
SWEEP_AND_TICK = 2.1


@pytest.fixture
def household(nft_lan, tmp_path):
    lan = nft_lan
    raw = make_config(wifi={"scan_interval": SCAN, "offline_grace": 5}, graphite={"send_interval": 1})
    raw["people"] = [{"name": "Nick", "macs": [NICK], "offline_grace": GRACE}]
    phone = lan.add_device("nick", NICK, "198.51.100.11")
    for index in range(4):  # unmapped devices, whose comings and goings are not worth a write at once
        lan.add_device(f"tv{index}", f"da:a1:19:00:00:3{index}", f"198.51.100.3{index}")
    return lan, phone, write_config(tmp_path / "people.yaml", raw), str(tmp_path / "state" / "state.json")


def test_kill_9_at_several_moments_while_home_never_shows_a_departure(household):
    lan, _, config, state = household
    first = DaemonProcess(lan, config, state, people=1)
    first.wait_until(lambda t: t["nick.is_home"], timeout=10)
    start = time.monotonic()
    # Spread over more than a sweep, so that some kills fall between a sighting and its save.
    ticks, last = run_killed_at_with(first, lan, config, state, [start + s for s in (0.7, 3.4, 6.1, 9.9, 13.3)])
    try:
        last.wait_until(lambda t: t["nick.is_home"], timeout=10)
        time.sleep(3)
        ticks.update(last.complete_ticks())
    finally:
        last.proc.kill()
    assert len(ticks) >= 10
    assert all(tick["nick.is_home"] == 1 for tick in ticks.values()), \
        f"a departure was invented: {[s for s, t in sorted(ticks.items()) if not t['nick.is_home']]}"


def test_kill_9_while_the_phone_is_silent_keeps_it_home_for_its_grace_then_it_leaves(household):
    lan, phone, config, state = household
    first = DaemonProcess(lan, config, state, people=1)
    first.wait_until(lambda t: t["nick.is_home"], timeout=10)
    # Longer than the grace: the file's first sighting alone would no longer keep him home.
    time.sleep(GRACE + SCAN)
    phone.go_silent()
    silent = time.time()
    start = time.monotonic()
    ticks, last = run_killed_at_with(first, lan, config, state, [start + s for s in (2.5, 7.5, 12.5)])
    try:
        gone = last.wait_until(lambda t: not t["nick.is_home"], timeout=GRACE + 10)
        ticks.update(last.complete_ticks())
    finally:
        last.proc.kill()
        phone.wake()
    early = [stamp for stamp, tick in sorted(ticks.items()) if not tick["nick.is_home"]
             and stamp < silent - SCAN - SWEEP_AND_TICK + GRACE]
    assert not early, f"away before his grace ran out (silent at {silent:.0f}): {early}"
    assert gone <= silent + GRACE + 2, "the departure came later than its grace"


def run_killed_at_with(daemon, lan, config, state, moments):
    """kill -9 `daemon` at each of `moments` (monotonic) and start a new one at once; return (ticks, the last)."""
    ticks = {}
    for moment in moments:
        time.sleep(max(0.0, moment - time.monotonic()))
        daemon.proc.kill()
        daemon.proc.wait(5)
        ticks.update(daemon.complete_ticks())
        daemon = DaemonProcess(lan, config, state, people=1)
    return ticks, daemon
