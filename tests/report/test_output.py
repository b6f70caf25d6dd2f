"""The report as JSON and as a table: numbers that are not finite, units, dashes, names shown safely."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from presence.report.analysis import analyse
from presence.report.output import as_json, as_table
from presence.report.series import Grid

BERLIN = ZoneInfo("Europe/Berlin")
STEP = 600
BINS_PER_DAY = 86400 // STEP
POWER_GAP = (30, 42)  # 05:00 to 07:00 on the first day


def small_report():
    """`(result, grid, power, anyone)` of a Friday and a Saturday in Berlin: someone home 18:00-23:00 at
    400 W, nobody home otherwise at 100 W, no power data from 05:00 to 07:00 on Friday."""
    start = int(datetime(2026, 6, 5, tzinfo=BERLIN).timestamp())
    grid = Grid(start, STEP, 2 * BINS_PER_DAY)
    anyone = [1.0 if 18 * 6 <= i % BINS_PER_DAY < 23 * 6 else 0.0 for i in range(grid.count)]
    power = [None if POWER_GAP[0] <= i < POWER_GAP[1] else 100.0 + 300.0 * a for i, a in enumerate(anyone)]
    return analyse(grid, power, anyone, {"nick": anyone}, BERLIN), grid, power, anyone


def line_starting(text, start):
    [line] = [line for line in text.splitlines() if line.startswith(start)]
    return line


def test_json_output_turns_numbers_that_are_not_finite_into_null():
    result = {"energy": {"mean_w": float("nan"), "total_kwh": 1.5}, "people": [{"extra_w": float("inf")}],
              "profile": (float("-inf"), 2)}

    def refuse(constant):
        raise ValueError(constant)

    assert json.loads(as_json(result), parse_constant=refuse) == {
        "energy": {"mean_w": None, "total_kwh": 1.5}, "people": [{"extra_w": None}], "profile": [None, 2]}


def test_every_figure_in_the_table_carries_its_unit_and_a_missing_one_is_a_dash():
    result = small_report()[0]
    result["energy"].update(total_kwh=1234.5, mean_empty_w=None, empty_share_pct=float("nan"))
    text = as_table(result, {})
    assert text.startswith("Presence and electricity, 2026-06-05T00:00 to 2026-06-07T00:00 (Europe/Berlin): "
                           "48.0 h at 600 s steps\n")
    assert line_starting(text, "Data:") == "Data: power 95.8 %, presence 100.0 %, both 95.8 % of the period"
    assert line_starting(text, "  total").split() == ["total", "1,234.50", "kWh", "165", "W"]
    assert line_starting(text, "  while nobody").split()[4:] == ["3.60", "kWh", "-", "-", "36.0", "h"]
    assert line_starting(text, "  while someone").split()[4:] == ["4.00", "kWh", "52.6", "%", "400", "W", "10.0", "h"]
    assert line_starting(text, "Idle").startswith('Idle ("always on") load: 100 W (5th percentile')


def test_people_are_shown_by_their_names_made_safe_with_a_signed_estimate_or_none():
    result = small_report()[0]
    result["people"] = [{"person": "nick", "hours_home_h": 10.0, "extra_w": 152.4, "plus_minus_w": 20.2},
                        {"person": "sue", "hours_home_h": 0.0, "extra_w": None, "plus_minus_w": None},
                        {"person": "mo", "hours_home_h": 3.0, "extra_w": -12.0, "plus_minus_w": 4.0}]
    result["caveats"] = ["sue\x1b[2J was never home"]
    text = as_table(result, {"nick": "Nick\x1b]0;owned\x07", "mo": "Mo"})
    assert "\x1b" not in text and "\x07" not in text
    assert line_starting(text, "  Nick\\x1b]0;owned\\x07").split()[1:] == ["10.0", "h", "+152", "±", "20", "W"]
    assert line_starting(text, "  sue").split()[1:] == ["0.0", "h", "no", "estimate"]
    assert line_starting(text, "  Mo ").split()[1:] == ["3.0", "h", "-12", "±", "4", "W"]
    assert "  Note: sue\\x1b[2J was never home" in text.splitlines()


def test_the_counter_and_unknown_presence_lines_appear_only_when_there_is_something_to_say():
    result = small_report()[0]
    plain = as_table(result, {})
    assert "Energy counter" not in plain and "presence unknown" not in plain
    result["counter"] = {"resets": 2, "in_gaps_kwh": 1.256}
    result["energy"]["unknown_occupancy_kwh"] = 0.5
    text = as_table(result, {})
    assert line_starting(text, "Energy counter:").startswith("Energy counter: 2 reset(s); 1.26 kWh used across gaps")
    assert line_starting(text, "  presence unknown").split()[2:] == ["0.50", "kWh"]


def test_the_hour_of_day_table_has_one_row_per_hour_with_weekdays_and_weekends_side_by_side():
    result = small_report()[0]
    result["profile"]["weekend"][5]["mean_w"] = None
    rows = as_table(result, {}).splitlines()
    header = rows.index(next(row for row in rows if row.startswith("Hour")))
    hours = rows[header + 1:header + 25]
    assert [row[:5] for row in hours] == [f"{hour:02d}:00" for hour in range(24)] and rows[header + 25] == ""
    assert hours[19].split() == ["19:00", "100", "%", "400", "W", "100", "%", "400", "W"]
    assert hours[5].split() == ["05:00", "0", "%", "-", "0", "%", "-"]
    assert hours[3].split() == ["03:00", "0", "%", "100", "W", "0", "%", "100", "W"]
