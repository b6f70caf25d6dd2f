"""`check`'s retention warning against a real graphite-web reading a real carbon-cache's whisper files,
and `check` against render APIs and Home Assistants that answer badly."""

import io
import os
import time

import pytest

from graphite_helper import build_message
from presence.commands.check import CheckResult, Outcome, check_retention, run_check
from presence.config import defaults
from presence.config.load import parse_config
from presence.outputs.graphite.sender import GraphiteSender
from testbed.carbon import Carbon, carbon_unavailable_reason, require
from tests.conftest import make_config
from testbed.graphite_web import GraphiteWeb, graphite_web_unavailable_reason
from testbed.hostile_http import HostileServer, answers, bounded, silent, trickle_body, trickle_headers

T0 = 1_800_000_000

COARSE = """[presence]
pattern = ^home\\\\.presence\\\\.
retentions = 60s:1d
"""


@pytest.fixture(params=["fine", "coarse"])
def graphite(request, tmp_path):
    require(carbon_unavailable_reason() or graphite_web_unavailable_reason())
    carbon = Carbon(tmp_path / "carbon")
    if request.param == "coarse":
        with open(os.path.join(carbon.folder, "storage-schemas.conf"), "w") as handle:
            handle.write(COARSE)
    carbon.start()
    web = GraphiteWeb(tmp_path / "web", carbon.whisper_dir, carbon.cache_port).start()
    sender = GraphiteSender("127.0.0.1", carbon.port)
    now = int(time.time())
    for stamp in range(now - 300, now, 5):
        sender.send(build_message("home.presence", [("count_home", 1)], stamp))
    sender.close()
    carbon.wait_for_points("home.presence.count_home", now - 600, now, 1)
    yield request.param, web.url
    web.stop()
    carbon.stop()


@pytest.mark.lab
def test_check_tells_the_storage_step(graphite):
    kind, url = graphite
    config = parse_config(make_config(graphite={"render_url": url, "send_interval": 5}))
    result = check_retention(config)
    if kind == "fine":
        assert result.outcome is Outcome.OK and "stored at 1 s steps" in result.text
    else:
        assert result.outcome is Outcome.WARN
        assert result.text.startswith("Graphite stores home.presence.* at 60 s steps but the daemon sends every 5 s: "
                                      "11 of every 12 points are lost")


def test_check_without_render_url_or_data(tmp_path):
    assert check_retention(parse_config(make_config())).outcome is Outcome.SKIP
    result = check_retention(parse_config(make_config(graphite={"render_url": "http://127.0.0.1:9"})))
    assert result.outcome is Outcome.FAIL and result.text.startswith("cannot read http://127.0.0.1:9/render")


# Render APIs and Home Assistants that answer badly; the retention probe's 5 s is cut to 1 s here.
@pytest.fixture
def quick_probe(monkeypatch):
    monkeypatch.setattr(defaults, "RETENTION_TIMEOUT", 1.0)


def render_config(url):
    return parse_config(make_config(graphite={"render_url": url, "send_interval": 5}))


@pytest.mark.lab
@pytest.mark.parametrize("behaviour", [trickle_headers(), trickle_body(), silent()],
                         ids=["trickling headers", "trickling body", "silent"])
def test_a_render_api_that_trickles_or_says_nothing_fails_at_the_timeout(behaviour, quick_probe):
    with HostileServer(behaviour) as server:
        result, _ = bounded(1.0 + 3, check_retention, render_config(server.url))
    assert result == CheckResult(Outcome.FAIL,
                                 f"cannot read {server.url}/render: Timeout: no complete answer within 1 s")


@pytest.mark.parametrize("status, body, what", [
    (200, {"target": "x"}, "render: the render API answered JSON for 'home.presence.count_home' that is not a "
                           "list of series"),
    (200, [{"target": "x"}], "without a list of [number or null, time] datapoints"),
    (200, [{"datapoints": [[1, T0], [1, T0]]}], "a step of 0 s"),
    (200, [{"datapoints": [[1, T0], [1, T0 - 60]]}], "a step of -60 s"),
    (200, [{"datapoints": [["1", T0], [2, T0 + 1]]}], "without a list of [number or null, time] datapoints"),
    (200, "<html>graphite</html>", "render did not answer JSON"),
    (500, "<html>error</html>", "render answered HTTP 500"),
])
def test_a_render_answer_of_the_wrong_shape_is_a_clear_failure(status, body, what):
    with HostileServer(answers(lambda _path: (status, body))) as server:
        result = check_retention(render_config(server.url), now=T0 + 300)
    assert result.outcome is Outcome.FAIL and result.text.startswith(f"{server.url}/render") and what in result.text


def test_a_password_in_the_render_url_is_not_shown():
    with HostileServer(answers(lambda _path: (500, ""))) as server:
        url = server.url.replace("http://", "http://graphite:pw-123@")
        result = check_retention(render_config(url))
    shown = server.url.replace("http://", "http://***@")
    assert result == CheckResult(Outcome.FAIL, f"{shown}/render answered HTTP 500")


@pytest.mark.lab
def test_check_ends_in_time_against_peers_that_stall_and_prints_their_text_escaped(quick_probe, monkeypatch):
    monkeypatch.setenv("HOME_ASSISTANT_TOKEN", "t")
    raw = make_config(homeassistant={"url": "", "timeout": 1})
    raw["people"][0]["homeassistant_entities"] = ["person.nick"]
    with HostileServer(trickle_body()) as stalled:
        raw["homeassistant"]["url"] = raw["graphite"]["render_url"] = stalled.url
        out = io.StringIO()
        status, _ = bounded(1.0 + 1.0 + 3, run_check, parse_config(raw), out)
    lines = {line.split()[1]: line for line in out.getvalue().splitlines()}
    assert status == 1 and "cannot reach" in lines["homeassistant"] and "Timeout" in lines["retention"]

    evil = {"/api/": {"message": "API running.\x1b[2J"}, "/api/states/person.nick": {"state": "home\x1b[31m\n"}}
    with HostileServer(answers(lambda path: (200, evil[path]))) as home:
        raw["homeassistant"]["url"] = home.url
        del raw["graphite"]["render_url"]
        out = io.StringIO()
        run_check(parse_config(raw), out)
    line = next(line for line in out.getvalue().splitlines() if " homeassistant " in line)
    assert line.endswith("API running.\\x1b[2J; person.nick=home\\x1b[31m\\x0a") and "\x1b" not in out.getvalue()
