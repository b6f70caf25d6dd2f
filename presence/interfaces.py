"""Which interface reaches the configured LAN, and its own addresses."""

import fcntl
import ipaddress
import socket
import struct

_SIOCGIFADDR = 0x8915
_SIOCGIFHWADDR = 0x8927


class ScanError(Exception):
    """The LAN cannot be scanned; the message says why and what to do."""


def route_interface(network, routes_path="/proc/net/route"):
    """Return the interface with a direct (on-link) route to `network`, or None."""
    best = None
    try:
        with open(routes_path, encoding="ascii") as handle:
            rows = [line.split() for line in handle.readlines()[1:]]
    except OSError:
        return None
    for row in rows:
        iface, dest, gateway, mask = row[0], _hex_ip(row[1]), _hex_ip(row[2]), _hex_ip(row[7])
        if gateway != 0:
            continue
        route = ipaddress.IPv4Network((dest, bin(mask).count("1")), strict=False)
        if network.subnet_of(route) and (best is None or route.prefixlen > best[0]):
            best = (route.prefixlen, iface)
    return best[1] if best else None


def _hex_ip(text):
    return struct.unpack("<I", bytes.fromhex(text))[0]


def in_networks(ip, networks):
    """Tell whether the IPv4 address `ip` lies in one of `networks`."""
    address = ipaddress.IPv4Address(ip)
    return any(address in network for network in networks)


def scan_interface(network_config):
    """Return the interface to scan: the configured one, or the one routing to the first CIDR."""
    if network_config.interface:
        return network_config.interface
    for network in network_config.cidrs:
        iface = route_interface(network)
        if iface:
            return iface
    raise ScanError(f"no interface has a direct route to {network_config.cidrs[0]}: set "
                    "network.interface, or check that this host is on that LAN")


def interface_addresses(iface):
    """Return (mac, ipv4) of `iface`; ipv4 is 0.0.0.0 when it has none."""
    request = struct.pack("256s", iface.encode()[:15])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            hwaddr = fcntl.ioctl(sock.fileno(), _SIOCGIFHWADDR, request)[18:24]
        except OSError as error:
            raise ScanError(f"no interface {iface!r}: {error.strerror}") from None
        try:
            ip = socket.inet_ntoa(fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, request)[20:24])
        except OSError:
            ip = "0.0.0.0"
    return hwaddr.hex(":"), ip
