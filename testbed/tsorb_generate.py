"""Simulate one tsorb household day by day and save its power and occupancy as an npz.

Run by the tsorb venv's python (scripts/install-tsorb), never imported by the main venv: it imports tsorb.
testbed/independent_household.py starts it; by hand:
    $(scripts/install-tsorb --path) testbed/tsorb_generate.py --residents 2 --days 28 \
        --first-day 2024-01-01 --seed 1 --out /tmp/home.npz

The npz holds `watts` (float32, one value a minute), `at_home` (float32, residents at home each minute,
tsorb's 10-minute occupancy repeated), `season_factor` (float32, one a day), `residents`, `seed`,
`first_day` (ISO date) and `tsorb_version`. `watts` is tsorb's day profile (appliances and lighting)
times the seasonal factor that tsorb's own full-year run applies by day of year (about 1.16 in late
January to 0.85 in early August): `watts / season_factor` repeated per minute gives the raw day runs.
"""

import argparse
import datetime
import random
from importlib.metadata import version

import numpy as np
from tsorb.ElectricalLoadProfile import ElectricalLoadProfile

MINUTES_A_DAY = 1440
# tsorb's run_for_year scales each day by this polynomial in the day of the year (the highest power
# first); its `run`, which this script calls day by day, leaves it out.
SEASON_COEFFICIENTS = (-2.46333771e-10, 2.09410267e-07, -4.91019666e-05, 1.99475890e-03, 1.13989689e00)


def season_factor(day):
    """tsorb's seasonal scale for a date (its full-year runs multiply each day's power by it)."""
    return float(np.polyval(SEASON_COEFFICIENTS, day.timetuple().tm_yday))


def simulate(residents, days, first_day, seed):
    """(watts a minute, residents at home a minute, season factor a day) of one new household."""
    # Every draw tsorb makes, the household's appliances and bulbs included, comes from numpy's global
    # generator: seeded before the household is built, the same arguments give the same household and days.
    np.random.seed(seed)
    random.seed(seed)
    home = ElectricalLoadProfile(residents=residents)
    watts = np.empty(days * MINUTES_A_DAY)
    at_home = np.empty(days * MINUTES_A_DAY)
    factors = np.empty(days)
    for index in range(days):
        day = first_day + datetime.timedelta(days=index)
        kind = "we" if day.weekday() >= 5 else "wd"
        # Some of tsorb's occupancy transition rows (3 to 5 residents) are all zeros: it divides by
        # their zero sum and goes on with the last state. numpy's warning about it says nothing new.
        with np.errstate(invalid="ignore", divide="ignore"):
            home.run(day.year, kind, day.timetuple().tm_yday)
        occupancy = home.occ_model.occ_activity + home.occ_model.occ_no_activity
        minutes = slice(index * MINUTES_A_DAY, (index + 1) * MINUTES_A_DAY)
        factors[index] = season_factor(day)
        watts[minutes] = home.total_consumption * factors[index]
        at_home[minutes] = np.repeat(occupancy, MINUTES_A_DAY // len(occupancy))
    return watts, at_home, factors


def main(argv=None):
    """Parse the arguments, simulate, and write the npz."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, required=True, choices=range(1, 6))
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--first-day", type=datetime.date.fromisoformat, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1")
    watts, at_home, factors = simulate(args.residents, args.days, args.first_day, args.seed)
    # A file object, so that numpy writes to exactly this name (it appends .npz to a bare path).
    with open(args.out, "wb") as handle:
        np.savez(handle, watts=watts.astype(np.float32), at_home=at_home.astype(np.float32),
                 season_factor=factors.astype(np.float32), residents=args.residents, seed=args.seed,
                 first_day=args.first_day.isoformat(), tsorb_version=version("tsorb"))


if __name__ == "__main__":
    main()
