"""`report.tariff` checked once, with errors that name the key: time-of-use periods that overlap nowhere.

The daemon reads the config too, so this module imports nothing of the report (presence.report.money prices
the minutes of the week from what it returns).
"""

import re

from presence.config import checker, defaults
from presence.config.model import TariffPeriod

_TARIFF_KEYS = {"from", "until", "days", "price"}
_CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):[0-5][0-9]|24:00")
_WEEK = defaults.MINUTES_PER_WEEK
_DAY = defaults.MINUTES_PER_DAY


def read_tariff(check, raw, has_price):
    """`report.tariff` checked as TariffPeriods that overlap nowhere and, without report.price, price every minute
    of the week; () when absent or wrong (each problem recorded with `check`, the config's Checker)."""
    if raw is None:
        return ()
    items = check.sequence(raw, "report.tariff")
    if len(items) > defaults.MAX_TARIFF_PERIODS or (not items and isinstance(raw, list)):
        check.fail("report.tariff", f"must list 1 to {defaults.MAX_TARIFF_PERIODS} periods (one an hour of the "
                                    f"week), not {len(items)}")
        return ()
    periods = [_period(check, item, f"report.tariff[{index}]") for index, item in enumerate(items)]
    spans = sorted((start, end, index) for index, period in enumerate(periods) if period
                   for start, end in period.spans())
    _name_overlaps(check, spans)
    if None in periods:
        return ()
    left = gaps(spans)
    if left and not has_price:
        hours = round(sum(end - start for start, end in left) / 60, 2)
        check.fail("report.tariff", f"leaves {hours:g} h of the week unpriced, first {week_text(*left[0])}: "
                                    "set report.price for the hours no period covers, or cover them")
    return tuple(periods)


def _period(check, item, path):
    """One entry of `report.tariff` as a TariffPeriod, or None."""
    if not isinstance(item, dict):
        check.fail(path, f"must be a mapping with from, until and price, not {checker.describe(item)}")
        return None
    check.unknown_keys(item, _TARIFF_KEYS, path)
    start, end = (_clock(check, item.get(key), f"{path}.{key}", key) for key in ("from", "until"))
    if start is not None and start == end:
        check.fail(f"{path}.until", "is the same time as from: a period needs a length (00:00 to 24:00 is a day)")
    price = None
    if "price" not in item:
        check.fail(f"{path}.price", "missing: what one kWh costs in this period")
    else:
        price = check.number(item["price"], f"{path}.price", 0, defaults.MAX_PRICE)
    days = _days(check, item.get("days", list(defaults.WEEKDAYS)), f"{path}.days")
    if None in (start, end, price, days) or start == end:
        return None
    return TariffPeriod(start=start, end=end, price=price, days=days)


def _clock(check, value, path, key):
    """A time of day "HH:MM" as its minute, 0 to 1440 ("24:00" only as an until), or None."""
    if value is None:
        check.fail(path, f"missing: the time of day the period {'starts' if key == 'from' else 'ends'}, e.g. '07:00'")
        return None
    if not isinstance(value, str) or not _CLOCK.fullmatch(value) or (key == "from" and value == "24:00"):
        # PyYAML reads 22:00 unquoted as a number in base 60, 1320 (its minute), but 07:00 as text.
        hint = ""
        if type(value) is int and 60 <= value <= _DAY:
            hint = f" (YAML reads {clock_text(value)} unquoted as that number: write '{clock_text(value)}')"
        check.fail(path, f"must be a time of day as 'HH:MM', 00:00 to {'23:59' if key == 'from' else '24:00'}, "
                         f"not {checker.describe(value)}{hint}")
        return None
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _days(check, names, path):
    """A period's `days` ([sat, sun]) as a frozenset of 0 (Monday) to 6, or None."""
    if not isinstance(names, list) or not names:
        check.fail(path, f"must be a list of days such as [sat, sun] (left out: every day), not "
                         f"{checker.describe(names)}")
        return None
    for index, name in enumerate(names):
        if not isinstance(name, str) or name.lower() not in defaults.WEEKDAYS:
            check.fail(f"{path}[{index}]", f"must be one of {', '.join(defaults.WEEKDAYS)}, "
                                           f"not {checker.describe(name)}")
            return None
    return frozenset(defaults.WEEKDAYS.index(name.lower()) for name in names)


def _name_overlaps(check, spans):
    """Name both periods of each overlap in the sorted (start, end, index) `spans` (one sweep: n log n)."""
    reach, named = None, set()  # (end, index) of the span reaching furthest so far
    for start, end, index in spans:
        pair = tuple(sorted((reach[1], index))) if reach and start < reach[0] else None
        if pair and pair not in named:
            named.add(pair)
            check.fail(f"report.tariff[{pair[1]}]", f"overlaps report.tariff[{pair[0]}] on "
                                                    f"{week_text(start, min(end, reach[0]))}")
        if not reach or end > reach[0]:
            reach = (end, index)


def gaps(spans):
    """The (start, end) minutes of the week that the sorted `spans` (start, end, ...) leave out."""
    covered, gaps = 0, []
    for start, end, *_ in list(spans) + [(_WEEK, _WEEK)]:
        if start > covered:
            gaps.append((covered, start))
        covered = max(covered, end)
    return gaps


def week_text(start, end):
    """Minutes of the week as `mon 07:00-09:00`, or `sat 22:00-mon 07:00` across days."""
    day, end_day = start // _DAY, (end - 1) // _DAY
    text = f"{defaults.WEEKDAYS[day]} {clock_text(start - day * _DAY)}-"
    if end_day != day:
        text += f"{defaults.WEEKDAYS[end_day]} "
    return text + clock_text(end - end_day * _DAY)


def clock_text(minute):
    """A minute of the day as `07:00`."""
    return f"{minute // 60:02d}:{minute % 60:02d}"
