"""One host on two LANs (its eth0 on 198.51.100.0/24, its eth1 on 203.0.113.0/24): a sweep and passive
listening on each, one raw socket per interface."""

import threading
import time

import pytest

from presence.clock import SystemClock
from presence.observations import NetworkHealth
from presence.sources.listener import WifiListener
from presence.sources.wifi import WifiSource
from testbed.lab import Lan, require_lab
from testbed.lab.netns_thread import call_in_netns
from testbed.scan_probe import network_config

HOME, IOT = "198.51.100.0/24", "203.0.113.0/24"
T0 = 1_800_000_000.0

pytestmark = pytest.mark.lab


@pytest.fixture
def two_lans():
    require_lab()
    with Lan() as home, Lan(subnet=IOT, scanner_ip="203.0.113.2", scanner_mac="02:00:00:00:01:02",
                            scanner_ns=home.scanner_ns, scanner_iface="eth1") as iot:
        devices = {"phone": home.add_device("phone", "da:a1:19:00:00:61", "198.51.100.11"),
                   "tv": home.add_device("tv", "02:00:00:00:60:02", "198.51.100.20"),
                   "sensor": iot.add_device("sensor", "02:00:00:00:60:03", "203.0.113.30"),
                   "doorbell": iot.add_device("doorbell", "da:a1:19:00:00:64", "203.0.113.31")}
        yield home, iot, devices


def sightings(report):
    return {(s.mac, s.ip) for s in report.sightings}


@pytest.mark.parametrize("named", [False, True], ids=["by-route", "named-interfaces"])
def test_a_sweep_covers_both_lans_each_on_its_own_interface(two_lans, named):
    home, iot, devices = two_lans
    config = network_config([f"{HOME}@eth0", f"{IOT}@eth1"] if named else [HOME, IOT])
    source = WifiSource(config, reprobe=dict)
    try:
        report = call_in_netns(home.scanner_ns, source.poll, T0)
        assert set(source.sweepers) == {"eth0", "eth1"}
        assert sightings(report) == {(d.mac, d.ip) for d in devices.values()}
        assert report.networks == (NetworkHealth(HOME, True), NetworkHealth(IOT, True))
        iot.unplug_scanner()
        report = call_in_netns(home.scanner_ns, source.poll, T0 + 30)
        assert sightings(report) == {(devices[n].mac, devices[n].ip) for n in ("phone", "tv")}
        assert report.networks == (NetworkHealth(HOME, True), NetworkHealth(IOT, False, "eth1 has no carrier"))
    finally:
        source.close()


def test_listening_on_both_lans(two_lans):
    home, iot, devices = two_lans
    phone, doorbell = devices["phone"], devices["doorbell"]
    listener = WifiListener(network_config([f"{HOME}@eth0", f"{IOT}@eth1"]), urgent={phone.mac, doorbell.mac})
    reports, stop = [], threading.Event()
    thread = threading.Thread(target=call_in_netns, args=(home.scanner_ns, listener.run, reports.append, stop,
                                                          SystemClock()))
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while len({s.mac for r in reports for s in r.sightings}) < 2 and time.monotonic() < deadline:
            phone.join()
            doorbell.dhcp_request("doorbell")
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(timeout=5)
    heard = {(s.mac, s.ip) for r in reports for s in r.sightings}
    assert heard == {(phone.mac, phone.ip), (doorbell.mac, doorbell.ip)}
    assert all(r.ok for r in reports)


def test_the_daemon_on_two_lans_from_a_config_that_names_the_interfaces(two_lans, tmp_path):
    import re
    import signal

    from tests.conftest import make_config, write_config
    from testbed.daemon_process import DaemonProcess

    home, iot, devices = two_lans
    raw = make_config(network={"cidrs": [HOME, {"cidr": IOT, "interface": "eth1"}]},
                      wifi={"scan_interval": 1, "offline_grace": 4}, graphite={"send_interval": 1})
    raw["people"] = [{"name": "Ann", "macs": [devices["phone"].mac]}, {"name": "Bo", "macs": [devices["doorbell"].mac]}]
    daemon = DaemonProcess(home, write_config(tmp_path / "people.yaml", raw), str(tmp_path / "state.json"), people=2)
    try:
        daemon.wait_until(lambda t: t["ann.is_home"] and t["bo.is_home"] and t["wifi.devices_present_count"] == 4,
                          timeout=10)
        iot.unplug_scanner()  # the IoT LAN goes away: Bo is held, and Ann's LAN is not affected
        devices["phone"].leave()
        daemon.wait_until(lambda t: not t["ann.is_home"] and t["bo.is_home"], timeout=10)
        status, _ = daemon.stop(signal.SIGTERM)
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
    log = "".join(daemon.stderr)
    assert status == 0 and "Traceback" not in log
    # A sweep already under way when the port goes down finds nobody before it sees the carrier gone, or
    # its send fails on the interface that just lost it; the next sweep sees no carrier.
    reasons = rf"eth1 has no carrier|nothing answered on {re.escape(IOT)}|sweeping eth1 failed: [^)]+"
    assert re.search(rf"wifi: the LAN {re.escape(IOT)} cannot be reached \(({reasons})\)", log), log
    assert f"the LAN {HOME} cannot be reached" not in log
