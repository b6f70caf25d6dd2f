"""Read series from Graphite's render API (`/render?format=json`), consolidated to the report's step."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode

import requests


class FetchError(Exception):
    """The render API could not be read; the message says where and why."""


@dataclass(frozen=True)
class Series:
    """Values at `start`, `start + step`, ...; None where Graphite has no point."""

    target: str
    start: int
    step: int
    values: list


def render_query(target, start, end, step, last=False):
    """The query string: `maxDataPoints` makes Graphite average finer points to `step` (or keep the last)."""
    if last:
        target = f"consolidateBy({target},'last')"
    # Graphite's ranges exclude `from` and include `until`: one second earlier keeps the bin at `start`.
    return urlencode({"target": target, "from": start - 1, "until": end - 1, "format": "json",
                      "maxDataPoints": (end - start) // step + 1})


def fetch_one(session, render_url, target, start, end, step, timeout, last=False):
    url = f"{render_url}/render?{render_query(target, start, end, step, last)}"
    try:
        response = session.get(url, timeout=timeout)
    except requests.RequestException as error:
        raise FetchError(f"cannot read {render_url}/render: {type(error).__name__}: {error}") from None
    if response.status_code != 200:
        raise FetchError(f"{render_url}/render answered HTTP {response.status_code} for target {target!r}: "
                         f"{response.text.strip()[:200]}")
    try:
        answer = response.json()
    except ValueError:
        raise FetchError(f"{render_url}/render did not answer JSON for target {target!r}; "
                         "is this the address of graphite-web (its render API)?") from None
    if not answer:
        return Series(target, start, step, [])
    if len(answer) > 1:
        raise FetchError(f"target {target!r} matches {len(answer)} series; name exactly one "
                         "(or combine them, e.g. sumSeries(...))")
    points = answer[0]["datapoints"]
    first = points[0][1] if points else start
    native = points[1][1] - points[0][1] if len(points) > 1 else step
    return Series(target, int(first), int(native), [None if v is None else float(v) for v, _ in points])


def fetch_all(render_url, requests_, start, end, step, timeout):
    """Fetch `{name: (target, last)}` in parallel; return `{name: Series}`."""
    with requests.Session() as session, ThreadPoolExecutor(max_workers=8) as pool:
        futures = {name: pool.submit(fetch_one, session, render_url, target, start, end, step, timeout, last)
                   for name, (target, last) in requests_.items()}
        return {name: future.result() for name, future in futures.items()}
