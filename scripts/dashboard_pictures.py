"""Draw docs/img/panel-*.png: every panel of grafana/presence.json over a week of the synthetic household.

    .venv/bin/python scripts/dashboard_pictures.py [--out docs/img]

The household of testbed/synthetic_household.py (the one report.png shows) has phones, a watch and a few
devices of the home's own on a simulated LAN, and guests on two days. Its sweeps and Home Assistant
answers go through the daemon's own state machine, metrics and Graphite sender (a tick a minute) into a
real carbon-cache; a real graphite-web then renders each panel's targets. The week ends on a fixed
Monday 08:00 (Europe/Berlin) and the household is seeded: the same pictures each run. Needs Debian's
graphite-carbon and graphite-web.
"""

import argparse
import math
import os
import random
import shutil
import socket
import sys
import tempfile
import time
from datetime import date, datetime, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from presence.clock import SystemClock  # noqa: E402
from presence.config.load import parse_config  # noqa: E402
from presence.daemon.loop import Daemon  # noqa: E402
from presence.observations import DeviceSighting, EntityReading, SourceReport  # noqa: E402
from presence.outputs.graphite.output import GraphiteOutput  # noqa: E402
from presence.outputs.graphite.sender import GraphiteSender  # noqa: E402
from presence.sources.vendors import looks_personal  # noqa: E402
from presence.state.model import State  # noqa: E402
from testbed import dashboard_render as board  # noqa: E402
from testbed import synthetic_household as home  # noqa: E402
from testbed.carbon import Carbon, carbon_unavailable_reason  # noqa: E402
from testbed.graphite_delivery import confirmed  # noqa: E402
from testbed.graphite_web import GraphiteWeb, graphite_web_unavailable_reason  # noqa: E402

# "Now" in every picture; the daemon starts a day before the week, so the week opens settled.
NOW = home.local(date(2026, 11, 16), 8)
FIRST_DAY, DAYS = date(2026, 11, 8), 9
DAY, WEEK = 86400, 7 * 86400
SEED = 15
# Each picture: its range, and whose rows ($person: None is All); the annotations on the 24 h lines.
PICTURES = {"Who is home": (WEEK, None), "Home now": (DAY, None), "Electricity and occupancy": (WEEK, None),
            "People home": (WEEK, None), "WiFi devices": (WEEK, None), "Sources per person": (DAY, ["nick"])}
X_FORMAT = {WEEK: "%a %d", DAY: "%H:%M"}

MACS = {"nick": ["02:00:00:00:01:01"], "anna": ["02:00:00:00:02:01", "02:00:00:00:02:02"],
        "ben": ["02:00:00:00:03:01"], "mia": ["02:00:00:00:04:01"], "leo": ["02:00:00:00:05:01"],
        "zoe": ["02:00:00:00:06:01"]}
ENTITIES = {"nick": "person.nick", "mia": "person.mia"}
# An Epson printer, a Raspberry Pi and a Sonos speaker, always on; an Intel laptop, evenings only.
ALWAYS_ON = ["00:00:48:12:34:56", "b8:27:eb:12:34:56", "00:0e:58:12:34:56"]
LAPTOP = "00:1b:21:12:34:56"
# (day, from hour, to hour, phones): the cleaner on Wednesday, a dinner on Saturday, a friend on Sunday.
GUESTS = [(date(2026, 11, 11), 9, 12, ["da:a1:19:00:00:01"]),
          (date(2026, 11, 14), 18.5, 23.5, ["da:a1:19:00:00:02", "f0:18:98:00:00:03", "5e:a1:19:00:00:04"]),
          (date(2026, 11, 15), 14, 17, ["f0:18:98:00:00:05"])]
HEARD = 0.9  # the chance that a phone at home answers one sweep
HA_LAG = 120  # seconds from a door to Home Assistant's zone change


def config(port):
    """The household's config, its Graphite on `port`."""
    raw = {"network": {"cidrs": ["198.51.100.0/24"]}, "wifi": {"scan_interval": 30, "offline_grace": 300},
           "homeassistant": {"url": "http://homeassistant.local:8123", "poll_interval": 300},
           "graphite": {"host": "127.0.0.1", "port": port, "send_interval": 60},
           "metrics": {"guest_devices": True},
           "people": [{"name": name.capitalize(), "macs": macs,
                       **({"homeassistant_entities": [ENTITIES[name]]} if name in ENTITIES else {})}
                      for name, macs in MACS.items()]}
    return parse_config(raw, "dashboard-pictures.yaml")


class Household:
    """Who is home minute by minute (synthetic_household), and what a sweep of its LAN hears."""

    def __init__(self, seed=SEED):
        self.start, self.home, self.anyone, self.watts = home.household(FIRST_DAY, DAYS)
        self.rng = random.Random(seed)
        self.ips = {}
        self.asleep = []  # nick's phone drops off the WiFi for the night
        for offset in range(DAYS):
            day = FIRST_DAY + timedelta(days=offset)
            self.asleep.append((home.local(day, 0, self.rng.randrange(20, 60)),
                                home.local(day, 6) + 60 * self.rng.randrange(20, 70)))

    def minute(self, at):
        """The index of the minute `at` falls in (clamped to the week)."""
        return min(len(self.watts) - 1, max(0, (at - self.start) // 60))

    def heard(self, at):
        """The MACs a sweep at `at` finds."""
        i = self.minute(at)
        found = [mac for mac in ALWAYS_ON if self.rng.random() < 0.98]
        found += [LAPTOP] if self.anyone[i] and 18 <= datetime.fromtimestamp(at, home.TZ).hour < 23 else []
        for name, macs in MACS.items():
            sleeping = name == "nick" and any(a <= at < b for a, b in self.asleep)
            if self.home[name][i] and not sleeping:
                found += [mac for mac in macs if self.rng.random() < HEARD]
        for day, since, until, phones in GUESTS:
            if home.local(day, 0) + since * 3600 <= at < home.local(day, 0) + until * 3600:
                found += [mac for mac in phones if self.rng.random() < HEARD]
        return found

    def sweep(self, at):
        """The WiFi source's report of a sweep at `at`."""
        sightings = tuple(DeviceSighting(mac=mac, ip=self.ips.setdefault(mac, f"198.51.100.{10 + len(self.ips)}"),
                                         at=at, personal=looks_personal(mac)) for mac in self.heard(at))
        return SourceReport(source="wifi", at=at, ok=True, sightings=sightings)

    def ha_poll(self, at):
        """Home Assistant's person entities, which follow the phone's GPS a little late."""
        i = self.minute(at - HA_LAG)
        readings = tuple(EntityReading(entity_id=entity, state="home" if self.home[name][i] else "not_home",
                                       home=bool(self.home[name][i]), at=at) for name, entity in ENTITIES.items())
        return SourceReport(source="homeassistant", at=at, ok=True, readings=readings)


def run_daemon(household, port, state_path):
    """The daemon's loop without its threads: sweeps at :15 and :45, Home Assistant every 5 minutes,
    a tick each minute, each tick's lines handed to the real Graphite sender."""
    # Confirmed every second: the waits below end soon after carbon has taken what was sent.
    sender = GraphiteSender("127.0.0.1", port, confirm_period=1.0)
    settings = config(port)
    output = GraphiteOutput(settings, lambda _config: sender, SystemClock())
    daemon = Daemon(settings, State(), [output], state_path)
    ticks = 0
    for at in range(household.start, NOW, 60):
        reports = [household.sweep(at + 15), household.sweep(at + 45)]
        if (at - household.start) % 300 == 0:
            reports.insert(1, household.ha_poll(at + 20))
        for report in reports:
            daemon.ingest(report)
            daemon.decide(report.at)
        daemon.tick(at + 60)
        ticks += 1
        if ticks % 1440 == 0 and not confirmed(sender, 60):
            raise RuntimeError("carbon-cache did not take a day of ticks within 60 s")
    if not confirmed(sender, 60):
        raise RuntimeError("carbon-cache did not take the last ticks within 60 s")
    sender.close()
    return ticks


def send_power(household, port):
    """The household's electricity at the dashboard's default series, as a meter's exporter writes it."""
    lines = "".join(f"{board.default('power')} {watts} {household.start + i * 60}\n"
                    for i, watts in enumerate(household.watts) if household.start + i * 60 <= NOW)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(lines.encode())


def start_carbon(folder, since):
    """A carbon-cache keeping minute points back to `since` (whisper drops what is older than its
    retention at the time of writing); sparse files, as these reach back to a fixed date."""
    carbon = Carbon(folder)
    days = math.ceil((time.time() - since) / DAY) + 1
    with open(os.path.join(carbon.folder, "storage-schemas.conf"), "w") as handle:
        handle.write(f"[everything]\npattern = .*\nretentions = 1m:{days}d\n")
    with open(carbon.conf, "a") as handle:
        handle.write("WHISPER_SPARSE_CREATE = True\n")
    return carbon.start()


def fill_whisper(folder):
    """Run the week into a real carbon-cache; return it, stopped, once every point is written."""
    household = Household()
    carbon = start_carbon(os.path.join(folder, "carbon"), household.start)
    try:
        ticks = run_daemon(household, carbon.port, os.path.join(folder, "state.json"))
        send_power(household, carbon.port)
        prefix = board.default("prefix")
        for metric in (f"{prefix}.count_home", board.default("power")):
            found = carbon.wait_for_points(metric, household.start, NOW + 60, ticks, timeout=120)
            if len(found) < ticks:
                raise RuntimeError(f"carbon-cache wrote {len(found)} of {ticks} points of {metric}")
    finally:
        carbon.stop()
    return carbon


def draw(url, out):
    """Write each panel's picture into `out`; return their names."""
    everyone = board.people_options(url)
    written = []
    for panel in board.dashboard()["panels"]:
        span, people = PICTURES[panel["title"]]
        png = board.panel_png(url, panel, NOW - span, NOW, people or everyone, annotations=span == DAY,
                              tz=home.TZ.key, xFormat=X_FORMAT[span])
        name = board.file_name(panel)
        with open(os.path.join(out, name), "wb") as handle:
            handle.write(png)
        written.append(name)
    return written


def main():
    """Run the week into a real carbon and render each panel to --out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "img"), help="folder of the PNGs")
    args = parser.parse_args()
    reason = carbon_unavailable_reason() or graphite_web_unavailable_reason()
    if reason:
        sys.exit(reason)
    os.makedirs(args.out, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="presence-dashboard-pictures-")
    try:
        carbon = fill_whisper(folder)
        web = GraphiteWeb(os.path.join(folder, "web"), carbon.whisper_dir, carbon.cache_port).start()
        try:
            for name in draw(web.url, args.out):
                print(os.path.join(args.out, name))
        finally:
            web.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
