"""`report` against a real graphite-web over whisper files of a household whose electricity is known.

Tolerances: energy sums and hours are exact arithmetic over the same minutes (0.01 %); the idle
load is 120 W plus the fridge's 32.6 W average, read as a low percentile of hourly means, so within
10 W; per-person effects within 25 W (the fridge is the noise), with the reported 95 % interval
covering the truth.
"""

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta

import numpy as np
import pytest

from testbed.carbon import free_port, require
from tests.conftest import ROOT, make_config, write_config
from tests.report import listed
from testbed.graphite_web import GraphiteWeb, graphite_web_unavailable_reason
from testbed import synthetic_household as home

DAYS = 14
POWER_GAP = (9 * 1440 + 600, 9 * 1440 + 960)      # six hours without power points (minutes)
PRESENCE_GAP = (4 * 1440 + 700, 4 * 1440 + 820)   # two hours without presence points
COUNTER_STEP = 300
COUNTER_RESET_AT = 6 * 288                        # the meter starts again from zero here (5-min steps)
COUNTER_GAP = (10 * 288 + 100, 10 * 288 + 136)    # three hours without readings


def gapped(values, gap):
    return [None if gap[0] <= i < gap[1] else v for i, v in enumerate(values)]


def counter_readings(watts):
    """kWh readings every 5 minutes; the one stored at t counts the energy up to t + 5 min."""
    readings, total = [], 0.0
    for step in range(len(watts) // 5):
        if step == COUNTER_RESET_AT:
            total = 0.0
        total += sum(watts[step * 5:step * 5 + 5]) / 60 / 1000
        readings.append(total)
    return gapped(readings, COUNTER_GAP)


@pytest.fixture(scope="module")
def household(tmp_path_factory):
    """Fourteen days around the last DST change, in whisper files read by graphite-web."""
    require(graphite_web_unavailable_reason())
    change = home.last_dst_change(time.time())
    start, is_home, anyone, watts = home.household(change - timedelta(days=7), DAYS)
    folder = tmp_path_factory.mktemp("report")
    whisper_dir = str(folder / "whisper")
    home.write_household(whisper_dir, start, {name: gapped(values, PRESENCE_GAP) for name, values in is_home.items()},
                         gapped(anyone, PRESENCE_GAP), gapped(watts, POWER_GAP))
    home.write_series(whisper_dir, home.ENERGY, start, COUNTER_STEP, counter_readings(watts))
    web = GraphiteWeb(folder / "web", whisper_dir, free_port()).start()
    config = home.write_report_config(str(folder / "people.yaml"), web.url)
    truth = {"start": start, "end": start + len(watts) * 60, "is_home": is_home, "anyone": anyone, "watts": watts}
    try:
        yield web, config, truth, folder
    finally:
        web.stop()


def report(config, *args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "presence_to_graphite.py"), "--config", config,
                           "report", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def report_json(config, truth, *args):
    done = report(config, "--from", str(truth["start"]), "--until", str(truth["end"]), "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def known_minutes(truth):
    """Minute indexes with power and with presence, as the fixture wrote them."""
    count = len(truth["watts"])
    power = [i for i in range(count) if not POWER_GAP[0] <= i < POWER_GAP[1]]
    presence = {i for i in range(count) if not PRESENCE_GAP[0] <= i < PRESENCE_GAP[1]}
    return count, power, presence


@pytest.mark.lab
def test_report_recovers_the_known_household(household):
    _, config, truth, _ = household
    result = report_json(config, truth)
    watts, anyone = truth["watts"], truth["anyone"]
    count, power, presence = known_minutes(truth)

    assert result["period"]["step_s"] == 60
    assert result["period"]["hours_h"] == pytest.approx(count / 60)
    assert count / 60 != DAYS * 24, "the period must contain the DST change (a 23- or 25-hour day)"
    assert result["coverage"]["power_pct"] == pytest.approx(100 * len(power) / count)
    assert result["coverage"]["presence_pct"] == pytest.approx(100 * len(presence) / count)
    both = [i for i in power if i in presence]
    assert result["coverage"]["both_pct"] == pytest.approx(100 * len(both) / count)

    energy = result["energy"]
    assert energy["total_kwh"] == pytest.approx(sum(watts[i] for i in power) / 60 / 1000, rel=1e-4)
    empty_wh = sum(watts[i] for i in both if not anyone[i]) / 60
    occupied_wh = sum(watts[i] for i in both if anyone[i]) / 60
    assert energy["empty_kwh"] == pytest.approx(empty_wh / 1000, rel=1e-4)
    assert energy["occupied_kwh"] == pytest.approx(occupied_wh / 1000, rel=1e-4)
    assert energy["unknown_occupancy_kwh"] == pytest.approx(
        sum(watts[i] for i in power if i not in presence) / 60 / 1000, rel=1e-4)
    assert energy["mean_empty_w"] == pytest.approx(home.ALWAYS_ON_W, abs=3)
    assert energy["empty_share_pct"] == pytest.approx(100 * empty_wh / (empty_wh + occupied_wh), rel=1e-4)

    idle = result["idle"]
    assert idle["idle_w"] == pytest.approx(home.ALWAYS_ON_W, abs=10)
    assert idle["share_pct"] == pytest.approx(100 * idle["idle_w"] * len(power) / 60 / energy["total_kwh"] / 1000)
    # Nothing is left running while the house is empty: only the fridge's swing around its mean.
    assert abs(idle["empty_above_idle_kwh"]) <= 10 * energy["empty_h"] / 1000

    people = {row["person"]: row for row in result["people"]}
    for name in home.PEOPLE:
        hours = sum(truth["is_home"][name][i] for i in presence) / 60
        assert people[name]["hours_home_h"] == pytest.approx(hours, abs=1e-6)
    nick = people["nick"]
    assert nick["extra_w"] == pytest.approx(home.NICK_W, abs=25)
    assert abs(nick["extra_w"] - home.NICK_W) <= nick["plus_minus_w"]
    for name in ("anna", "ben"):
        assert abs(people[name]["extra_w"]) <= 25
        assert abs(people[name]["extra_w"]) <= people[name]["plus_minus_w"]
    assert people["zoe"]["extra_w"] is None
    assert any(note.startswith("zoe was never home") for note in result["caveats"])
    together = [note for note in result["caveats"] if note.startswith("mia and leo")]
    assert together and "together they add" in together[0]
    assert min(people["mia"]["plus_minus_w"], people["leo"]["plus_minus_w"]) > nick["plus_minus_w"]

    by_count = {row["people_home"]: row for row in result["by_people_home"]}
    assert by_count[0]["hours_h"] == pytest.approx(sum(1 for i in both if not anyone[i]) / 60)
    assert by_count[0]["mean_w"] == pytest.approx(energy["mean_empty_w"])


def expected_profile(truth):
    """Mean power and share of time someone is home per local hour, computed minute by minute."""
    sums = {}
    count, power, presence = known_minutes(truth)
    power = set(power)
    for i in range(count):
        moment = datetime.fromtimestamp(truth["start"] + i * 60, home.TZ)
        slot = sums.setdefault((moment.weekday() >= 5, moment.hour), [0.0, 0, 0.0, 0])
        if i in power:
            slot[0] += truth["watts"][i]
            slot[1] += 1
        if i in presence:
            slot[2] += truth["anyone"][i]
            slot[3] += 1
    return sums


@pytest.mark.lab
def test_hour_of_day_profile_is_on_the_household_clock_across_the_dst_change(household):
    _, config, truth, _ = household
    result = report_json(config, truth)
    expected = expected_profile(truth)
    for kind, weekend in (("weekday", False), ("weekend", True)):
        for row in result["profile"][kind]:
            mean_w, n_power, home_minutes, n_presence = expected[(weekend, row["hour"])]
            assert row["mean_w"] == pytest.approx(mean_w / n_power, abs=0.01), (kind, row)
            assert row["someone_home_pct"] == pytest.approx(100 * home_minutes / n_presence, abs=0.01), (kind, row)
    # The evening load (18:00-20:00 local) stays at 18 and 19 on both sides of the change.
    weekday = {row["hour"]: row["mean_w"] for row in result["profile"]["weekday"]}
    assert weekday[18] - weekday[20] > 250 and weekday[19] - weekday[20] > 250


@pytest.mark.lab
def test_energy_counter_with_a_reset_and_a_gap(household):
    _, config, truth, _ = household
    result = report_json(config, truth, "--energy-counter", home.ENERGY)
    watts = truth["watts"]
    assert result["period"]["step_s"] == COUNTER_STEP
    assert result["counter"]["resets"] == 1
    gap_minutes = range(COUNTER_GAP[0] * 5, (COUNTER_GAP[1] + 1) * 5)
    assert result["counter"]["in_gaps_kwh"] == pytest.approx(sum(watts[i] for i in gap_minutes) / 60 / 1000,
                                                             rel=1e-4)
    # The first reading has no earlier one to subtract: its five minutes are not counted.
    assert result["energy"]["total_kwh"] == pytest.approx(sum(watts[5:]) / 60 / 1000, rel=1e-4)
    nick = {row["person"]: row for row in result["people"]}["nick"]
    assert nick["extra_w"] == pytest.approx(home.NICK_W, abs=25)
    assert result["idle"]["idle_w"] == pytest.approx(home.ALWAYS_ON_W, abs=10)


@pytest.mark.lab
def test_table_names_people_and_gives_every_number_a_unit(household):
    _, config, truth, _ = household
    done = report(config, "--from", str(truth["start"]), "--until", str(truth["end"]))
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "Nick" in text and "no estimate" in text
    for line in text.splitlines():
        if line.startswith("  while nobody was home"):
            assert "kWh" in line and "%" in line and " W" in line and " h" in line
        if line.startswith("  Nick"):
            assert line.rstrip().endswith(" W") and "±" in line and " h" in line
    assert "Idle (\"always on\") load:" in text


@pytest.mark.lab
def test_png_draws_the_three_panels(household, tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib (requirements-dev.txt) draws the figure")
    _, config, truth, _ = household
    figure = tmp_path / "report.png"
    done = report(config, "--from", str(truth["start"]), "--until", str(truth["end"]), "--png", str(figure))
    assert done.returncode == 0, done.stderr
    data = figure.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 30_000


@pytest.mark.lab
def test_png_without_matplotlib_says_what_to_install(household, tmp_path):
    _, config, truth, _ = household
    code = ("import sys; sys.modules['matplotlib'] = None; from presence.cli import main; "
            f"sys.exit(main(['--config', {config!r}, 'report', '--png', {str(tmp_path / 'x.png')!r}]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "--png needs matplotlib" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.png").exists()


@pytest.mark.lab
def test_a_metric_without_data_is_named(household):
    _, config, truth, _ = household
    done = report(config, "--from", str(truth["start"]), "--until", str(truth["end"]), "--power", "home.pwoer")
    assert done.returncode == 1
    assert "Graphite has no data for 'home.pwoer' in this period" in done.stderr and "--power" in done.stderr


def test_dead_render_api_is_a_clear_error(tmp_path):
    port = free_port()
    config = write_config(tmp_path / "people.yaml", make_config(report={"power": home.POWER}))
    done = report(config, "--render-url", f"http://127.0.0.1:{port}")
    assert done.returncode == 1
    assert f"cannot read http://127.0.0.1:{port}/render" in done.stderr and "Traceback" not in done.stderr


def test_missing_settings_name_the_key(tmp_path):
    config = write_config(tmp_path / "people.yaml", make_config(graphite={"render_url": "http://127.0.0.1:9"}))
    done = report(config)
    assert done.returncode == 78 and "report.power" in done.stderr
    config = write_config(tmp_path / "bare.yaml", make_config(report={"power": home.POWER}))
    done = report(config)
    assert done.returncode == 78 and "report.render_url" in done.stderr and "--render-url" in done.stderr
    done = report(config, "--render-url", "http://127.0.0.1:9", "--from", "last tuesday")
    assert done.returncode == 64 and "cannot read the time 'last tuesday'" in done.stderr


def storage_retentions():
    """The archives of graphite/storage-schemas.conf, as whisper wants them: [(step, points)]."""
    import whisper

    with open(os.path.join(ROOT, "graphite", "storage-schemas.conf")) as handle:
        line = next(line for line in handle if line.startswith("retentions"))
    return [whisper.parseRetentionDef(part.strip()) for part in line.split("=", 1)[1].split(",")]


@pytest.mark.lab
def test_five_second_points_are_consolidated_by_graphite_to_minutes(tmp_path):
    """The daemon's own storage schema (5 s points for a day): Graphite sends minute means."""
    import whisper

    require(graphite_web_unavailable_reason())
    end = int(time.time()) // 60 * 60 - 120
    start = end - 3 * 3600
    whisper_dir = tmp_path / "whisper"
    stamps = list(range(start, end, 5))
    # Nick leaves and comes back at odd seconds; power follows him, stored by a meter every 10 s.
    nick = [int(not 4037 <= t - start < 7421) for t in stamps]
    series = {f"{home.PREFIX}.nick.is_home": nick, f"{home.PREFIX}.anyone_home": nick}
    for metric, values in series.items():
        path = home.wsp_path(str(whisper_dir), metric)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        whisper.create(path, storage_retentions(), xFilesFactor=0.1, aggregationMethod="average")
        whisper.update_many(path, list(zip(stamps, values)))
    watts = [100.0 + 300 * nick[i] for i in range(0, len(stamps), 2)]
    home.write_series(str(whisper_dir), home.POWER, start, 10, watts, retention_days=2)
    web = GraphiteWeb(tmp_path / "web", str(whisper_dir), free_port()).start()
    try:
        raw = make_config(graphite={"render_url": web.url}, report={"power": home.POWER, "timezone": "UTC"})
        raw["people"] = [{"name": "Nick"}]
        config = write_config(tmp_path / "people.yaml", raw)
        result = report_json(config, {"start": start, "end": end})
        from presence.report.fetch import fetch_all, fetch_json

        by_json = fetch_all(web.url, {"nick": (f"{home.PREFIX}.nick.is_home", False)}, start, end, 60, 60,
                            fetch=fetch_json)["nick"]
    finally:
        web.stop()
    assert by_json.step == 60
    assert float(np.nansum(by_json.values)) / 60 == pytest.approx(sum(nick) * 5 / 3600, rel=0.01)
    assert result["period"]["step_s"] == 60
    assert result["coverage"]["both_pct"] == pytest.approx(100, abs=1)
    # Graphite's consolidation may shift its minute bands by one 5-second point: hence 1 %.
    assert result["people"][0]["hours_home_h"] == pytest.approx(sum(nick) * 5 / 3600, rel=0.01)
    assert result["energy"]["total_kwh"] == pytest.approx(sum(watts) * 10 / 3600 / 1000, rel=0.01)
    assert result["energy"]["mean_empty_w"] == pytest.approx(100, abs=3)
    by_count = {row["people_home"]: row["mean_w"] for row in result["by_people_home"]}
    assert by_count[1] == pytest.approx(400, abs=3)
    # Alone in the house, nick's presence is the same column as "someone is home": said, not guessed.
    assert result["people"][0]["extra_w"] is None
    assert any(note.startswith("nick is always home alone, or whenever anyone is") for note in result["caveats"])


@pytest.mark.lab
def test_json_answers_the_same_as_raw(household):
    """Servers without graphite-web's raw format get JSON with maxDataPoints: same series."""
    from presence.report.fetch import fetch_all, fetch_json, fetch_raw

    web, _, truth, _ = household
    targets = {"power": (home.POWER, False), "nick": (f"{home.PREFIX}.nick.is_home", False),
               "counter": (home.ENERGY, True)}
    args = (web.url, targets, truth["start"], truth["end"], 60, 60)
    raw, json_ = fetch_all(*args, fetch=fetch_raw), fetch_all(*args, fetch=fetch_json)
    for name in targets:
        assert (raw[name].start, raw[name].step) == (json_[name].start, json_[name].step), name
        assert listed(raw[name].values) == listed(json_[name].values), name
    assert raw["power"].start == truth["start"] and raw["counter"].step == COUNTER_STEP
    assert listed(raw["power"].values[:10]) == truth["watts"][:10]
