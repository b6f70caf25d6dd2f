"""The scan benchmark's results as Markdown, and the machine (and its load) they were measured on."""

import os
import platform
import re
import statistics
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    first = lambda argv: (subprocess.run(argv, capture_output=True, text=True).stdout or "?").splitlines()[0]
    return (f"{len(os.sched_getaffinity(0))} CPUs ({cpu}), kernel {platform.release()}, "
            f"Python {platform.python_version()}, scapy {version('scapy')}, {first(['arp-scan', '--version'])}, "
            f"{first(['nmap', '--version'])}")


def watch_machine(seen, stop):
    """Every 5 s: the load average, and how many other processes have a lab up (others running tests)."""
    while not stop.wait(5.0):
        names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
        labs = {m.group(1) for n in names if (m := re.match(r"prs(\d+)x", n)) and int(m.group(1)) != os.getpid()}
        seen["load"] = max(seen["load"], os.getloadavg()[0])
        seen["labs"] = max(seen["labs"], len(labs))


def report(args, subnet, info, results, warm, rows, join_code, steady, seen):
    med = statistics.median
    out = [f"Machine: {info}.", f"Highest 1-min load average during the run: {seen['load']:.2f}; most other "
           f"processes with a test lab up at once: {seen['labs']} (0: nobody else ran lab tests meanwhile).",
           f"Command: `{' '.join(['python -m benchmarks.scan_benchmark'] + sys.argv[1:])}` (as root).", "",
           f"### Sweeps of {subnet}: 30 responsive devices, 2 dozing phones, {args.rounds} rounds", "",
           "| tool | wall median s | wall max s | CPU median s | in-process sweep median / max s "
           "| recall responsive (worst round) | recall dozing phones |",
           "|---|---|---|---|---|---|---|"]
    for label, runs in results.items():
        seconds = [r["seconds"] for r in runs if r["seconds"] is not None]
        inproc = f"{med(seconds):.3f} / {max(seconds):.3f}" if seconds else "-"
        resp, doze = sum(r["responsive"] for r in runs), sum(r["dozing"] for r in runs)
        out.append(f"| {label} | {med([r['wall'] for r in runs]):.3f} | {max(r['wall'] for r in runs):.3f} "
                   f"| {med([r['cpu'] for r in runs]):.3f} | {inproc} "
                   f"| {100 * resp / (30 * len(runs)):.1f}% ({min(r['responsive'] for r in runs)}/30) "
                   f"| {100 * doze / (2 * len(runs)):.0f}% ({doze}/{2 * len(runs)}) |")
    out += ["", "Wall time of every round, in run order:", ""]
    out += [f"- {label}: " + " ".join(format(r["wall"], ".2f") for r in runs) for label, runs in results.items()]
    out += ["", f"### In-process sweeps after the first of a process (as in the daemon), {args.rounds} rounds", "",
            "| presence scan_probe | median s | max s | recall responsive | recall dozing phones |", "|---|---|---|---|---|"]
    for label, runs in warm.items():
        out.append(f"| {label} | {med([r[0] for r in runs]):.3f} | {max(r[0] for r in runs):.3f} "
                   f"| {100 * sum(r[1] for r in runs) / (30 * len(runs)):.1f}% "
                   f"| {100 * sum(r[2] for r in runs) / (2 * len(runs)):.0f}% |")
    out += ["", "arp-scan and nmap have no watch list: they cannot be told \"these MACs are people's devices, "
            "ask them by unicast\", so a dozing phone is found only when one of their broadcast (re)tries "
            "happens to reach it.", "",
            f"### Arrival latency: {len(rows)} phones joining one after another (daemon exit {join_code})", "",
            "| phone | join() itself s | join -> `away -> home` log s | join -> first tick with is_home 1 s |",
            "|---|---|---|---|"]
    fmt = lambda x: "missed" if x is None else f"{x:.3f}"
    for k, row in enumerate(rows, 1):
        out.append(f"| arrival{k} | {row['join']:.3f} | {fmt(row['log'])} | {fmt(row['tick'])} |")
    for key in ("log", "tick"):
        got = [r[key] for r in rows if r[key] is not None]
        if got:
            out.append(f"\n{key}: median {med(got):.3f} s, max {max(got):.3f} s, missed {len(rows) - len(got)}")
    out += ["", f"### Daemon steady state: {args.duration} s at default intervals (daemon exit {steady['exit']})", "",
            f"- average CPU over {steady['window']:.0f} s after the first 5 s: {steady['cpu_pct']:.3f}% of one core",
            f"- average CPU over whole scan intervals, {steady['whole'][0]:.0f}-{steady['whole'][1]:.0f} s "
            f"(one sweep per 30 s exactly): {steady['cpu_pct_whole'] or 0:.3f}% of one core",
            f"- CPU over the whole run incl. start-up: {steady['cpu_total_s']:.2f} s",
            f"- peak RSS (VmHWM): {steady['hwm_mb']:.1f} MB; RSS at the end: {steady['rss_mb']:.1f} MB",
            f"- ticks sent: {steady['ticks']}; warnings/errors logged: {steady['problems'] or 'none'}"]
    return "\n".join(out) + "\n"
