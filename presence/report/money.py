"""Money in `report` (issue 26): what one kWh costs at each minute of the household's week.

The config's `report.tariff` is checked by presence.config.tariff; numpy is imported only where a report is priced.
"""

import math
from dataclasses import dataclass
from functools import lru_cache

from presence.config import defaults
from presence.config.tariff import clock_text, gaps, week_text

_WEEK = defaults.MINUTES_PER_WEEK


@dataclass(frozen=True)
class Pricing:
    """A report's prices: `periods` (TariffPeriods) over `base`, the flat price and that of the minutes no period
    covers (None: none is left); `source` says where they came from."""

    source: str
    currency: str = None
    base: float = None
    periods: tuple = ()


def pricing(report_config, price=None, currency=None):
    """`price` (--price, flat) over report.tariff (over report.price) over report.price; None when none is set.

    `currency` (--currency) over report.currency.
    """
    currency = report_config.currency if currency is None else currency
    if price is not None:
        return Pricing("--price", currency, _positive(price, "--price"))
    if report_config.tariff:
        periods = tuple(report_config.tariff)
        left = gaps(sorted(span for period in periods for span in period.spans()))
        if left and report_config.price is None:
            raise ValueError(f"report.tariff leaves {week_text(*left[0])} unpriced and there is no report.price")
        return Pricing("report.tariff", currency, _positive(report_config.price, "report.price") if left else None,
                       periods)
    if report_config.price is not None:
        return Pricing("report.price", currency, _positive(report_config.price, "report.price"))
    return None


def _positive(price, name):
    if not 0 < price < math.inf:
        raise ValueError(f"{name} must be a positive number, not {price!r}")
    return float(price)


@lru_cache(maxsize=16)
def minute_prices(pricing):
    """A kWh's price at each of the 10080 minutes of the local week, Monday 00:00 first (numpy float64, read-only)."""
    import numpy as np  # here, not at the top: the daemon imports this module to read its config

    prices = np.full(_WEEK, np.nan if pricing.base is None else pricing.base, dtype=np.float64)
    for period in pricing.periods:
        for start, end in period.spans():
            prices[start:end] = period.price
    prices.flags.writeable = False
    return prices


def week_mean(pricing):
    """The mean price over the week, each minute alike: what a kWh of a load that never stops costs."""
    spans = [(end - start, period.price) for period in pricing.periods for start, end in period.spans()]
    left = _WEEK - sum(minutes for minutes, _ in spans)
    if left and pricing.base is None:  # only a Pricing made by hand: pricing() refuses such a tariff
        return math.nan
    return math.fsum([minutes * price for minutes, price in spans] + [left * (pricing.base or 0.0)]) / _WEEK


def describe(pricing):
    """The prices as the report's JSON holds them: `periods` [] for a flat price, `base_per_kwh` elsewhere."""
    return {"currency": pricing.currency, "source": pricing.source, "mean_per_kwh": week_mean(pricing),
            "periods": [{"days": [defaults.WEEKDAYS[day] for day in sorted(period.days)],
                         "from": clock_text(period.start), "until": clock_text(period.end), "per_kwh": period.price}
                        for period in pricing.periods],
            "base_per_kwh": pricing.base}


def money(value, pricing):
    """An amount as the report's table shows it: `12.34 EUR`, `12.34` without a currency, `-` when unknown."""
    if value is None or not math.isfinite(value):
        return "-"
    text = f"{value:.2f}"
    text = "0.00" if text == "-0.00" else text
    currency = pricing.currency if pricing is not None else None
    return f"{text} {currency}" if currency else text

