"""The fallback without CAP_NET_RAW: the kernel's neighbour table, fresh entries only."""

import json
import subprocess

from presence.sources.network_interfaces import ScanError, in_networks
from presence.macs import normalise_mac

_FRESH_STATES = {"REACHABLE", "DELAY", "PROBE"}


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
        fresh = _FRESH_STATES.intersection(entry.get("state", []))
        if mac and fresh and in_networks(entry["dst"], networks):
            found[mac] = entry["dst"]
    return found
