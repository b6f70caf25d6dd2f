"""Run the WiFi source's sweep in this process and print what it found, one JSON line per round.

Used by the lab tests inside the scanner namespace:
`python -m tests.scan_probe 198.51.100.0/24 [--watch MAC[=IP] ...] [--rounds N] [--no-knock]`
"""

import argparse
import ipaddress
import json
import time

from presence.config import NetworkConfig
from presence.wifi_scan import WifiSource


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("cidr")
    parser.add_argument("--watch", action="append", default=[])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--pause", type=float, default=0.0)
    parser.add_argument("--no-knock", action="store_true")
    args = parser.parse_args()
    known = dict(item.split("=", 1) if "=" in item else (item, None) for item in args.watch)
    source = WifiSource(NetworkConfig(cidrs=(ipaddress.IPv4Network(args.cidr),)), watch=list(known),
                        known_ips={mac: ip for mac, ip in known.items() if ip}, knock=not args.no_knock)
    for _ in range(args.rounds):
        started = time.perf_counter()
        found, how = source.scan()
        print(json.dumps({"found": found, "how": how, "seconds": time.perf_counter() - started}), flush=True)
        time.sleep(args.pause)
    source.close()


if __name__ == "__main__":
    main()
