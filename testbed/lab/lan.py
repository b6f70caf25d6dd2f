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
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from .device import Device
from .namespaces import (IPV6_OFF, LabError, cmd, delete_ns, in_ns_sysctl, lab_unavailable_reason,
                         remove_stale_namespaces)
from .programs import CAPTURE, NET_TOOL

__all__ = ["Lan", "Device", "LabError", "lab_unavailable_reason"]

_counter = itertools.count(1)
_open_lans: set["Lan"] = set()


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
            cmd(["ip", "-n", self.bridge_ns, "link", "add", "br0", "type", "bridge", "forward_delay", "0",
                  "mcast_snooping", "0"])
            cmd(["ip", "-n", self.bridge_ns, "link", "set", "br0", "up"])
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
        cmd(["ip", "netns", "add", ns])
        self._made.append(ns)
        # Before any link exists, so no interface ever sends router solicitations or MLD.
        in_ns_sysctl(ns, IPV6_OFF)
        cmd(["ip", "-n", ns, "link", "set", "lo", "up"])

    def _attach(self, ns: str, port: str, mac: str, ip: str, iface: str = "eth0", new_ns: bool = True) -> None:
        if new_ns:
            self._new_ns(ns)
        cmd(["ip", "-n", self.bridge_ns, "link", "add", port, "type", "veth",
              "peer", "name", iface, "address", mac, "netns", ns])
        cmd(["ip", "-n", self.bridge_ns, "link", "set", port, "master", "br0", "up"])
        cmd(["ip", "-n", ns, "addr", "add", f"{ip}/{self.network.prefixlen}", "dev", iface])
        cmd(["ip", "-n", ns, "link", "set", iface, "up"])

    def unplug_scanner(self) -> None:
        """Take the scanner's bridge port down: its interface stays up but has no carrier (a dead switch).

        Returns once the kernel says so (its operational state follows the carrier within about a second).
        """
        cmd(["ip", "-n", self.bridge_ns, "link", "set", self.scanner_port, "down"])
        self._await_scanner_state(lambda state: state != "UP")

    def plug_scanner(self) -> None:
        """Undo unplug_scanner(); returns once the scanner's interface is up again."""
        cmd(["ip", "-n", self.bridge_ns, "link", "set", self.scanner_port, "up"])
        self._await_scanner_state(lambda state: state == "UP")

    def _await_scanner_state(self, wanted: Callable[[str], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            out = cmd(["ip", "-j", "-n", self.scanner_ns, "link", "show", "dev", self.scanner_iface])
            state = json.loads(out)[0]["operstate"]
            if wanted(state):
                return
            if time.monotonic() > deadline:
                raise LabError(f"{self.scanner_iface} in {self.scanner_ns} stays {state}")
            time.sleep(0.05)

    def set_gateway(self, ip: str) -> None:
        """Give the scanner a default route via ip (a device of this lab acting as the router)."""
        self._check_ip(ip)
        cmd(["ip", "-n", self.scanner_ns, "route", "replace", "default", "via", ip, "dev", self.scanner_iface])

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
        p = self.run(ns, [sys.executable, "-c", NET_TOOL, mode, self._iface_of(ns), ip, str(timeout), *extra],
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
        cmd(["ip", "netns", "exec", self.bridge_ns, "nft", "-f", "-"], input=script)
        self._nft_chains.add(chain)

    def nft_ruleset(self) -> str:
        """The bridge namespace's nftables ruleset, as `nft list ruleset` prints it."""
        return cmd(["ip", "netns", "exec", self.bridge_ns, "nft", "list", "ruleset"])

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
        proc = self.popen(ns, [sys.executable, "-c", CAPTURE, self._iface_of(ns)],
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
        out = cmd(["ip", "-n", ns, "-s", "-j", "link", "show", "dev", self._iface_of(ns)])
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
        proc = self.popen(ns, [sys.executable, "-c", NET_TOOL, "listen", self._iface_of(ns), ip, str(timeout)],
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
        delete_ns(self._made[::-1])
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
