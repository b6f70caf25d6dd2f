"""One device on the LAN floods it with ARP from made-up MACs: the daemon stays on time and small."""

import json
import os
import signal
import subprocess
import sys
import time

from tests.conftest import make_config, write_config
from testbed.daemon_process import DaemonProcess

# Gratuitous ARP requests, each from a new random locally administered MAC (as its Ethernet source
# too, so each looks like a device announcing itself), `rate` a second for `seconds`.
FLOOD = r"""
import os, socket, sys, time
rate, seconds = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind(("eth0", 0))
sent, start = 0, time.monotonic()
while (elapsed := time.monotonic() - start) < seconds:
    while sent < elapsed * rate:
        mac = bytes([0x06]) + os.urandom(5)
        ip = bytes([198, 51, 100, 100 + sent % 150])
        s.send(b"\xff" * 6 + mac + b"\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01" + mac + ip + b"\x00" * 6 + ip
               + b"\x00" * 18)
        sent += 1
    time.sleep(0.005)
print(sent, flush=True)
"""


def test_an_arp_flood_from_random_macs_neither_delays_ticks_nor_poisons_the_count(lan, tmp_path):
    lan.add_device("nick", "02:00:00:00:01:01", "198.51.100.11")
    lan.add_device("tv", "da:a1:19:00:00:22", "198.51.100.22")
    flooder = lan.add_device("flooder", "02:00:00:00:66:66", "198.51.100.66")
    raw = make_config(wifi={"scan_interval": 2, "offline_grace": 5}, graphite={"send_interval": 1})
    raw["people"] = [{"name": "Nick", "macs": ["02:00:00:00:01:01"]}]
    state = tmp_path / "state.json"
    daemon = DaemonProcess(lan, write_config(tmp_path / "people.yaml", raw), str(state), people=1)
    try:
        daemon.wait_until(lambda t: t["nick.is_home"] and t["wifi.devices_present_count"] == 3, timeout=10)
        started = time.time()
        flood = lan.popen(flooder.ns, [sys.executable, "-c", FLOOD, "1000", "12"], stdout=subprocess.PIPE)
        sent = int(flood.stdout.readline())
        ended = time.time()
        daemon.wait_until(lambda t: True, timeout=3)
        status, _ = daemon.stop(signal.SIGTERM)
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
    log = "".join(daemon.stderr)
    assert sent >= 10_000 and status == 0, log
    during = {stamp: tick for stamp, tick in daemon.complete_ticks().items() if started + 1 <= stamp <= ended}
    # Every tick of the flood was sent, whole, and counted only the real devices.
    assert sorted(during) == list(range(min(during), max(during) + 1)) and len(during) >= 10, sorted(during)
    late = {stamp: round(daemon.arrived[stamp] - stamp, 2) for stamp in during if daemon.arrived[stamp] - stamp > 1.0}
    assert late == {}, f"ticks sent more than 1 s after their time: {late}"
    assert {tick["wifi.devices_present_count"] for tick in during.values()} == {3}
    assert all(tick["nick.is_home"] for tick in during.values())
    assert os.path.getsize(state) < 20_000
    assert len(json.loads(state.read_text())["devices"]) == 3
    assert "Traceback" not in log
