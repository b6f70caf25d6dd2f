"""Read a study from Graphite: one look-up of its series, then a few wildcard render requests a batch of homes.

A batch is a probe (a few minutes of every series of the batch, to learn their own steps) and one request for
each kind of series (anyone_home, the people's is_home, the electricity): four requests for up to hundreds of
homes. Each answer is bounded by the points its window can hold, each request has report.timeout, and all the
requests of a batch together read at most FLEET_BATCH_BYTES. Every line's shape is checked when it arrives;
its values stay text until its home is analysed (`Answer.take`), then count their NaN as report's do.
"""

from urllib.parse import urlencode

from presence.config import defaults, report_defaults
from presence.net import web
from presence.net.web import redact
from presence.report.fetch import Budget, FetchError, Reader, Series, Unreachable, WrongShape, raw_line, raw_values
from presence.safe_text import safe


class Answer:
    """A batch's series by (home path, key), each a list of (name, first, step, values text)."""

    def __init__(self, lines, requests):
        self.lines = lines
        # Requests the probe found nothing for were not sent.
        self.requests = requests

    def take(self, path, keys, start, step):
        """`{key: [Series]}` of one home, parsed now and forgotten by the answer."""
        found = {}
        for key in keys:
            found[key] = [Series(name, first, native, *raw_values(values, name))
                          for name, first, native, values in self.lines.pop((path, key), ())]
        return found


def _points(start, end, step):
    # As presence.report.fetch counts them: both ends, and one for Graphite's alignment.
    return (end - start) // step + 2


def expand(render_url, queries, timeout):
    """`{kind: [metric paths]}` for `{kind: glob}`, from graphite-web's /metrics/expand in one request."""
    params = [("query", query) for query in queries.values()] + [("leavesOnly", 1), ("groupByExpr", 1)]
    shown = f"{redact(render_url)}/metrics/expand"
    try:
        response = web.get(f"{render_url}/metrics/expand?{urlencode(params)}", timeout,
                           report_defaults.FLEET_EXPAND_BYTES)
    except web.TooLarge:
        raise Unreachable(f"{shown} answered more than {report_defaults.FLEET_EXPAND_BYTES:,} bytes of series "
                          "names; name fewer homes (--homes)") from None
    except web.WebError as error:
        raise Unreachable(f"cannot read {shown}: {error}") from None
    if response.status != 200:
        raise FetchError(f"{shown} answered HTTP {response.status}: "
                         f"{safe(response.text().strip()[:defaults.QUOTED_ANSWER_LENGTH])}")
    try:
        results = response.json().get("results")
    except (ValueError, AttributeError):
        results = None
    if not isinstance(results, dict) or not all(isinstance(paths, list) and all(isinstance(p, str) for p in paths)
                                                for paths in results.values()):
        raise WrongShape(f"{shown} did not answer {{\"results\": {{query: [names]}}}}; report --homes reads "
                         "graphite-web's /metrics/expand")
    return {kind: results.get(query, []) for kind, query in queries.items()}


def _label(request):
    paths = sorted({path for path, _ in request.names.values()})
    return f"{request.kind} of {len(paths)} home(s), {paths[0]} to {paths[-1]}" if paths else request.kind


def read_batch(render_url, requests, start, end, step, timeout):
    """The batch's series (an Answer): the probe, then one request a kind the probe found series for."""
    budget = Budget(report_defaults.FLEET_BATCH_BYTES)
    probe_end = min(end, start + report_defaults.RAW_PROBE_SPAN)
    targets = [target.text() for request in requests for target in request.targets]
    expected = sum(len(request.names) + len(request.targets) for request in requests)
    names = {name: (request, where) for request in requests for name, where in request.names.items()}
    probe = _lines(Reader(render_url, f"the probe of {len(targets)} target(s)", timeout, budget), targets,
                   start, probe_end, expected * _points(start, probe_end, 1))
    steps = {}
    for name, _, native, _ in probe:
        if name in names:
            steps.setdefault(names[name][0].kind, []).append(native)
    _known(probe, names, "the probe")
    lines, sent = {}, []
    for request in requests:
        if request.kind not in steps:
            continue
        function = None
        if min(steps[request.kind]) < step:
            function = f"summarize({{}},'{step}s','{'last' if request.last else 'avg'}')"
        found = _lines(Reader(render_url, _label(request), timeout, budget),
                       [target.text(function) for target in request.targets], start, end,
                       len(steps[request.kind]) * _points(start, end, step))
        _known(found, request.names, _label(request))
        for name, first, native, values in found:
            if name in request.names:
                lines.setdefault(request.names[name], []).append((name, first, native, values))
        sent.append(request.kind)
    return Answer(lines, sent)


def _lines(reader, targets, start, end, points):
    """Every line of one raw answer, as (name, first, step, values), each line's shape checked."""
    # Graphite's ranges exclude `from` and include `until`: one second earlier keeps the bin at `start`.
    params = [("target", target) for target in targets] + [("from", start - 1), ("until", end - 1),
                                                            ("format", "raw")]
    text = reader.get(params, points).body.decode("utf-8", "replace")
    lines = text.split("\n")
    del text
    found = []
    # From the end, so that each line's text is freed once its values are cut from it.
    while lines:
        line = lines.pop()
        if line and not line.isspace():
            found.append(raw_line(line.rstrip("\r"), start, end))
    found.reverse()
    return found


def _known(lines, names, what):
    """Refuse an answer none of whose series is one asked for: a render API that renames them."""
    if lines and not any(name in names for name, *_ in lines):
        raise WrongShape(f"the render API answered {len(lines)} series for {what}, none of them one that was "
                         f"asked for (the first is named {safe(lines[0][0][:defaults.QUOTED_ANSWER_LENGTH])!r})")
