"""Arrivals heard between sweeps: a phone joining the WiFi is home within 2 s, not at the next sweep."""

import json
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime

from tests.conftest import ROOT, make_config, write_config

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
