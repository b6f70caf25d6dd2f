"""How long `report` takes for a year of minutes for six people, next to a pandas script doing the same.

Whisper files of the synthetic household (testbed/synthetic_household.py: a year at 1-minute points,
six people, power in watts) are written once into a cache folder and served by Debian's graphite-web
on loopback. Each tool runs as its own process, `--rounds` times; wall time and peak RSS are taken
from the process, the split between fetching and analysing from its own log. Both print the figures of
issue 26 (intervals by a day bootstrap, waste, hour of week, money), compared in a table when ours has them.

`--profile` also splits our wall time (start-up, fetch, analysis, output) and times the raw render requests
alone (one series; the eight report asks for, in parallel): the floor graphite-web sets.

    .venv/bin/python -m benchmarks.report_benchmark [--days 365] [--rounds 3] [--output results.md] [--profile]
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
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from urllib.parse import urlencode

from testbed import synthetic_household as home
from testbed.carbon import free_port
from testbed.graphite_web import GraphiteWeb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.expanduser("~/.cache/presence-bench")
PANDAS_PYTHON = os.path.join(CACHE, "pandas-venv", "bin", "python")
PRICE = 0.32
JSON, PRICED, PNG, PANDAS = ("presence report --json", f"presence report --json --price {PRICE}",
                             "presence report --json --png", "pandas script")


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
    """Run `argv`; return (wall s, peak RSS MB of that process, stdout, stderr, (epoch s it was started, its CPU s))."""
    launched, began = time.time(), time.monotonic()
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
    return wall, usage.ru_maxrss / 1024, streams["out"], streams["err"], (launched, usage.ru_utime + usage.ru_stime)


def ours(config, start, end, png=None, price=None):
    """One `report --json` run: wall, peak RSS, the fetch/analysis split of its log, its figures."""
    argv = [sys.executable, "presence_to_graphite.py", "--config", config, "--log-level", "DEBUG", "report",
            "--from", str(start), "--until", str(end), "--json"] + (["--png", png] if png else []) \
        + (["--price", str(price)] if price else [])
    wall, rss, out, err, (launched, cpu) = timed(argv)
    match = re.search(r"^(\S+ \S+) DEBUG .*fetched \d+ series \((\d+) points\) in ([\d.]+) s; "
                      r"analysed in ([\d.]+) s", err, re.M)
    fetch, analysis = float(match.group(3)), float(match.group(4))
    # the log's clock (ms) says when the analysis ended: what came before the fetch is start-up
    logged = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp() - launched
    return {"wall": wall, "rss": rss, "fetch": fetch, "analysis": analysis, "points": int(match.group(2)),
            "startup": logged - fetch - analysis, "output": wall - logged, "cpu": cpu, "result": json.loads(out)}


def knows_price():
    """Whether this version's `report` takes --price."""
    return "--price" in subprocess.run([sys.executable, "presence_to_graphite.py", "report", "--help"], cwd=ROOT,
                                       capture_output=True, text=True).stdout


def pandas(url, start, end):
    """One run of the pandas script (asked for money too): wall, peak RSS, its own split, its figures."""
    argv = [PANDAS_PYTHON, "benchmarks/report_pandas_baseline.py", "--render-url", url, "--prefix", home.PREFIX,
            "--people", ",".join(home.PEOPLE), "--power", home.POWER, "--from", str(start - 1),
            "--until", str(end - 1), "--tz", str(home.TZ), "--price", str(PRICE)]
    wall, rss, out, err, _ = timed(argv)
    fetch = float(re.search(r"fetch ([\d.]+)", err).group(1))
    analysis = float(re.search(r"analysis ([\d.]+)", err).group(1))
    return {"wall": wall, "rss": rss, "fetch": fetch, "analysis": analysis, "result": json.loads(out)}


def main():
    """Write the household once, serve it, run each tool `--rounds` times, print the tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output")
    parser.add_argument("--profile", action="store_true", help="where our wall time goes, and graphite-web's floor")
    parser.add_argument("--workers", type=int, help="serve graphite-web with Debian's gunicorn and this many worker "
                                                    "processes, as it is deployed (default: Django's runserver)")
    args = parser.parse_args()
    whisper_dir, start, end = whisper_files(args.days)
    folder = os.path.join(CACHE, "report-run")
    os.makedirs(folder, exist_ok=True)
    priced = knows_price()
    web = GraphiteWeb(os.path.join(folder, "web"), whisper_dir, free_port(), workers=args.workers).start()
    try:
        config = home.write_report_config(os.path.join(folder, "people.yaml"), web.url)
        runs = {JSON: [], PRICED: [], PNG: [], PANDAS: []}
        for _ in range(args.rounds):
            runs[JSON].append(ours(config, start, end))
            if priced:
                runs[PRICED].append(ours(config, start, end, price=PRICE))
            runs[PNG].append(ours(config, start, end, os.path.join(folder, "r.png")))
            if os.path.exists(PANDAS_PYTHON):
                runs[PANDAS].append(pandas(web.url, start, end))
        formats = {fmt: statistics.median(one_request(web.url, fmt, start, end) for _ in range(args.rounds))
                   for fmt in ("json", "raw")}
        floor = raw_floor(web.url, start, end, args.rounds, web.proc.pid) if args.profile else None
    finally:
        web.stop()
    rows = [f"{args.days} days of 1-minute points, {len(home.PEOPLE)} people, graphite-web {graphite_web_version()} "
            f"({f'gunicorn, {args.workers} worker processes' if args.workers else 'Django runserver'}) on loopback; median "
            f"of {args.rounds} runs, each a fresh process",
            "", "| tool | wall time | fetch | analysis | peak RSS |", "|---|---|---|---|---|"]
    for name, results in runs.items():
        if not results:
            why = "this version's report has no --price" if name == PRICED else f"no {PANDAS_PYTHON}"
            rows.append(f"| {name} | not run: {why} | | | |")
            continue
        med = {key: statistics.median(r[key] for r in results) for key in ("wall", "fetch", "analysis")}
        rss = max(r["rss"] for r in results)
        rows.append(f"| {name} | {med['wall']:.2f} s | {med['fetch']:.2f} s | {med['analysis']:.2f} s | "
                    f"{rss:.0f} MB |")
    rows += ["", agreement(runs), "", *new_figures(runs), "",
             f"One render request for the whole period of the power series ({args.days * 1440:,} points), "
             f"sent and read: "
             f"format=json {formats['json']:.2f} s, format=raw {formats['raw']:.2f} s"]
    if floor:
        rows += ["", *profile(runs[JSON], floor, args.days)]
    text = "\n".join(rows)
    print(text)
    if args.output:
        with open(args.output, "w") as handle:
            handle.write(text + "\n")


def one_request(url, fmt, start, end):
    """Seconds to send one render request for the power series in `fmt`, read and parse its answer."""
    import requests

    began = time.monotonic()
    answer = requests.get(f"{url}/render", params={"target": home.POWER, "from": start - 1, "until": end - 1,
                                                   "format": fmt}, timeout=120)
    if fmt == "json":
        answer.json()
    else:
        answer.text.split(",")
    return time.monotonic() - began


def cpu_seconds(pid):
    """The user and system CPU seconds process `pid` and its children (gunicorn's workers) have used so far."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            children = [int(child) for child in handle.read().split()]
    except OSError:
        children = []
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") + sum(map(cpu_seconds, children))


def raw_floor(url, start, end, rounds, server):
    """graphite-web alone, as report asks it (format=raw, a thread a series; urllib, answers read, not parsed):
    median seconds for the power series alone, for all eight at once (and the CPU seconds of graphite-web's
    process `server` meanwhile) and one after the other; their bytes."""
    targets = [home.POWER, f"{home.PREFIX}.anyone_home"] + [f"{home.PREFIX}.{p}.is_home" for p in home.PEOPLE]

    def get(target):
        query = urlencode({"target": target, "from": start - 1, "until": end - 1, "format": "raw"})
        began = time.monotonic()
        with urllib.request.urlopen(f"{url}/render?{query}", timeout=120) as answer:
            size = len(answer.read())
        return time.monotonic() - began, size

    one = statistics.median(get(home.POWER)[0] for _ in range(rounds))
    in_turn = statistics.median(sum(get(target)[0] for target in targets) for _ in range(rounds))
    measured = []
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        for _ in range(rounds):
            began, used = time.monotonic(), cpu_seconds(server)
            answers = list(pool.map(get, targets))
            measured.append({"all": time.monotonic() - began, "cpu": cpu_seconds(server) - used,
                             "fastest": min(t for t, _ in answers), "slowest": max(t for t, _ in answers)})
    return {"one": one, "in_turn": in_turn, "series": len(targets), "bytes": sum(n for _, n in answers),
            **{key: statistics.median(m[key] for m in measured) for key in measured[0]}}


def profile(results, floor, days):
    """Where `report --json`'s wall time goes, next to what graphite-web alone takes."""
    med = {key: statistics.median(r[key] for r in results)
           for key in ("wall", "startup", "fetch", "analysis", "output", "cpu")}
    return [f"Where {JSON}'s wall time goes (median of {len(results)}; start-up and output from its log's clock): "
            f"start-up (interpreter, imports, config) {med['startup']:.2f} s, fetch {med['fetch']:.2f} s, "
            f"analysis {med['analysis']:.2f} s, output and exit {med['output']:.2f} s; wall {med['wall']:.2f} s, "
            f"CPU (user and system, all threads) {med['cpu']:.2f} s",
            "",
            f"graphite-web's floor, the raw render requests alone ({days * 1440:,} points a series; urllib, sent "
            f"and read, not parsed): one series {floor['one']:.2f} s; the {floor['series']} report asks for, in "
            f"parallel from a pool of {floor['series']} threads, {floor['all']:.2f} s (each {floor['fastest']:.2f} "
            f"to {floor['slowest']:.2f} s; {floor['bytes'] / 1e6:.0f} MB; graphite-web's process used "
            f"{floor['cpu']:.2f} s of CPU for them); one after the other {floor['in_turn']:.2f} s"]


def agreement(runs):
    """Both tools' answers to the figures that exist since issue 23, and the household's truth."""
    ours_ = runs[JSON][0]["result"]
    line = (f"presence: {ours_['energy']['total_kwh']:.1f} kWh in total, {ours_['energy']['empty_kwh']:.1f} kWh "
            f"while empty, idle {ours_['idle']['idle_w']:.1f} W, nick "
            f"{ours_['people'][0]['extra_w']:+.1f} ± {ours_['people'][0]['plus_minus_w']:.1f} W "
            f"(truth: idle {home.ALWAYS_ON_W:.1f} W always on, nick +{home.NICK_W:.0f} W)")
    if runs[PANDAS]:
        theirs = runs[PANDAS][0]["result"]
        line += (f"; pandas: {theirs['total_kwh']:.1f} kWh, {theirs['empty_kwh']:.1f} kWh while empty, "
                 f"idle {theirs['idle_w']:.1f} W, nick {theirs['people']['nick']['extra_w']:+.1f} W")
    return line


def _watts(block, key):
    """`152.6 W (152.4 to 152.7)`: a figure and its 95 % interval, as far as they are known."""
    if block.get(key) is None:
        return "unknown"
    low, high = block.get("low_w"), block.get("high_w")
    return f"{block[key]:.1f} W" + (f" ({low:.1f} to {high:.1f})" if low is not None and high is not None else "")


def _money(block):
    if block.get("cost_per_year") is None:
        return "unknown"
    low, high = block.get("cost_per_year_low"), block.get("cost_per_year_high")
    return f"{block['cost_per_year']:.2f}" + (f" ({low:.2f} to {high:.2f})" if low is not None and high is not None
                                             else "")


def figures(result):
    """{figure: text} of the issue 26 figures in a report's or the pandas script's JSON; None without them."""
    if not result or not isinstance(result.get("nobody_home"), dict):
        return None
    waste = result.get("waste") or {}
    hours = [r for r in result.get("hour_of_week") or [] if r.get("nobody_home_mean_w") is not None]
    top = max(hours, key=lambda r: r["nobody_home_mean_w"], default=None)
    day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    return {"nobody-home mean": _watts(result["nobody_home"], "mean_w"),
            "always-on": _watts(result.get("always_on") or {}, "w"),
            "waste periods": (f"{waste['count']}, {waste['kwh']:.2f} kWh above always-on"
                              if waste.get("count") is not None and waste.get("kwh") is not None else "unknown"),
            "largest hour-of-week mean": (f"{top['nobody_home_mean_w']:.1f} W ({day[top['day']]} {top['hour']:02d}:00, "
                                          f"{top['nobody_home_h']:.2f} h nobody home)" if top else "unknown"),
            "weeks, changes found": f"{len(result.get('weeks') or [])}, {len(result.get('changes') or [])}",
            f"nobody-home a year at {PRICE}/kWh": _money(result["nobody_home"]),
            f"always-on a year at {PRICE}/kWh": _money(result.get("always_on") or {})}


def new_figures(runs):
    """The figures of issue 26, ours next to the pandas script's ("not in this version" while ours has none)."""
    ours_ = figures(runs[JSON][0]["result"])
    priced = figures(runs[PRICED][0]["result"]) if runs[PRICED] else None
    theirs = figures(runs[PANDAS][0]["result"]) if runs[PANDAS] else None
    mean = f"{home.ALWAYS_ON_W:.1f} W on average (idle and fridge)"
    truth = {"nobody-home mean": mean, "always-on": mean,
             "waste periods": "0 (nobody home is at most 210 W)", "weeks, changes found": "no change"}
    rows = ["| figure | presence report | pandas script | truth |", "|---|---|---|---|"]
    for name in figures({"nobody_home": {}}):
        mine = (priced or {}).get(name) if "a year at" in name else (ours_ or {}).get(name)
        if mine is None:
            mine = "not in this version" if ours_ is None else "not run: no --price" if not priced else "unknown"
        rows.append(f"| {name} | {mine} | {(theirs or {}).get(name, 'not run')} | {truth.get(name, '')} |")
    return rows


def graphite_web_version():
    """The installed graphite-web package's version (Debian's), or "?"."""
    try:
        return subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "graphite-web"], capture_output=True,
                              text=True).stdout or "?"
    except OSError:
        return "?"


if __name__ == "__main__":
    main()
