"""Which interface reaches the configured LAN, and its own addresses."""

import fcntl
import ipaddress
import os
import socket
import struct

_SIOCGIFFLAGS = 0x8913
_SIOCGIFADDR = 0x8915
_SIOCGIFHWADDR = 0x8927
_IFF_UP = 0x1
_IFF_RUNNING = 0x40
# The calling thread's own routes: a thread may have entered another network namespace.
ROUTES = "/proc/thread-self/net/route" if os.path.exists("/proc/thread-self") else "/proc/net/route"


class ScanError(Exception):
    """The LAN cannot be scanned; the message says why and what to do."""


def route_interface(network, routes_path=ROUTES):
    """Return the interface with a direct (on-link) route to `network`, or None."""
    best = None
    for iface, dest, gateway, mask in _routes(routes_path):
        if gateway != 0:
            continue
        route = ipaddress.IPv4Network((dest, bin(mask).count("1")), strict=False)
        if network.subnet_of(route) and (best is None or route.prefixlen > best[0]):
            best = (route.prefixlen, iface)
    return best[1] if best else None


def default_gateways(routes_path=ROUTES):
    """Return the IPv4 gateways of the default routes, as text, in the kernel's order."""
    return [str(ipaddress.IPv4Address(gateway)) for _iface, dest, gateway, mask in _routes(routes_path)
            if dest == 0 and mask == 0 and gateway != 0]


def _routes(routes_path):
    """(iface, destination, gateway, mask) of each IPv4 route, addresses as integers; [] when unreadable."""
    try:
        with open(routes_path, encoding="ascii") as handle:
            rows = [line.split() for line in handle.readlines()[1:]]
    except OSError:
        return []
    return [(row[0], _hex_ip(row[1]), _hex_ip(row[2]), _hex_ip(row[7])) for row in rows if len(row) >= 8]


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


def interface_groups(network_config, routes_path=ROUTES):
    """Return ({iface: (network, ...)}, {network: why it has no interface}) for every configured network.

    A network is swept on the interface its entry names, else on `network.interface`, else on the one
    with a direct route to it, else on the interface found for another network (as `scan_interface`).
    """
    cidrs = tuple(network_config.cidrs)
    named = getattr(network_config, "cidr_interfaces", None) or (None,) * len(cidrs)
    chosen = [own or network_config.interface or route_interface(network, routes_path)
              for network, own in zip(cidrs, named)]
    fallback = next((iface for iface in chosen if iface), None)
    groups, missing = {}, {}
    for network, iface in zip(cidrs, chosen):
        iface = iface or fallback
        if iface:
            groups.setdefault(iface, []).append(network)
        else:
            missing[network] = (f"no interface has a direct route to {network}: set network.interface, "
                                "or check that this host is on that LAN")
    return {iface: tuple(networks) for iface, networks in groups.items()}, missing


def link_problem(iface):
    """Return why `iface` cannot reach its LAN now ("eth0 has no carrier"), or None when its link is up.

    Asked of the kernel by ioctl rather than /sys, so it answers for the caller's own network namespace.
    """
    request = struct.pack("256s", iface.encode()[:15])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            flags = struct.unpack("H", fcntl.ioctl(sock.fileno(), _SIOCGIFFLAGS, request)[16:18])[0]
        except OSError as error:
            return f"no interface {iface!r}: {error.strerror}"
    if not flags & _IFF_UP:
        return f"{iface} is down"
    if not flags & _IFF_RUNNING:
        return f"{iface} has no carrier"
    return None


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
