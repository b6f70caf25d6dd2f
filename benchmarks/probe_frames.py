"""Count the frames the WiFi source sends, today's re-probing against the bounded one, on a throwaway
namespaced LAN (testbed.lab.Lan, 198.51.100.0/24): six people's phones, a router, sweeps every 30 s.

Run as root from the repository root (needs `ip` and `nft`):
    .venv/bin/python -m benchmarks.probe_frames [--hours 1] [--baseline-sweeps 10] [--baseline COMMIT]
The new source runs `--hours` of sweeps (its clock advances 30 s a sweep, so the per-device backoff of
the whole-range search plays out as in the daemon); the baseline (presence/sources/wifi.py at COMMIT, the
code before the bound) does the same thing every sweep, so `--baseline-sweeps` of it are scaled to an
hour. Frames are the scanner's own transmit counter. It prints Markdown and asserts nothing.
"""

import argparse
import ipaddress
import sys
import time

from benchmarks.baseline import module_at
from presence.config.model import NetworkConfig
from presence.sources.wifi import WifiSource
from testbed.lab import Lan, lab_unavailable_reason
from testbed.lab.netns_thread import call_in_netns

# The last commit before re-probing was bounded: its WifiSource takes `watch` and `known_ips`.
BASELINE = "e7ad44ade2504f7d6d5d56a6a4d4a2ce233beb18"
SUBNET = ipaddress.IPv4Network("198.51.100.0/24")
SCAN_INTERVAL = 30
PHONES = [(f"da:a1:19:00:07:{k:02x}", f"198.51.100.{10 + k}") for k in range(1, 7)]
DOZING = {1, 2}  # these phones get about 1 in 4 broadcasts (Device.doze), every unicast frame
ROUTER = ("02:00:00:00:07:fe", "198.51.100.1")


# (label, phones on the LAN, {phone: re-probed with its address (True) or with none (False)} as the
# daemon's reprobe() gives it, phones whose address today's daemon knows from its state file)
SCENARIOS = [
    ("everyone home (2 phones dozing)", {1, 2, 3, 4, 5, 6}, dict.fromkeys(range(1, 7), True),
     {1, 2, 3, 4, 5, 6}),
    ("half out, for hours", {1, 2, 3}, dict.fromkeys((1, 2, 3), True), {1, 2, 3, 4, 5, 6}),
    ("everyone out, for hours", set(), {}, {1, 2, 3, 4, 5, 6}),
    ("one home, five out since before the start (issue 12)", {3}, {3: True}, {3}),
    ("three home, three home by Home Assistant only, phones off, addresses never known", {1, 2, 3},
     {**dict.fromkeys((1, 2, 3), True), **dict.fromkeys((4, 5, 6), False)}, {1, 2, 3}),
]


def count(lan, source, sweeps):
    """[frames the scanner sent in each sweep] of `sweeps` polls 30 s of the source's clock apart, and
    the mean wall time of a sweep."""
    sent, seconds = [], 0.0
    for sweep in range(sweeps):
        before, started = lan.frames_sent(), time.monotonic()
        call_in_netns(lan.scanner_ns, source.poll, 1_800_000_000.0 + SCAN_INTERVAL * sweep)
        seconds += time.monotonic() - started
        sent.append(lan.frames_sent() - before)
    source.close()
    return sent, seconds / sweeps


def run(args):
    network = NetworkConfig(cidrs=(SUBNET,), interface="eth0")  # the baseline reads the main thread's routes
    baseline = module_at(args.baseline, "presence/wifi_scan.py")
    sweeps_per_hour = 3600 // SCAN_INTERVAL
    rows = []
    with Lan() as lan:
        router = lan.add_device("router", *ROUTER)
        lan.set_gateway(router.ip)
        phones = {k: lan.add_device(f"phone{k}", mac, ip) for k, (mac, ip) in enumerate(PHONES, start=1)}
        for k in DOZING:
            phones[k].doze()
        for label, present, asked, known in SCENARIOS:
            for k, phone in phones.items():
                (phone.join if k in present else phone.leave)()
            reprobe = {phones[k].mac: phones[k].ip if with_ip else None for k, with_ip in asked.items()}
            new_sweeps = max(1, round(args.hours * sweeps_per_hour))
            new, new_seconds = count(lan, WifiSource(network, reprobe=lambda r=reprobe: dict(r)), new_sweeps)
            old_source = baseline.WifiSource(network, watch=[p.mac for p in phones.values()],
                                             known_ips={phones[k].mac: phones[k].ip for k in known})
            old, old_seconds = count(lan, old_source, args.baseline_sweeps)
            rows.append((label, sum(old) / len(old), sum(old) / len(old) * sweeps_per_hour, old_seconds,
                         max(new), sum(new) / len(new) * sweeps_per_hour, new_seconds))
            print(f"  {label}: done", file=sys.stderr)
    return rows


def table(rows, args):
    hosts = SUBNET.num_addresses - 3
    lines = [f"Six people's phones and a router on {SUBNET} ({hosts} addresses to sweep besides the scanner's "
             f"own), a sweep every {SCAN_INTERVAL} s. Baseline: presence/sources/wifi.py at {args.baseline[:7]} "
             f"({args.baseline_sweeps} sweeps, scaled to an hour); bounded: this tree ({args.hours:g} h of sweeps).",
             "", "| scenario | baseline frames/sweep | baseline frames/hour | bounded: most frames in one sweep "
                 "| bounded frames/hour | baseline / bounded | s/sweep baseline, bounded |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for label, old_sweep, old_hour, old_s, new_most, new_hour, new_s in rows:
        lines.append(f"| {label} | {old_sweep:,.0f} | {old_hour:,.0f} | {new_most:,} | {new_hour:,.0f} "
                     f"| {old_hour / new_hour:.1f} | {old_s:.2f}, {new_s:.2f} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0, help="simulated hours of the bounded source")
    parser.add_argument("--baseline-sweeps", type=int, default=10)
    parser.add_argument("--baseline", default=BASELINE, help="commit whose presence/sources/wifi.py is the baseline")
    args = parser.parse_args()
    reason = lab_unavailable_reason(nft=True)
    if reason:
        sys.exit(reason)
    print(table(run(args), args))


if __name__ == "__main__":
    main()
