"""`suggest` over 28 days of a 200-device household, and what keeping the history costs the daemon; in-process.

    .venv/bin/python -m benchmarks.history_benchmark [--rounds 5] [--hours 1] [--baseline COMMIT]

A synthetic household (6 people, 200 devices) is written through `journal.append` a day at a time, and
`journal.read` + `suggest` are timed as the command runs them. Then an evening hour of it as the daemon sees it
(sweeps every 30 s, ticks every 5 s, Home Assistant polls every 300 s), through this tree's state machine and
`HistoryWriter` and through the state machine and state file of COMMIT, from before the history. Every
measurement runs in a fresh process. It prints Markdown and asserts nothing.
"""

import argparse
import bisect
import itertools
import multiprocessing
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

from benchmarks.baseline import module_at
from benchmarks.history_household import CIDR, DAY, HOUR, MIN, NOW, PEOPLE, household
from presence.observations import DeviceSighting, EntityReading, NetworkHealth, SourceReport

# The rest of presence is imported where it is used: each measuring process loads what its variant runs only.
BASELINE = "453339f"
WARM_UP = 15 * MIN
def write_journal(folder, records):
    """Append the closed records a day at a time, as the daemon's writes add up to; return those still open at NOW
    (the command reads them from the state: its `extra`)."""
    from presence.history import journal

    closed = sorted((record for record in records if record["end"] < NOW), key=lambda record: record["end"])
    for _, day in itertools.groupby(closed, key=lambda record: record["end"] // DAY):
        journal.append(folder, list(day))
    return [record for record in records if record["end"] >= NOW]


def time_suggest(folder, raw, extra, rounds):
    """In a fresh process: `journal.read` of 28 days and `suggest`, as the command runs them, `rounds` times."""
    from presence.config.load import parse_config
    from presence.history import journal
    from presence.history.suggest import suggest

    config, runs, imported = parse_config(raw), [], peak_rss()
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        history = journal.read(folder, NOW - 28 * DAY, NOW, extra=extra)
        read = time.perf_counter() - wall, time.process_time() - cpu
        found = suggest(history, config, NOW)
        runs.append((*read, time.perf_counter() - wall, time.process_time() - cpu))
    return {"runs": runs, "imported": imported, "peak": peak_rss(), "found": [(s.mac, s.person) for s in found]}


def present(spans, at):
    i = bisect.bisect_right(spans, (at, float("inf"))) - 1
    return i >= 0 and spans[i][0] <= at <= spans[i][1]


def hour_script(devices, ha_home, seed, begin, end):
    """(at, report or None for a tick), in order: sweeps (people's devices miss one in 7, dozing), polls, ticks.
    Before them, each device away at `begin` is seen once when it was last there, so the state knows every device
    seen in the 28 days, as the daemon's does."""
    rng, health = random.Random(seed), (NetworkHealth(CIDR, True),)
    last = sorted((d["spans"][i - 1][1], mac, d) for mac, d in devices.items()
                  if (i := bisect.bisect_left(d["spans"], (begin,))) and not present(d["spans"], begin))
    events = [(at, SourceReport("wifi", at, True, networks=health, sightings=(DeviceSighting(
        mac, d["ip"], at, hostname=d["hostname"], personal=d["personal"]),))) for at, mac, d in last]
    for at in (begin + 30 * k + 0.4 for k in range(int((end - begin) // 30))):
        seen = tuple(DeviceSighting(mac, d["ip"], at, hostname=d["hostname"], personal=d["personal"])
                     for mac, d in devices.items()
                     if present(d["spans"], at) and not (d["owner"] and rng.random() < 1 / 7))
        events.append((at, SourceReport("wifi", at, True, sightings=seen, networks=health)))
    for at in (begin + 300 * k + 1 for k in range(int((end - begin) // 300))):
        readings = tuple(EntityReading(f"person.{key}", "home" if present(spans, at) else "not_home",
                                       present(spans, at), at) for key, spans in ha_home.items())
        events.append((at, SourceReport("homeassistant", at, True, readings=readings)))
    events += [(begin + 5 * k, None) for k in range(1, int((end - begin) // 5) + 1)]
    return sorted(events, key=lambda event: (event[0], event[1] is None))


def before_modules(commit):
    """The state records, state machine and state file of `commit`: its machine and file on its own records."""
    import presence.state.model as today

    sys.modules["presence.state.model"] = model = module_at(commit, "presence/state/model.py")
    try:
        return model, module_at(commit, "presence/state/machine.py"), module_at(commit, "presence/state/file.py")
    finally:
        sys.modules["presence.state.model"] = today


def run_daemon(variant, raw, script, measure_from, commit, traced=False):
    """In a fresh process, the loop's work on `script`: ingest each report; on each tick evaluate, write the history
    (this tree), save the state file when it changed. CPU by part and bytes after `measure_from`; RSS; with
    `traced`, the peak of Python's heap during the run (tracemalloc: slower, so not timed)."""
    from presence.config.load import parse_config

    if variant == "before":
        model, machine, files = before_modules(commit)
    else:
        from presence.outputs.history.writer import HistoryWriter
        from presence.state import file as files, machine, model
        from presence.state.vanished import vanished_devices
    config, state, saved, got = parse_config(raw), model.State(), None, {"saved": 0, "closed": 0}
    cpu, clock, measuring = dict.fromkeys(("state machine", "history", "state file"), 0.0), [0.0], False

    def lap(part):
        cpu[part] += (time.process_time() - clock[0]) * measuring
        clock[0] = time.process_time()

    with tempfile.TemporaryDirectory() as folder:
        path, journal = os.path.join(folder, "state.json"), os.path.join(folder, "history")
        writer = HistoryWriter(journal, script[0][0]) if variant == "after" else None
        ready = peak_rss()
        if traced:
            tracemalloc.start()
        for at, report in script:
            if at >= measure_from and not measuring:
                measuring, began, journal_before = True, time.process_time(), folder_bytes(journal)
            clock[0] = time.process_time()
            if report:
                state = machine.ingest(state, report, config)[0]
                lap("state machine")
                continue
            state = machine.evaluate(state, config, at)[0]
            lap("state machine")
            if writer:  # as Daemon.decide and Daemon._say_vanished
                got["closed"] += len(state.history_out) * measuring
                writer.write(list(state.history_out), at)
                state = replace(state, history_out=())
                vanished_devices(state, config, at)
                lap("history")
            current = files.state_to_dict(state, 0) | {"saved_at": 0}
            if current != saved:  # as Daemon.save
                files.save_state(path, state, at)
                saved = current
                got["saved"] += os.path.getsize(path) * measuring
            lap("state file")
        return got | {"cpu": cpu, "total": time.process_time() - began, "state size": os.path.getsize(path),
                      "journal": folder_bytes(journal) - journal_before, "peak": peak_rss(), "ready": ready,
                      "heap": tracemalloc.get_traced_memory()[1] / 2 ** 20}


def folder_bytes(folder):
    return sum(entry.stat().st_size for entry in os.scandir(folder)) if os.path.isdir(folder) else 0


def peak_rss():
    """This process's peak RSS in MB: VmHWM, not ru_maxrss (which a spawned process inherits from its parent)."""
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def in_fresh_process(function, *args):
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    return (f"{len(os.sched_getaffinity(0))} CPUs ({cpu}), kernel {platform.release()}, "
            f"Python {platform.python_version()}")


def tally(found, devices):
    """Of each kind of unmapped device, how many `suggest` named its owner, and how many someone else."""
    named, groups = dict(found), {}
    for mac, device in (item for item in devices.items() if not item[1]["mapped"]):
        row = groups.setdefault(f"people's, along {device['share']:.0%} of the time" if device["owner"] else
                                device["what"], [0, 0, 0])
        who, row[0] = named.get(mac), row[0] + 1
        row[1 + (who != device["owner"])] += who is not None
    return "; ".join(f"{group}: {right} of {count} rightly, {wrong} wrongly"
                     for group, (count, right, wrong) in sorted(groups.items()))


def suggest_lines(args, records, extra, sizes, timed, devices):
    total, med, runs = sum(sizes), statistics.median, list(zip(*timed["runs"]))  # read wall, CPU; both wall, CPU
    steps = {"`journal.read` of 28 days": runs[:2], "`suggest` (the scoring)": [
        [b - a for a, b in zip(runs[i], runs[i + 2])] for i in (0, 1)], "both, as the command runs them": runs[2:]}
    return [f"### `suggest` over 28 days: {len(devices)} devices, {len(PEOPLE)} people "
            f"({sum(v[0] for v in PEOPLE.values())} in Home Assistant)", "",
            f"The history: {len(records):,} records ({len(extra)} still open at the end, passed as the command passes "
            f"them), {len(sizes)} day files, **{total:,} bytes** on disk: {total / 28 / 1000:.0f} kB a day, "
            f"{total / 28 / 24:,.0f} bytes an hour; the largest day {max(sizes):,} bytes.",
            "", f"| step | wall s, median of {args.rounds} (min-max) | CPU s, median |", "|---|---:|---:|"] + [
        f"| {step} | {med(wall):.3f} ({min(wall):.3f}-{max(wall):.3f}) | {med(cpu):.3f} |"
        for step, (wall, cpu) in steps.items()] + [
        "", f"Peak RSS of that process: **{timed['peak']:.1f} MB** ({timed['imported']:.1f} MB after its imports).",
        "", f"Named at the default threshold, of the unmapped devices: {tally(timed['found'], devices)}."]


def medians(runs):
    figures = {key: statistics.median(run[key] for run in runs) for key in runs[0] if key != "cpu"}
    return figures | {f"cpu {part}": statistics.median(run["cpu"][part] for run in runs) for part in runs[0]["cpu"]}


def daemon_lines(args, runs, heaps):
    h = args.hours
    rows = [(f"before the history ({args.baseline})", medians(runs["before"]), heaps["before"]),
            ("this tree", medians(runs["after"]), heaps["after"])]
    out = [f"### The daemon's cost of the history: {h:g} simulated hour(s) from 17:00 on a weekday, median of "
           f"{len(runs['after'])} runs each", "", "| code | CPU s per hour | share of a core | of which: state machine "
           "| history (writer, vanished check) | state file (compare, save) |", "|---|---:|---:|---:|---:|---:|"]
    out += [f"| {label} | {m['total'] / h:.3f} | {m['total'] / h / 36:.4f} % | {m['cpu state machine'] / h:.3f} | "
            f"{m['cpu history'] / h:.3f} | {m['cpu state file'] / h:.3f} |" for label, m, _ in rows]
    out += ["", "| code | peak RSS (at the run's start) | Python heap peak | journal bytes per hour | state file bytes "
            "per hour | state file | records closed per hour |", "|---|---:|---:|---:|---:|---:|---:|"]
    return out + [f"| {label} | {m['peak']:.1f} MB ({m['ready']:.1f} MB) | {heap:.2f} MB | {m['journal'] / h:,.0f} | "
                  f"{m['saved'] / h:,.0f} | {m['state size']:,.0f} bytes | {m['closed'] / h:,.0f} |"
                  for label, m, heap in rows]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of suggest, and of each daemon variant")
    parser.add_argument("--hours", type=float, default=1.0, help="simulated hours of the daemon (at most 3)")
    parser.add_argument("--baseline", default=BASELINE, help="the commit before the history")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    args.hours = min(args.hours, 3.0)
    raw, devices, ha_home, records = household(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        extra = write_journal(folder, records)
        sizes = [entry.stat().st_size for entry in os.scandir(folder)]
        timed = in_fresh_process(time_suggest, folder, raw, extra, args.rounds)
    begin = NOW - 3 * HOUR - WARM_UP  # 17:00 on the last day, after 15 min of warm-up
    script = hour_script(devices, ha_home, args.seed, begin, begin + WARM_UP + args.hours * HOUR)
    runs = {"before": [], "after": []}
    for _ in range(args.rounds):
        for variant, results in runs.items():
            results.append(in_fresh_process(run_daemon, variant, raw, script, begin + WARM_UP, args.baseline))
    heaps = {variant: in_fresh_process(run_daemon, variant, raw, script, begin + WARM_UP, args.baseline, True)["heap"]
             for variant in runs}
    print("\n".join([f"Machine: {machine()}.", "Command: `" + " ".join(
        [".venv/bin/python -m benchmarks.history_benchmark"] + sys.argv[1:]) + "`", ""] +
        suggest_lines(args, records, extra, sizes, timed, devices) + [""] + daemon_lines(args, runs, heaps)))


if __name__ == "__main__":
    main()
