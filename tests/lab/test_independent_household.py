"""The loader of tsorb's households (testbed/independent_household.py), on real tsorb output."""

import calendar
import datetime
import os
import threading

import numpy as np
import pytest

from testbed import independent_household
from testbed.independent_household import households, tsorb_python

# It starts tsorb's own venv, a process of seconds a household when not cached.
pytestmark = pytest.mark.lab

WINTER = datetime.date(2024, 1, 8)  # a Monday


@pytest.fixture(scope="module")
def venv():
    """The tsorb venv's folder; skip off CI, fail under CI, when scripts/install-tsorb has not built it."""
    python = tsorb_python()
    if python is None:
        if os.environ.get("CI"):
            pytest.fail(independent_household.MISSING)
        pytest.skip(independent_household.MISSING)
    return os.path.dirname(os.path.dirname(python))


@pytest.fixture
def fresh_home(venv, tmp_path, monkeypatch):
    """An empty household cache beside the real venv, so that the households here are generated anew."""
    os.symlink(venv, tmp_path / "venv")
    monkeypatch.setenv("PRESENCE_TSORB_HOME", str(tmp_path))
    return tmp_path


def test_equal_arguments_generate_equal_households_and_other_seeds_others(venv, tmp_path, monkeypatch):
    specs = [(2, 11, WINTER, 2), (2, 12, WINTER, 2)]
    generated = []
    for name in ("first", "second"):  # two empty caches: each generates both households itself
        home = tmp_path / name
        home.mkdir()
        os.symlink(venv, home / "venv")
        monkeypatch.setenv("PRESENCE_TSORB_HOME", str(home))
        generated.append(households(specs))
    (a, b), (a_again, b_again) = generated
    assert np.array_equal(a.watts, a_again.watts) and np.array_equal(a.at_home, a_again.at_home)
    assert np.array_equal(b.watts, b_again.watts)
    assert not np.array_equal(a.watts, b.watts)
    assert not np.array_equal(a.at_home, b.at_home)


def test_a_household_has_a_minute_of_power_and_occupancy_from_midnight_utc(venv):
    home, = households([(3, 5, WINTER, 3)])
    assert (home.residents, home.seed, home.first_day, home.days) == (3, 5, WINTER, 3)
    assert home.start == calendar.timegm((2024, 1, 8, 0, 0, 0)) and home.step == 60
    assert home.watts.dtype == home.at_home.dtype == np.float64
    assert home.watts.shape == home.at_home.shape == (3 * 1440,)
    assert np.isfinite(home.watts).all() and (home.watts >= 0).all()
    assert set(np.unique(home.at_home)) <= {0.0, 1.0, 2.0, 3.0}
    # The occupancy is tsorb's ten-minute one: constant within each ten minutes.
    assert (home.at_home.reshape(-1, 10) == home.at_home[::10, None]).all()
    assert home.season_factor.shape == (3,) and (1.1 < home.season_factor).all()  # January


def test_a_single_resident_uses_a_household_s_power_and_goes_out(venv):
    singles = households([(1, seed, datetime.date(2024, 3, 4), 14) for seed in range(4)])
    for home in singles:
        kwh_a_year = home.watts.mean() * 8766 / 1000
        assert 500 < kwh_a_year < 10_000, kwh_a_year  # Germany's households: about 1,500 to 5,000
        assert home.at_home.min() == 0 and home.at_home.max() == 1
        # At home includes asleep: a single resident is out some hours of most days, not most of the time.
        assert 0.08 < (home.at_home == 0).mean() < 0.6, (home.at_home == 0).mean()
        # Out on at least half of the days: the empty hours are not one long absence.
        assert ((home.at_home.reshape(14, 1440) == 0).any(axis=1)).sum() >= 7


def test_a_cached_household_is_read_back_not_generated_again(fresh_home):
    spec = (1, 21, WINTER, 1)
    first, = households([spec])
    cached = [name for name in os.listdir(fresh_home / "households") if name.endswith(".npz")]
    assert len(cached) == 1 and "tsorb-0.0.3-" in cached[0]
    path = fresh_home / "households" / cached[0]
    written = path.stat().st_mtime_ns
    again, = households([spec])
    assert path.stat().st_mtime_ns == written
    assert np.array_equal(first.watts, again.watts)


def test_workers_asking_for_the_same_household_at_once_share_one_file(fresh_home):
    spec = (2, 31, WINTER, 1)
    results, errors = [], []

    def ask():
        try:
            results.append(households([spec, spec])[0])
        except Exception as error:  # noqa: BLE001 - shown by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 3
    assert all(np.array_equal(result.watts, results[0].watts) for result in results)
    names = os.listdir(fresh_home / "households")
    assert len([name for name in names if name.endswith(".npz")]) == 1
    assert not [name for name in names if name.endswith(".tmp")]


def test_without_the_venv_it_says_to_run_the_installer(tmp_path, monkeypatch):
    monkeypatch.setenv("PRESENCE_TSORB_HOME", str(tmp_path))
    assert tsorb_python() is None
    with pytest.raises(independent_household.TsorbMissing, match="scripts/install-tsorb"):
        households([(1, 1, WINTER, 1)])


def test_arguments_tsorb_cannot_take_are_refused_before_it_runs():
    with pytest.raises(ValueError, match="residents"):
        households([(6, 1, WINTER, 1)])
    with pytest.raises(TypeError, match="datetime.date"):
        households([(1, 1, datetime.datetime(2024, 1, 8), 1)])
