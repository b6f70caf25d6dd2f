"""A household whose electricity is known exactly, written as whisper files that graphite-web reads.

Power, minute by minute:
    120 W idle
  + a fridge: 90 W for 17 minutes of every 47 (32.55 W on average)
  + 250 W while nick is home
  + 400 W from 18:00 to 20:00 local time whenever anyone is home
Six people on the household's clock (Europe/Berlin): nick, anna and ben with schedules that vary
from day to day, mia and leo who go out together (leo alone on two evenings), and zoe, never home.
"""

import os
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import whisper

TZ = ZoneInfo("Europe/Berlin")
PEOPLE = ("nick", "anna", "ben", "mia", "leo", "zoe")
IDLE_W = 120.0
FRIDGE_W, FRIDGE_ON, FRIDGE_CYCLE = 90.0, 17 * 60, 47 * 60
NICK_W = 250.0
EVENING_W, EVENING_HOURS = 400.0, (18, 20)
ALWAYS_ON_W = IDLE_W + FRIDGE_W * FRIDGE_ON / FRIDGE_CYCLE
PREFIX = "home.presence"
POWER = "home.power.watts"
ENERGY = "home.energy.kwh"


def local(day, hour, minute=0):
    """Epoch seconds of a wall-clock time on `day` in the household's zone (DST days included)."""
    return int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).timestamp())


def last_dst_change(before):
    """The most recent local day (before `before`, epoch seconds) whose length is not 24 hours."""
    day = datetime.fromtimestamp(before, TZ).date() - timedelta(days=1)
    while True:
        length = local(day + timedelta(days=1), 0) - local(day, 0)
        if length != 86400:
            return day
        day -= timedelta(days=1)


def _away(rng, day):
    """Each person's away intervals on `day` as [(from, to)] in epoch seconds."""
    weekend = day.weekday() >= 5
    out = {}
    for name in ("nick", "anna", "ben"):
        if weekend:
            leave = rng.uniform(9, 15)
            out[name] = [(leave, leave + rng.uniform(1, 5))]
        else:
            leave = rng.uniform(6.5, 9.5)
            out[name] = [(leave, rng.uniform(15.5, 21.0))]
    leave = rng.uniform(7, 8.5) if not weekend else rng.uniform(10, 13)
    out["mia"] = [(leave, leave + (rng.uniform(7, 9) if not weekend else rng.uniform(2, 4)))]
    out["leo"] = list(out["mia"])
    return {name: [(local(day, 0) + int(a * 3600) // 60 * 60, local(day, 0) + int(b * 3600) // 60 * 60)
                   for a, b in spans] for name, spans in out.items()}


def household(start_day, days, seed=8):
    """Minute series from local midnight of `start_day`: (start, is_home per person, anyone, watts)."""
    rng = random.Random(seed)
    start = local(start_day, 0)
    end = local(start_day + timedelta(days=days), 0)
    count = (end - start) // 60
    home = {name: [1] * count for name in PEOPLE}
    evening = [0] * count
    leo_alone = {2, 5}
    for offset in range(days):
        day = start_day + timedelta(days=offset)
        away = _away(rng, day)
        if offset in leo_alone:
            away["leo"].append((local(day, 20), local(day, 22)))
        for name, spans in away.items():
            for a, b in spans:
                for i in range(max(0, (a - start) // 60), min(count, (b - start) // 60)):
                    home[name][i] = 0
        for i in range((local(day, EVENING_HOURS[0]) - start) // 60, (local(day, EVENING_HOURS[1]) - start) // 60):
            evening[i] = 1
    home["zoe"] = [0] * count
    anyone = [int(any(values)) for values in zip(*(home[name] for name in PEOPLE))]
    watts = []
    for i in range(count):
        stamp = start + i * 60
        fridge = FRIDGE_W if stamp % FRIDGE_CYCLE < FRIDGE_ON else 0.0
        watts.append(IDLE_W + fridge + NICK_W * home["nick"][i] + EVENING_W * evening[i] * anyone[i])
    return start, home, anyone, watts


def wsp_path(whisper_dir, metric):
    return os.path.join(whisper_dir, *metric.split(".")) + ".wsp"


def write_series(whisper_dir, metric, start, step, values, retention_days=400):
    """One whisper file with a single `step` archive; None values are not written (a gap)."""
    path = wsp_path(whisper_dir, metric)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not os.path.exists(path):
        whisper.create(path, [(step, retention_days * 86400 // step)], xFilesFactor=0, aggregationMethod="average",
                       sparse=True)
    points = [(start + i * step, v) for i, v in enumerate(values) if v is not None]
    for chunk in range(0, len(points), 100_000):
        whisper.update_many(path, points[chunk:chunk + 100_000])
    return path


def write_household(whisper_dir, start, is_home, anyone, watts):
    """Every person's is_home, anyone_home and the power, at 1-minute points."""
    for name in PEOPLE:
        write_series(whisper_dir, f"{PREFIX}.{name}.is_home", start, 60, is_home[name])
    write_series(whisper_dir, f"{PREFIX}.anyone_home", start, 60, anyone)
    write_series(whisper_dir, POWER, start, 60, watts)


def write_report_config(path, render_url):
    """A config with which `report` reads this household from `render_url`."""
    with open(path, "w") as handle:
        handle.write(f"network: {{cidrs: [198.51.100.0/24]}}\ngraphite: {{render_url: '{render_url}'}}\n"
                     f"report: {{power: {POWER}, timezone: {TZ}}}\npeople:\n"
                     + "".join(f"  - name: {name.capitalize()}\n" for name in PEOPLE))
    return path
