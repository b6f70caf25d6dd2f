"""Throwaway test LAN made of Linux network namespaces, a bridge and veth pairs.

Nothing here touches the machine's real interfaces: every link is created inside
namespaces named ``prs<pid>x<n>-...`` and all of them are deleted on close, at
exit, on SIGTERM, and (for dead processes) when the next lab is built. The nftables
rules of Device.doze/go_silent live in the bridge namespace, so they go with it.
"""

from __future__ import annotations

import atexit
import ipaddress
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

__all__ = ["Lan", "Device", "LabError", "lab_unavailable_reason"]

_NS_RE = re.compile(r"^prs(\d+)x\d+-")
_counter = itertools.count(1)
_open_lans: set["Lan"] = set()
_IPV6_OFF = ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]

# Runs inside a namespace with the interpreter that runs the tests, so the lab
# needs neither ping nor arping installed.
_NET_TOOL = r"""
import socket, struct, sys, time
mode, iface, tip, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
tpa = socket.inet_aton(tip)
def until(recv, ok, wait=timeout):
    end = time.monotonic() + wait
    while (left := end - time.monotonic()) > 0:
        s.settimeout(left)
        try:
            data = recv()
        except socket.timeout:
            break
        if ok(data):
            return data
    return None
def csum(b):
    c = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    c = (c >> 16) + (c & 0xFFFF)
    return ~(c + (c >> 16)) & 0xFFFF
if mode == "ping":
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident, body = 0x5052, struct.pack("!HH", 0x5052, 1) + b"presence-lab"
    s.sendto(b"\x08\x00" + struct.pack("!H", csum(b"\x08\x00\x00\x00" + body)) + body, (tip, 0))
    sys.exit(0 if until(lambda: s.recv(1500), lambda d: d[12:16] == tpa and d[(d[0] & 15) * 4] == 0
                        and d[(d[0] & 15) * 4 + 4:(d[0] & 15) * 4 + 6] == struct.pack("!H", ident)) else 1)
if mode in ("dhcp", "mdns"):
    # tip is our own address; argv[5] the hostname, argv[6] how many copies
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    s.bind((iface, 0))
    mac, name = s.getsockname()[4], sys.argv[5].encode()
    if mode == "dhcp":
        dst_mac, src, dst, ttl, sport, dport = b"\xff" * 6, b"\x00" * 4, b"\xff" * 4, 64, 68, 67
        opts = (b"\x35\x01\x03" + b"\x32\x04" + tpa + b"\x0c" + bytes([len(name)]) + name + b"\xff")
        payload = (b"\x01\x01\x06\x00" + struct.pack("!I", int(time.time()) & 0xFFFFFFFF) + b"\x00" * 20
                   + mac + b"\x00" * 202 + b"\x63\x82\x53\x63" + opts).ljust(300, b"\x00")
    else:
        dst_mac, src, dst, ttl = b"\x01\x00\x5e\x00\x00\xfb", tpa, bytes([224, 0, 0, 251]), 255
        sport = dport = 5353
        qname = b"".join(bytes([len(p)]) + p for p in (name, b"local")) + b"\x00"
        payload = (struct.pack("!6H", 0, 0x8400, 0, 1, 0, 0) + qname
                   + struct.pack("!HHIH", 1, 0x8001, 120, 4) + tpa)
    udp = struct.pack("!4H", sport, dport, 8 + len(payload), 0) + payload  # UDP checksum 0: none
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, ttl, 17, 0, src, dst))
    ip[10:12] = struct.pack("!H", csum(bytes(ip)))
    for _ in range(int(sys.argv[6])):
        s.send(dst_mac + mac + b"\x08\x00" + bytes(ip) + udp)
    sys.exit(0)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind((iface, 0))
mac = s.getsockname()[4]
if mode == "listen":
    print("ready", flush=True)
    d = until(lambda: s.recv(64), lambda d: len(d) >= 42 and d[28:32] == tpa) or sys.exit(1)
    print(d[6:12].hex(":"), flush=True); sys.exit(0)
# announce: gratuitous request for our own ip; probe: who-has tip, tell spa;
# count: argv[6] probes one after another to Ethernet dst argv[5], print how many were answered
spa = tpa if mode == "announce" else socket.inet_aton(sys.argv[5])
dst_mac = bytes.fromhex(sys.argv[6].replace(":", "")) if mode == "count" else b"\xff" * 6
request = (dst_mac + mac + b"\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01" + mac + spa + b"\x00" * 6 + tpa
           + b"\x00" * 18)
is_reply = lambda d: len(d) >= 42 and d[12:14] == b"\x08\x06" and d[20:22] == b"\x00\x02" and d[28:32] == tpa
if mode == "count":
    answered = 0
    for _ in range(int(sys.argv[7])):
        s.send(request)
        answered += until(lambda: s.recv(64), is_reply) is not None
    print(answered, flush=True); sys.exit(0)
s.send(request)
if mode == "probe":
    d = until(lambda: s.recv(64), is_reply) or sys.exit(1)
    print(d[22:28].hex(":"), flush=True)
"""

# Prints "ready", collects frames eth0 receives (not the ones it sends) until
# stdin closes, then prints them one hex line each.
_CAPTURE = r"""
import select, socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
print("ready", flush=True)
frames = []
def take():
    data, addr = s.recvfrom(65535)
    if addr[2] != socket.PACKET_OUTGOING:
        frames.append(data)
while True:
    ready = select.select([s, sys.stdin], [], [])[0]
    if s in ready:
        take()
    if sys.stdin in ready:
        break
s.setblocking(False)
while True:
    try:
        take()
    except BlockingIOError:
        break
print("\n".join(f.hex() for f in frames), flush=True)
"""


# Broadcasts gratuitous ARP requests from random locally administered MACs (and random addresses of
# the subnet) at argv[4] frames a second for argv[5] seconds; prints "ready", then how many it sent.
_FLOOD = r"""
import os, random, socket, struct, sys, time
iface, (net, prefix), (rate, seconds) = sys.argv[1], map(int, sys.argv[2:4]), map(float, sys.argv[4:6])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
print("ready", flush=True)
sent, start = 0, time.monotonic()
while (elapsed := time.monotonic() - start) < seconds:
    while sent < elapsed * rate:
        mac = bytes([random.randrange(256) & 0xFC | 0x02]) + os.urandom(5)
        ip = struct.pack("!I", net | random.randrange(1, 2 ** (32 - prefix) - 1))
        s.send(b"\xff" * 6 + mac + b"\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01" + mac + ip + bytes(6) + ip
               + bytes(18))
        sent += 1
    time.sleep(0.002)
print(sent, flush=True)
"""


class LabError(RuntimeError):
    """A command building or changing the lab failed (message carries its stderr)."""


def _cmd(argv: list[str], input: str | None = None) -> str:
    p = subprocess.run(argv, input=input, capture_output=True, text=True)
    if p.returncode:
        raise LabError(f"{' '.join(argv)}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def _list_ns() -> list[str]:
    return [line.split()[0] for line in _cmd(["ip", "netns", "list"]).splitlines() if line.strip()]


def _delete_ns(names: list[str]) -> None:
    if names:  # -force: keep deleting the rest when one is already gone
        subprocess.run(["ip", "-force", "-batch", "-"], input="".join(f"netns del {n}\n" for n in names),
                       capture_output=True, text=True)


def remove_stale_namespaces() -> list[str]:
    """Delete lab namespaces whose creating process is dead; return their names."""
    stale = [n for n in _list_ns() if (m := _NS_RE.match(n)) and not os.path.exists(f"/proc/{m.group(1)}")]
    _delete_ns(stale)
    return stale


def _in_ns_sysctl(ns: str, settings: list[str]) -> None:
    if shutil.which("sysctl"):
        _cmd(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", *settings])
    else:
        paths = ["/proc/sys/" + s.split("=")[0].replace(".", "/") for s in settings]
        _cmd(["ip", "netns", "exec", ns, sys.executable, "-c",
              "import sys\nfor p in sys.argv[1:]: open(p, 'w').write('1')", *paths])


def lab_unavailable_reason(nft: bool = False) -> str | None:
    """None if namespace labs can be built here, else one line saying what is missing.

    nft=True also requires bridge-family nftables, which Device.doze/go_silent/wake use.
    """
    if not sys.platform.startswith("linux"):
        return f"network-namespace lab needs Linux, this is {sys.platform}"
    if shutil.which("ip") is None:
        return "network-namespace lab needs the `ip` command (Debian package iproute2)"
    if os.geteuid() != 0:
        return "network-namespace lab needs root (CAP_SYS_ADMIN/CAP_NET_ADMIN) to run `ip netns add`"
    if nft and shutil.which("nft") is None:
        return "network-namespace lab needs the `nft` command (Debian package nftables)"
    probe = f"prs{os.getpid()}x0-probe"
    try:
        _cmd(["ip", "netns", "add", probe])
        _cmd(["ip", "-n", probe, "link", "add", "b0", "type", "bridge"])
        _cmd(["ip", "-n", probe, "link", "add", "v0", "type", "veth", "peer", "name", "v1"])
        _in_ns_sysctl(probe, _IPV6_OFF)
        if nft:
            _cmd(["ip", "netns", "exec", probe, "nft", "add", "table", "bridge", "probe"])
    except (LabError, OSError) as e:
        return f"network-namespace lab cannot be built here: {e}"
    finally:
        _delete_ns([probe])
    return None


class Device:
    """One simulated host: its own namespace with ``eth0`` bridged into the LAN.

    ``port`` is the device's veth port on the bridge (in ``lan.bridge_ns``).
    """

    def __init__(self, lan: "Lan", name: str, ns: str, mac: str, ip: str, port: str = "") -> None:
        self.lan, self.name, self.ns, self.mac, self.ip, self.port = lan, name, ns, mac, ip, port

    def __repr__(self) -> str:
        return f"Device({self.name!r}, ns={self.ns!r}, mac={self.mac!r}, ip={self.ip!r}, port={self.port!r})"

    def leave(self) -> None:
        """Take eth0 down: the device is gone and answers nothing."""
        _cmd(["ip", "-n", self.ns, "link", "set", "eth0", "down"])

    def join(self) -> None:
        """Bring eth0 up and announce it with a gratuitous ARP, as a phone joining WiFi does."""
        _cmd(["ip", "-n", self.ns, "link", "set", "eth0", "up"])
        self.lan._tool(self.ns, "announce", self.ip, 1.0)

    def set_ip(self, ip: str) -> None:
        """Replace the address, as a DHCP renewal with a new lease does (no announcement)."""
        self.lan._check_ip(ip)
        _cmd(["ip", "-n", self.ns, "addr", "flush", "dev", "eth0"])
        _cmd(["ip", "-n", self.ns, "addr", "add", f"{ip}/{self.lan.network.prefixlen}", "dev", "eth0"])
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
        proc = self.lan.popen(self.ns, [sys.executable, "-c", _FLOOD, "eth0", str(int(net.network_address)),
                                        str(net.prefixlen), str(rate), str(seconds)], stdout=subprocess.PIPE)
        if proc.stdout.readline().strip() != "ready":
            raise LabError(f"ARP flood in {self.ns} did not start")
        return proc


class Lan:
    """Context manager: a bridge namespace, a scanner namespace, and devices added on demand.

    To put one scanner on two LANs, give the second Lan the first one's ``scanner_ns`` and another
    ``scanner_iface`` (``eth1``): its scanner port then joins that namespace instead of a new one.
    """

    def __init__(self, subnet: str = "198.51.100.0/24", scanner_ip: str = "198.51.100.2",
                 scanner_mac: str = "02:00:00:00:00:02", scanner_ns: str | None = None,
                 scanner_iface: str = "eth0") -> None:
        self.network = ipaddress.ip_network(subnet)
        self.scanner_ip, self.scanner_mac = scanner_ip, scanner_mac
        self.prefix = f"prs{os.getpid()}x{next(_counter)}-"
        self.bridge_ns = self.prefix + "br"
        self.scanner_ns = scanner_ns or self.prefix + "sc"
        self.scanner_iface, self.scanner_port = scanner_iface, "vsc"
        self._own_scanner = scanner_ns is None
        self.devices: list[Device] = []
        self._made: list[str] = []
        self._procs: list[subprocess.Popen] = []
        self._nft_chains: set[str] = set()  # per-port chains made in table `bridge lab`
        self._check_ip(scanner_ip)

    def __enter__(self) -> "Lan":
        _install_exit_hooks()
        _open_lans.add(self)
        try:
            remove_stale_namespaces()
            self._new_ns(self.bridge_ns)
            # Snooping off: otherwise br0 joins 224.0.0.106 and IGMP reports show up in captures.
            _cmd(["ip", "-n", self.bridge_ns, "link", "add", "br0", "type", "bridge", "forward_delay", "0",
                  "mcast_snooping", "0"])
            _cmd(["ip", "-n", self.bridge_ns, "link", "set", "br0", "up"])
            self._attach(self.scanner_ns, self.scanner_port, self.scanner_mac, self.scanner_ip,
                         iface=self.scanner_iface, new_ns=self._own_scanner)
            # Ready when the kernel says the scanner's link is up, as a source checks before a sweep.
            self._await_scanner_state(lambda state: state == "UP")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_ip(self, ip: str) -> None:
        if ipaddress.ip_address(ip) not in self.network:
            raise ValueError(f"{ip} is not in the lab subnet {self.network}")

    def _new_ns(self, ns: str) -> None:
        _cmd(["ip", "netns", "add", ns])
        self._made.append(ns)
        # Before any link exists, so no interface ever sends router solicitations or MLD.
        _in_ns_sysctl(ns, _IPV6_OFF)
        _cmd(["ip", "-n", ns, "link", "set", "lo", "up"])

    def _attach(self, ns: str, port: str, mac: str, ip: str, iface: str = "eth0", new_ns: bool = True) -> None:
        if new_ns:
            self._new_ns(ns)
        _cmd(["ip", "-n", self.bridge_ns, "link", "add", port, "type", "veth",
              "peer", "name", iface, "address", mac, "netns", ns])
        _cmd(["ip", "-n", self.bridge_ns, "link", "set", port, "master", "br0", "up"])
        _cmd(["ip", "-n", ns, "addr", "add", f"{ip}/{self.network.prefixlen}", "dev", iface])
        _cmd(["ip", "-n", ns, "link", "set", iface, "up"])

    def unplug_scanner(self) -> None:
        """Take the scanner's bridge port down: its interface stays up but has no carrier (a dead switch).

        Returns once the kernel says so (its operational state follows the carrier within about a second).
        """
        _cmd(["ip", "-n", self.bridge_ns, "link", "set", self.scanner_port, "down"])
        self._await_scanner_state(lambda state: state != "UP")

    def plug_scanner(self) -> None:
        """Undo unplug_scanner(); returns once the scanner's interface is up again."""
        _cmd(["ip", "-n", self.bridge_ns, "link", "set", self.scanner_port, "up"])
        self._await_scanner_state(lambda state: state == "UP")

    def _await_scanner_state(self, wanted: Callable[[str], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            out = _cmd(["ip", "-j", "-n", self.scanner_ns, "link", "show", "dev", self.scanner_iface])
            state = json.loads(out)[0]["operstate"]
            if wanted(state):
                return
            if time.monotonic() > deadline:
                raise LabError(f"{self.scanner_iface} in {self.scanner_ns} stays {state}")
            time.sleep(0.05)

    def set_gateway(self, ip: str) -> None:
        """Give the scanner a default route via ip (a device of this lab acting as the router)."""
        self._check_ip(ip)
        _cmd(["ip", "-n", self.scanner_ns, "route", "replace", "default", "via", ip, "dev", self.scanner_iface])

    def add_device(self, name: str, mac: str, ip: str) -> Device:
        """Create a device namespace linked to the bridge, up and answering ARP."""
        if self not in _open_lans:
            raise LabError("Lan is not open: use it as a context manager")
        self._check_ip(ip)
        n = len(self.devices) + 1
        dev = Device(self, name, f"{self.prefix}d{n}", mac, ip, f"v{n}")
        self._attach(dev.ns, dev.port, mac, ip)
        self.devices.append(dev)
        return dev

    def run(self, ns: str, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        """Run argv inside namespace ns (text, output captured unless overridden)."""
        kwargs.setdefault("text", True)
        if not any(k in kwargs for k in ("stdout", "stderr", "capture_output")):
            kwargs["capture_output"] = True
        return subprocess.run(["ip", "netns", "exec", ns, *argv], **kwargs)

    def popen(self, ns: str, argv: list[str], **kwargs) -> subprocess.Popen:
        """Start argv inside namespace ns; close() ends it if it still runs."""
        kwargs.setdefault("text", True)
        proc = subprocess.Popen(["ip", "netns", "exec", ns, *argv], **kwargs)
        self._procs.append(proc)
        return proc

    def _iface_of(self, ns: str) -> str:
        return self.scanner_iface if ns == self.scanner_ns else "eth0"

    def _tool(self, ns: str, mode: str, ip: str, timeout: float, *extra: str, runs: int = 1) -> str | None:
        p = self.run(ns, [sys.executable, "-c", _NET_TOOL, mode, self._iface_of(ns), ip, str(timeout), *extra],
                     timeout=timeout * runs + 10)
        return (p.stdout.strip() or "ok") if p.returncode == 0 else None

    def _ip_of(self, ns: str | None) -> str:
        if ns in (None, self.scanner_ns):
            return self.scanner_ip
        return next(d.ip for d in self.devices if d.ns == ns)

    def _set_port_rules(self, port: str, rules: list[str]) -> None:
        """Make rules the only ones filtering frames leaving br0 through port."""
        chain = f"port_{port}"
        if not rules and chain not in self._nft_chains:
            return
        if shutil.which("nft") is None:
            raise LabError("doze/go_silent/wake need the `nft` command (Debian package nftables)")
        # All in the bridge namespace, so the rules go away with it; one nft -f is atomic.
        script = ""
        if not self._nft_chains:
            script += ("add table bridge lab\n"
                       "add chain bridge lab postrouting { type filter hook postrouting priority 0; }\n")
        if chain not in self._nft_chains:
            script += (f"add chain bridge lab {chain}\n"
                       f"add rule bridge lab postrouting oifname \"{port}\" jump {chain}\n")
        script += f"flush chain bridge lab {chain}\n"
        script += "".join(f"add rule bridge lab {chain} {rule}\n" for rule in rules)
        _cmd(["ip", "netns", "exec", self.bridge_ns, "nft", "-f", "-"], input=script)
        self._nft_chains.add(chain)

    def nft_ruleset(self) -> str:
        """The bridge namespace's nftables ruleset, as `nft list ruleset` prints it."""
        return _cmd(["ip", "netns", "exec", self.bridge_ns, "nft", "list", "ruleset"])

    def arp_answers(self, ip: str, count: int, dst_mac: str = "ff:ff:ff:ff:ff:ff", wait: float = 0.1,
                    ns: str | None = None) -> int:
        """Send count ARP who-has ip from ns (default scanner) to Ethernet dst_mac, one after the
        other, each waiting up to wait seconds for its reply; return how many were answered."""
        out = self._tool(ns or self.scanner_ns, "count", ip, wait, self._ip_of(ns), dst_mac, str(count),
                         runs=count)
        if out is None:
            raise LabError(f"ARP counting probe in {ns or self.scanner_ns} failed")
        return int(out)

    def capture(self, seconds: float, ns: str | None = None,
                during: Callable[[], object] | None = None) -> list[bytes]:
        """Frames eth0 of ns (default scanner) receives while during() (if given) runs and for
        seconds after it returns; frames it sends itself are left out."""
        ns = ns or self.scanner_ns
        proc = self.popen(ns, [sys.executable, "-c", _CAPTURE, self._iface_of(ns)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            if proc.stdout.readline().strip() != "ready":
                raise LabError(f"capture in {ns} did not start")
            if during is not None:
                during()
            time.sleep(seconds)
            out, _ = proc.communicate(timeout=10)  # closing stdin ends the capture
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        return [bytes.fromhex(line) for line in out.split()]

    def frames_sent(self, ns: str | None = None) -> int:
        """How many frames the LAN interface of ns (default scanner) has sent so far (the kernel's count)."""
        ns = ns or self.scanner_ns
        out = _cmd(["ip", "-n", ns, "-s", "-j", "link", "show", "dev", self._iface_of(ns)])
        return json.loads(out)[0]["stats64"]["tx"]["packets"]

    def arping(self, ip: str, timeout: float = 1.0, ns: str | None = None) -> str | None:
        """ARP who-has ip from ns (default scanner); the MAC that answered, or None."""
        return self._tool(ns or self.scanner_ns, "probe", ip, timeout, self._ip_of(ns))

    def ping(self, ip: str, timeout: float = 1.0, ns: str | None = None) -> bool:
        """One ICMP echo from ns (default scanner); True if answered within timeout."""
        return self._tool(ns or self.scanner_ns, "ping", ip, timeout) is not None

    def listen_arp(self, ip: str, timeout: float = 3.0, ns: str | None = None) -> subprocess.Popen:
        """Start waiting for any ARP frame from ip; stdout gives "ready", then its MAC."""
        ns = ns or self.scanner_ns
        proc = self.popen(ns, [sys.executable, "-c", _NET_TOOL, "listen", self._iface_of(ns), ip, str(timeout)],
                          stdout=subprocess.PIPE)
        if proc.stdout.readline().strip() != "ready":
            raise LabError(f"ARP listener in {ns} did not start")
        return proc

    def close(self) -> None:
        """End processes started with popen and delete every namespace this lab made."""
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    proc.kill()
            proc.wait()
        self._procs.clear()
        _delete_ns(self._made[::-1])
        self._made.clear()
        self._nft_chains.clear()
        _open_lans.discard(self)


def _on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds `with` blocks, then atexit runs


def _install_exit_hooks() -> None:
    # Only take over SIGTERM when nobody else has, and only where Python allows it.
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)


atexit.register(lambda: [lan.close() for lan in list(_open_lans)])
