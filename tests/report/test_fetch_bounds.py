"""`report` reads a bounded answer per series and in all, within one deadline per series (issue 23).

Each test runs the whole command against a hostile HTTP peer on loopback (testbed/hostile_http.py). An
answer may hold what its window can at RENDER_BYTES_PER_POINT bytes a point, plus RENDER_ANSWER_OVERHEAD;
all series together read at most MAX_REPORT_RENDER_BYTES; report.timeout covers every request of a series.
Memory is measured with tracemalloc, the time of a slow server against the deadline: both are bounds the
code promises, not performance figures.
"""

import argparse
import io
import tracemalloc
from urllib.parse import parse_qs, urlsplit

import pytest

from presence.config import report_defaults
from presence.config.load import parse_config
from presence.report.command import run_report
from tests.conftest import make_config
from tests.report.test_fetch import NOW, args, ones, render_route, strict_json
from testbed.hostile_http import (HostileServer, answers, bounded, chunked_endless, dripped, endless_body,
                                  gzip_bomb, lying_length, response)

DAY = 86400
# electricity, anyone_home and make_config's six people.
SERIES = 8
# Bytes a report of eight series may allocate while it reads and refuses answers of a day: about four copies
# of each bound (the body, its join, its text, its parse), and the report's own few MB.
MEMORY = SERIES * 4 * (DAY // 60 + 2) * report_defaults.RENDER_BYTES_PER_POINT + 8_000_000


def cap(span):
    """The most bytes an answer for `span` seconds at report's step may hold."""
    points = span // report_defaults.REPORT_MIN_STEP + 2
    return points * report_defaults.RENDER_BYTES_PER_POINT + report_defaults.RENDER_ANSWER_OVERHEAD


def run(url, timeout=1, from_="-1d", limit=None):
    """(exit status, stdout, seconds) of `report` against `url`."""
    config = parse_config(make_config(report={"power": "home.power", "timeout": timeout, "render_url": url}))
    out = io.StringIO()
    status, took = bounded(limit or timeout + 3, run_report, config,
                           argparse.Namespace(**{**vars(args()), "from_": from_}), NOW, out)
    return status, out.getvalue(), took


def measured(function, *arguments, **options):
    """(what `function` returned, the peak of Python's allocations while it ran, in bytes)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        outcome = function(*arguments, **options)
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def span_of(path):
    query = parse_qs(urlsplit(path).query)
    return int(query["until"][0]) - int(query["from"][0]), query["format"][0]


def padded(raw, size, length=True):
    """A render API whose answer for the whole window (not raw's first look) is padded to `size` bytes."""
    route = render_route(ones, raw=raw)

    def behave(conn, path, _closed):
        status, body = route(path)
        span, form = span_of(path)
        if status == 200 and span > report_defaults.RAW_PROBE_SPAN:
            body = body.ljust(size, "\n" if form == "raw" else " ")
        conn.sendall(response(status, body.encode(), length=length))
    return behave


@pytest.mark.parametrize("length", [True, False], ids=["declared", "undeclared"])
@pytest.mark.parametrize("raw", [True, False], ids=["raw", "json"])
def test_an_answer_just_over_what_its_window_holds_is_refused_naming_the_series(raw, length, caplog):
    bound = cap(DAY)
    with HostileServer(padded(raw, bound, length)) as server:
        status, _, _ = run(server.url)
    assert status == 0, caplog.text
    with HostileServer(padded(raw, bound + 1, length)) as server:
        status, text, _ = run(server.url)
    assert status == 1 and text == ""
    assert (f"report: {server.url}/render answered more than {bound:,} bytes for target 'home.power' (at most "
            f"{DAY // 60 + 2:,} points asked for); does this render API ignore maxDataPoints") in caplog.text


@pytest.mark.parametrize("behaviour", [endless_body(), chunked_endless(), lying_length("-1"),
                                       lying_length(50_000_000)],
                         ids=["endless", "chunked without end", "Content-Length -1", "Content-Length 50 MB"])
def test_a_huge_answer_is_refused_and_memory_stays_bounded(behaviour, caplog):
    with HostileServer(behaviour) as server:
        (status, text, _), peak = measured(run, server.url)
    assert peak < MEMORY, f"{peak:,} bytes allocated"
    assert status == 1 and text == ""
    assert f"report: {server.url}/render answered more than " in caplog.text
    assert "bytes for target 'home.power'" in caplog.text and "Traceback" not in caplog.text


def test_a_content_length_shorter_than_the_body_reads_no_further():
    # http.client stops at the declared length: the rest is never read, the short body is a clear error.
    with HostileServer(lying_length(1000)) as server:
        (status, _, _), peak = measured(run, server.url)
    assert status == 1 and peak < MEMORY


def test_the_client_asks_for_no_compression_and_a_gzip_bomb_is_never_inflated(caplog):
    with HostileServer(gzip_bomb(100_000_000)) as server:
        (status, _, _), peak = measured(run, server.url)
    # Gzip's bytes read as text: some shape error, never a body of 100 MB.
    assert status == 1 and "report: " in caplog.text and "Traceback" not in caplog.text
    assert server.heads and all("Accept-Encoding: identity" in head for head in server.heads)
    assert peak < MEMORY, f"{peak:,} bytes allocated"


@pytest.mark.parametrize("form", ["json", "raw"])
def test_an_answer_of_many_tiny_values_is_refused_before_it_is_parsed(form, caplog):
    # Three bytes that parse into an object of 50 or more: under the byte bound, but never parsed.
    # Raw's first look asks for RAW_PROBE_SPAN seconds, at steps as fine as a second.
    probe = ((report_defaults.RAW_PROBE_SPAN + 2) * report_defaults.RENDER_BYTES_PER_POINT
             + report_defaults.RENDER_ANSWER_OVERHEAD)
    count = {"json": cap(DAY), "raw": probe}[form] // 3 - 10
    bomb = {"json": "[" + "[]," * count + "[]]", "raw": "ab\n" * count}[form]
    with HostileServer(answers(lambda path: (200, bomb) if form in path else (400, "no such format"))) as server:
        (status, _, _), peak = measured(run, server.url)
    assert peak < MEMORY, f"{peak:,} bytes allocated"
    assert status == 1
    assert {"json": f"the render API answered more than {DAY // 60 + 2:,} points for 'home.power'",
            "raw": f"target 'home.power' matches {count} series"}[form] in caplog.text


@pytest.mark.lab  # a bound in seconds, as test_report_fetch's trickling peers
def test_a_slow_server_costs_one_deadline_per_series_whatever_the_retries(caplog):
    """Every answer arrives, each within the timeout, but raw's first look, raw and JSON one after another
    would take 3 x 1.8 s: the series' one deadline of 2 s ends them all."""
    route = render_route(ones)

    def slow_raw(path):
        span, form = span_of(path)
        return (400, "summarize() is not supported") if form == "raw" and span > report_defaults.RAW_PROBE_SPAN \
            else route(path)

    timeout = 2
    with HostileServer(dripped(slow_raw, 1.8)) as server:
        status, text, took = run(server.url, timeout=timeout, limit=30)
    assert status == 1 and text == ""
    assert (f"report: cannot read {server.url}/render: Timeout: no complete answer within 2 s for target "
            "'home.power' (one deadline for all its requests)") in caplog.text
    # The deadline, plus the time to start eight threads and say it: far less than another answer's 1.8 s.
    assert took < timeout + 1.0


def test_many_series_together_stop_at_the_report_budget(monkeypatch, caplog):
    # 30 days of minutes in raw are about 86 kB a series: eight series pass 300 kB together, not 1 MB.
    api = answers(render_route(ones))
    with HostileServer(api) as server:
        monkeypatch.setattr(report_defaults, "MAX_REPORT_RENDER_BYTES", 1_000_000)
        assert run(server.url, from_="-30d")[0] == 0, caplog.text
        monkeypatch.setattr(report_defaults, "MAX_REPORT_RENDER_BYTES", 300_000)
        status, text, _ = run(server.url, from_="-30d")
    assert status == 1 and text == ""
    assert "report: Graphite's answers passed the 300,000 bytes one report reads for all its series together " \
           "(while reading '" in caplog.text
    assert "ask for a shorter period (--from, --until)" in caplog.text


@pytest.mark.parametrize("raw", [True, False], ids=["raw", "json"])
def test_the_widest_values_graphite_writes_still_fit_over_a_month(raw):
    widest = "-1.2345678901234567e-05"
    with HostileServer(answers(render_route(lambda count: [widest] * count, raw=raw))) as server:
        status, text, _ = run(server.url, from_="-30d", timeout=10)
    assert status == 0
    assert strict_json(text)["coverage"]["power_pct"] == 100
