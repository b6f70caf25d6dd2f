"""How long `report` takes for a year of minutes for six people, next to a pandas script doing the same.

Whisper files of the synthetic household (testbed/synthetic_household.py: a year at 1-minute points,
six people, power in watts) are written once into a cache folder and served by Debian's graphite-web
on loopback. Each tool runs as its own process, `--rounds` times; wall time and peak RSS are taken
from the process, the split between fetching and analysing from its own log.

    .venv/bin/python -m benchmarks.report_benchmark [--days 365] [--rounds 3] [--output results.md]
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta

from testbed import synthetic_household as home
from testbed.carbon import free_port
from testbed.graphite_web import GraphiteWeb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.expanduser("~/.cache/presence-bench")
PANDAS_PYTHON = os.path.join(CACHE, "pandas-venv", "bin", "python")


def whisper_files(days):
    """The household's year in whisper files, cached by its first day (whisper keeps 400 days)."""
    first_day = datetime.now(home.TZ).date() - timedelta(days=days + 1)
    folder = os.path.join(CACHE, f"report-{first_day}-{days}d")
    done = os.path.join(folder, ".complete")
    start, is_home, anyone, watts = home.household(first_day, days)
    if not os.path.exists(done):
        print(f"writing {days} days of minutes into {folder} (once)", file=sys.stderr, flush=True)
        home.write_household(folder, start, is_home, anyone, watts)
        # Only the pandas script reads count_home; report sums the people.
        home.write_series(folder, f"{home.PREFIX}.count_home", start, 60, [sum(v) for v in zip(*is_home.values())])
        open(done, "w").close()
    return folder, start, start + len(watts) * 60


def timed(argv):
    """Run `argv`; return (wall s, peak RSS MB of that process, stdout, stderr)."""
    began = time.monotonic()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    streams = {}
    readers = [threading.Thread(target=lambda name=name, pipe=pipe: streams.__setitem__(name, pipe.read()))
               for name, pipe in (("out", proc.stdout), ("err", proc.stderr))]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - began
    for reader in readers:
        reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{argv[:3]} failed with {proc.returncode}: {streams['err'][-2000:]}")
    return wall, usage.ru_maxrss / 1024, streams["out"], streams["err"]


def ours(config, start, end, png=None):
    argv = [sys.executable, "presence_to_graphite.py", "--config", config, "--log-level", "DEBUG", "report",
            "--from", str(start), "--until", str(end), "--json"] + (["--png", png] if png else [])
    wall, rss, out, err = timed(argv)
    match = re.search(r"fetched \d+ series \((\d+) points\) in ([\d.]+) s; analysed in ([\d.]+) s", err)
    return {"wall": wall, "rss": rss, "fetch": float(match.group(2)), "analysis": float(match.group(3)),
            "points": int(match.group(1)), "result": json.loads(out)}


def pandas(url, start, end):
    argv = [PANDAS_PYTHON, "benchmarks/report_pandas_baseline.py", "--render-url", url, "--prefix", home.PREFIX,
            "--people", ",".join(home.PEOPLE), "--power", home.POWER, "--from", str(start - 1),
            "--until", str(end - 1), "--tz", str(home.TZ)]
    wall, rss, out, err = timed(argv)
    fetch = float(re.search(r"fetch ([\d.]+)", err).group(1))
    analysis = float(re.search(r"analysis ([\d.]+)", err).group(1))
    return {"wall": wall, "rss": rss, "fetch": fetch, "analysis": analysis, "result": json.loads(out)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output")
    args = parser.parse_args()
    whisper_dir, start, end = whisper_files(args.days)
    folder = os.path.join(CACHE, "report-run")
    os.makedirs(folder, exist_ok=True)
    web = GraphiteWeb(os.path.join(folder, "web"), whisper_dir, free_port()).start()
    try:
        config = home.write_report_config(os.path.join(folder, "people.yaml"), web.url)
        runs = {"presence report --json": [], "presence report --json --png": [], "pandas script": []}
        for _ in range(args.rounds):
            runs["presence report --json"].append(ours(config, start, end))
            runs["presence report --json --png"].append(ours(config, start, end, os.path.join(folder, "r.png")))
            if os.path.exists(PANDAS_PYTHON):
                runs["pandas script"].append(pandas(web.url, start, end))
        formats = {fmt: statistics.median(one_request(web.url, fmt, start, end) for _ in range(args.rounds))
                   for fmt in ("json", "raw")}
    finally:
        web.stop()
    rows = [f"{args.days} days of 1-minute points, {len(home.PEOPLE)} people, graphite-web {graphite_web_version()} "
            f"(Django runserver) on loopback; median of {args.rounds} runs, each a fresh process",
            "", "| tool | wall time | fetch | analysis | peak RSS |", "|---|---|---|---|---|"]
    for name, results in runs.items():
        if not results:
            rows.append(f"| {name} | not run: no {PANDAS_PYTHON} | | | |")
            continue
        med = {key: statistics.median(r[key] for r in results) for key in ("wall", "fetch", "analysis")}
        rss = max(r["rss"] for r in results)
        rows.append(f"| {name} | {med['wall']:.2f} s | {med['fetch']:.2f} s | {med['analysis']:.2f} s | "
                    f"{rss:.0f} MB |")
    rows += ["", agreement(runs), "",
             f"One render request for the whole period of the power series ({args.days * 1440:,} points), "
             f"sent and read: "
             f"format=json {formats['json']:.2f} s, format=raw {formats['raw']:.2f} s"]
    text = "\n".join(rows)
    print(text)
    if args.output:
        with open(args.output, "w") as handle:
            handle.write(text + "\n")


def one_request(url, fmt, start, end):
    import requests

    began = time.monotonic()
    answer = requests.get(f"{url}/render", params={"target": home.POWER, "from": start - 1, "until": end - 1,
                                                   "format": fmt}, timeout=120)
    if fmt == "json":
        answer.json()
    else:
        answer.text.split(",")
    return time.monotonic() - began


def agreement(runs):
    ours_ = runs["presence report --json"][0]["result"]
    line = (f"presence: {ours_['energy']['total_kwh']:.1f} kWh in total, {ours_['energy']['empty_kwh']:.1f} kWh "
            f"while empty, idle {ours_['idle']['idle_w']:.1f} W, nick "
            f"{ours_['people'][0]['extra_w']:+.1f} ± {ours_['people'][0]['plus_minus_w']:.1f} W "
            f"(truth: idle {home.ALWAYS_ON_W:.1f} W always on, nick +{home.NICK_W:.0f} W)")
    if runs["pandas script"]:
        theirs = runs["pandas script"][0]["result"]
        line += (f"; pandas: {theirs['total_kwh']:.1f} kWh, {theirs['empty_kwh']:.1f} kWh while empty, "
                 f"idle {theirs['idle_w']:.1f} W, nick {theirs['people']['nick']['extra_w']:+.1f} W")
    return line


def graphite_web_version():
    try:
        return subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "graphite-web"], capture_output=True,
                              text=True).stdout or "?"
    except OSError:
        return "?"


if __name__ == "__main__":
    main()
