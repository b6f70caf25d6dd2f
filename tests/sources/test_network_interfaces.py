import ipaddress

import pytest

from presence.config.model import NetworkConfig
from presence.sources.network_interfaces import ScanError, interface_addresses, route_interface, scan_interface

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
    from presence.sources.network_interfaces import in_networks

    networks = (ipaddress.IPv4Network("198.51.100.0/24"), ipaddress.IPv4Network("203.0.113.0/25"))
    assert in_networks("198.51.100.7", networks) and in_networks("203.0.113.100", networks)
    assert not in_networks("203.0.113.200", networks) and not in_networks("192.0.2.1", networks)


GATEWAYS = ROUTES + "wlan0\t00000000\t016433C6\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"


def test_default_gateways_in_the_kernels_order(tmp_path):
    from presence.sources.network_interfaces import default_gateways

    routes = tmp_path / "route"
    routes.write_text(GATEWAYS)
    assert default_gateways(str(routes)) == ["192.168.100.1", "198.51.100.1"]
    assert default_gateways(str(tmp_path / "none")) == []


def lan_config(cidrs, interface=None, named=None):
    """A network config; `named` as the config's cidr_interfaces (set by attribute when the field is new)."""
    networks = tuple(ipaddress.IPv4Network(cidr) for cidr in cidrs)
    return type("Network", (), {"cidrs": networks, "interface": interface, "cidr_interfaces": named})()


def test_interface_groups_by_entry_then_network_interface_then_route(tmp_path):
    from presence.sources.network_interfaces import interface_groups

    routes = tmp_path / "route"
    routes.write_text(ROUTES)
    home, phones, iot = "192.168.100.0/24", "198.51.100.0/24", "203.0.113.0/24"
    groups, unrouted = interface_groups(lan_config([home, phones]), str(routes))
    assert groups == {"eth0": (ipaddress.IPv4Network(home),), "wlan0": (ipaddress.IPv4Network(phones),)}
    assert unrouted == {}
    groups, _ = interface_groups(lan_config([home, phones, iot], named=(None, None, "eth0.20")), str(routes))
    assert groups == {"eth0": (ipaddress.IPv4Network(home),), "wlan0": (ipaddress.IPv4Network(phones),),
                      "eth0.20": (ipaddress.IPv4Network(iot),)}
    groups, _ = interface_groups(lan_config([home, iot], interface="br0", named=(None, "eth1")), str(routes))
    assert groups == {"br0": (ipaddress.IPv4Network(home),), "eth1": (ipaddress.IPv4Network(iot),)}


def test_a_network_without_a_route_goes_with_the_others_or_is_named_as_unreachable(tmp_path):
    from presence.sources.network_interfaces import interface_groups

    routes = tmp_path / "route"
    routes.write_text(ROUTES)
    groups, unrouted = interface_groups(lan_config(["198.51.100.0/24", "203.0.113.0/24"]), str(routes))
    assert groups == {"wlan0": (ipaddress.IPv4Network("198.51.100.0/24"), ipaddress.IPv4Network("203.0.113.0/24"))}
    groups, unrouted = interface_groups(lan_config(["203.0.113.0/24"]), str(routes))
    assert groups == {}
    assert unrouted == {ipaddress.IPv4Network("203.0.113.0/24"): "no interface has a direct route to 203.0.113.0/24: "
                        "set network.interface, or check that this host is on that LAN"}


def test_link_problem_of_loopback_and_of_a_missing_interface():
    from presence.sources.network_interfaces import link_problem

    assert link_problem("lo") is None
    assert link_problem("nosuch0") == "no interface 'nosuch0': No such device"
