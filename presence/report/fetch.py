"""Read series from Graphite's render API, consolidated by Graphite to the report's step.

Every answer is checked before it is used: one series, of numbers or nulls, evenly spaced at a
step from 1 s to a year, starting within the asked period. Values that are not finite (NaN,
infinity) or absurdly large become gaps, and are counted.

Every answer is also bounded before it is parsed: by the bytes its window can hold, and, with the others
of the same report, by MAX_REPORT_RENDER_BYTES; each series' requests (raw's first look, raw, JSON) share
one deadline, so a server that answers slowly costs report.timeout, not one per request.
"""

import math
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode

import numpy as np

from presence.net import web
from presence.config import defaults, report_defaults
from presence.safe_text import safe
from presence.net.web import redact

_INTEGER = re.compile(r"-?[0-9]{1,20}")
# What str.splitlines() splits at.
_LINE = re.compile("[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")


class FetchError(Exception):
    """The render API could not be read; the message says where and why."""


class Unreachable(FetchError):
    """No usable answer at all (none, too late, too large): asking again in another format would not help."""


class Ambiguous(FetchError):
    """The target names more than one series."""


class WrongShape(FetchError):
    """An answer in the format asked for whose content cannot be right: the other format would not help."""


@dataclass(frozen=True)
class Series:
    """Values at `start`, `start + step`, ... (float64); NaN where Graphite has no point."""

    target: str
    start: int
    step: int
    values: object
    # Values that were not finite numbers (NaN, infinity) or absurdly large: they are gaps in `values`.
    dropped: int = 0


class Budget:
    """The bytes all the series of one report may read together, counted as they arrive (from any thread)."""

    def __init__(self, limit):
        self.limit, self.used = limit, 0
        self._lock = threading.Lock()

    def take(self, size, target):
        """Count `size` more bytes read for `target`; Unreachable once they pass the limit."""
        with self._lock:
            self.used += size
            over = self.used > self.limit
        if over:
            raise Unreachable(f"Graphite's answers passed the {self.limit:,} bytes one report reads for all its "
                              f"series together (while reading {target!r}); ask for a shorter period "
                              "(--from, --until)")


class Reader:
    """One series' requests: a single deadline for all of them, each answer bounded by what it can hold."""

    def __init__(self, render_url, target, timeout, budget=None):
        self.render_url, self.target, self.timeout = render_url, target, timeout
        self.budget = budget or Budget(report_defaults.MAX_REPORT_RENDER_BYTES)
        self._end = time.monotonic() + timeout

    def get(self, params, points):
        """The answer to `params`, which can legitimately hold at most `points` points."""
        shown, target = f"{redact(self.render_url)}/render", self.target
        cap = min(report_defaults.MAX_RENDER_BYTES,
                  points * report_defaults.RENDER_BYTES_PER_POINT + report_defaults.RENDER_ANSWER_OVERHEAD)
        left = self._end - time.monotonic()
        try:
            if left <= 0:
                raise web.Timeout("the deadline has passed")
            response = web.get(f"{self.render_url}/render?{urlencode(params)}", left, cap,
                               tally=lambda size: self.budget.take(size, target))
        except web.TooLarge:
            raise Unreachable(f"{shown} answered more than {cap:,} bytes for target {target!r} (at most {points:,} "
                              "points asked for); does this render API ignore maxDataPoints and summarize(), or is "
                              "it not graphite-web?") from None
        except web.Timeout:
            raise Unreachable(f"cannot read {shown}: Timeout: no complete answer within {self.timeout:g} s for "
                              f"target {target!r} (one deadline for all its requests)") from None
        except web.WebError as error:
            raise Unreachable(f"cannot read {shown}: {error}") from None
        if response.status != 200:
            raise FetchError(f"{shown} answered HTTP {response.status} for target {target!r}: "
                             f"{safe(response.text().strip()[:defaults.QUOTED_ANSWER_LENGTH])}")
        return response


def _points(start, end, step):
    """The most points Graphite can answer for (start, end] at `step`: both ends, and one for its alignment."""
    return (end - start) // step + 2


def _one(target, count):
    if count > 1:
        raise Ambiguous(f"target {target!r} matches {count} series; name exactly one "
                         "(or combine them, e.g. sumSeries(...))")


def _checked(target, first, step, count, start, end):
    """Refuse a series whose step or start does not fit the period asked for."""
    if not 1 <= step <= report_defaults.MAX_RENDER_STEP:
        raise WrongShape(f"the render API answered a step of {step} s for {target!r}; a step is a whole "
                         f"number of seconds from 1 to {report_defaults.MAX_RENDER_STEP}")
    if not start - step <= first <= end + step:
        raise WrongShape(f"the render API answered a series for {target!r} that starts at {first}, outside "
                         f"the period asked for ({start} to {end})")
    if count > (end + step - first) // step + 1:
        raise WrongShape(f"the render API answered {count} points for {target!r}, more than "
                         f"{end - start} s at {step} s steps hold")


def _number(text, target):
    if text == "None":
        return None
    try:
        return float(text)
    except ValueError:
        shown = safe(text[:report_defaults.QUOTED_VALUE_LENGTH])
        raise WrongShape(f"the render API answered {shown!r} for {target!r}, which is not a number") from None


def _finite(numbers, known):
    """(numbers with NaN, infinities and absurd magnitudes as NaN, how many of the `known` ones those were)."""
    limit = report_defaults.MAX_RENDER_VALUE
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(numbers) < limit)
    numbers[bad] = np.nan
    return numbers, known - len(numbers) + int(bad.sum())


def parse_raw(text, target, start, end, step):
    """graphite-web's `format=raw`: one `name,start,end,step|v,v,...` line per series."""
    line, count = _first_line(text)
    _one(target, count)
    if not count:
        return Series(target, start, step, [])
    _, first, native, values = raw_line(line, start, end, target)
    parsed, dropped = raw_values(values, target)
    return Series(target, first, native, parsed, dropped)


def raw_line(line, start, end, target=None):
    """(name, first time, step, the values' text) of one raw line, its shape checked against the period."""
    header, bar, values = line.rpartition("|")
    fields = header.rsplit(",", 3)
    shown = target if target is not None else safe(fields[0][:defaults.QUOTED_ANSWER_LENGTH])
    if not bar or len(fields) != 4 or not all(_INTEGER.fullmatch(field) for field in fields[1:]):
        raise FetchError(f"the render API answered a raw line for {shown!r} that is not "
                         "name,start,end,step|values")
    first, native = int(fields[1]), int(fields[3])
    _checked(shown, first, native, values.count(",") + 1 if values else 0, start, end)
    return fields[0], first, native, values


def raw_values(text, target):
    """(a raw line's values as float64, NaN for None and for what is not finite or too large; how many were that)."""
    if not text:
        return np.empty(0), 0
    expected = text.count(",") + 1
    # In C, and 8 bytes a value instead of a float object's 32: a 1,000-home report parses 160 million of them.
    try:
        numbers = np.fromstring(text.replace("None", "nan"), sep=",")
    except ValueError:  # where warnings are errors: numpy's "could not be read to its end"
        numbers = None
    if numbers is None or len(numbers) != expected:
        # numpy stops at a value it cannot read: one by one, _number quotes the culprit.
        numbers = np.array([math.nan if v is None else v for v in (_number(value, target) for value in text.split(","))])
    return _finite(numbers, expected - text.count("None"))


def _first_line(text):
    """(the first non-empty line, how many there are), without splitting a hostile answer's many lines."""
    found = _LINE.finditer(text)
    first = next(found, None)
    return ("", 0) if first is None else (first.group(), 1 + sum(1 for _ in found))


def parse_json(answer, target, start, end, step):
    """graphite's `format=json`: `[{"target": ..., "datapoints": [[value, time], ...]}]`."""
    if not isinstance(answer, list):
        raise WrongShape(f"the render API answered JSON for {target!r} that is not a list of series")
    _one(target, len(answer))
    if not answer:
        return Series(target, start, step, [])
    points = answer[0].get("datapoints") if isinstance(answer[0], dict) else None
    if not isinstance(points, list) or not all(_is_point(point) for point in points):
        raise WrongShape(f"the render API answered a series for {target!r} without a list of "
                         "[number or null, time] datapoints")
    first = points[0][1] if points else start
    native = points[1][1] - points[0][1] if len(points) > 1 else step
    _checked(target, first, native, len(points), start, end)
    if any(stamp != first + index * native for index, (_, stamp) in enumerate(points)):
        raise WrongShape(f"the render API answered datapoints for {target!r} that are not evenly spaced")
    numbers = np.array([math.nan if value is None else _float(value) for value, _ in points], dtype=np.float64)
    return Series(target, first, native, *_finite(numbers, sum(1 for value, _ in points if value is not None)))


def _is_point(point):
    return (isinstance(point, list) and len(point) == 2 and type(point[1]) is int
            and (point[0] is None or type(point[0]) in (int, float)))


def _float(value):
    try:
        return float(value)
    except OverflowError:
        return math.inf


def fetch_raw(reader, start, end, step, last=False):
    """The compact `raw` format. It ignores maxDataPoints, so a finer series is summarized by Graphite."""
    target = reader.target
    # Graphite's ranges exclude `from` and include `until`: one second earlier keeps the bin at `start`.
    window = {"from": start - 1, "until": end - 1, "format": "raw"}
    probe_end = min(end, start + report_defaults.RAW_PROBE_SPAN)
    # The series' own step is not known yet: as fine as one second.
    probe = reader.get({**window, "target": target, "until": probe_end - 1}, _points(start, probe_end, 1))
    native = parse_raw(probe.text(), target, start, probe_end, step).step
    expression = f"summarize({target},'{step}s','{'last' if last else 'avg'}')" if native < step else target
    # Parsed under the configured target's name, whatever expression was sent.
    return parse_raw(reader.get({**window, "target": expression}, _points(start, end, step)).text(),
                     target, start, end, step)


def fetch_json(reader, start, end, step, last=False):
    """`format=json`, which any render API serves; `maxDataPoints` makes Graphite consolidate to `step`."""
    target = reader.target
    expression = f"consolidateBy({target},'last')" if last else target
    params = {"target": expression, "from": start - 1, "until": end - 1, "format": "json",
              "maxDataPoints": (end - start) // step + 1}
    points = _points(start, end, step)
    response = reader.get(params, points)
    # Two commas a point: more would be more values than the points can hold, each an object once parsed.
    if response.body.count(b",") > 2 * points + report_defaults.RENDER_ANSWER_COMMAS:
        raise WrongShape(f"the render API answered more than {points:,} points for {target!r}, more than "
                         f"{end - start} s at {step} s steps hold")
    try:
        answer = response.json()
    except ValueError:
        raise FetchError(f"{redact(reader.render_url)}/render did not answer JSON for target {target!r}; "
                         "is this the address of graphite-web (its render API)?") from None
    return parse_json(answer, target, start, end, step)


def fetch_one(reader, start, end, step, last=False):
    """Raw when the server speaks it (four times less to send and parse), else JSON, within one deadline."""
    try:
        return fetch_raw(reader, start, end, step, last)
    except (Unreachable, Ambiguous, WrongShape):
        raise
    except FetchError:
        pass
    return fetch_json(reader, start, end, step, last)


def _fetch(fetch, render_url, target, start, end, step, timeout, last, budget):
    # The deadline starts when the series' first request does, not when it was queued.
    return fetch(Reader(render_url, target, timeout, budget), start, end, step, last)


def fetch_all(render_url, requests_, start, end, step, timeout, fetch=fetch_one):
    """Fetch `{name: (target, last)}` in parallel; return `{name: Series}`.

    Each series has `timeout` seconds for all its requests; all of them together read at most
    MAX_REPORT_RENDER_BYTES.
    """
    budget = Budget(report_defaults.MAX_REPORT_RENDER_BYTES)
    # All at once (a household has a few people), so that a stalled server costs one timeout, not one a wave.
    pool = ThreadPoolExecutor(max_workers=max(1, min(report_defaults.MAX_RENDER_REQUESTS, len(requests_))))
    try:
        futures = {name: pool.submit(_fetch, fetch, render_url, target, start, end, step, timeout, last, budget)
                   for name, (target, last) in requests_.items()}
        return {name: future.result() for name, future in futures.items()}
    finally:
        # After a failure, the fetches not yet started are not worth their timeout.
        pool.shutdown(cancel_futures=True)
