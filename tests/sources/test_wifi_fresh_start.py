"""A fresh start finds a dozing phone at home in its first sweep (issue 23): the whole-range search of the
first sweep, on the namespaced LAN, with the daemon's own choice of devices to re-probe."""

import ipaddress
import logging
import signal
import time

from presence.config import defaults
from presence.config.load import parse_config
from presence.config.model import NetworkConfig
from presence.observations import DeviceSighting, SourceReport
from presence.sources.wifi import WifiSource
from presence.state.machine import evaluate, ingest, reprobe_targets
from presence.state.model import State
from tests.conftest import cli, make_config, write_config
from testbed.daemon_process import DaemonProcess
from testbed.lab.netns_thread import call_in_netns

log = logging.getLogger(__name__)

CIDR = "198.51.100.0/24"
HOSTS = 253  # 198.51.100.0/24 without the scanner's own address
T0 = 1_800_000_000.0
NICK, SUSAN_PHONE, SUSAN_LAPTOP, CHARLIE = ("02:00:00:00:01:01", "02:00:00:00:02:01", "02:00:00:00:02:02",
                                            "02:00:00:00:03:01")
NEVER = 1000  # a dozing phone that gets about one broadcast in a thousand: practically none


def daemon_source(states, config, **kwargs):
    """The WiFi source as the daemon builds it: re-probe what `reprobe_targets` says of the last of `states`."""
    known = {mac: device.ip for mac, device in states[0].devices.items() if device.ip}
    return WifiSource(NetworkConfig(cidrs=(ipaddress.IPv4Network(CIDR),)),
                      reprobe=lambda: reprobe_targets(states[-1], config), known_ips=known, **kwargs)


def first_sweeps(lan, source, count=1):
    """[(report, frames sent, seconds)] of `count` sweeps 30 s of the source's clock apart."""
    results = []
    for sweep in range(count):
        before, started = lan.frames_sent(), time.monotonic()
        report = call_in_netns(lan.scanner_ns, source.poll, T0 + 30 * sweep)
        results.append((report, lan.frames_sent() - before, time.monotonic() - started))
    source.close()
    return results


def found(report):
    return {s.mac: s.ip for s in report.sightings}


def test_a_fresh_state_asks_about_every_mapped_device_with_no_address(config):
    assert reprobe_targets(State(), config) == dict.fromkeys(config.mac_owner)
    decided, _, _, _ = evaluate(State(), config, T0)
    assert reprobe_targets(decided, config) == {}  # decided away: a joining phone is heard


def test_a_fresh_start_finds_a_dozing_phone_of_unknown_address_in_the_first_sweep(nft_lan, config):
    phone = nft_lan.add_device("nick", NICK, "198.51.100.77")
    phone.doze(keep_one_in=NEVER)
    ((report, sent, seconds),) = first_sweeps(nft_lan, daemon_source([State()], config, knock=False))
    log.warning("first sweep, one dozing phone and 6 absent devices searched: %.2f s, %d frames", seconds, sent)
    assert found(report) == {NICK: phone.ip}


def test_once_from_no_state_file_shows_a_person_with_a_dozing_phone_home(nft_lan, tmp_path):
    phones = [nft_lan.add_device(f"p{i}", mac, f"198.51.100.{60 + i}")
              for i, mac in enumerate((NICK, SUSAN_LAPTOP, CHARLIE))]
    for phone in phones:
        phone.doze(keep_one_in=NEVER)
    config = write_config(tmp_path / "people.yaml", make_config())
    result = cli(nft_lan, "--config", config, "--state", str(tmp_path / "state.json"), "once", "--dry-run")
    assert result.returncode == 0, result.stderr
    home = {line.split()[0].split(".")[2] for line in result.stdout.splitlines()
            if ".is_home 1 " in line}
    assert home == {"nick", "susan", "charlie"}, result.stdout  # archie, mo and tom are really out


def test_several_dozing_phones_are_all_found_in_the_first_sweep(nft_lan):
    macs = [f"da:a1:19:00:05:{i:02x}" for i in range(6)]
    phones = [nft_lan.add_device(f"p{i}", mac, f"198.51.100.{100 + 7 * i}") for i, mac in enumerate(macs[:4])]
    for phone in phones:
        phone.doze(keep_one_in=NEVER)
    config = parse_config(make_config(people=[{"name": f"P{i}", "macs": [mac]} for i, mac in enumerate(macs)]),
                          "t.yaml")
    ((report, sent, _),) = first_sweeps(nft_lan, daemon_source([State()], config, knock=False))
    assert found(report) == {phone.mac: phone.ip for phone in phones}
    assert sent == HOSTS * (1 + len(macs))  # the broadcast, and one search for each asked device


def test_absent_devices_cost_one_search_each_at_the_first_sweep_within_its_bound(nft_lan):
    tv = nft_lan.add_device("tv", "02:00:00:00:10:20", "198.51.100.20")  # someone answers: the LAN is up
    limit = defaults.FIRST_SWEEP_SEARCH_FRAMES // HOSTS
    timings = {}
    for absent in (0, 7, limit + 4):
        macs = [f"da:a1:19:00:06:{i:02x}" for i in range(absent)]
        people = [{"name": f"P{i}", "macs": [mac]} for i, mac in enumerate(macs)]
        config = parse_config(make_config(people=people), "t.yaml") if people else None
        source = WifiSource(NetworkConfig(cidrs=(ipaddress.IPv4Network(CIDR),)), knock=False,
                            reprobe=lambda config=config: reprobe_targets(State(), config) if config else {})
        sweeps = first_sweeps(nft_lan, source, count=2)
        assert all(found(report) == {tv.mac: tv.ip} for report, _, _ in sweeps)
        searched = min(absent, limit)
        # Later sweeps are back to one search at most: the ones left over, then the backoff.
        assert [sent for _, sent, _ in sweeps] == [HOSTS * (1 + searched), HOSTS * (1 + min(1, absent - searched))]
        timings[absent] = sweeps[0][2]
    log.warning("first sweep's wall time by absent devices asked about (no known address): %s",
                ", ".join(f"{n}: {s:.2f} s" for n, s in timings.items()))


def _state_with(config, mac, ip, decided):
    """The state a restart reads: `mac` last seen at `ip`; its person home (`decided`) or not decided yet."""
    sighting = DeviceSighting(mac=mac, ip=ip, at=T0 - 60)
    state, _ = ingest(State(), SourceReport(source="wifi", at=T0 - 60, ok=True, sightings=(sighting,)), config)
    if decided:
        state, _, _, _ = evaluate(state, config, T0 - 60)
        assert state.people["nick"].is_home
    return state


def test_a_dozing_phone_that_moved_to_another_address_is_found_in_the_first_sweep(nft_lan, config):
    phone = nft_lan.add_device("nick", NICK, "198.51.100.60")
    phone.set_ip("198.51.100.61")  # a new lease while the daemon was down
    phone.doze(keep_one_in=NEVER)
    for decided in (True, False):  # restarted while home, or just mapped to Nick
        states = [_state_with(config, NICK, "198.51.100.60", decided)]
        source = daemon_source(states, config)
        sweeps = []
        for sweep in range(2):
            before = nft_lan.frames_sent()
            report = call_in_netns(nft_lan.scanner_ns, source.poll, T0 + 30 * sweep)
            sweeps.append((found(report).get(NICK), nft_lan.frames_sent() - before))
            states.append(ingest(states[-1], report, config)[0])  # as the daemon folds it in
        source.close()
        # Found at its new address at once; then re-probed there alone (ARP and knock), no search.
        assert sweeps[0][0] == phone.ip and sweeps[1] == (phone.ip, HOSTS + 2)


def test_a_phone_answering_at_its_known_address_costs_no_search(nft_lan, config):
    phone = nft_lan.add_device("nick", NICK, "198.51.100.60")
    phone.doze(keep_one_in=NEVER)
    ((report, sent, _),) = first_sweeps(nft_lan, daemon_source([_state_with(config, NICK, phone.ip, True)], config))
    assert found(report) == {NICK: phone.ip}
    assert sent == HOSTS + 2  # the broadcast, then ARP and knock to its address


def test_run_from_no_state_file_shows_the_dozing_phone_home_from_the_first_tick(nft_lan, tmp_path):
    phone = nft_lan.add_device("nick", NICK, "198.51.100.77")
    phone.doze(keep_one_in=NEVER)
    raw = make_config(wifi={"scan_interval": 2, "offline_grace": 60}, graphite={"send_interval": 1},
                      people=[{"name": "Nick", "macs": [NICK]}, {"name": "Susan", "macs": [SUSAN_PHONE]}])
    daemon = DaemonProcess(nft_lan, write_config(tmp_path / "people.yaml", raw), str(tmp_path / "state.json"),
                           people=2)
    try:
        daemon.wait_until(lambda _tick: len(daemon.complete_ticks()) >= 3, timeout=15)
    finally:
        daemon.stop(signal.SIGTERM)
    ticks = list(daemon.complete_ticks().values())[:3]
    assert [(t["nick.is_home"], t["susan.is_home"]) for t in ticks] == [(1, 0)] * 3, daemon.stderr[-5:]
