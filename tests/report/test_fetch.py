"""`report` against render APIs that answer badly, on loopback: it ends by its timeout with a clear message.

Each test runs the whole command (`run_report` with a config) against a real HTTP peer. report.timeout
is 1 s here; `< timeout + 3 s` is a correctness bound. The answers that are well formed come from a
stand-in that builds Graphite's raw and JSON formats from the asked window.
"""

import argparse
import io
import json
import logging
import os
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.report import listed

from presence.report import fetch as report_fetch
from presence.config.load import parse_config
from presence.report.command import run_report
from presence.report.fetch import Series, WrongShape, parse_json, parse_raw
from tests.conftest import ROOT, make_config, write_config
from testbed.hostile_http import (HostileServer, answers, bounded, endless_body, silent, trickle_body,
                                  trickle_headers)

NOW = 1_800_000_000
LIMIT = 1.0 + 3


def config(url):
    return parse_config(make_config(report={"power": "home.power", "timeout": 1, "render_url": url}))


def args(as_json=True):
    return argparse.Namespace(png=None, render_url=None, from_="-1d", until="now", power=None, energy_counter=None,
                              json=as_json)


def report(url, as_json=True):
    """(exit status, stdout) of `report` against `url`, which must end within LIMIT seconds."""
    out = io.StringIO()
    status, _ = bounded(LIMIT, run_report, config(url), args(as_json), NOW, out)
    return status, out.getvalue()


def strict_json(text):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def render_api(values, step=60, raw=True, shift=0, step_of=None):
    """A render API: `values(count)` gives the value strings of each series for the asked window."""
    return answers(render_route(values, step, raw, shift, step_of))


def render_route(values, step=60, raw=True, shift=0, step_of=None):
    """render_api's answers: `route(path)` gives `(status, body)`."""
    def route(path):
        query = parse_qs(urlsplit(path).query)
        since, until = int(query["from"][0]), int(query["until"][0])
        first = since - since % step + step
        texts = values((until - first) // step + 1)
        first, native = first + shift, step if step_of is None else step_of
        if query["format"][0] == "raw":
            if not raw:
                return 400, "unknown format"
            return 200, f"x,{first},{first + native * len(texts)},{native}|{','.join(texts)}\n"
        points = ", ".join(f"[{'null' if text == 'None' else text}, {first + i * native}]"
                           for i, text in enumerate(texts))
        return 200, f'[{{"target": "x", "datapoints": [{points}]}}]'
    return route


def ones(count):
    return ["1"] * count


@pytest.mark.parametrize("behaviour", [trickle_headers(), trickle_body(length=10_000), silent()],
                         ids=["trickling headers", "trickling body", "silent"])
@pytest.mark.lab
def test_a_render_api_that_trickles_or_says_nothing_ends_the_report_at_its_timeout(behaviour, caplog):
    with HostileServer(behaviour) as server:
        status, _ = report(server.url)
    assert status == 1
    assert f"report: cannot read {server.url}/render: Timeout: no complete answer within 1 s" in caplog.text


def test_an_endless_answer_is_cut_at_the_bound(caplog):
    # The bound is what the asked window can hold (tests/report/test_fetch_bounds.py), far below MAX_RENDER_BYTES.
    with HostileServer(endless_body()) as server:
        status, _ = report(server.url)
    assert status == 1 and f"report: {server.url}/render answered more than " in caplog.text
    assert "bytes for target 'home.power'" in caplog.text


@pytest.mark.parametrize("raw", [True, False], ids=["raw", "json"])
def test_nan_and_infinity_are_gaps_and_never_reach_the_json(raw):
    def values(count):
        odd = ["nan", "inf", "-inf"] if raw else ["NaN", "Infinity", "-1e999"]
        return odd + ["100"] * (count - 3)

    with HostileServer(render_api(values, raw=raw)) as server:
        status, text = report(server.url)
        table_status, table = report(server.url, as_json=False)
    assert status == 0 and table_status == 0
    result = strict_json(text)
    assert "Graphite answered 3 value(s) of 'home.power' that are not finite numbers (NaN, infinity, or beyond " \
           "±1e+15): they count as gaps" in result["caveats"]
    assert result["coverage"]["power_pct"] < 100
    assert "nan" not in table and "inf " not in table


def test_absurdly_large_values_are_gaps_too():
    with HostileServer(render_api(lambda count: ["1e308", "-1e300", "1e16"] + ["100"] * (count - 3))) as server:
        status, text = report(server.url)
    assert status == 0
    assert any(note.startswith("Graphite answered 3 value(s) of 'home.power'") for note in strict_json(text)["caveats"])


@pytest.mark.parametrize("api, what", [
    (answers(lambda path: (200, {"x": 1}) if "json" in path else (400, "")), "that is not a list of series"),
    (answers(lambda path: (200, [{"target": "x"}]) if "json" in path else (400, "")),
     "without a list of [number or null, time] datapoints"),
    (answers(lambda path: (200, [{"datapoints": [[True, NOW]]}]) if "json" in path else (400, "")),
     "without a list of [number or null, time] datapoints"),
    (render_api(ones, step_of=0), "a step of 0 s for 'home.power'"),
    (render_api(ones, step_of=-60), "a step of -60 s for 'home.power'"),
    (render_api(ones, step_of=10 ** 15), "a step of 1000000000000000 s for 'home.power'"),
    (render_api(ones, raw=False, step_of=0), "a step of 0 s for 'home.power'"),
    (render_api(ones, shift=10 ** 15), "that starts at"),
    (render_api(lambda count: ["1", "abc"] + ["1"] * (count - 2)),
     "answered 'abc' for 'home.power', which is not a number"),
    (render_api(lambda count: ['"1"'] * count, raw=False), "without a list of [number or null, time] datapoints"),
    (answers(lambda path: (200, "[" * 50_000 + "]" * 50_000)), "did not answer JSON"),
    (answers(lambda path: (200, "x,1,2,60|1\ny,1,2,60|1\n")), "matches 2 series"),
    (answers(lambda path: (200, "") if "raw" in path else (200, [{"target": "x", "datapoints": []}])),
     "Graphite has no data for 'home.power' in this period"),
])
def test_an_answer_of_the_wrong_shape_is_a_clear_error(api, what, caplog):
    caplog.set_level(logging.ERROR)
    with HostileServer(api) as server:
        status, text = report(server.url)
    assert status == 1 and text == ""
    assert what in caplog.text and "Traceback" not in caplog.text


def test_a_password_in_the_render_url_is_sent_but_never_shown(caplog):
    with HostileServer(answers(lambda path: (503, "down\x1b[2J for maintenance"))) as server:
        status, _ = report(server.url.replace("http://", "http://graphite:pw-123@"))
    assert status == 1 and "pw-123" not in caplog.text
    assert f"report: {server.url.replace('http://', 'http://***@')}/render answered HTTP 503" in caplog.text
    assert "down\\x1b[2J for maintenance" in caplog.text
    assert all("Authorization: Basic Z3JhcGhpdGU6cHctMTIz" in head for head in server.heads)


@pytest.mark.lab
def test_the_command_ends_in_time_without_a_traceback(tmp_path):
    with HostileServer(trickle_body(length=10_000)) as server:
        path = write_config(tmp_path / "people.yaml", make_config(report={"power": "home.power", "timeout": 1,
                                                                            "render_url": server.url}))
        done, _ = bounded(LIMIT + 5, subprocess.run, [sys.executable, os.path.join(ROOT, "presence_to_graphite.py"),
                                                      "--config", path, "report"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"cannot read {server.url}/render: Timeout" in done.stderr


@pytest.mark.parametrize("text, values, dropped", [
    ("x,60,240,60|1.5,None,nan\n", [1.5, None, None], 1),
    ("x,60,240,60|inf,-inf,2\n", [None, None, 2.0], 2),
])
def test_raw_non_finite_values_are_counted_gaps(text, values, dropped):
    series = parse_raw(text, "x", 60, 240, 60)
    assert (series.target, series.start, series.step, listed(series.values), series.dropped) == \
        ("x", 60, 60, values, dropped)


@pytest.mark.parametrize("text", ["x,60,240,0|1\n", "x,60,240,60|" + ",".join(["1"] * 10) + "\n",
                                  "x,1e3,240,60|1\n"])
def test_raw_lines_that_cannot_be_right_are_refused(text):
    with pytest.raises(report_fetch.FetchError):
        parse_raw(text, "x", 60, 240, 60)


def test_json_points_that_are_not_evenly_spaced_are_refused():
    with pytest.raises(WrongShape):
        parse_json([{"datapoints": [[1, 60], [1, 120], [1, 240]]}], "x", 60, 240, 60)
