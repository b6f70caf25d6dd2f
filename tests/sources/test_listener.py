"""Arrivals heard between sweeps: a phone joining the WiFi is home within 2 s, not at the next sweep."""

import ipaddress
import json
import logging
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime

from presence.clock import SystemClock
from presence.config.model import NetworkConfig
from presence.sources.listener import WifiListener
from tests.conftest import ROOT, make_config, write_config
from testbed.lab.netns_thread import call_in_netns
from tests.sources.test_frames import arp, dhcp_request

T0 = 1_800_000_000.0

PEOPLE = {"archie": "da:a1:19:00:00:41", "mo": "da:a1:19:00:00:42", "tom": "da:a1:19:00:00:43"}


def arrivals(lines):
    """{person: epoch seconds} of each `away -> home` log line."""
    found = {}
    for line in lines:
        match = re.match(r"(\S+ \S+) INFO \S+: (\w+): away -> home", line)
        if match:
            found[match.group(2)] = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
    return found


def test_arp_dhcp_and_mdns_arrivals_are_heard_at_once(nft_lan, tmp_path):
    lan = nft_lan
    raw = make_config(wifi={"scan_interval": 120, "offline_grace": 600}, graphite={"send_interval": 5})
    raw["people"] = [{"name": name, "macs": [mac]} for name, mac in PEOPLE.items()]
    config, state = write_config(tmp_path / "people.yaml", raw), str(tmp_path / "state.json")
    phones = {name: lan.add_device(name, mac, f"198.51.100.{41 + i}") for i, (name, mac) in enumerate(PEOPLE.items())}
    phones["archie"].leave()
    for name in ("mo", "tom"):
        phones[name].go_silent()  # present but deaf: only what it sends can give it away

    daemon = lan.popen(lan.scanner_ns, [sys.executable, f"{ROOT}/presence_to_graphite.py", "--config", config,
                                        "--state", state, "run", "--dry-run"],
                       cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    log = []
    threading.Thread(target=lambda: log.extend(daemon.stderr), daemon=True).start()
    deadline = time.time() + 10
    while not any("Running:" in line for line in log) and time.time() < deadline:
        time.sleep(0.05)
    assert arrivals(log) == {}, "nobody should be home after the first sweep"

    sent = {}
    sent["archie"] = time.time()
    phones["archie"].join()  # link up and a gratuitous ARP, as a phone rejoining WiFi
    sent["mo"] = time.time()
    phones["mo"].dhcp_request("Mos-Galaxy")
    sent["tom"] = time.time()
    phones["tom"].mdns_announce("Toms-iPhone")
    deadline = time.time() + 5
    while len(arrivals(log)) < 3 and time.time() < deadline:
        time.sleep(0.05)
    heard = arrivals(log)
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=5) == 0
    assert set(heard) == set(PEOPLE), "".join(log)
    for name, at in heard.items():
        assert at - sent[name] < 2.0, f"{name} took {at - sent[name]:.2f} s"

    devices = json.loads(open(state).read())["devices"]
    assert devices[PEOPLE["mo"]]["how"] == "dhcp" and devices[PEOPLE["mo"]]["hostname"] == "Mos-Galaxy"
    assert devices[PEOPLE["tom"]]["how"] == "mdns" and devices[PEOPLE["tom"]]["hostname"] == "Toms-iPhone"
    assert devices[PEOPLE["archie"]]["ip"] == "198.51.100.41"


NET = ipaddress.IPv4Network("198.51.100.0/24")
ME = "02:00:00:00:00:02"
NICK, SUSAN = "da:a1:19:00:00:51", "da:a1:19:00:00:52"


def listener(**kwargs):
    return WifiListener(NetworkConfig(cidrs=(NET,), interface="eth0"), urgent={NICK, SUSAN}, **kwargs)


def stranger(n):
    return f"06:00:00:00:{n >> 8 & 0xff:02x}:{n & 0xff:02x}"


def hear(listen, mac, at, ip="198.51.100.9"):
    return listen.hear(arp(1, mac, ip, ip), 0, ME, at)


def test_peoples_devices_are_reported_at_once_others_in_one_batch_per_interval():
    listen = listener(batch_interval=0.5)
    assert hear(listen, stranger(1), T0) is None
    assert hear(listen, stranger(2), T0 + 0.1) is None
    report = hear(listen, NICK, T0 + 0.2, "198.51.100.41")
    assert [(s.mac, s.ip) for s in report.sightings] == [(NICK, "198.51.100.41")]
    batch = listen.flush(T0 + 0.2)
    assert [s.mac for s in batch.sightings] == [stranger(1), stranger(2)] and batch.at == T0 + 0.2
    assert hear(listen, stranger(3), T0 + 0.3) is None
    assert listen.flush(T0 + 0.6) is None  # not yet 0.5 s since the last batch
    assert [s.mac for s in listen.flush(T0 + 0.7).sightings] == [stranger(3)]
    assert listen.flush(T0 + 5) is None  # nothing waiting
    assert listen.known_ips == {NICK: "198.51.100.41"}  # only people's devices


def test_a_batch_holds_a_bounded_number_of_devices_and_the_flood_is_logged_once(caplog):
    caplog.set_level(logging.INFO, logger="presence.sources.listener")
    listen = listener(batch_interval=0.5, batch_max=8)
    for second in range(3):
        for n in range(100):
            hear(listen, stranger(second * 100 + n), T0 + second + n / 1000)
        assert len(listen.flush(T0 + second + 0.2).sightings) == 8
    assert caplog.text.count("a flood?") == 1
    hear(listen, stranger(999), T0 + 4)
    assert len(listen.flush(T0 + 4).sightings) == 1
    assert "calm again; 276 frames of other devices were left out" in caplog.text


def test_each_sighting_says_whether_the_device_looks_personal():
    listen = listener()
    assert hear(listen, NICK, T0).sightings[0].personal  # a randomized MAC
    hear(listen, "3c:22:fb:00:00:01", T0)  # Apple's
    hear(listen, "00:1b:a9:00:00:01", T0)  # Brother's: a printer
    assert [(s.mac, s.personal) for s in listen.flush(T0).sightings] == [("3c:22:fb:00:00:01", True),
                                                                        ("00:1b:a9:00:00:01", False)]


def test_the_rate_limit_remembers_a_bounded_number_of_devices():
    listen = listener(batch_max=10_000, max_tracked=100)
    for n in range(1000):
        hear(listen, stranger(n), T0 + n / 1000)
    assert len(listen._last_report) == 100 and stranger(999) in listen._last_report
    assert stranger(0) not in listen._last_report


def test_a_person_repeating_is_reported_once_a_second_a_new_hostname_goes_with_the_batch():
    listen = listener()
    assert hear(listen, NICK, T0) is not None
    assert hear(listen, NICK, T0 + 0.5) is None
    frame = dhcp_request(NICK, "198.51.100.41", "Nicks-Phone")
    assert listen.hear(frame, 0, ME, T0 + 0.6) is None
    assert [(s.mac, s.hostname) for s in listen.flush(T0 + 0.6).sightings] == [(NICK, "Nicks-Phone")]
    assert hear(listen, NICK, T0 + 1.2) is None
    assert hear(listen, NICK, T0 + 1.6) is not None


def test_a_flood_of_made_up_macs_costs_a_few_reports_and_bounded_memory(lan):
    """ARP from random MACs at about 1,000 frames a second. The remembered devices are scaled down from
    4096 to 500 here, so that a 4 s flood overflows them."""
    nick = lan.add_device("nick", NICK, "198.51.100.41")
    susan = lan.add_device("susan", SUSAN, "198.51.100.42")
    flooder = lan.add_device("flooder", "02:00:00:00:66:01", "198.51.100.66")
    listen = listener(max_tracked=500)
    reports, stop = [], threading.Event()
    emit = lambda report: reports.append((time.monotonic(), report))  # noqa: E731
    thread = threading.Thread(target=call_in_netns, args=(lan.scanner_ns, listen.run, emit, stop, SystemClock()))
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not any(NICK in {s.mac for s in r.sightings} for _, r in reports) and time.monotonic() < deadline:
            nick.join()  # until the listener is up and hears it
        flood = flooder.flood_arp(seconds=4, rate=1000)
        time.sleep(2)
        announced = time.monotonic()
        susan.join()
        sent = int(flood.communicate(timeout=10)[0])
        time.sleep(0.6)  # the last batch
    finally:
        stop.set()
        thread.join(timeout=5)
    assert sent >= 3500
    during = [(at, r) for at, r in reports if at > announced - 2]
    batches = [r for _, r in during if r.sightings[0].mac not in (NICK, SUSAN)]
    heard = {s.mac for r in batches for s in r.sightings}
    assert len(heard) >= 200, "the flood should have reached the listener"
    assert len(batches) <= 4.6 / 0.5 + 1 and all(len(r.sightings) <= 64 for r in batches)
    assert all(b.at - a.at >= 0.5 for a, b in zip(batches, batches[1:]))
    (susan_report,) = [(at, r) for at, r in during if SUSAN in {s.mac for s in r.sightings}]
    assert [s.mac for s in susan_report[1].sightings] == [SUSAN] and susan_report[0] - announced < 1.0
    assert len(listen._last_report) <= 500 and listen._batch == {}
    assert set(listen.known_ips) == {NICK, SUSAN}


def test_listening_starts_once_the_lan_comes_up_after_the_daemon(lan):
    """The host is not on the LAN yet at start (no address, so no route): the listener waits for it.
    It looks again every 0.3 s here instead of every 30 s."""
    nick = lan.add_device("nick", NICK, "198.51.100.41")
    lan.run(lan.scanner_ns, ["ip", "addr", "flush", "dev", "eth0"], check=True)
    listen = WifiListener(NetworkConfig(cidrs=(NET,)), urgent={NICK}, recheck=0.3)
    reports, stop = [], threading.Event()
    thread = threading.Thread(target=call_in_netns, args=(lan.scanner_ns, listen.run, reports.append, stop,
                                                          SystemClock()))
    thread.start()
    try:
        time.sleep(0.5)
        assert thread.is_alive() and reports == []
        lan.run(lan.scanner_ns, ["ip", "addr", "add", "198.51.100.2/24", "dev", "eth0"], check=True)
        deadline = time.monotonic() + 5
        while not reports and time.monotonic() < deadline:
            nick.join()
    finally:
        stop.set()
        thread.join(timeout=5)
    assert [(s.mac, s.ip) for s in reports[0].sightings] == [(NICK, nick.ip)]
