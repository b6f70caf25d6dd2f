"""The study's summary over its homes with enough data (pure arithmetic, no I/O).

Quartiles interpolate linearly between order statistics (as numpy's default does). The median's interval
is distribution-free: between the l-th and the (n+1-l)-th smallest of n homes, with l the largest rank for
which the chance that fewer than l homes lie below the median, Binomial(n, 1/2), is at most half of what
the confidence leaves out. It holds whatever the homes' distribution; it needs 6 homes for 95 %.
"""

import math
from fractions import Fraction

from presence.config import report_defaults

OK = "ok"
TOO_LITTLE = "too little data"
UNREADABLE = "unreadable"
NO_INTERVAL = "too few homes for an interval"
# The figures whose distribution over homes the summary gives: (key, where a home's report has it).
FIGURES = (("mean_empty_w", ("energy", "mean_empty_w")), ("idle_w", ("idle", "idle_w")),
           ("empty_share_pct", ("energy", "empty_share_pct")), ("idle_share_pct", ("idle", "share_pct")))


def quantile(ordered, share):
    """The `share` quantile of sorted values, interpolated between the two nearest ranks."""
    rank = (len(ordered) - 1) * share
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median_ranks(count, confidence=report_defaults.FLEET_MEDIAN_CONFIDENCE):
    """(l, u, coverage): 1-based ranks whose values hold the median with at least `confidence`, or None.

    Exact in integers: P(B <= l - 1) = sum(C(n, i) for i < l) / 2**n, with B ~ Binomial(n, 1/2).
    """
    left_out = (1 - Fraction(str(confidence))) / 2
    total, below, term, rank = 2 ** count, 0, 1, 0
    # One rank more while the chance below it stays within `left_out`: sum(C(n, i) for i <= l) <= left_out * 2**n.
    while rank < count and (below + term) * left_out.denominator <= left_out.numerator * total:
        below += term
        rank += 1
        term = term * (count - rank + 1) // rank
    if rank == 0:
        return None
    return rank, count + 1 - rank, 1 - 2 * below / total


def distribution(values):
    """min, quartiles, median with its interval, max of the values (None ones left out)."""
    ordered = sorted(value for value in values if value is not None)
    if not ordered:
        return {"homes": 0, "min": None, "q1": None, "median": None, "q3": None, "max": None,
                "median_interval": None, "note": "no home with this figure"}
    found = {"homes": len(ordered), "min": ordered[0], "q1": quantile(ordered, 0.25),
             "median": quantile(ordered, 0.5), "q3": quantile(ordered, 0.75), "max": ordered[-1]}
    ranks = median_ranks(len(ordered))
    if ranks is None:
        return {**found, "median_interval": None, "note": NO_INTERVAL}
    low, high, coverage = ranks
    return {**found, "median_interval": {"low": ordered[low - 1], "high": ordered[high - 1],
                                         "coverage_pct": 100 * coverage}, "note": None}


def figure(entry, where):
    """A figure of one home's report (`("energy", "mean_empty_w")`), or None."""
    value = entry
    for key in where:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def summarise(entries):
    """The study's summary: how many homes, the figures' distribution over those with enough data, the totals."""
    enough = [entry for entry in entries if entry["status"] == OK]
    counts = {status: sum(1 for entry in entries if entry["status"] == status) for status in (TOO_LITTLE, UNREADABLE)}
    empty_kwh = sum(figure(entry, ("energy", "empty_kwh")) for entry in enough)
    measured_kwh = empty_kwh + sum(figure(entry, ("energy", "occupied_kwh")) for entry in enough)
    above = [figure(entry, ("idle", "empty_above_idle_kwh")) for entry in enough]
    return {
        "homes": {"listed": len(entries), "with_enough_data": len(enough), "too_little_data": counts[TOO_LITTLE],
                  "unreadable": counts[UNREADABLE]},
        "distribution": {key: distribution([figure(entry, where) for entry in enough]) for key, where in FIGURES},
        "energy": {"total_kwh": sum(figure(entry, ("energy", "total_kwh")) for entry in enough),
                   "empty_kwh": empty_kwh,
                   "empty_share_pct": 100 * empty_kwh / measured_kwh if measured_kwh else None,
                   "empty_above_idle_kwh": sum(value for value in above if value is not None)},
    }
