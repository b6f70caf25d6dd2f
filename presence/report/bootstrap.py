"""Intervals honest for autocorrelated data: whole local days are resampled, never minutes.

Neighbouring minutes (a fridge's cycle, an evening's cooking) are far from independent; days are much
nearer to it. Weekdays are resampled among weekdays and weekend days among weekend days, so that every
replicate has the period's own mix of them. With few days a percentile interval is too narrow: it is
widened by Student's t over the normal quantile and by the bootstrap's own (n-1)/n shortfall of variance.
"""

import math
from statistics import NormalDist

import numpy as np

from presence.config import report_defaults

# Student's t 97.5 % quantiles for 1..9 degrees of freedom; from 10 on, the Cornish-Fisher expansion is
# within 0.2 % of the table.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262)
_Z975 = NormalDist().inv_cdf(0.975)


def t975(dof):
    """Student's t 97.5 % quantile for `dof` degrees of freedom."""
    if dof < 1:
        return math.inf
    if dof <= len(_T975):
        return _T975[int(dof) - 1]
    z = _Z975
    return z + (z ** 3 + z) / (4 * dof) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * dof * dof)


def widening(days):
    """How much wider than the bootstrap's percentiles an interval over `days` independent days must be."""
    if days < 2:
        return math.inf
    return t975(days - 1) / _Z975 * math.sqrt(days / (days - 1))


def effective_days(weights):
    """Kish's effective number of days of per-day weights (hours): 28 equal days are 28, one long day and
    27 short ones are nearer 1."""
    weights = np.asarray(weights, dtype=np.float64)
    total, squares = weights.sum(), (weights * weights).sum()
    return float(total * total / squares) if squares > 0 else 0.0


def resample(strata, replicates=report_defaults.BOOTSTRAP_REPLICATES, seed=report_defaults.BOOTSTRAP_SEED):
    """(replicates × days) how often each day is drawn; days of equal `strata` value are drawn among
    themselves. Seeded: the same data gives the same report."""
    strata = np.asarray(strata)
    days = len(strata)
    rng = np.random.default_rng(seed)
    drawn = np.empty((replicates, days), dtype=np.int64)
    for value in np.unique(strata):
        members = np.flatnonzero(strata == value)
        drawn[:, members] = members[rng.integers(0, len(members), size=(replicates, len(members)))]
    drawn += np.arange(replicates)[:, None] * days
    return np.bincount(drawn.ravel(), minlength=replicates * days).reshape(replicates, days).astype(np.int32)


def ratio_replicates(numerator, denominator, counts):
    """sum(numerator*) / sum(denominator*) for every replicate (NaN where the denominator is 0)."""
    top, bottom = counts @ np.asarray(numerator, float), counts @ np.asarray(denominator, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), np.nan)


def percentile_replicates(values, value_days, counts, percentile, chunk=report_defaults.BOOTSTRAP_CHUNK):
    """The `percentile` of `values` (each belonging to day `value_days`) for every replicate, each value
    counted as often as its day was drawn; the same interpolation between ranks as numpy's default."""
    order = np.argsort(values, kind="stable")
    ordered, days = np.asarray(values, float)[order], np.asarray(value_days)[order]
    out = np.full(len(counts), np.nan)
    if not len(ordered):
        return out
    # A low percentile lies among the lowest values: look there first, and further only where it is not.
    prefix = min(len(ordered), int(len(ordered) * min(1.0, 3 * percentile / 100)) + 64)
    rows = np.arange(len(counts))
    for width in (prefix, len(ordered)):
        missing = []
        for first in range(0, len(rows), chunk):
            part = rows[first:first + chunk]
            cumulative = np.cumsum(counts[part][:, days[:width]], axis=1)
            total = counts[part].astype(np.int64) @ np.bincount(days, minlength=counts.shape[1])
            rank = (total - 1) * percentile / 100
            low, high = np.floor(rank), np.ceil(rank)
            at_low = (cumulative <= low[:, None]).sum(axis=1)
            at_high = (cumulative <= high[:, None]).sum(axis=1)
            inside = at_high < width
            at_low, at_high = np.minimum(at_low, width - 1), np.minimum(at_high, width - 1)
            value = ordered[at_low] + (rank - low) * (ordered[at_high] - ordered[at_low])
            out[part] = np.where(total > 0, value, np.nan)
            missing.append(part[~inside & (total > 0)])
        rows = np.concatenate(missing)
        if not len(rows) or width == len(ordered):
            break
    return out


def interval(estimate, replicates, days, least=report_defaults.MIN_INTERVAL_DAYS):
    """(low, high): the 95 % percentile interval of `replicates` around `estimate`, widened for `days`
    (None, None when there are fewer than `least` days, or too few replicates, to say)."""
    finite = replicates[np.isfinite(replicates)]
    if estimate is None or days < least or len(finite) < 0.9 * len(replicates):
        return None, None
    low, high = np.percentile(finite, [2.5, 97.5])
    wider = widening(days)
    return float(estimate - (estimate - low) * wider), float(estimate + (high - estimate) * wider)
