"""Benchmark presence's ARP sweep against arp-scan and nmap, and the daemon's arrival latency and
footprint, all inside a throwaway namespaced LAN (testbed.lab.Lan, 198.51.100.0/24).

Run as root from the repository root:
    .venv/bin/python -m benchmarks.scan_benchmark [--rounds 10] [--arrivals 5] [--duration 120] [--output FILE]
It prints (or writes) Markdown results; docs/performance.md explains them. Nothing here asserts.
"""

import argparse
import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import yaml

from benchmarks.scan_report import machine, report, watch_machine
from testbed.lab import Lan, lab_unavailable_reason

ROOT = Path(__file__).resolve().parents[1]
SUBNET = "198.51.100.0/24"
PREFIX = "home.presence"
MAC_RE = re.compile(r"\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b", re.IGNORECASE)
# Real vendor prefixes, so discover's vendor lookup does the work it does on a real LAN.
OUIS = ["b8:27:eb", "00:16:3e", "3c:22:fb", "f4:f5:d8", "00:17:88", "18:b4:30", "44:65:0d", "00:11:32",
        "ac:84:c6"]
# Every third device has a randomized ("private WiFi") MAC, as phones and laptops do.
RESPONSIVE = [(f"dev{i}", ("da:a1:19:00:00:" if i % 3 == 0 else OUIS[i % len(OUIS)] + ":10:00:") + f"{i:02x}",
               f"198.51.100.{10 + i}") for i in range(30)]
DOZING = [(f"phone{k}", f"da:a1:19:00:01:{k:02x}", f"198.51.100.{40 + k}") for k in (1, 2)]
WATCHED = RESPONSIVE[:4] + DOZING  # the people's devices: what the daemon re-probes by unicast
PROBE = [sys.executable, "-m", "testbed.scan_probe", SUBNET]
WATCH_ARGS = [arg for _, mac, ip in WATCHED for arg in ("--watch", f"{mac}={ip}")]


def arrivals_list(count):
    return [(f"arrival{k}", f"da:a1:19:00:02:{k:02x}", f"198.51.100.{50 + k}") for k in range(1, count + 1)]


def write_config(path, people):
    raw = {"network": {"cidrs": [SUBNET]}, "graphite": {"prefix": PREFIX},
           "people": [{"name": name, **({"macs": [mac]} if mac else {})} for name, mac in people]}
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return str(path)


def recall(found):
    """(responsive devices found, dozing phones found) among the MACs `found`."""
    return len(found & {m for _, m, _ in RESPONSIVE}), len(found & {m for _, m, _ in DOZING})


def probe_result(out):
    line = json.loads(out.strip().splitlines()[-1])
    return set(line["found"]), line["seconds"]


def tools(discover_config, state):
    """(label, argv, parse) of each sweep; parse(stdout) gives (MACs, in-process seconds or None)."""
    text = lambda out: ({mac.lower() for mac in MAC_RE.findall(out)}, None)
    return [
        ("presence scan_probe, watch list (sweep + unicast re-probes)", PROBE + WATCH_ARGS, probe_result),
        ("presence `discover --json` (whole CLI, no re-probes)",
         [sys.executable, str(ROOT / "presence_to_graphite.py"), "--config", discover_config, "--state", state,
          "discover", "--json"], lambda out: ({row["mac"] for row in json.loads(out)}, None)),
        ("arp-scan (defaults: 2 tries per address)", ["arp-scan", "-I", "eth0", SUBNET], text),
        ("nmap -sn -n (defaults)", ["nmap", "-sn", "-n", SUBNET], text),
        # The same three, each sending one broadcast request per address.
        ("presence scan_probe, no watch list (1 broadcast per address)", PROBE, probe_result),
        ("arp-scan --retry=1 (1 broadcast per address)", ["arp-scan", "--retry=1", "-I", "eth0", SUBNET], text),
        ("nmap -sn -n --max-retries 0", ["nmap", "-sn", "-n", "--max-retries", "0", SUBNET], text),
    ]


def timed(lan, argv):
    """Run argv in the scanner namespace; return (stdout, wall s, child CPU s).

    `ip netns exec` execs into argv, so the child's rusage is the tool's own.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = lan.run(lan.scanner_ns, argv, cwd=ROOT, timeout=120)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise RuntimeError(f"{argv[0]} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout, wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def sweeps(lan, rounds, workdir):
    """Every tool once per round, in a rotated order so no tool always runs first."""
    discover_config = write_config(workdir / "discover.yaml", [("nobody", None)])  # nothing mapped: all listed
    specs = tools(discover_config, str(workdir / "discover-state.json"))
    results = {label: [] for label, _, _ in specs}
    for r in range(rounds):
        for label, argv, parse in specs[r % len(specs):] + specs[:r % len(specs)]:
            out, wall, cpu = timed(lan, argv)
            found, seconds = parse(out)
            results[label].append({"wall": wall, "cpu": cpu, "seconds": seconds,
                                   **dict(zip(("responsive", "dozing"), recall(found)))})
        print(f"sweeps: round {r + 1}/{rounds} done", file=sys.stderr)
    return results


def warm_sweeps(lan, rounds):
    """Sweeps after the first one of a process, as the daemon runs them: {label: [(seconds, resp, dozing)]}."""
    probe, warm = PROBE + ["--rounds", str(rounds + 1), "--pause", "1"], {}
    for label, argv in (("watch list (sweep + re-probes)", probe + WATCH_ARGS), ("no watch list (sweep only)", probe)):
        lines = [json.loads(line) for line in timed(lan, argv)[0].splitlines()][1:]  # the first is cold: skip it
        warm[label] = [(line["seconds"], *recall(set(line["found"]))) for line in lines]
    return warm


class Daemon:
    """`presence_to_graphite.py run --dry-run` in the scanner namespace, its lines kept with arrival times."""

    def __init__(self, lan, config, state):
        self.proc = lan.popen(lan.scanner_ns, [sys.executable, str(ROOT / "presence_to_graphite.py"), "--config",
                                               config, "--state", state, "run", "--dry-run"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.log, self.out = [], []
        for stream, lines in ((self.proc.stderr, self.log), (self.proc.stdout, self.out)):
            threading.Thread(target=self._read, args=(stream, lines), daemon=True).start()

    @staticmethod
    def _read(stream, lines):
        for line in stream:
            lines.append((time.time(), line))

    @staticmethod
    def wait_for(lines, match, timeout):
        """The first (read time, line) of `lines` for which match(line) is true, or None after timeout."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            hit = next(((at, line) for at, line in list(lines) if match(line)), None)
            if hit:
                return hit
            time.sleep(0.01)
        return None

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=10)


def log_time(line):
    """Epoch seconds of a log line's own timestamp (same clock as time.time())."""
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def arrival_latency(lan, phones, workdir, seed=1):
    """Join each left phone in turn at a random phase of the 5 s tick; time the log line and the tick."""
    config = write_config(workdir / "arrivals.yaml", [(n, m) for n, m, _ in WATCHED + arrivals_list(len(phones))])
    daemon = Daemon(lan, config, str(workdir / "arrivals-state.json"))
    rng, rows = random.Random(seed), []
    try:
        if not daemon.wait_for(daemon.log, lambda line: "Running:" in line, 20):
            raise RuntimeError("daemon did not start: " + "".join(line for _, line in daemon.log))
        for phone in phones:
            time.sleep(rng.uniform(1.0, 6.0))
            start = time.time()
            phone.join()
            joined = time.time() - start
            logged = daemon.wait_for(daemon.log, lambda line: f" {phone.name}: away -> home" in line, 10)
            ticked = daemon.wait_for(daemon.out, lambda line: line.startswith(f"{PREFIX}.{phone.name}.is_home 1 "), 12)
            rows.append({"join": joined, "log": logged and log_time(logged[1]) - start,
                         "tick": ticked and ticked[0] - start})
    finally:
        code = daemon.stop()
    return rows, code


def cpu_ticks(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))


def steady_state(lan, workdir, duration, warmup=5.0, scan_interval=30.0):
    """Run the daemon at default intervals for `duration` s; CPU after the warm-up, peak RSS."""
    config = write_config(workdir / "steady.yaml", [(n, m) for n, m, _ in WATCHED])
    daemon = Daemon(lan, config, str(workdir / "steady-state.json"))
    started, hz, samples = time.monotonic(), os.sysconf("SC_CLK_TCK"), []
    # Sweeps come every scan_interval from the start: a window of whole intervals holds exactly one each.
    whole = warmup + scan_interval * int((duration - warmup) // scan_interval)
    try:
        for mark in sorted({warmup, whole, duration}):
            time.sleep(max(0.0, started + mark - time.monotonic()))
            samples.append((mark, time.monotonic(), cpu_ticks(daemon.proc.pid)))
        status = dict(line.split(":", 1) for line in Path(f"/proc/{daemon.proc.pid}/status").read_text().splitlines())
        hwm, rss = (int(status[key].split()[0]) for key in ("VmHWM", "VmRSS"))  # kB
    finally:
        code = daemon.stop()
    pct = lambda a, b: 100 * (b[2] - a[2]) / hz / (b[1] - a[1])
    errors = [line.strip() for _, line in daemon.log if " ERROR " in line or " WARNING " in line]
    return {"cpu_pct": pct(samples[0], samples[-1]), "window": samples[-1][1] - samples[0][1],
            "cpu_pct_whole": pct(samples[0], next(s for s in samples if s[0] == whole)) if whole > warmup else None,
            "whole": (warmup, whole), "cpu_total_s": samples[-1][2] / hz,
            "hwm_mb": hwm / 1024, "rss_mb": rss / 1024, "exit": code,
            "ticks": sum(line.startswith(f"{PREFIX}.count_home ") for _, line in daemon.out),
            "problems": errors}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="sweeps per tool (default 10)")
    parser.add_argument("--arrivals", type=int, default=5, help="phones joining in the latency test (default 5)")
    parser.add_argument("--duration", type=float, default=120, help="seconds of daemon steady state (default 120)")
    parser.add_argument("--output", help="write the Markdown results here instead of stdout")
    args = parser.parse_args()
    if (reason := lab_unavailable_reason(nft=True)) is not None:
        sys.exit(f"cannot run the benchmark: {reason}")
    seen, stop = {"load": 0.0, "labs": 0}, threading.Event()
    threading.Thread(target=watch_machine, args=(seen, stop), daemon=True).start()
    with Lan(SUBNET) as lan, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for name, mac, ip in RESPONSIVE + DOZING:
            lan.add_device(name, mac, ip)
        for device in lan.devices[-2:]:
            device.doze()  # gets every unicast frame, ~1 in 4 broadcast ones
        phones = [lan.add_device(name, mac, ip) for name, mac, ip in arrivals_list(args.arrivals)]
        for phone in phones:
            phone.leave()
        results = sweeps(lan, args.rounds, workdir)
        warm = warm_sweeps(lan, args.rounds)
        print("arrival latency...", file=sys.stderr)
        rows, join_code = arrival_latency(lan, phones, workdir)
        for phone in phones:
            phone.leave()  # back to the sweeps' LAN: 30 responsive devices and 2 dozing phones
        print(f"daemon steady state for {args.duration:.0f} s...", file=sys.stderr)
        steady = steady_state(lan, workdir, args.duration)
    stop.set()
    text = report(args, SUBNET, machine(), results, warm, rows, join_code, steady, seen)
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
