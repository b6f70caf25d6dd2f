"""Whether each swept LAN could be reached at all, on the namespaced LAN: no carrier, nobody answering,
a silent gateway, and a real departure that must not look like an outage."""

import ipaddress

import pytest

from presence.config.model import NetworkConfig
from presence.sources.network_interfaces import ScanError
from presence.observations import NetworkHealth
from presence.sources.wifi import WifiSource
from testbed.lab.netns_thread import call_in_netns

CIDR = "198.51.100.0/24"
T0 = 1_800_000_000.0
UP = (NetworkHealth(CIDR, True),)


@pytest.fixture
def home(nft_lan):
    """A router (the scanner's default gateway), two phones and a TV; the source under test."""
    lan = nft_lan
    devices = {name: lan.add_device(name, f"02:00:00:00:50:0{i}", f"198.51.100.{ip}")
               for i, (name, ip) in enumerate((("router", 1), ("nick", 11), ("susan", 12), ("tv", 20)))}
    lan.set_gateway(devices["router"].ip)
    source = WifiSource(NetworkConfig(cidrs=(ipaddress.IPv4Network(CIDR),)),
                        reprobe=lambda: {devices[name].mac: devices[name].ip for name in ("nick", "susan")})
    sweeps = iter(range(1000))
    yield lan, devices, lambda: call_in_netns(lan.scanner_ns, source.poll, T0 + 30 * next(sweeps))
    source.close()


def seen(report):
    return {sighting.mac for sighting in report.sightings}


def test_no_carrier_is_an_unreachable_lan_and_its_return_is_seen(home):
    lan, devices, sweep = home
    assert sweep().networks == UP
    lan.unplug_scanner()
    report = sweep()
    assert report.ok and report.sightings == ()
    assert report.networks == (NetworkHealth(CIDR, False, "eth0 has no carrier"),)
    lan.plug_scanner()
    report = sweep()
    assert report.networks == UP and seen(report) == {device.mac for device in devices.values()}


def test_nobody_answering_not_even_the_gateway_is_an_unreachable_lan(home):
    lan, devices, sweep = home
    assert sweep().networks == UP
    for device in devices.values():
        device.leave()
    report = sweep()
    assert report.ok and report.sightings == ()
    assert report.networks == (NetworkHealth(CIDR, False, "nothing answered on 198.51.100.0/24, "
                                                          "not even the gateway 198.51.100.1"),)


def test_a_silent_gateway_that_answered_before_is_an_unreachable_lan_but_answers_still_count(home):
    lan, devices, sweep = home
    assert sweep().networks == UP
    devices["router"].go_silent()
    report = sweep()
    assert report.networks == (NetworkHealth(CIDR, False, "the gateway 198.51.100.1 did not answer on "
                                                          "198.51.100.0/24, not even to a unicast re-probe"),)
    assert seen(report) == {devices[name].mac for name in ("nick", "susan", "tv")}
    devices["router"].wake()
    assert sweep().networks == UP


def test_a_gateway_that_never_answered_does_not_count(nft_lan):
    lan = nft_lan
    tv = lan.add_device("tv", "02:00:00:00:50:09", "198.51.100.20")
    lan.set_gateway("198.51.100.254")  # nothing there, from the start
    source = WifiSource(NetworkConfig(cidrs=(ipaddress.IPv4Network(CIDR),)), reprobe=dict)
    try:
        report = call_in_netns(lan.scanner_ns, source.poll, T0)
    finally:
        source.close()
    assert report.networks == UP and seen(report) == {tv.mac}


def test_one_phone_leaving_is_a_departure_not_an_outage(home):
    lan, devices, sweep = home
    assert sweep().networks == UP
    devices["nick"].leave()
    report = sweep()
    assert report.networks == UP
    assert seen(report) == {devices[name].mac for name in ("router", "susan", "tv")}


def test_a_network_no_interface_reaches_is_unreachable_and_discover_says_why(lan):
    lan.add_device("tv", "02:00:00:00:50:09", "198.51.100.20")
    source = WifiSource(NetworkConfig(cidrs=(ipaddress.IPv4Network("203.0.113.0/24"),)), reprobe=dict)
    try:
        report = call_in_netns(lan.scanner_ns, source.poll, T0)
        with pytest.raises(ScanError, match="no interface has a direct route to 203.0.113.0/24"):
            call_in_netns(lan.scanner_ns, source.scan)
    finally:
        source.close()
    assert report.ok and report.networks == (NetworkHealth(
        "203.0.113.0/24", False, "no interface has a direct route to 203.0.113.0/24: set network.interface, "
                                 "or check that this host is on that LAN"),)
