"""The report's table for the figures a household acts on: what the home uses with nobody in and always
(each with its 95 % interval), what that costs, the waste periods, the hours of the week, the trend."""

from datetime import datetime

from presence.report.waste import DAYS

# The hours of the week listed: the highest nobody-home means, each over at least this many hours of data.
TOP_HOURS, MIN_SLOT_H = 6, 2.0


def insight_lines(result, pricing, number):
    """Lines of text; `number` is presence.report.output.number (value, unit, digits)."""
    if "nobody_home" not in result:
        return []
    from presence.report.money import money

    nobody, always, total = result["nobody_home"], result["always_on"], result["total"]
    lines = ["", "What the home uses when nobody is there (95 % intervals: whole days resampled)"]
    lines.append(f"  mean power with nobody home: {_with_interval(nobody['mean_w'], nobody['low_w'], nobody['high_w'], number)}"
                 f" over {number(nobody['hours_h'], 'h', 1)}, {number(nobody['kwh'], 'kWh', 1)}, "
                 f"{_share(nobody, number)} of the energy")
    lines.append(f"  always-on load:              {_with_interval(always['w'], always['low_w'], always['high_w'], number)}"
                 f", {number(always['kwh'], 'kWh', 1)}, {_share(always, number)} of the energy")
    lines += [f"  Note: {block['note']}" for block in (nobody, always) if block.get("note")]
    if result.get("price"):
        per = f"{money(result['price']['mean_per_kwh'], pricing)}/kWh on average" if pricing else ""
        lines += ["", f"Money ({result['price']['source']}, {per})",
                  f"  {'':<20}{'this period':>14}   a year at this power (95 %)",
                  f"  {'with nobody home':<20}{money(nobody['cost'], pricing):>14}   {_cost_range(nobody, pricing)}",
                  f"  {'always on':<20}{money(always['cost'], pricing):>14}   {_cost_range(always, pricing)}",
                  f"  {'everything':<20}{money(total['cost'], pricing):>14}   {money(total['cost_per_year'], pricing)}"]
        if nobody.get("cost_per_year_like_this_period") is not None:
            lines.append(f"  With nobody home as often as in this period, that time costs "
                         f"{money(nobody['cost_per_year_like_this_period'], pricing)} a year.")
    lines += _waste(result["waste"], pricing, number)
    lines += _hours(result["hour_of_week"], always["w"], number)
    lines += _weeks(result["weeks"], result["changes"], number)
    return lines


def _with_interval(value, low, high, number, missing="no interval: see the note", between=" to ", unit="W"):
    """`161 W (150 to 172 W)`; the value alone, with why, when it has no interval."""
    if value is None:
        return "-"
    if low is None:
        return f"{number(value, 'W')} ({missing})"
    return f"{number(value, 'W')} ({number(low)}{between}{number(high, unit)})"


def _share(block, number):
    if block["share_low_pct"] is None:
        return number(block["share_pct"], "%", 1)
    return f"{number(block['share_pct'], '%', 1)} ({number(block['share_low_pct'], '', 1)} to " \
           f"{number(block['share_high_pct'], '%', 1)})"


def _cost_range(block, pricing):
    from presence.report.money import money

    if block["cost_per_year_low"] is None:
        return money(block["cost_per_year"], pricing)
    return f"{money(block['cost_per_year'], pricing)} ({money(block['cost_per_year_low'], None)} to " \
           f"{money(block['cost_per_year_high'], pricing)})"


def _waste(block, pricing, number):
    from presence.report.money import money

    lines = ["", f"Waste: nobody home and more than {number(block['threshold_w'], 'W')} above always-on for "
                 f"{block['min_duration_min']} min or longer: {block['count']} period(s), "
                 f"{number(block['kwh'], 'kWh', 1)} above always-on"
                 + (f", {money(block['cost'], pricing)}" if block.get("cost") is not None else "")]
    if block["periods"]:
        lines.append(f"  {'start':<18}{'length':>9}{'mean power':>12}{'above always-on':>17}{'cost':>12}")
    for period in block["periods"]:
        start = datetime.fromisoformat(period["start"])
        lines.append(f"  {start:%a %Y-%m-%d %H:%M}{_length(period['duration_min']):>9}"
                     f"{number(period['mean_w'], 'W'):>12}{number(period['kwh'], 'kWh', 2):>17}"
                     f"{money(period['cost'], pricing):>12}")
    return lines


def _length(minutes):
    return f"{minutes // 60} h {minutes % 60:02d}" if minutes >= 60 else f"{minutes} min"


def _hours(rows, always_w, number):
    """The hours of the week with the highest nobody-home means, neighbours of one day joined."""
    ranked = sorted((r for r in rows if r["nobody_home_mean_w"] is not None and r["nobody_home_h"] >= MIN_SLOT_H),
                    key=lambda r: -r["nobody_home_mean_w"])[:TOP_HOURS]
    if not ranked:
        return []
    runs = []
    for row in sorted(ranked, key=lambda r: (r["day"], r["hour"])):
        last = runs[-1] if runs else None
        if last and last[0] == row["day"] and last[2] == row["hour"]:
            last[2] = row["hour"] + 1
            last[3] += row["nobody_home_mean_w"] * row["nobody_home_h"]
            last[4] += row["nobody_home_h"]
        else:
            runs.append([row["day"], row["hour"], row["hour"] + 1, row["nobody_home_mean_w"] * row["nobody_home_h"],
                         row["nobody_home_h"]])
    runs.sort(key=lambda run: -run[3] / run[4])
    lines = ["", f"When the home uses most with nobody in (hours of the week; always on is {number(always_w, 'W')})"]
    lines += [f"  {DAYS[day]} {first:02d}:00-{end:02d}:00  {number(wh / h, 'W'):>8} with nobody home "
              f"({number(h, 'h', 1)} in the period)" for day, first, end, wh, h in runs]
    return lines


def _weeks(weeks, changes, number):
    if not weeks:
        return []
    lines = ["", f"{'Week':<10}{'from':<12}{'days':>5}{'nobody home (95 %)':>28}{'always on (95 %)':>26}"]
    for week in weeks:
        nobody, always = week["nobody_home"], week["always_on"]
        lines.append(f"{week['label']:<10}{week['start']:<12}{week['days']:>5}"
                     f"{_band(nobody['mean_w'], nobody['low_w'], nobody['high_w'], number):>28}"
                     f"{_band(always['w'], always['low_w'], always['high_w'], number):>26}")
    if changes:
        lines += [f"  Change: {change['text']}" for change in changes]
    elif len(weeks) >= 4:
        lines.append("  No change the intervals call real.")
    return lines


def _band(value, low, high, number):
    return _with_interval(value, low, high, number, "too few days", "-", "")
