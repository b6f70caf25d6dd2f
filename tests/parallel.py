"""How the suite is spread over pytest-xdist workers (`make test`: `-n N --dist loadgroup`).

Most tests wait on real time (the lab's daemons, real servers), so each one is a work unit of its own.
But the tests of a module that defines a fixture wider than one test (a real Home Assistant, graphite-web
over a daemon's run, the installer) are one unit, run by one worker, so that the fixture is built once.
xdist's own `loadgroup` does that for `xdist_group` marks, but under pytest 9.2 it silently stopped
grouping (pytest-xdist issue #1386), so the scheduler here finds such modules itself.

The units go out longest first: as long as the last run here took them (kept in .pytest_cache), else as
tests/durations.json says (the tests of a second or more, as measured on a 2-core machine; a fresh checkout
has no cache, and without it the long tests would start late), else, never timed, the lab tests before the
others. The workers put their items in that order, and the scheduler keeps it (it hands out units in the
order of the collection it gets). `python -m tests.parallel` writes tests/durations.json from the cache.
"""

import ast
import collections
import functools
import json
import os

CACHE_KEY = "presence/durations"
SEED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "durations.json")
# Only the tests at least this long go into the seed: the others fill the gaps in any order.
SEED_FLOOR = 1.0
# Where an untimed lab test goes among the timed ones: with the tests of a few seconds.
UNTIMED_LAB_TEST = 5.0

_durations = collections.Counter()


def make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):
        """LoadScopeScheduling with `work_unit()` as the scope, in the order the workers collected."""

        def _split_scope(self, nodeid):
            return work_unit(str(self.config.rootpath), nodeid)

    config.option.loadscopereorder = False
    return SharedFixtureScheduling(config, log)


def work_unit(root, nodeid):
    """The test module when it shares a fixture among its tests, else the test itself."""
    path = nodeid.split("::", 1)[0]
    return path if shares_a_fixture(root, path) else nodeid


@functools.cache
def shares_a_fixture(root, path):
    """Whether the test module at `path` defines a fixture of a scope wider than `function`."""
    with open(os.path.join(root, path), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    calls = [decorator for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
             for decorator in node.decorator_list if isinstance(decorator, ast.Call)]
    return any(keyword.arg == "scope" and getattr(keyword.value, "value", "function") != "function"
               for call in calls for keyword in call.keywords)


def configure_worker(node):
    """Hand the expected durations to a worker, read once here so that every worker sorts alike."""
    with open(SEED, encoding="utf-8") as handle:
        seed = json.load(handle)
    cache = getattr(node.config, "cache", None)
    node.workerinput[CACHE_KEY] = {**seed, **(cache.get(CACHE_KEY, {}) if cache else {})}


def longest_first(config, items):
    """Sort a worker's items by work unit, the longest unit first (a unit's tests keep their order)."""
    durations = config.workerinput.get(CACHE_KEY, {})
    units = collections.defaultdict(list)
    for item in items:
        units[work_unit(str(config.rootpath), item.nodeid)].append(item)

    def expected(unit):
        return sum(durations.get(item.nodeid, UNTIMED_LAB_TEST if item.get_closest_marker("lab") else 0.0)
                   for item in units[unit])

    order = sorted(units, key=expected, reverse=True)
    # Each worker gets a first unit, then a second that waits behind it (xdist keeps one test queued):
    # the worker with the longest first unit gets the shortest of the second round.
    workers = config.workerinput["workercount"]
    order[workers:2 * workers] = order[workers:2 * workers][::-1]
    items[:] = [item for unit in order for item in units[unit]]


def record(report):
    """Add a phase of a test (setup, call, teardown) to how long it took."""
    _durations[report.nodeid] += report.duration


def save(config):
    """Keep this run's durations for the next run's order (with those of the tests it did not run)."""
    if _durations and getattr(config, "cache", None):
        config.cache.set(CACHE_KEY, {**config.cache.get(CACHE_KEY, {}), **_durations})


def main():
    """Write tests/durations.json from the durations the last runs left in .pytest_cache."""
    with open(os.path.join(os.path.dirname(SEED), os.pardir, ".pytest_cache", "v", *CACHE_KEY.split("/"))) as handle:
        durations = json.load(handle)
    seed = {nodeid: round(seconds, 1) for nodeid, seconds in sorted(durations.items()) if seconds >= SEED_FLOOR}
    with open(SEED, "w", encoding="utf-8") as handle:
        json.dump(seed, handle, indent=0)
        handle.write("\n")
    print(f"{SEED}: {len(seed)} tests of {SEED_FLOOR:g} s or more")


if __name__ == "__main__":
    main()
