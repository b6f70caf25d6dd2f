"""The WiFi source: an ARP sweep of the LAN, or the kernel's neighbour table without CAP_NET_RAW."""

import ipaddress
import json
import logging
import select
import socket
import struct
import subprocess
import time

from presence import defaults
from presence.macs import normalise_mac
from presence.observations import DeviceSighting, SourceReport

log = logging.getLogger(__name__)

ETH_P_ARP = 0x0806
_BROADCAST = "ff:ff:ff:ff:ff:ff"
_FRESH_NEIGHBOUR_STATES = {"REACHABLE", "DELAY", "PROBE"}
NO_RAW_SOCKET_HELP = (
    "sending ARP requests needs the CAP_NET_RAW capability, which this process lacks; grant it "
    "(systemd: AmbientCapabilities=CAP_NET_RAW; by hand: run as root, or `setcap cap_net_raw+ep` "
    "on the Python interpreter)")


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
    return struct.unpack("<I", bytes.fromhex(text))[0] if len(text) == 8 else int(text, 16)


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


class ArpSweeper:
    """Broadcast one ARP request per address over a reused raw socket; collect fresh replies."""

    def __init__(self, iface, networks, listen=defaults.DEFAULT_ARP_LISTEN):
        from scapy.arch import get_if_addr, get_if_hwaddr

        self.iface = iface
        self.networks = tuple(networks)
        self.listen = listen
        self.mac = get_if_hwaddr(iface)
        self.ip = get_if_addr(iface)
        try:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
        except PermissionError:
            raise PermissionError(NO_RAW_SOCKET_HELP) from None
        try:
            self.sock.bind((iface, ETH_P_ARP))
        except OSError as error:
            self.sock.close()
            raise ScanError(f"cannot use interface {iface}: {error.strerror}") from None
        self.frames = self._build_frames()

    def _build_frames(self):
        from scapy.layers.l2 import ARP, Ether

        template = bytes(Ether(src=self.mac, dst=_BROADCAST) /
                         ARP(op=1, hwsrc=self.mac, psrc=self.ip, pdst="0.0.0.0"))
        frames = []
        for network in self.networks:
            for host in network.hosts():
                if str(host) != self.ip:
                    frames.append(template[:38] + host.packed + template[42:])
        return frames

    def sweep(self):
        """Send the burst, listen, and return {mac: ip} of every device that answered."""
        self._drain()
        for frame in self.frames:
            self.sock.send(frame)
        deadline = time.monotonic() + self.listen
        found = {}
        while (remaining := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.sock], [], [], remaining)
            if ready:
                reply = self._parse(self.sock.recv(128))
                if reply:
                    found[reply[0]] = reply[1]
        return found

    def _drain(self):
        # Frames queued since the last sweep carry no time of their own; only fresh replies count.
        while select.select([self.sock], [], [], 0)[0]:
            self.sock.recv(128)

    def _parse(self, frame):
        if len(frame) < 42 or frame[12:14] != b"\x08\x06" or frame[20:22] != b"\x00\x02":
            return None
        eth_src, arp_sender = frame[6:12], frame[22:28]
        if eth_src != arp_sender:
            return None
        mac = normalise_mac(arp_sender.hex())
        ip = ipaddress.IPv4Address(frame[28:32])
        if mac == self.mac or not any(ip in network for network in self.networks):
            return None
        return mac, str(ip)

    def close(self):
        self.sock.close()


def read_neighbours(iface, networks):
    """Return {mac: ip} of the kernel's recently confirmed neighbours on `iface`."""
    try:
        output = subprocess.run(["ip", "-json", "-4", "neigh", "show", "dev", iface], check=True,
                                capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError) as error:
        raise ScanError(f"cannot read the neighbour table with `ip neigh`: {error}") from None
    found = {}
    for entry in json.loads(output or "[]"):
        mac = normalise_mac(entry.get("lladdr", ""))
        fresh = _FRESH_NEIGHBOUR_STATES.intersection(entry.get("state", []))
        if mac and fresh and any(ipaddress.IPv4Address(entry["dst"]) in n for n in networks):
            found[mac] = entry["dst"]
    return found


class WifiSource:
    """Report which devices are on the LAN now, by ARP sweep or, without the capability, neighbours."""

    name = "wifi"

    def __init__(self, network_config, listen=defaults.DEFAULT_ARP_LISTEN):
        self.network_config = network_config
        self.listen = listen
        self.sweeper = None
        self.fallback = False

    def poll(self, now):
        """Scan once; failures come back as a report with `ok=False`."""
        try:
            found, how = self.scan()
        except (ScanError, OSError) as error:
            self.close()
            return SourceReport(source=self.name, at=now, ok=False, error=f"scan failed: {error}")
        sightings = tuple(DeviceSighting(mac=mac, ip=ip, at=now, how=how) for mac, ip in sorted(found.items()))
        return SourceReport(source=self.name, at=now, ok=True, sightings=sightings)

    def scan(self):
        """Return ({mac: ip}, how) from a sweep, or from the neighbour table when raw sockets are denied."""
        iface = scan_interface(self.network_config)
        if not self.fallback and self.sweeper is None:
            try:
                self.sweeper = ArpSweeper(iface, self.network_config.cidrs, self.listen)
            except PermissionError as error:
                log.warning("WiFi: %s. Falling back to the kernel's neighbour table, which only "
                            "knows devices this host talked to recently.", error)
                self.fallback = True
        if self.fallback:
            return read_neighbours(iface, self.network_config.cidrs), "neighbour"
        return self.sweeper.sweep(), "arp"

    def close(self):
        if self.sweeper:
            self.sweeper.close()
            self.sweeper = None
