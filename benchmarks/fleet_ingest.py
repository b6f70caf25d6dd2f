"""How many homes the study's cluster on this machine takes with no point lost, and its CPU per 1,000 homes.

    .venv/bin/python -m benchmarks.fleet_ingest [--homes 250,500,1000,2000] [--measure 60] [--workers 2]

The cluster is the one docs/fleet.md stands up (testbed.fleet.Fleet, built on fleet/): stunnel verifying each
client certificate, carbon-c-relay with `carbon_ch replication 2`, three carbon-caches, on this machine's loopback.
Each simulated home is the daemon's own transport (presence.outputs.graphite.sender.GraphiteSender with a
TlsClient, confirming delivery every 60 s as the daemon does) sending the reference household's 27 lines every
5 s under `study.hNNNN.presence`; the homes run in `--workers` processes, their ticks spread over the 5 s.
Each step: fresh whisper files, a warm-up while carbon creates them, then `--measure` s counted: what every
sender handed over against the points every node holds for every series (replicas counted apart), after a
drain of up to 60 s, and the CPU time of each part read from /proc. Prints Markdown and asserts nothing.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEOPLE = ("nick", "susan", "charlie", "archie", "mo", "tom")
METRICS = [f"{p}.{m}" for p in PEOPLE for m in ("is_home", "from_wifi", "from_homeassistant", "devices_present")] + \
    ["count_home", "anyone_home", "wifi.devices_present_count"]
STEP = 5
RETENTIONS = "5s:1h"  # small files: 27 x 2 x homes of them; the rate, not the history, is measured


def worker(args):
    """One process of simulated homes: send until `--until`, then print what each home handed over."""
    sys.path.insert(0, ROOT)
    from graphite_helper import build_message
    from presence.config.model import GraphiteTls
    from presence.outputs.graphite.sender import GraphiteSender
    from presence.outputs.graphite.tls import TlsClient

    tls = TlsClient(GraphiteTls(ca=args.ca, cert=args.cert, key=args.key), "127.0.0.1", "benchmark")
    homes = list(range(args.first, args.first + args.count))
    senders = {home: GraphiteSender("127.0.0.1", args.port, tls=tls) for home in homes}
    sent = {home: [] for home in homes}
    next_slot = (int(time.time()) // STEP + 1) * STEP
    while next_slot < args.until:
        for index, home in enumerate(homes):
            due = next_slot + STEP * index / len(homes)
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
            values = [(name, (home + i) % 2) for i, name in enumerate(METRICS)]
            senders[home].send(build_message(f"study.h{home:04d}.presence", values, next_slot))
            sent[home].append(next_slot)
        next_slot += STEP
    for sender in senders.values():
        sender.close(timeout=5)
    unconfirmed = sum(not sender.all_confirmed() for sender in senders.values())
    print(json.dumps({"sent": {str(h): s for h, s in sent.items()}, "unconfirmed": unconfirmed}))


def cpu_seconds(pid):
    """User + system CPU seconds of `pid` and its children that were waited for."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / os.sysconf("SC_CLK_TCK")


def step(homes, measure, workers, folder):
    """Run `homes` for a warm-up and `measure` s; return the counts and CPU of one step."""
    from testbed.fleet import Fleet

    with Fleet(os.path.join(folder, f"fleet-{homes}"), nodes=3, replication=2, retentions=RETENTIONS) as fleet:
        cert, key = fleet.home_credentials("simulated")
        warm = 30 + homes // 100
        start = time.time()
        until = start + warm + measure
        share = -(-homes // workers)
        procs = [subprocess.Popen([sys.executable, "-m", "benchmarks.fleet_ingest", "--worker", "--first",
                                   str(w * share), "--count", str(min(share, homes - w * share)), "--port",
                                   str(fleet.tls_port), "--ca", fleet.ca, "--cert", cert, "--key", key,
                                   "--until", str(until)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
                 for w in range(workers) if w * share < homes]
        time.sleep(warm)
        parts = fleet.pids()
        before = {name: cpu_seconds(pid) for name, pid in parts.items()}
        senders_before = sum(cpu_seconds(p.pid) for p in procs)
        measured_from = time.time()
        time.sleep(max(0.0, until - time.time()))
        elapsed = time.time() - measured_from
        after = {name: cpu_seconds(pid) for name, pid in parts.items()}
        senders_after = sum(cpu_seconds(p.pid) for p in procs)
        sent, unconfirmed = {}, 0
        for proc in procs:
            result = json.loads(proc.communicate(timeout=120)[0])
            sent.update(result["sent"])
            unconfirmed += result["unconfirmed"]
        window = (int(measured_from) // STEP + 1) * STEP, int(until) // STEP * STEP - STEP
        expected = sum(len([s for s in stamps if window[0] <= s <= window[1]]) for stamps in sent.values()) * \
            len(METRICS) * 2
        landed, drained = 0, time.time()
        while time.time() - drained < 60:
            landed = count_points(fleet, sent, window)
            if landed >= expected:
                break
            time.sleep(5)
        cpu = {name: (after[name] - before[name]) / elapsed * 100 for name in parts}
        return {"homes": homes, "points_per_s": homes * len(METRICS) / STEP, "expected": expected,
                "landed": landed, "drain_s": time.time() - drained, "unconfirmed": unconfirmed, "cpu": cpu,
                "senders_cpu": (senders_after - senders_before) / elapsed * 100}


def count_points(fleet, sent, window):
    """Points in the window over every series of every home on every node (each replica counted)."""
    import whisper

    total = 0
    for home in sent:
        for metric in METRICS:
            parts = ["study", f"h{int(home):04d}", "presence", *metric.split(".")]
            for folder in fleet.whisper_dirs:
                path = os.path.join(folder, *parts) + ".wsp"
                if os.path.exists(path):
                    (start, _, step_), values = whisper.fetch(path, window[0] - 1, window[1] + 1, now=window[1] + 2)
                    total += sum(1 for i, v in enumerate(values)
                                 if v is not None and window[0] <= start + i * step_ <= window[1])
    return total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--homes", default="250,500,1000,2000")
    parser.add_argument("--measure", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    for flag in ("--worker",):
        parser.add_argument(flag, action="store_true", help=argparse.SUPPRESS)
    for flag, kind in (("--first", int), ("--count", int), ("--port", int), ("--until", float), ("--ca", str),
                       ("--cert", str), ("--key", str)):
        parser.add_argument(flag, type=kind, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    sys.path.insert(0, ROOT)
    rows = []
    with tempfile.TemporaryDirectory(dir="/var/tmp", prefix="fleet-ingest-") as folder:
        for homes in (int(h) for h in args.homes.split(",")):
            rows.append(step(homes, args.measure, args.workers, folder))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    names = sorted({name for row in rows for name in row["cpu"]})
    print(f"Measured {args.measure} s per step, after a warm-up; {os.cpu_count()} CPUs.\n")
    print("| homes | points/s | points expected (x2 replicas) | landed | lost | drain s | unconfirmed homes | "
          + " | ".join(f"{n} CPU %" for n in names) + " | cluster CPU % | senders CPU % |")
    print("|" + "---|" * (9 + len(names)))
    for row in rows:
        cluster = sum(row["cpu"].values())
        print(f"| {row['homes']} | {row['points_per_s']:.0f} | {row['expected']} | {row['landed']} | "
              f"{row['expected'] - row['landed']} | {row['drain_s']:.0f} | {row['unconfirmed']} | "
              + " | ".join(f"{row['cpu'][n]:.1f}" for n in names) + f" | {cluster:.1f} | {row['senders_cpu']:.1f} |")


if __name__ == "__main__":
    main()
