import io
import json
import os
import subprocess
import sys

from presence.state.model import State
from presence.state.file import save_state
from presence.commands.stats import gap_rows, percentile, run_stats
from tests.conftest import ROOT, make_config, write_config

SUSAN_PHONE = "02:00:00:00:02:01"


def test_nearest_rank_percentiles():
    values = list(range(1, 101))
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 0.99)) == (50, 95, 99)
    assert percentile([7.0], 0.99) == 7.0


def test_rows_per_mapped_device(config):
    state = State(gaps={SUSAN_PHONE: tuple(float(x) for x in range(30, 330, 3))})
    rows = {row["mac"]: row for row in gap_rows(config, state)}
    assert len(rows) == 7
    susan = rows[SUSAN_PHONE]
    assert (susan["person"], susan["samples"], susan["p50"], susan["max"], susan["grace"]) == \
        ("susan", 100, 177.0, 327.0, 300.0)
    assert rows["02:00:00:00:01:01"] == {"person": "nick", "mac": "02:00:00:00:01:01", "samples": 0, "grace": 600.0}


def test_table_flags_a_silence_longer_than_the_grace(config):
    out = io.StringIO()
    run_stats(config, State(gaps={SUSAN_PHONE: (30.0, 400.0)}), out)
    line = next(line for line in out.getvalue().splitlines() if line.startswith("susan") and SUSAN_PHONE in line)
    assert line.split()[2:7] == ["2", "30", "400", "400", "400"]
    assert "outlasted the grace" in line


def test_stats_command_reads_state_without_network(tmp_path):
    config = write_config(tmp_path / "c.yaml", make_config())
    state = str(tmp_path / "state.json")
    save_state(state, State(gaps={SUSAN_PHONE: (30.0, 31.0)}), 0)
    result = subprocess.run([sys.executable, os.path.join(ROOT, "presence_to_graphite.py"), "--config", config,
                             "--state", state, "stats", "--json"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    susan = next(row for row in json.loads(result.stdout) if row["mac"] == SUSAN_PHONE)
    assert susan["samples"] == 2 and susan["p99"] == 31.0
