"""Households simulated by tsorb, an independent occupancy-and-appliance model, as data for the tests.

tsorb (GPL-3) lives in a venv of its own (scripts/install-tsorb); this module only starts that venv's
python on testbed/tsorb_generate.py and reads the npz files it writes, with numpy. Each household is
cached in ${PRESENCE_TSORB_HOME:-~/.cache/presence-tsorb}/households/, named after every argument, the
tsorb version and the generator script's content, so a change to either makes new files.
"""

import calendar
import datetime
import fcntl
import hashlib
import os
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

GENERATOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tsorb_generate.py")
MISSING = "tsorb's venv is missing: run scripts/install-tsorb (it builds it once, in about 25 s)"
STEP = 60
MAX_RESIDENTS = 5  # tsorb's occupancy data stops at five
# A day takes about 0.15 s of CPU, and a process about 1 s to start: ample, on a loaded 2-core machine too.
GENERATE_TIMEOUT, GENERATE_TIMEOUT_A_DAY = 120, 5


class TsorbMissing(RuntimeError):
    """tsorb's venv is not installed (scripts/install-tsorb makes it)."""


@dataclass(frozen=True, eq=False)  # arrays have no single truth value to compare by
class Household:
    """One simulated household: power and residents at home, one value a `step` from `start` (UTC)."""

    residents: int
    seed: int
    first_day: datetime.date
    start: int
    step: int
    watts: np.ndarray
    at_home: np.ndarray
    season_factor: np.ndarray  # one a day: tsorb's seasonal scale, already in `watts`

    @property
    def days(self):
        """How many days were simulated."""
        return len(self.season_factor)


def tsorb_home():
    """The folder of tsorb's venv and of the cached households."""
    return os.environ.get("PRESENCE_TSORB_HOME") or os.path.expanduser("~/.cache/presence-tsorb")


def tsorb_python():
    """The tsorb venv's python, or None while scripts/install-tsorb has not finished building it."""
    venv = os.path.join(tsorb_home(), "venv")
    python = os.path.join(venv, "bin", "python")
    if os.path.exists(os.path.join(venv, ".installed")) and os.access(python, os.X_OK):
        return python
    return None


def tsorb_version():
    """The tsorb release in the venv, as its install stamp records it, or None when it is missing."""
    try:
        with open(os.path.join(tsorb_home(), "venv", ".installed"), encoding="utf-8") as handle:
            stamp = handle.read().split()
    except FileNotFoundError:
        return None
    return next((word.split("==", 1)[1] for word in stamp if word.startswith("tsorb==")), None)


def households(specs):
    """One Household for each (residents, seed, first_day, days), generated where not cached yet.

    The missing ones are generated in parallel, one tsorb process each, at most os.cpu_count() at once.
    Raises TsorbMissing when the tsorb venv is not installed.
    """
    specs = [_checked(spec) for spec in specs]
    python, version = tsorb_python(), tsorb_version()
    if python is None or version is None:
        raise TsorbMissing(MISSING)
    folder = os.path.join(tsorb_home(), "households")
    os.makedirs(folder, exist_ok=True)
    paths = {spec: os.path.join(folder, _file_name(spec, version)) for spec in specs}
    missing = [spec for spec in dict.fromkeys(specs) if not os.path.exists(paths[spec])]
    if missing:
        with ThreadPoolExecutor(max_workers=min(len(missing), os.cpu_count() or 1)) as pool:
            list(pool.map(lambda spec: _generate(python, spec, paths[spec]), missing))
    return [_load(spec, paths[spec]) for spec in specs]


def _checked(spec):
    residents, seed, first_day, days = spec
    if type(first_day) is not datetime.date:  # a datetime is a date too, with a time tsorb has no use for
        raise TypeError(f"first_day must be a datetime.date, not {type(first_day).__name__}")
    if not 1 <= int(residents) <= MAX_RESIDENTS:
        raise ValueError(f"residents must be 1 to {MAX_RESIDENTS}, not {residents}")
    if not 0 <= int(seed) < 2 ** 32:  # numpy's legacy seeding takes 32 bits
        raise ValueError(f"seed must be 0 to 2**32 - 1, not {seed}")
    if int(days) < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    return int(residents), int(seed), first_day, int(days)


def _file_name(spec, version):
    residents, seed, first_day, days = spec
    with open(GENERATOR, "rb") as handle:
        script = hashlib.sha256(handle.read()).hexdigest()[:12]
    return f"tsorb-{version}-{script}-r{residents}-s{seed}-{first_day.isoformat()}-d{days}.npz"


def _generate(python, spec, path):
    """Write the household's npz to `path`, unless another process (an xdist worker) already did."""
    residents, seed, first_day, days = spec
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(path):
            return
        descriptor, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".", suffix=".npz.tmp")
        os.close(descriptor)
        # Not the main venv's PYTHONPATH: the tsorb venv must see its own numpy only.
        env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
        env["PYTHONHASHSEED"] = "0"
        try:
            done = subprocess.run([python, "-s", GENERATOR, "--residents", str(residents), "--days", str(days),
                                   "--first-day", first_day.isoformat(), "--seed", str(seed), "--out", temporary],
                                  env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=GENERATE_TIMEOUT + GENERATE_TIMEOUT_A_DAY * days)
            if done.returncode != 0:
                raise RuntimeError(f"tsorb_generate.py failed (exit {done.returncode}) for residents={residents} "
                                   f"seed={seed} first_day={first_day} days={days}:\n{done.stderr[-2000:]}")
            os.chmod(temporary, 0o644)  # mkstemp's 0600 would keep a shared cache from other users
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)


def _load(spec, path):
    residents, seed, first_day, days = spec
    with np.load(path, allow_pickle=False) as data:
        watts = data["watts"].astype(np.float64)
        at_home = data["at_home"].astype(np.float64)
        factors = data["season_factor"].astype(np.float64)
    if len(watts) != days * 86400 // STEP or len(at_home) != len(watts):
        raise ValueError(f"{path}: {len(watts)} minutes of power, {len(at_home)} of occupancy for {days} days")
    start = calendar.timegm(first_day.timetuple())
    return Household(residents, seed, first_day, start, STEP, watts, at_home, factors)
