"""The study's reads against a real HTTP peer: the look-up, a batch's few wildcard requests, their bounds and shapes.

The peer answers as graphite-web does (braces and `*` in a target, `format=raw`, /metrics/expand), or badly.
"""

import fnmatch
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from presence.report.fetch import FetchError, Unreachable, WrongShape
from presence.report.homes.fetch import expand, read_batch
from presence.report.homes.pattern import Home, HomePattern
from testbed.hostile_http import HostileServer, answers, bounded, endless_body, trickle_body
from tests.report import listed

START = 1_800_000_000 // 3600 * 3600
END = START + 3600
POWER = "study.{home}.electricity.power"
HOMES = [Home("study.h1", "h1", ("ann",)), Home("study.h2", "h2", ("ann", "bob"))]


def variants(glob):
    """Graphite's brace expansion of one glob."""
    match = re.search(r"\{([^{}]*)\}", glob)
    if not match:
        return [glob]
    return [found for option in match.group(1).split(",")
            for found in variants(glob[:match.start()] + option + glob[match.end():])]


def matches(name, glob):
    return any(fnmatch.fnmatchcase(name, variant) for variant in variants(glob))


class Study:
    """A render API over `series` ({name: values at `native` s}) that answers as graphite-web does."""

    def __init__(self, series, native=60, rename=False):
        self.series, self.native, self.rename = series, native, rename
        self.targets = []

    def route(self, path):
        query = parse_qs(urlsplit(path).query)
        if urlsplit(path).path == "/metrics/expand":
            return 200, {"results": {glob: sorted(n for n in self.series if matches(n, glob))
                                     for glob in query["query"]}}
        since, until = int(query["from"][0]), int(query["until"][0])
        lines = []
        for target in query["target"]:
            self.targets.append(target)
            summarized = re.fullmatch(r"aliasByNode\(summarize\((.*),'60s','\w+'\),[\d,]+\)", target)
            alias = re.fullmatch(r"alias\(.*,'(.*)'\)", target)
            step = 60 if summarized else self.native
            if alias:
                names = [alias.group(1)] if alias.group(1) in self.series else []
            else:
                names = [n for n in self.series if matches(n, summarized.group(1) if summarized else target)]
            for name in names:
                values = self.series[name]
                first = since - since % step + step
                count = (until - first) // step + 1
                texts = [values[(i * step // self.native) % len(values)] for i in range(count)]
                shown = f"renamed({name})" if self.rename else name
                lines.append(f"{shown},{first},{first + step * count},{step}|{','.join(texts)}")
        return 200, "\n".join(lines) + "\n"


def study_series():
    return {"study.h1.presence.anyone_home": ["1.0", "0.0", "None"],
            "study.h1.presence.ann.is_home": ["1.0", "0.0", "None"],
            "study.h1.electricity.power": ["100.5", "nan", "None"],
            "study.h2.presence.anyone_home": ["1.0"], "study.h2.presence.ann.is_home": ["0.0"],
            "study.h2.presence.bob.is_home": ["1.0"], "study.h2.electricity.power": ["250"]}


def read(study, homes=HOMES, template=POWER, is_counter=False, timeout=5):
    with HostileServer(answers(study.route)) as server:
        requests = HomePattern("study.*").requests(homes, template, is_counter)
        return read_batch(server.url, requests, START, END, 60, timeout), server.paths


def test_a_batch_is_a_probe_and_one_request_a_kind():
    study = Study(study_series())
    answer, paths = read(study)
    assert len(paths) == 4 and all(urlsplit(p).path == "/render" for p in paths)
    assert answer.requests == ["anyone_home", "is_home", "electricity"]
    assert study.targets[-3:] == ["study.{h1,h2}.presence.anyone_home", "study.{h1,h2}.presence.{ann,bob}.is_home",
                                  "study.{h1,h2}.electricity.power"]
    h1 = answer.take("study.h1", ("anyone_home", "electricity", "person:ann"), START, 60)
    power = h1["electricity"][0]
    assert (power.start, power.step) == (START, 60)
    assert listed(power.values[:3]) == [100.5, None, None] and power.dropped == 20
    assert listed(h1["person:ann"][0].values[:3]) == [1.0, 0.0, None]
    assert answer.take("study.h2", ("person:bob",), START, 60)["person:bob"][0].values[0] == 1.0
    # Taken once: the answer keeps no home's lines after its home was analysed.
    assert answer.take("study.h1", ("electricity",), START, 60) == {"electricity": []}


@pytest.mark.parametrize("is_counter, function", [(False, "avg"), (True, "last")])
def test_series_finer_than_a_minute_are_consolidated_by_graphite_and_named_again(is_counter, function):
    study = Study(study_series(), native=10)
    answer, _ = read(study, is_counter=is_counter)
    assert study.targets[-1] == (f"aliasByNode(summarize(study.{{h1,h2}}.electricity.power,'60s','{function}'),"
                                 "0,1,2,3)")
    assert answer.take("study.h2", ("electricity",), START, 60)["electricity"][0].step == 60


def test_a_kind_the_probe_found_nothing_of_is_not_asked_for():
    series = {name: values for name, values in study_series().items() if "electricity" not in name}
    answer, paths = read(Study(series))
    assert len(paths) == 3 and answer.requests == ["anyone_home", "is_home"]


def test_an_expression_is_read_under_each_home_alias():
    study = Study({"study.h1.presence.anyone_home": ["1.0"], "study.h1": ["5"]})
    answer, _ = read(study, homes=[Home("study.h1", "h1")], template="scale(x.{home}.kw,1000)")
    assert study.targets[-1] == "alias(scale(x.h1.kw,1000),'study.h1')"
    assert answer.take("study.h1", ("electricity",), START, 60)["electricity"][0].values[0] == 5.0


def test_an_answer_whose_series_were_all_renamed_is_refused():
    with pytest.raises(WrongShape, match="none of them one that was asked for .*renamed\\(study"):
        read(Study(study_series(), rename=True))


def test_a_line_that_is_not_a_raw_series_is_refused():
    def route(path):
        return 200, "study.h1.presence.anyone_home,abc,0,60|1.0\n"

    with HostileServer(answers(route)) as server, pytest.raises(FetchError, match="not name,start,end,step"):
        read_batch(server.url, HomePattern("study.*").requests(HOMES, POWER, False), START, END, 60, 5)


def test_an_endless_answer_is_cut_at_what_the_batch_can_hold():
    with HostileServer(endless_body()) as server, pytest.raises(Unreachable, match="answered more than"):
        read_batch(server.url, HomePattern("study.*").requests(HOMES, POWER, False), START, END, 60, 5)


@pytest.mark.lab
def test_a_trickling_render_api_ends_the_batch_at_its_timeout():
    with HostileServer(trickle_body(length=1000)) as server, \
            pytest.raises(Unreachable, match="Timeout: no complete answer within 1 s"):
        bounded(4, read_batch, server.url, HomePattern("study.*").requests(HOMES, POWER, False), START, END, 60, 1)


def test_the_look_up_is_one_request_for_every_kind():
    study = Study(study_series())
    with HostileServer(answers(study.route)) as server:
        found = expand(server.url, HomePattern("study.*").queries(POWER), 5)
    assert len(server.paths) == 1
    assert found == {"anyone_home": ["study.h1.presence.anyone_home", "study.h2.presence.anyone_home"],
                     "is_home": ["study.h1.presence.ann.is_home", "study.h2.presence.ann.is_home",
                                 "study.h2.presence.bob.is_home"],
                     "electricity": ["study.h1.electricity.power", "study.h2.electricity.power"]}


@pytest.mark.parametrize("status, body, error, said", [
    (200, {"results": ["a"]}, WrongShape, "did not answer"),
    (200, "<html>", WrongShape, "did not answer"),
    (500, "boom", FetchError, "answered HTTP 500: boom"),
])
def test_a_look_up_of_the_wrong_shape_says_so(status, body, error, said):
    with HostileServer(answers(lambda path: (status, body))) as server, pytest.raises(error, match=said):
        expand(server.url, {"anyone_home": "study.*.presence.anyone_home"}, 5)


def test_an_endless_look_up_is_cut():
    with HostileServer(endless_body()) as server, pytest.raises(Unreachable, match="bytes of series names"):
        expand(server.url, {"anyone_home": "study.*.presence.anyone_home"}, 5)


def test_the_look_up_of_a_study_without_series():
    with HostileServer(answers(lambda path: (200, json.dumps({"results": {}})))) as server:
        assert expand(server.url, {"anyone_home": "x.*.presence.anyone_home"}, 5) == {"anyone_home": []}
