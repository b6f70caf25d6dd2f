"""`report --homes`: each home through report's own build_report, too little data said with why, the usage errors.

The end-to-end runs here read a real HTTP peer that answers as graphite-web does (tests/report/homes/test_fetch.py);
tests/report/homes/test_command_graphite.py reads a real graphite-web.
"""

import argparse
import io
import json
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from presence.config import report_defaults
from presence.config.load import parse_config
from presence.config.model import Person
from presence.report.command import build_report, run_report
from presence.report.fetch import Series
from presence.report.homes.command import home_entry, run_homes, shortfalls
from presence.report.homes.pattern import Home
from presence.report.homes.summary import OK, TOO_LITTLE, UNREADABLE
from testbed.hostile_http import HostileServer, answers
from tests.conftest import make_config
from tests.report.homes.test_fetch import START, Study

UTC = ZoneInfo("UTC")
DAY = 1440
END = START + DAY * 60
PERIOD = (START, END, 60, UTC)
POWER = "study.{home}.electricity.power"
HOME = Home("study.h1", "h1", ("ann",))


def day_of():
    """A day of minutes: ann home outside 08:00-16:00, power 100 W plus 300 W while she is home."""
    ann = [0.0 if 8 * 60 <= minute < 16 * 60 else 1.0 for minute in range(DAY)]
    return ann, [100.0 + 300 * home for home in ann]


def found(ann, watts, **changes):
    series = {"anyone_home": [Series("study.h1.presence.anyone_home", START, 60, ann)],
              "electricity": [Series("study.h1.electricity.power", START, 60, watts)],
              "person:ann": [Series("study.h1.presence.ann.is_home", START, 60, ann)]}
    series.update(changes)
    return series


def config():
    return parse_config(make_config(report={"power": POWER, "timezone": "UTC"}))


def test_a_home_with_data_has_exactly_the_figures_report_gives_it():
    ann, watts = day_of()
    entry = home_entry(config(), HOME, found(ann, watts), PERIOD, POWER, False)
    series = {"electricity": found(ann, watts)["electricity"][0], "anyone_home": found(ann, watts)["anyone_home"][0],
              "person:ann": found(ann, watts)["person:ann"][0]}
    expected, _ = build_report(replace(config(), people=(Person("ann", "ann"),)), series, START, END, UTC, False,
                               insight="study")
    assert entry == {"home": "h1", "prefix": "study.h1.presence", "status": OK, **expected}
    assert entry["energy"]["mean_empty_w"] == pytest.approx(100) and entry["idle"]["idle_w"] == pytest.approx(100)
    assert entry["targets"]["electricity"] == "study.h1.electricity.power"


@pytest.mark.parametrize("changes, has_presence, why", [
    ({"electricity": []}, True, "no electricity series: 'study.h1.electricity.power' names none"),
    ({"electricity": [Series("a", START, 60, [1.0]), Series("b", START, 60, [2.0])]}, True,
     "'study.h1.electricity.power' matches 2 series: name exactly one (or combine them, e.g. sumSeries(...))"),
    ({"electricity": [Series("e", START, 60, [None] * 10)]}, True,
     "no electricity data in this period ('study.h1.electricity.power')"),
    ({"anyone_home": []}, False, "no presence series: nothing at study.h1.presence.anyone_home"),
    ({"anyone_home": [Series("p", START, 60, [])]}, True, "no presence data in this period"),
    ({"electricity": [], "anyone_home": []}, False, "no electricity series: 'study.h1.electricity.power' names "
                                                    "none; no presence series: nothing at "
                                                    "study.h1.presence.anyone_home"),
])
def test_a_home_with_too_little_data_is_listed_with_why(changes, has_presence, why):
    ann, watts = day_of()
    home = replace(HOME, has_presence=has_presence)
    assert home_entry(config(), home, found(ann, watts, **changes), PERIOD, POWER, False) == \
        {"home": "h1", "prefix": "study.h1.presence", "status": TOO_LITTLE, "why": why}


def test_a_home_never_empty_keeps_its_figures_but_not_its_place_in_the_summary():
    ann = [1.0] * DAY
    entry = home_entry(config(), HOME, found(ann, [400.0] * DAY), PERIOD, POWER, False)
    assert entry["status"] == TOO_LITTLE and entry["why"] == "never empty while its power was measured"
    assert entry["energy"]["total_kwh"] == pytest.approx(9.6)


def test_a_person_the_render_did_not_answer_counts_as_never_home():
    ann, watts = day_of()
    entry = home_entry(config(), HOME, found(ann, watts, **{"person:ann": []}), PERIOD, POWER, False)
    assert entry["status"] == OK and entry["people"][0]["hours_home_h"] == 0


@pytest.mark.parametrize("energy, idle_w, why", [
    ({"empty_h": 0.0}, 150.0, ["never empty while its power was measured"]),
    ({"empty_h": 0.5}, 150.0, ["only 0.50 h empty while its power was measured (the study's figures need 1 h)"]),
    ({"empty_h": 5.0}, None, ["no clock hour with 90% of its minutes of power data: no always-on load"]),
    ({"empty_h": 5.0}, 150.0, []),
])
def test_shortfalls(energy, idle_w, why):
    assert shortfalls({"energy": energy, "idle": {"idle_w": idle_w}}) == why


def study_series(homes=3):
    ann, watts = day_of()
    texts = {"ann": [repr(v) for v in ann], "watts": [repr(v) for v in watts]}
    series = {}
    for index in range(1, homes + 1):
        series[f"study.h{index}.presence.anyone_home"] = texts["ann"]
        series[f"study.h{index}.presence.ann.is_home"] = texts["ann"]
        series[f"study.h{index}.electricity.power"] = texts["watts"]
    return series


def arguments(**options):
    base = dict(png=None, render_url=None, from_=str(START), until=str(END), power=None, energy_counter=None,
                json=True, csv=False, homes="study.*")
    return argparse.Namespace(**{**base, **options})


def run(url, **options):
    out = io.StringIO()
    raw = make_config(report={"power": POWER, "timezone": "UTC", "timeout": 5, "render_url": url})
    args = arguments(**options)
    command = run_homes if args.homes is not None else run_report  # as cli.py dispatches
    status = command(parse_config(raw), args, END, out)
    return status, out.getvalue()


def test_every_home_of_the_study_and_its_summary():
    with HostileServer(answers(Study(study_series()).route)) as server:
        status, text = run(server.url)
    assert status == 0
    study = json.loads(text)
    assert [(home["home"], home["status"]) for home in study["homes"]] == [("h1", OK), ("h2", OK), ("h3", OK)]
    assert study["summary"]["homes"]["with_enough_data"] == 3
    assert study["summary"]["distribution"]["mean_empty_w"]["median"] == pytest.approx(100)
    assert study["summary"]["study"]["requests"] == len(server.paths) == 5


def test_a_later_batch_that_cannot_be_read_lists_its_homes(monkeypatch, caplog):
    monkeypatch.setattr(report_defaults, "FLEET_BATCH_HOMES", 2)
    study = Study(study_series())

    def route(path):
        return (500, "down") if "h3" in path and "/render" in path else study.route(path)

    with HostileServer(answers(route)) as server:
        status, text = run(server.url)
    homes = json.loads(text)["homes"]
    assert status == 0 and [home["status"] for home in homes] == [OK, OK, UNREADABLE]
    assert "answered HTTP 500" in homes[2]["why"] and "1 home(s) not read" in caplog.text


def test_a_first_batch_that_cannot_be_read_fails_the_report(caplog):
    study = Study(study_series())
    with HostileServer(answers(lambda path: (500, "down") if "/render" in path else study.route(path))) as server:
        status, text = run(server.url)
    assert status == 1 and text == "" and "answered HTTP 500" in caplog.text


def test_a_glob_that_matches_nothing_says_what_was_looked_for(caplog):
    with HostileServer(answers(Study(study_series()).route)) as server:
        status, _ = run(server.url, homes="other.*", power="other.{home}.power")
    assert status == 1
    assert ("no home matches --homes 'other.*': Graphite has no series named other.*.presence.anyone_home or "
            "other.*.presence.*.is_home or other.*.power") in caplog.text


@pytest.mark.parametrize("options, said", [
    ({"power": "study.h1.electricity.power"}, "with --homes, --power names each home's electricity with {home}"),
    ({"homes": "study.h1"}, "--homes 'study.h1' has no wildcard"),
    ({"png": "x.png"}, "--png draws one home: leave it out with --homes"),
    ({"homes": None, "csv": True}, "--csv gives a row a home of --homes PATTERN"),
    ({"homes": None}, "report.power 'study.{home}.electricity.power' has {home}, which stands for each home of "
                      "--homes"),
])
def test_usage_errors_say_what_to_do(options, said, caplog):
    # Nothing listens on port 9: each of these is refused before any request.
    status, _ = run("http://127.0.0.1:9", **options)
    assert status == 64 and said in caplog.text
