"""Namespaces for the lab: commands that build them, deleting them (also those of dead processes),
and whether a lab can be built here at all."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

_NS_RE = re.compile(r"^prs(\d+)x\d+-")
IPV6_OFF = ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]


class LabError(RuntimeError):
    """A command building or changing the lab failed (message carries its stderr)."""


def cmd(argv: list[str], input: str | None = None) -> str:
    p = subprocess.run(argv, input=input, capture_output=True, text=True)
    if p.returncode:
        raise LabError(f"{' '.join(argv)}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def list_ns() -> list[str]:
    return [line.split()[0] for line in cmd(["ip", "netns", "list"]).splitlines() if line.strip()]


def delete_ns(names: list[str]) -> None:
    if names:  # -force: keep deleting the rest when one is already gone
        subprocess.run(["ip", "-force", "-batch", "-"], input="".join(f"netns del {n}\n" for n in names),
                       capture_output=True, text=True)


def remove_stale_namespaces() -> list[str]:
    """Delete lab namespaces whose creating process is dead; return their names."""
    stale = [n for n in list_ns() if (m := _NS_RE.match(n)) and not os.path.exists(f"/proc/{m.group(1)}")]
    delete_ns(stale)
    return stale


def in_ns_sysctl(ns: str, settings: list[str]) -> None:
    if shutil.which("sysctl"):
        cmd(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", *settings])
    else:
        paths = ["/proc/sys/" + s.split("=")[0].replace(".", "/") for s in settings]
        cmd(["ip", "netns", "exec", ns, sys.executable, "-c",
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
        cmd(["ip", "netns", "add", probe])
        cmd(["ip", "-n", probe, "link", "add", "b0", "type", "bridge"])
        cmd(["ip", "-n", probe, "link", "add", "v0", "type", "veth", "peer", "name", "v1"])
        in_ns_sysctl(probe, IPV6_OFF)
        if nft:
            cmd(["ip", "netns", "exec", probe, "nft", "add", "table", "bridge", "probe"])
    except (LabError, OSError) as e:
        return f"network-namespace lab cannot be built here: {e}"
    finally:
        delete_ns([probe])
    return None
