"""The study's report as a table, JSON and CSV: every home listed, figures or why there are none."""

import csv
import io
import json
import math

from presence.report.homes.output import COLUMNS, as_csv, as_study_table
from presence.report.homes.summary import OK, TOO_LITTLE, summarise
from presence.report.output import as_json


def home_report(name, empty_w, idle_w):
    """The keys of one home's `report` that the study's outputs read."""
    return {"home": name, "prefix": f"study.{name}.presence", "status": OK,
            "period": {"start": "2026-11-01T00:00:00+01:00", "end": "2026-11-29T00:00:00+01:00", "step_s": 60},
            "coverage": {"power_pct": 100.0, "presence_pct": 99.5, "both_pct": 99.5},
            "energy": {"total_kwh": 250.0, "empty_kwh": 30.0, "occupied_kwh": 220.0, "unknown_occupancy_kwh": 0.0,
                       "empty_share_pct": 12.0, "empty_h": 200.0, "occupied_h": 472.0, "mean_w": 372.0,
                       "mean_empty_w": empty_w, "mean_occupied_w": 466.1},
            "idle": {"idle_w": idle_w, "idle_kwh": 100.0, "share_pct": 40.0, "empty_above_idle_kwh": 2.0},
            "nobody_home": {"mean_w": empty_w, "low_w": empty_w - 20, "high_w": empty_w + 25},
            "always_on": {"w": idle_w, "low_w": idle_w - 5, "high_w": idle_w + 6},
            "waste": {"kwh": 4.5, "count": 2},
            "people": [{"person": "ann"}, {"person": "bob"}], "caveats": []}


def study(*homes):
    summary = summarise(list(homes))
    summary["study"] = {"homes": "study.*", "electricity": "study.{home}.electricity.power",
                        "start": "2026-11-01T00:00:00+01:00", "end": "2026-11-29T00:00:00+01:00",
                        "time_zone": "Europe/Berlin", "requests": 5}
    return {"homes": list(homes), "summary": summary}


THIN = {"home": "h9", "prefix": "study.h9.presence", "status": TOO_LITTLE,
        "why": "no electricity series: 'study.h9.electricity.power' names none"}


def test_csv_has_a_header_and_one_row_a_home_in_fixed_columns():
    text = as_csv(study(home_report("h1", 150.0, 140.0), THIN))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == ",".join(name for name, _ in COLUMNS)
    assert [row["home"] for row in rows] == ["h1", "h9"]
    assert rows[0]["status"] == "ok" and rows[0]["why"] == "" and rows[0]["people"] == "ann;bob"
    assert float(rows[0]["mean_empty_w"]) == 150.0 and float(rows[0]["idle_share_pct"]) == 40.0
    assert rows[0]["start"] == "2026-11-01T00:00:00+01:00" and rows[0]["step_s"] == "60"
    assert (float(rows[0]["nobody_home_low_w"]), float(rows[0]["nobody_home_high_w"])) == (130.0, 175.0)
    assert (float(rows[0]["always_on_low_w"]), float(rows[0]["always_on_high_w"])) == (135.0, 146.0)
    assert (float(rows[0]["waste_kwh"]), rows[0]["waste_periods"]) == (4.5, "2")
    assert rows[1]["status"] == TOO_LITTLE and rows[1]["why"] == THIN["why"]
    assert all(rows[1][name] == "" for name in ("total_kwh", "idle_w", "people", "start"))


def test_json_has_the_homes_and_the_summary_and_no_nan():
    odd = home_report("h2", math.nan, 120.0)
    answer = json.loads(as_json(study(home_report("h1", 150.0, 140.0), odd, THIN)))
    assert list(answer) == ["homes", "summary"]
    assert [entry["home"] for entry in answer["homes"]] == ["h1", "h2", "h9"]
    assert answer["homes"][1]["energy"]["mean_empty_w"] is None
    assert answer["homes"][2] == THIN
    assert answer["summary"]["homes"]["with_enough_data"] == 2
    assert answer["summary"]["distribution"]["idle_w"]["median"] == 130.0


def test_the_table_lists_every_home_and_the_summary_with_units():
    text = as_study_table(study(home_report("h1", 150.0, 140.0), home_report("h2", 250.0, 200.0), THIN))
    lines = text.splitlines()
    assert lines[0].startswith("Homes matching study.*, 2026-11-01T00:00 to 2026-11-29T00:00 (Europe/Berlin)")
    h1 = next(line for line in lines if line.strip().startswith("h1"))
    assert "250.0 kWh" in h1 and "150 W" in h1 and "140 W" in h1 and "12.0 %" in h1 and "99.5 %" in h1
    assert any(line.strip() == f"h9{' ' * 14}too little data: {THIN['why']}" for line in lines)
    assert "Study: 2 of 3 homes with enough data (1 with too little, 0 unreadable)" in text
    empty = next(line for line in lines if "nobody-home mean power" in line)
    assert "150 W" in empty and "200 W" in empty and "250 W" in empty and "too few homes for an interval" in empty
    assert "Used while nobody was home: 60.0 kWh of 500.0 kWh (12.0 %" in text
