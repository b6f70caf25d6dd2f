import ipaddress

import pytest

from presence.config import NetworkConfig
from presence.interfaces import ScanError, interface_addresses, route_interface, scan_interface

ROUTES = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0164A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t0064A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
wlan0\t006433C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
"""


def test_route_interface_picks_the_on_link_route_only(tmp_path):
    routes = tmp_path / "route"
    routes.write_text(ROUTES)
    assert route_interface(ipaddress.IPv4Network("198.51.100.0/24"), str(routes)) == "wlan0"
    assert route_interface(ipaddress.IPv4Network("192.168.100.0/25"), str(routes)) == "eth0"
    # Reached only through the default gateway: never swept.
    assert route_interface(ipaddress.IPv4Network("203.0.113.0/24"), str(routes)) is None
    assert route_interface(ipaddress.IPv4Network("203.0.113.0/24"), str(tmp_path / "none")) is None


def test_configured_interface_wins_and_unknown_network_is_an_error():
    assert scan_interface(NetworkConfig(cidrs=(), interface="wlan7")) == "wlan7"
    with pytest.raises(ScanError, match="no interface has a direct route to 203.0.113.0/24"):
        scan_interface(NetworkConfig(cidrs=(ipaddress.IPv4Network("203.0.113.0/24"),)))


def test_interface_addresses_of_loopback():
    assert interface_addresses("lo") == ("00:00:00:00:00:00", "127.0.0.1")
    with pytest.raises(ScanError, match="no interface 'nosuch0'"):
        interface_addresses("nosuch0")


def test_in_networks():
    from presence.interfaces import in_networks

    networks = (ipaddress.IPv4Network("198.51.100.0/24"), ipaddress.IPv4Network("203.0.113.0/25"))
    assert in_networks("198.51.100.7", networks) and in_networks("203.0.113.100", networks)
    assert not in_networks("203.0.113.200", networks) and not in_networks("192.0.2.1", networks)
