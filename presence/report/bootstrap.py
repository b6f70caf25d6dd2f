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


def tail_dof(energy, hours):
    """Degrees of freedom of a ratio's variance from per-day arrays, fewer when a few days dominate it.

    The variance of days with heavy tails (a month of showers and laundry) is itself uncertain: Satterthwaite's
    2n / (kurtosis - 1) degrees of freedom, never more than n - 1 (normal days: about n)."""
    energy, hours = np.asarray(energy, dtype=np.float64), np.asarray(hours, dtype=np.float64)
    keep = hours > 0
    n = int(keep.sum())
    if n < 3:
        return max(n - 1, 1)
    residual = energy[keep] - energy[keep].sum() / hours[keep].sum() * hours[keep]
    squares = (residual * residual).sum()
    kurtosis = n * (residual ** 4).sum() / squares ** 2 if squares > 0 else 3.0
    return max(1.0, min(n - 1.0, 2 * n / max(kurtosis - 1, 1e-9)))


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


def interval(estimate, replicates, days, least=report_defaults.MIN_INTERVAL_DAYS, dof=None):
    """(low, high): the 95 % percentile interval of `replicates` around `estimate`, widened for `days` (or for
    `dof` degrees of freedom when given: see tail_dof); None, None with fewer than `least` days, or too few
    replicates, to say."""
    finite = replicates[np.isfinite(replicates)]
    if estimate is None or days < least or len(finite) < 0.9 * len(replicates):
        return None, None
    low, high = np.percentile(finite, [2.5, 97.5])
    wider = widening(days) if dof is None else t975(dof) / _Z975 * math.sqrt(days / (days - 1))
    return float(estimate - (estimate - low) * wider), float(estimate + (high - estimate) * wider)


def _chi2(p, dof):
    """The chi-square `p` quantile: exact for 2 degrees of freedom, Wilson-Hilferty (within 0.5 %) above."""
    if dof == 2:
        return -2 * math.log(1 - p)
    z = NormalDist().inv_cdf(p)
    return dof * (1 - 2 / (9 * dof) + z * math.sqrt(2 / (9 * dof))) ** 3


def poisson_bounds(count):
    """Garwood's exact 95 % interval of a Poisson mean from one `count`."""
    low = 0.0 if count == 0 else _chi2(0.025, 2 * count) / 2
    return low, -math.log(0.025) if count == 0 else _chi2(0.975, 2 * count + 2) / 2


def mean_with_rare_loads(energy, hours, large, counts, days, least=report_defaults.MIN_INTERVAL_DAYS,
                         smallest=report_defaults.LARGE_LOAD_WH):
    """(low, high, large days) of sum(energy) / sum(hours), per-day arrays, when part of the energy comes from
    large loads that run on few days (a washing machine or an oven while everyone is out).

    Resampling a month's days cannot know how often such days happen: a month without one gets a narrow
    interval below a long-run mean that has them. So days whose `large` energy (above always-on + the waste
    threshold) reaches `smallest` Wh are counted apart: their count is Poisson (Garwood's bounds, and with
    none seen, up to 3.7 days of `smallest` Wh each), the rest is resampled, and the two are added in
    quadrature."""
    energy, hours, large = (np.asarray(x, dtype=np.float64) for x in (energy, hours, large))
    total = hours.sum()
    if total <= 0:
        return None, None, 0
    rare = large >= smallest
    base = energy - np.where(rare, large, 0.0)
    mean, base_mean = energy.sum() / total, base.sum() / total
    low, high = interval(base_mean, ratio_replicates(base, hours, counts), days, least)
    if low is None:
        return None, None, int(rare.sum())
    seen = int(rare.sum())
    size = large[rare].sum() / seen if seen else smallest
    fewest, most = poisson_bounds(seen)
    rate = large[rare].sum() / total
    below = math.hypot(base_mean - low, max(rate - fewest * size / total, 0.0))
    above = math.hypot(high - base_mean, max(most * size / total - rate, 0.0))
    return float(mean - below), float(mean + above), seen
