"""`report --homes` against a real graphite-web over whisper files of homes whose electricity and presence are known.

Three homes (one, two and three people) use 100, 150 and 220 W when empty, 200 W more per person home and 500 W
more from 18:00 to 19:00 whenever anyone is home: their nobody-home mean and always-on load are exactly their
empty load, and each person's extra 200 W. Home 2's presence is stored every 10 s (graphite-web consolidates it to
minutes). Three more homes have too little data: h4 no meter, h5 someone always home, h6 a meter and no presence.
Every request goes through a counting proxy: the study is read in a fixed handful of requests, whatever its series.
"""

import csv
import io
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import unquote
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from testbed.carbon import free_port, require
from testbed.graphite_web import GraphiteWeb, graphite_web_unavailable_reason
from tests.conftest import ROOT, make_config, write_config

DAYS = 7
MINUTES = DAYS * 1440
POWER = "study.{home}.electricity.power"
HOMES = {"h1": (100.0, ["ann"]), "h2": (150.0, ["bob", "cy"]), "h3": (220.0, ["di", "ed", "flo"])}


class CountingProxy:
    """An HTTP proxy on loopback in front of `upstream` that keeps the path of every request."""

    def __init__(self, upstream):
        self.paths = []
        proxy = self

        class Forward(BaseHTTPRequestHandler):
            def do_GET(self):
                proxy.paths.append(self.path)
                try:
                    with urllib.request.urlopen(upstream + self.path, timeout=120) as answer:
                        status, body = answer.status, answer.read()
                except urllib.error.HTTPError as error:
                    status, body = error.code, error.read()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def schedule(home, person, start):
    """Minutes home (1.0) or away (0.0): out on weekdays from about 07:00 to 16:00, on weekends for 3 hours."""
    values = []
    for minute in range(MINUTES):
        day, of_day = divmod(minute, 1440)
        if time.gmtime(start + minute * 60).tm_wday >= 5:
            leave = 600 + 60 * person
            away = leave <= of_day < leave + 180
        else:
            away = 420 + 20 * ((day * 3 + person * 7 + home) % 6) <= of_day < 960 + 25 * ((day * 5 + person * 3) % 7)
        values.append(0.0 if away else 1.0)
    return values


def write(whisper_dir, metric, start, step, values):
    """One whisper file, in small updates (whisper's update_many grows one bytes object a point)."""
    import whisper

    path = os.path.join(whisper_dir, *metric.split(".")) + ".wsp"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    whisper.create(path, [(step, (DAYS + 2) * 86400 // step)], xFilesFactor=0, aggregationMethod="average")
    points = [(start + i * step, value) for i, value in enumerate(values)]
    for chunk in range(0, len(points), 2000):
        whisper.update_many(path, points[chunk:chunk + 2000])


def homes_truth(start):
    """Each home's minutes: {name: (empty load, {person: is_home}, anyone, watts)}."""
    truth = {}
    for number, (name, (base, people)) in enumerate(HOMES.items()):
        is_home = {person: schedule(number, index, start) for index, person in enumerate(people)}
        anyone = [max(values) for values in zip(*is_home.values())]
        watts = [base + 200 * sum(values) + 500 * a * (1080 <= minute % 1440 < 1140)
                 for minute, (a, *values) in enumerate(zip(anyone, *is_home.values()))]
        truth[name] = (base, is_home, anyone, watts)
    return truth


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    require(graphite_web_unavailable_reason())
    start = int(time.time()) // 86400 * 86400 - DAYS * 86400
    folder = tmp_path_factory.mktemp("study")
    whisper_dir = str(folder / "whisper")
    truth = homes_truth(start)
    for name, (_, is_home, anyone, watts) in truth.items():
        step, repeat = (10, 6) if name == "h2" else (60, 1)
        for person, values in is_home.items():
            write(whisper_dir, f"study.{name}.presence.{person}.is_home", start, step,
                  [v for v in values for _ in range(repeat)])
        write(whisper_dir, f"study.{name}.presence.anyone_home", start, step,
              [v for v in anyone for _ in range(repeat)])
        write(whisper_dir, f"study.{name}.electricity.power", start, 60, watts)
    write(whisper_dir, "study.h4.presence.gus.is_home", start, 60, schedule(4, 0, start))
    write(whisper_dir, "study.h4.presence.anyone_home", start, 60, schedule(4, 0, start))
    write(whisper_dir, "study.h5.presence.hal.is_home", start, 60, [1.0] * MINUTES)
    write(whisper_dir, "study.h5.presence.anyone_home", start, 60, [1.0] * MINUTES)
    write(whisper_dir, "study.h5.electricity.power", start, 60, [300.0] * MINUTES)
    write(whisper_dir, "study.h6.electricity.power", start, 60, [120.0] * MINUTES)
    web = GraphiteWeb(folder / "web", whisper_dir, free_port()).start()
    proxy = CountingProxy(web.url)
    config = write_config(folder / "people.yaml", make_config(graphite={"render_url": proxy.url},
                                                              report={"power": POWER, "timezone": "UTC"}))
    try:
        yield proxy, config, truth, start
    finally:
        proxy.close()
        web.stop()


def report(study, *args):
    proxy, config, _, start = study
    proxy.paths.clear()
    done = subprocess.run([sys.executable, os.path.join(ROOT, "presence_to_graphite.py"), "--config", config,
                           "report", "--homes", "study.*", "--from", str(start), "--until",
                           str(start + MINUTES * 60), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.lab
def test_each_home_has_its_known_figures(study):
    result = json.loads(report(study, "--json"))
    homes = {entry["home"]: entry for entry in result["homes"]}
    assert list(homes) == ["h1", "h2", "h3", "h4", "h5", "h6"]
    for name, (base, is_home, anyone, watts) in study[2].items():
        entry, empty = homes[name], [i for i in range(MINUTES) if not anyone[i]]
        assert entry["status"] == "ok" and entry["prefix"] == f"study.{name}.presence"
        assert entry["period"]["step_s"] == 60 and entry["coverage"]["both_pct"] == pytest.approx(100)
        energy, idle = entry["energy"], entry["idle"]
        assert energy["total_kwh"] == pytest.approx(sum(watts) / 60 / 1000, rel=1e-6)
        assert energy["empty_kwh"] == pytest.approx(base * len(empty) / 60 / 1000, rel=1e-6)
        assert energy["empty_h"] == pytest.approx(len(empty) / 60)
        assert energy["mean_empty_w"] == pytest.approx(base, abs=1e-6)
        assert energy["empty_share_pct"] == pytest.approx(100 * base * len(empty) / sum(watts), rel=1e-6)
        assert idle["idle_w"] == pytest.approx(base, abs=1e-6)
        assert idle["share_pct"] == pytest.approx(100 * base * MINUTES / sum(watts), rel=1e-6)
        people = {row["person"]: row for row in entry["people"]}
        assert sorted(people) == sorted(is_home)
        for person, values in is_home.items():
            assert people[person]["hours_home_h"] == pytest.approx(sum(values) / 60)
            if len(is_home) > 1:
                assert people[person]["extra_w"] == pytest.approx(200, abs=1)
    assert homes["h1"]["people"][0]["extra_w"] is None  # alone: the same column as "someone is home"
    assert homes["h4"] == {"home": "h4", "prefix": "study.h4.presence", "status": "too little data",
                           "why": "no electricity series: 'study.h4.electricity.power' names none"}
    assert homes["h5"]["status"] == "too little data"
    assert homes["h5"]["why"] == "never empty while its power was measured"
    assert homes["h5"]["energy"]["total_kwh"] == pytest.approx(300 * MINUTES / 60 / 1000)
    assert homes["h6"]["why"] == "no presence series: nothing at study.h6.presence.anyone_home"


@pytest.mark.lab
def test_the_summary_and_the_batched_requests(study):
    result = json.loads(report(study, "--json"))
    proxy, summary = study[0], result["summary"]
    assert summary["homes"] == {"listed": 6, "with_enough_data": 3, "too_little_data": 3, "unreadable": 0}
    empty = summary["distribution"]["mean_empty_w"]
    assert [empty[key] for key in ("min", "q1", "median", "q3", "max")] == pytest.approx([100, 125, 150, 185, 220])
    assert empty["median_interval"] is None and empty["note"] == "too few homes for an interval"
    assert summary["distribution"]["idle_w"]["median"] == pytest.approx(150)
    truth = study[2]
    assert summary["energy"]["empty_kwh"] == pytest.approx(
        sum(base * sum(1 for a in anyone if not a) / 60 / 1000 for base, _, anyone, _ in truth.values()), rel=1e-6)
    # One look-up, then one probe and one request a kind for the whole batch: 5, for 6 homes and 16 series.
    assert [path.split("?")[0] for path in proxy.paths] == ["/metrics/expand"] + ["/render"] * 4
    assert summary["study"]["requests"] == 5
    # After the probe: h2's 10 s presence has graphite-web consolidate the batch's presence to minutes.
    anyone, people, electricity = (unquote(path) for path in proxy.paths[2:])
    assert "target=aliasByNode(summarize(study.{h1,h2,h3,h4,h5,h6}.presence.anyone_home,'60s','avg'),0,1,2,3)" in anyone
    assert "aliasByNode(summarize(study.{h1,h2,h3,h4,h5,h6}.presence.{ann,bob,cy,di,ed,flo,gus,hal}.is_home" in people
    assert "target=study.{h1,h2,h3,h4,h5,h6}.electricity.power&" in electricity


@pytest.mark.lab
def test_csv_and_table(study):
    rows = list(csv.DictReader(io.StringIO(report(study, "--csv"))))
    assert [row["home"] for row in rows] == ["h1", "h2", "h3", "h4", "h5", "h6"]
    assert float(rows[1]["mean_empty_w"]) == pytest.approx(150) and rows[1]["people"] == "bob;cy"
    assert rows[3]["status"] == "too little data" and rows[3]["total_kwh"] == ""
    table = report(study)
    assert "Study: 3 of 6 homes with enough data (3 with too little, 0 unreadable)" in table
    assert "  h6              too little data: no presence series" in table
    line = next(line for line in table.splitlines() if "nobody-home mean power" in line)
    assert "100 W" in line and "150 W" in line and "220 W" in line and "too few homes for an interval" in line
