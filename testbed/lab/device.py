"""One simulated host of the lab: it leaves, rejoins, changes address, dozes, goes deaf, floods."""

from __future__ import annotations

import subprocess
import sys

from .namespaces import LabError, cmd
from .programs import FLOOD


class Device:
    """One simulated host: its own namespace with ``eth0`` bridged into the LAN.

    ``lan`` is the Lan it belongs to; ``port`` its veth port on the bridge (in ``lan.bridge_ns``).
    """

    def __init__(self, lan, name: str, ns: str, mac: str, ip: str, port: str = "") -> None:
        self.lan, self.name, self.ns, self.mac, self.ip, self.port = lan, name, ns, mac, ip, port

    def __repr__(self) -> str:
        return f"Device({self.name!r}, ns={self.ns!r}, mac={self.mac!r}, ip={self.ip!r}, port={self.port!r})"

    def leave(self) -> None:
        """Take eth0 down: the device is gone and answers nothing."""
        cmd(["ip", "-n", self.ns, "link", "set", "eth0", "down"])

    def join(self) -> None:
        """Bring eth0 up and announce it with a gratuitous ARP, as a phone joining WiFi does."""
        cmd(["ip", "-n", self.ns, "link", "set", "eth0", "up"])
        self.lan._tool(self.ns, "announce", self.ip, 1.0)

    def set_ip(self, ip: str) -> None:
        """Replace the address, as a DHCP renewal with a new lease does (no announcement)."""
        self.lan._check_ip(ip)
        cmd(["ip", "-n", self.ns, "addr", "flush", "dev", "eth0"])
        cmd(["ip", "-n", self.ns, "addr", "add", f"{ip}/{self.lan.network.prefixlen}", "dev", "eth0"])
        self.ip = ip

    def doze(self, keep_one_in: int = 4) -> None:
        """Act like a dozing phone behind an access point: it gets every unicast frame but only
        about one in keep_one_in (at random) broadcast and multicast frames.

        Replaces an earlier doze() or go_silent() of this device; needs nft.
        """
        if keep_one_in < 1:
            raise ValueError(f"keep_one_in must be >= 1, not {keep_one_in}")
        group = "ether daddr & 01:00:00:00:00:00 == 01:00:00:00:00:00"  # broadcast and multicast
        self.lan._set_port_rules(self.port, [] if keep_one_in == 1 else
                                 [f"{group} numgen random mod {keep_one_in} != 0 drop"])

    def go_silent(self) -> None:
        """Drop every frame to the device, so it answers nothing while its link stays up.

        What the device sends itself still goes out. Replaces an earlier doze(); needs nft.
        """
        self.lan._set_port_rules(self.port, ["drop"])

    def wake(self) -> None:
        """Undo doze() and go_silent() for this device only."""
        self.lan._set_port_rules(self.port, [])

    def dhcp_request(self, hostname: str) -> None:
        """Broadcast a DHCPREQUEST for the current ip with option 12 = hostname, as a phone
        joining WiFi does (0.0.0.0:68 -> 255.255.255.255:67, from the device MAC)."""
        if not 0 < len(hostname.encode()) <= 255:
            raise ValueError(f"DHCP hostname must be 1..255 bytes: {hostname!r}")
        if self.lan._tool(self.ns, "dhcp", self.ip, 1.0, hostname, "1") is None:
            raise LabError(f"sending the DHCP request from {self.ns} failed")

    def mdns_announce(self, hostname: str, count: int = 1) -> None:
        """Send count mDNS responses (ip:5353 -> 224.0.0.251:5353) each with one A record
        ``<hostname>.local`` -> ip (cache-flush, TTL 120), back to back."""
        if not 0 < len(hostname.encode()) <= 63 or "." in hostname:
            raise ValueError(f"mDNS hostname must be one DNS label of 1..63 bytes: {hostname!r}")
        if self.lan._tool(self.ns, "mdns", self.ip, 1.0, hostname, str(count)) is None:
            raise LabError(f"sending the mDNS announcement from {self.ns} failed")


    def flood_arp(self, seconds: float, rate: float = 1000.0) -> subprocess.Popen:
        """Start broadcasting ARP from random locally administered MACs, `rate` frames a second for
        `seconds`, as a misbehaving device can; returns once it sends. Its stdout then gives the count."""
        net = self.lan.network
        proc = self.lan.popen(self.ns, [sys.executable, "-c", FLOOD, "eth0", str(int(net.network_address)),
                                        str(net.prefixlen), str(rate), str(seconds)], stdout=subprocess.PIPE)
        if proc.stdout.readline().strip() != "ready":
            raise LabError(f"ARP flood in {self.ns} did not start")
        return proc
