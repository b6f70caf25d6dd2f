"""What an ARP flood from random MACs costs the passive listener: before the bound and after, in one run.

Run as root from the repository root (needs `ip`):
    .venv/bin/python -m benchmarks.listener_flood [--seconds 10] [--rates 1000,20000] [--baseline COMMIT]
On a throwaway namespaced LAN (testbed.lab.Lan, 198.51.100.0/24), a device floods ARP from random locally
administered MACs at each rate while a listener runs in this process (in a thread inside the scanner's
namespace): the listener of this tree, then the one of COMMIT (before the flood bound). It prints the
CPU the listener's thread used, per frame sent and as a share of a core, how many reports it emitted,
and how many MACs it kept. It prints Markdown and asserts nothing.
"""

import argparse
import ipaddress
import sys
import threading
import time

from benchmarks.baseline import module_at
from presence.clock import SystemClock
from presence.config.model import NetworkConfig
from presence.sources.listener import WifiListener
from testbed.lab import Lan, lab_unavailable_reason
from testbed.lab.netns_thread import call_in_netns

BASELINE = "dbc7da2"
PEOPLE = frozenset({"02:00:00:00:01:01"})


def measure(lan, flooder, make_listener, rate, seconds):
    """Run one listener through one flood; return (frames sent, CPU s of its thread, reports, MACs kept)."""
    listener = make_listener()
    reports, stop, cpu = [], threading.Event(), {}

    def listen():
        started = time.thread_time()
        listener.run(reports.append, stop, SystemClock())
        cpu["used"] = time.thread_time() - started

    thread = threading.Thread(target=call_in_netns, args=(lan.scanner_ns, listen), daemon=True)
    thread.start()
    time.sleep(1.0)  # listening before the first frame
    flood = flooder.flood_arp(seconds=seconds, rate=rate)
    sent = int(flood.communicate(timeout=seconds + 30)[0])
    time.sleep(1.0)
    stop.set()
    thread.join(10)
    kept = len(getattr(listener, "_last_report", {}))
    return sent, cpu.get("used", float("nan")), len(reports), kept


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rates", default="1000,20000")
    parser.add_argument("--baseline", default=BASELINE)
    args = parser.parse_args()
    reason = lab_unavailable_reason()
    if reason:
        sys.exit(reason)
    network = NetworkConfig(cidrs=(ipaddress.IPv4Network("198.51.100.0/24"),), interface="eth0")
    old = module_at(args.baseline, "presence/passive_listen.py")
    listeners = {"this tree (bounded)": lambda: WifiListener(network, {}, urgent=PEOPLE),
                 f"before ({args.baseline})": lambda: old.WifiListener(network, {})}
    rows = []
    with Lan() as lan:
        lan.add_device("nick", "02:00:00:00:01:01", "198.51.100.11")
        flooder = lan.add_device("flooder", "02:00:00:00:66:66", "198.51.100.66")
        for rate in (int(r) for r in args.rates.split(",")):
            for name, make in listeners.items():
                sent, cpu, reports, kept = measure(lan, flooder, make, rate, args.seconds)
                rows.append((rate, name, sent, cpu, reports, kept))
                print(f"  {rate}/s, {name}: done", file=sys.stderr, flush=True)
    print(f"ARP flood from random MACs for {args.seconds:g} s at each rate; the listener in a thread of this "
          "process, inside the scanner's namespace.\n")
    print("| frames/s asked | listener | frames sent | listener CPU s | µs per frame sent | share of a core "
          "| reports emitted | MACs kept |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for rate, name, sent, cpu, reports, kept in rows:
        print(f"| {rate:,} | {name} | {sent:,} | {cpu:.2f} | {cpu / max(sent, 1) * 1e6:.0f} | "
              f"{cpu / (args.seconds + 2) * 100:.1f} % | {reports:,} | {kept:,} |")


if __name__ == "__main__":
    main()
