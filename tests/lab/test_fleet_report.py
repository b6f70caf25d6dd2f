"""`report --homes` through the study cluster's front graphite-web: four homes' presence and electricity sent
over mutual TLS by the daemon's own sender (a week back, at 1-minute steps) into carbon-c-relay and three
carbon-caches, then read back merged; each home's figures match what was sent, and the summary too."""

import json
import statistics
import subprocess
import sys
import time

import pytest

from graphite_helper import build_message
from presence.config.model import GraphiteTls
from presence.outputs.graphite.sender import GraphiteSender
from presence.outputs.graphite.tls import TlsClient
from testbed.carbon import require
from testbed.graphite_delivery import confirmed
from tests.conftest import ROOT, make_config, write_config

pytestmark = pytest.mark.lab

DAYS = 4
# Per home: watts while empty, extra watts while someone is home, and whether its meter is there.
HOMES = {"h1": (150.0, 400.0), "h2": (90.0, 250.0), "h3": (220.0, 600.0)}


def empty(stamp):
    """Everyone is out 09:00-17:00 UTC (8 of 24 hours) every day."""
    return 9 <= (stamp % 86400) // 3600 < 17


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    from testbed.fleet import Fleet, fleet_unavailable_reason

    require(fleet_unavailable_reason())
    folder = tmp_path_factory.mktemp("fleet-report")
    with Fleet(folder / "fleet", nodes=3, replication=2) as fleet:
        until = int(time.time()) // 86400 * 86400 - 3600  # whole past days, clear of the 1 s archive
        start = until - DAYS * 86400
        for home in [*HOMES, "h4"]:
            send_home(fleet, home, start, until)
        yield fleet, start, until, folder


def send_home(fleet, home, start, until):
    """A home's week through stunnel and the relay, by the sender the daemon uses; h4 has no meter."""
    cert, key = fleet.home_credentials(home)
    tls = TlsClient(GraphiteTls(ca=fleet.ca, cert=cert, key=key), "127.0.0.1", "test")
    sender = GraphiteSender("127.0.0.1", fleet.tls_port, tls=tls, confirm_period=1.0)
    base, extra = HOMES.get(home, (0.0, 0.0))
    try:
        for stamp in range(start, until, 60):
            home_now = 0 if empty(stamp) else 1
            lines = build_message(f"study.{home}.presence", [("anyone_home", home_now), ("ann.is_home", home_now)],
                                  stamp)
            if home != "h4":
                lines += build_message(f"study.{home}.electricity", [("power", base + extra * home_now)], stamp)
            sender.send(lines)
        assert confirmed(sender, timeout=60), sender.problem()
    finally:
        sender.close()


def report(study, *extra):
    fleet, start, until, folder = study
    config = write_config(folder / "analyst.yaml", make_config(report={"render_url": fleet.front_url,
                                                                       "timezone": "UTC"}))
    result = subprocess.run([sys.executable, f"{ROOT}/presence_to_graphite.py", "--config", config, "report",
                             "--homes", "study.*", "--power", "study.{home}.electricity.power",
                             "--from", str(start), "--until", str(until), *extra],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result


def test_each_home_through_the_front_has_the_figures_it_sent(study):
    fleet, *_ = study
    answer = json.loads(report(study, "--json").stdout)
    homes = {entry["home"]: entry for entry in answer["homes"]}
    assert set(homes) == {"h1", "h2", "h3", "h4"}
    for home, (base, extra) in HOMES.items():
        entry = homes[home]
        assert entry["status"] == "ok", entry
        assert entry["energy"]["mean_empty_w"] == pytest.approx(base, abs=0.5)
        assert entry["idle"]["idle_w"] == pytest.approx(base, abs=0.5)
        assert entry["energy"]["empty_h"] == pytest.approx(DAYS * 8, abs=0.1)
        kwh_empty = base * DAYS * 8 / 1000
        assert entry["energy"]["empty_kwh"] == pytest.approx(kwh_empty, rel=0.01)
    assert homes["h4"]["status"] == "too little data" and "no electricity series" in homes["h4"]["why"]
    summary = answer["summary"]
    assert summary["homes"]["with_enough_data"] == 3 and summary["homes"]["too_little_data"] == 1
    means = sorted(base for base, _ in HOMES.values())
    for key in ("mean_empty_w", "idle_w"):
        spread = summary["distribution"][key]
        assert (spread["min"], spread["median"], spread["max"]) == pytest.approx(
            (means[0], statistics.median(means), means[-1]), abs=0.5)
    assert summary["energy"]["empty_kwh"] == pytest.approx(sum(means) * DAYS * 8 / 1000, rel=0.01)
    assert all(len(fleet.nodes_holding(f"study.{h}.electricity.power")) == 2 for h in HOMES)


def test_the_csv_has_a_row_a_home(study):
    rows = report(study, "--csv").stdout.splitlines()
    assert len(rows) == 5 and rows[0].startswith("home,")
    assert sorted(row.split(",")[0] for row in rows[1:]) == ["h1", "h2", "h3", "h4"]
