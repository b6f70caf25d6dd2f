"""Run the WiFi source's sweep in this process and print what it found, one JSON line per round.

Used by the lab tests inside the scanner namespace:
`python -m tests.scan_probe CIDR[@IFACE] ... [--watch MAC[=IP] ...] [--rounds N] [--pause S] [--no-knock]`
Each line: {"found": {mac: ip}, "how": ..., "networks": [[cidr, up, reason], ...], "seconds": ...}.
"""

import argparse
import dataclasses
import ipaddress
import json
import time

from presence.config.model import NetworkConfig
from presence.sources.wifi import WifiSource


def network_config(specs):
    """A NetworkConfig from `CIDR[@IFACE]` arguments."""
    cidrs = tuple(ipaddress.IPv4Network(spec.split("@")[0]) for spec in specs)
    named = tuple(spec.split("@")[1] if "@" in spec else None for spec in specs)
    if not any(named):
        return NetworkConfig(cidrs=cidrs)
    if "cidr_interfaces" in {field.name for field in dataclasses.fields(NetworkConfig)}:
        return NetworkConfig(cidrs=cidrs, cidr_interfaces=named)
    return type("LabNetworkConfig", (), {"cidrs": cidrs, "interface": None, "cidr_interfaces": named})()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("cidr", nargs="+")
    parser.add_argument("--watch", action="append", default=[])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--pause", type=float, default=0.0)
    parser.add_argument("--no-knock", action="store_true")
    args = parser.parse_args()
    watched = dict(item.split("=", 1) if "=" in item else (item, None) for item in args.watch)
    source = WifiSource(network_config(args.cidr), reprobe=lambda: dict(watched), knock=not args.no_knock)
    for _ in range(args.rounds):
        started = time.perf_counter()
        found, how, networks = source.survey(time.time())
        print(json.dumps({"found": found, "how": how, "networks": [[n.cidr, n.up, n.reason] for n in networks],
                          "seconds": time.perf_counter() - started}), flush=True)
        time.sleep(args.pause)
    source.close()


if __name__ == "__main__":
    main()
