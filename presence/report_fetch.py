"""Read series from Graphite's render API, consolidated by Graphite to the report's step."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode

import requests


class FetchError(Exception):
    """The render API could not be read; the message says where and why."""


class Unreachable(FetchError):
    """No answer at all: asking again in another format would not help."""


class Ambiguous(FetchError):
    """The target names more than one series."""


@dataclass(frozen=True)
class Series:
    """Values at `start`, `start + step`, ...; None where Graphite has no point."""

    target: str
    start: int
    step: int
    values: list


def _get(session, render_url, params, timeout, target):
    try:
        response = session.get(f"{render_url}/render?{urlencode(params)}", timeout=timeout)
    except requests.RequestException as error:
        raise Unreachable(f"cannot read {render_url}/render: {type(error).__name__}: {error}") from None
    if response.status_code != 200:
        raise FetchError(f"{render_url}/render answered HTTP {response.status_code} for target {target!r}: "
                         f"{response.text.strip()[:200]}")
    return response


def _one(target, count):
    if count > 1:
        raise Ambiguous(f"target {target!r} matches {count} series; name exactly one "
                         "(or combine them, e.g. sumSeries(...))")


def parse_raw(text, target, start, step):
    """graphite-web's `format=raw`: one `name,start,end,step|v,v,...` line per series."""
    lines = [line for line in text.splitlines() if line]
    _one(target, len(lines))
    if not lines:
        return Series(target, start, step, [])
    header, _, values = lines[0].rpartition("|")
    _, first, _, native = header.rsplit(",", 3)
    return Series(target, int(first), int(native),
                  [None if v == "None" else float(v) for v in values.split(",")] if values else [])


def fetch_raw(session, render_url, target, start, end, step, timeout, last=False):
    """The compact `raw` format. It ignores maxDataPoints, so a finer series is summarized by Graphite."""
    # Graphite's ranges exclude `from` and include `until`: one second earlier keeps the bin at `start`.
    window = {"from": start - 1, "until": end - 1, "format": "raw"}
    probe = _get(session, render_url, {**window, "target": target, "until": min(end, start + 600) - 1}, timeout,
                 target)
    native = parse_raw(probe.text, target, start, step).step
    expression = f"summarize({target},'{step}s','{'last' if last else 'avg'}')" if native < step else target
    # Parsed under the configured target's name, whatever expression was sent.
    return parse_raw(_get(session, render_url, {**window, "target": expression}, timeout, target).text,
                     target, start, step)


def fetch_json(session, render_url, target, start, end, step, timeout, last=False):
    """`format=json`, which any render API serves; `maxDataPoints` makes Graphite consolidate to `step`."""
    expression = f"consolidateBy({target},'last')" if last else target
    params = {"target": expression, "from": start - 1, "until": end - 1, "format": "json",
              "maxDataPoints": (end - start) // step + 1}
    try:
        answer = _get(session, render_url, params, timeout, target).json()
    except ValueError:
        raise FetchError(f"{render_url}/render did not answer JSON for target {target!r}; "
                         "is this the address of graphite-web (its render API)?") from None
    _one(target, len(answer))
    if not answer:
        return Series(target, start, step, [])
    points = answer[0]["datapoints"]
    first = points[0][1] if points else start
    native = points[1][1] - points[0][1] if len(points) > 1 else step
    return Series(target, int(first), int(native), [None if v is None else float(v) for v, _ in points])


def fetch_one(session, render_url, target, start, end, step, timeout, last=False):
    """Raw when the server speaks it (four times less to send and parse), else JSON."""
    try:
        return fetch_raw(session, render_url, target, start, end, step, timeout, last)
    except (Unreachable, Ambiguous):
        raise
    except (FetchError, ValueError):
        pass
    return fetch_json(session, render_url, target, start, end, step, timeout, last)


def fetch_all(render_url, requests_, start, end, step, timeout, fetch=fetch_one):
    """Fetch `{name: (target, last)}` in parallel; return `{name: Series}`."""
    with requests.Session() as session, ThreadPoolExecutor(max_workers=8) as pool:
        futures = {name: pool.submit(fetch, session, render_url, target, start, end, step, timeout, last)
                   for name, (target, last) in requests_.items()}
        return {name: future.result() for name, future in futures.items()}
