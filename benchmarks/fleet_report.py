"""`report --homes` over a study of 1,000 homes x 28 days of 1-minute points, next to a pandas script.

    .venv/bin/python -m benchmarks.fleet_report [--homes 1000] [--days 28] [--render-url URL] [--output FILE]

Each home has 1 to 3 people (weekday and weekend schedules on Europe/Berlin's clock), an always-on load, a
fridge, each person's extra power while home and cooking from 18:00 to 20:00 whenever anyone is home; one
home in 100 has no meter and one in 100 is never empty (someone is always home). The whisper files (one
1-minute archive each) are written once, directly, into a cache under /var/tmp, and served by one Debian
graphite-web (Django's runserver, one process) on loopback, or by --render-url (a cluster's front). Each tool
runs as its own process: wall time and peak RSS of that process, graphite-web's CPU time while it ran.

The pandas script is what an analyst would otherwise write: one JSON render request a home (its presence
and its power), pandas for the figures of the study's summary (no per-person fit, no profiles), numpy for
the quartiles. It runs from the pandas venv of benchmarks/report_benchmark.py, when that exists.
"""

import argparse
import json
import math
import os
import random
import shutil
import struct
import sys
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = "/var/tmp/presence-bench"
PANDAS_PYTHON = os.path.join(os.path.expanduser("~/.cache/presence-bench"), "pandas-venv", "bin", "python")
TZ = ZoneInfo("Europe/Berlin")
PATTERN = "study.*"
POWER = "study.{home}.electricity.power"
RETENTION_DAYS = 120
FRIDGE_ON, FRIDGE_CYCLE = 17, 47
EVENING_W = 400.0


def _local(day, hours):
    """Epoch seconds of `hours` after local midnight of `day` (minutes), on the study's clock."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=TZ)
    return int(midnight.timestamp()) + int(hours * 60) * 60


def simulate(index, first_day, days, seed):
    """One home: {people: {key: is_home}, anyone, watts (None for no meter), truth}."""
    rng = random.Random(seed * 100_003 + index)
    start = _local(first_day, 0)
    count = (_local(first_day + timedelta(days=days), 0) - start) // 60
    always_on, fridge = rng.uniform(60, 250), rng.uniform(60, 120)
    never_empty, no_meter = index % 100 == 42, index % 100 == 77
    people = {}
    for person in range(rng.choice((1, 2, 2, 3))):
        home = [1.0] * count
        if not (never_empty and person == 0):
            for offset in range(days):
                day = first_day + timedelta(days=offset)
                if day.weekday() >= 5:
                    leave = rng.uniform(9, 15)
                    spans = [(leave, leave + rng.uniform(1, 5))]
                else:
                    spans = [(rng.uniform(6.5, 9.5), rng.uniform(15.5, 21))]
                for a, b in spans:
                    for minute in range((_local(day, a) - start) // 60, min(count, (_local(day, b) - start) // 60)):
                        home[minute] = 0.0
        people[f"p{person + 1}"] = (home, rng.uniform(80, 300))
    anyone = [float(any(values)) for values in zip(*(home for home, _ in people.values()))]
    watts = None
    if not no_meter:
        evening = [18 <= datetime.fromtimestamp(start + minute * 60, TZ).hour < 20 for minute in range(0, count, 60)]
        phase = rng.randrange(FRIDGE_CYCLE)
        watts = [round(always_on + (fridge if (minute + phase) % FRIDGE_CYCLE < FRIDGE_ON else 0.0)
                       + sum(extra * home[minute] for home, extra in people.values())
                       + EVENING_W * anyone[minute] * evening[minute // 60] + rng.uniform(-3, 3), 1)
                 for minute in range(count)]
    truth = {"always_on_w": always_on + fridge * FRIDGE_ON / FRIDGE_CYCLE, "people": len(people),
             "never_empty": never_empty, "no_meter": no_meter}
    return {"start": start, "people": {key: home for key, (home, _) in people.items()}, "anyone": anyone,
            "watts": watts, "truth": truth}


def write_wsp(path, start, values):
    """One whisper file of 1-minute points, written as whisper's first update_many would lay it out (which
    takes over a second for 40,000 points: it grows one bytes object a point)."""
    import whisper

    os.makedirs(os.path.dirname(path), exist_ok=True)
    whisper.create(path, [(60, RETENTION_DAYS * 1440)], xFilesFactor=0, aggregationMethod="average", sparse=True)
    offset = whisper.info(path)["archives"][0]["offset"]
    data = bytearray(12 * len(values))
    pack = struct.Struct("!Ld").pack_into
    for index, value in enumerate(values):
        pack(data, 12 * index, start + 60 * index, value)
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)


def study_files(homes, days, seed):
    """The study's whisper files and truth, cached: (folder, whisper dir, start, end, truth by home)."""
    folder = os.path.join(CACHE, f"fleet-{homes}h-{days}d-seed{seed}")
    meta_path = os.path.join(folder, "meta.json")
    if os.path.exists(meta_path):
        with open(meta_path) as handle:
            meta = json.load(handle)
        # Whisper answers only within its retention, counted back from now.
        if meta["start"] > time.time() - (RETENTION_DAYS - 7) * 86400:
            return folder, os.path.join(folder, "whisper"), meta["start"], meta["end"], meta["truth"]
        shutil.rmtree(folder)
    first_day = date.today() - timedelta(days=days + 1)
    whisper_dir = os.path.join(folder, "whisper")
    print(f"writing {homes} homes x {days} days of minutes into {folder} (once)", file=sys.stderr, flush=True)
    truth, began = {}, time.monotonic()
    for index in range(homes):
        home, name = simulate(index, first_day, days, seed), f"h{index:04d}"
        base = os.path.join(whisper_dir, "study", name)
        write_wsp(os.path.join(base, "presence", "anyone_home.wsp"), home["start"], home["anyone"])
        for key, values in home["people"].items():
            write_wsp(os.path.join(base, "presence", key, "is_home.wsp"), home["start"], values)
        if home["watts"] is not None:
            write_wsp(os.path.join(base, "electricity", "power.wsp"), home["start"], home["watts"])
        truth[name] = home["truth"]
        if index % 100 == 99:
            print(f"  {index + 1} homes, {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
    start = home["start"]
    end = start + len(home["anyone"]) * 60
    with open(meta_path, "w") as handle:
        json.dump({"start": start, "end": end, "truth": truth}, handle)
    return folder, whisper_dir, start, end, truth


def cpu_seconds(pids):
    """User + system CPU seconds of each process so far (none when they are not on this machine)."""
    found = []
    for pid in pids:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        found.append((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
    return found


def report_config(folder, render_url):
    """A config with which `report --homes` reads the study (its people: those of each home's series)."""
    path = os.path.join(folder, "people.yaml")
    with open(path, "w") as handle:
        handle.write(f"network: {{cidrs: [198.51.100.0/24]}}\ngraphite: {{render_url: '{render_url}'}}\n"
                     f"report: {{power: '{POWER}', timezone: {TZ}, timeout: 600}}\npeople:\n  - name: Nobody\n")
    return path


def ours(config, start, end, pids):
    """`report --homes --json` as its own process: wall, peak RSS, the servers' CPU, requests, the result."""
    import re

    from benchmarks.report_benchmark import timed

    before, load = cpu_seconds(pids), os.getloadavg()[0]
    wall, rss, out, err, _ = timed([sys.executable, "presence_to_graphite.py", "--config", config, "--log-level",
                                 "DEBUG", "report", "--homes", PATTERN, "--from", str(start), "--until", str(end),
                                 "--json"])
    match = re.search(r"(\d+) homes in (\d+) batch\(es\), (\d+) requests; [\d.]+ s in all, ([\d.]+) s analysing", err)
    return {"wall": wall, "rss": rss, "servers_cpu": _spent(pids, before), "load": (load, os.getloadavg()[0]),
            "batches": int(match.group(2)),
            "requests": int(match.group(3)), "analysing": float(match.group(4)), "result": json.loads(out)}


def theirs(url, start, end, pids):
    """The pandas script as its own process, from the pandas venv."""
    from benchmarks.report_benchmark import timed

    before, load = cpu_seconds(pids), os.getloadavg()[0]
    wall, rss, out, err, _ = timed([PANDAS_PYTHON, "benchmarks/fleet_report.py", "--pandas-baseline", "--render-url",
                                 url, "--from", str(start), "--until", str(end)])
    return {"wall": wall, "rss": rss, "servers_cpu": _spent(pids, before), "load": (load, os.getloadavg()[0]),
            "result": json.loads(out), "requests": json.loads(out)["requests"]}


def _spent(pids, before):
    return [after - earlier for after, earlier in zip(cpu_seconds(pids), before)]


def pandas_baseline(url, start, end):
    """The analyst's script: every home, one JSON request each, the summary's figures with pandas."""
    import numpy as np
    import pandas as pd
    import requests

    homes = requests.get(f"{url}/metrics/find", params={"query": PATTERN}, timeout=600).json()
    figures, sent = {"mean_empty_w": [], "idle_w": [], "empty_share_pct": [], "idle_share_pct": []}, 1
    empty_kwh = 0.0
    for node in homes:
        home = node["id"]
        answer = requests.get(f"{url}/render", timeout=600, params={
            "target": [f"{home}.presence.anyone_home", POWER.replace("{home}", home.split(".", 1)[1])],
            "from": start - 1, "until": end - 1, "format": "json"}).json()
        sent += 1
        frame = pd.DataFrame({("power" if series["target"].endswith(".power") else "anyone"):
                              pd.Series([v for v, _ in series["datapoints"]], dtype="float64",
                                        index=pd.to_datetime([t for _, t in series["datapoints"]], unit="s", utc=True))
                              for series in answer})
        if "power" not in frame or "anyone" not in frame:
            continue
        known = frame.dropna()
        empty = 1 - known["anyone"]
        empty_h = empty.sum() / 60
        hourly = frame["power"].resample("1h").agg(["mean", "count"])
        hourly = hourly[hourly["count"] >= 54]["mean"]
        if empty_h < 1 or hourly.empty:
            continue
        idle = hourly.quantile(0.05)
        total_wh = frame["power"].sum() / 60
        home_empty_wh = (known["power"] * empty).sum() / 60
        figures["mean_empty_w"].append(home_empty_wh / empty_h)
        figures["idle_w"].append(idle)
        figures["empty_share_pct"].append(100 * home_empty_wh / (known["power"].sum() / 60))
        figures["idle_share_pct"].append(100 * idle * frame["power"].count() / 60 / total_wh)
        empty_kwh += home_empty_wh / 1000
    summary = {key: dict(zip(("q1", "median", "q3"), np.percentile(values, [25, 50, 75]).tolist()))
               for key, values in figures.items()}
    print(json.dumps({"homes": len(figures["idle_w"]), "requests": sent, "empty_kwh": empty_kwh, **summary}))


def _median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def agreement(result, truth):
    """How far each home's always-on load and nobody-home mean lie from the simulated always-on load."""
    errors = {"idle_w": [], "mean_empty_w": []}
    for entry in result["homes"]:
        if entry["status"] == "ok":
            known = truth[entry["home"]]["always_on_w"]
            errors["idle_w"].append(entry["idle"]["idle_w"] - known)
            errors["mean_empty_w"].append(entry["energy"]["mean_empty_w"] - known)
    return {key: (_median(values), _median([abs(value) for value in values])) for key, values in errors.items()}


def machine():
    """CPUs, memory, Python."""
    import platform

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    memory = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    return f"{os.cpu_count()} vCPUs ({cpu}), {memory / 2 ** 20:.0f} GB, Python {platform.python_version()}"


def main():
    """Write (once) and serve the study, time both tools, print Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homes", type=int, default=1000)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--render-url", help="read this render API (e.g. a cluster's front) instead of starting "
                                             "a graphite-web on the cached files (which it must serve)")
    parser.add_argument("--no-pandas", action="store_true", help="leave out the pandas script")
    parser.add_argument("--output")
    parser.add_argument("--pandas-baseline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--from", dest="start", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--until", dest="end", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pandas_baseline:
        return pandas_baseline(args.render_url, args.start, args.end)
    sys.path.insert(0, ROOT)
    from benchmarks.report_benchmark import graphite_web_version
    from testbed.carbon import Carbon
    from testbed.graphite_web import GraphiteWeb

    folder, whisper_dir, start, end, truth = study_files(args.homes, args.days, args.seed)
    carbon = web = None
    try:
        if not args.render_url:
            # graphite-web asks its carbon-cache for points not yet written, as it would beside a real one.
            carbon = Carbon(os.path.join(folder, "carbon")).start()
            web = GraphiteWeb(os.path.join(folder, "web"), whisper_dir, carbon.cache_port).start()
        url, pids = (args.render_url, ()) if args.render_url else (web.url, (web.proc.pid, carbon.proc.pid))
        config = report_config(folder, url)
        runs = {"presence report --homes --json": ours(config, start, end, pids)}
        if not args.no_pandas and os.path.exists(PANDAS_PYTHON):
            runs["pandas script (one JSON request a home)"] = theirs(url, start, end, pids)
    finally:
        for server in (web, carbon):
            if server:
                server.stop()
    text = markdown(args, runs, truth, url if args.render_url else f"graphite-web {graphite_web_version()} "
                                                                 "(Django runserver, one process) on loopback")
    print(text)
    if args.output:
        with open(args.output, "w") as handle:
            handle.write(text + "\n")


def markdown(args, runs, truth, server):
    """The results as the Markdown of docs/performance.md."""
    ours_ = runs["presence report --homes --json"]
    summary = ours_["result"]["summary"]
    rows = [f"{args.homes} homes x {args.days} days of 1-minute points (1 to 3 people each: "
            f"{sum(t['people'] for t in truth.values()) + 2 * len(truth):,} series), {server}; {machine()}", "",
            "| tool | wall time | peak RSS | graphite-web CPU | carbon-cache CPU | HTTP requests | load average |",
            "|---|---|---|---|---|---|---|"]
    for name, run in runs.items():
        cpu = " | ".join(f"{spent:.1f} s" for spent in run["servers_cpu"]) or "not measured | not measured"
        rows.append(f"| {name} | {run['wall']:.1f} s | {run['rss']:.0f} MB | {cpu} | {run['requests']:,} | "
                    f"{run['load'][0]:.1f}, then {run['load'][1]:.1f} |")
    homes = summary["homes"]
    idle, empty = summary["distribution"]["idle_w"], summary["distribution"]["mean_empty_w"]
    errors = agreement(ours_["result"], truth)
    interval = empty["median_interval"]
    rows += ["", f"presence: {homes['with_enough_data']} of {homes['listed']} homes with enough data "
                 f"({homes['too_little_data']} too little, {homes['unreadable']} unreadable) in {ours_['batches']} "
                 f"batches; {ours_['analysing']:.1f} s of the wall time analysing. Nobody-home mean power: median "
                 f"{empty['median']:.1f} W (95 % interval {interval['low']:.1f} to {interval['high']:.1f} W), "
                 f"always-on load: median {idle['median']:.1f} W; against each home's simulated always-on load "
                 f"(its base and its fridge's average): always-on load off by {errors['idle_w'][0]:+.1f} W "
                 f"(median; median absolute {errors['idle_w'][1]:.1f} W), nobody-home mean by "
                 f"{errors['mean_empty_w'][0]:+.1f} W (median absolute {errors['mean_empty_w'][1]:.1f} W)"]
    if len(runs) > 1:
        pandas = next(run for name, run in runs.items() if name.startswith("pandas"))["result"]
        rows.append(f"pandas: {pandas['homes']} homes; nobody-home mean power: median "
                    f"{pandas['mean_empty_w']['median']:.1f} W, always-on load: median "
                    f"{pandas['idle_w']['median']:.1f} W")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
