"""Shared fixtures: the repository root on sys.path, and small config builders."""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from presence.config.load import parse_config  # noqa: E402
from tests import parallel  # noqa: E402

EXAMPLE_CONFIG = os.path.join(ROOT, "presence", "people_config.example.yaml")

# The `lab` marker: the test needs root, the namespace lab, a daemon subprocess or a real server (carbon,
# graphite-web, Home Assistant core). `pytest -m "not lab"` runs the rest in seconds. A test that uses
# one of these fixtures is marked here; any other says @pytest.mark.lab itself (or its module's pytestmark).
LAB_FIXTURES = {"lan", "nft_lan"}


def pytest_configure(config):
    config.addinivalue_line("markers", "lab: needs root, the namespace lab, a daemon subprocess or a real server "
                                       "(deselect with -m 'not lab')")


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        if LAB_FIXTURES.intersection(item.fixturenames):
            item.add_marker(pytest.mark.lab)
    if hasattr(config, "workerinput"):  # an xdist worker: the order in which the tests are handed out
        parallel.longest_first(config, items)


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # before xdist's own; a hook only xdist knows
def pytest_xdist_make_scheduler(config, log):
    return parallel.make_scheduler(config, log) if config.getoption("dist") == "loadgroup" else None


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    parallel.configure_worker(node)


def pytest_runtest_logreport(report):
    parallel.record(report)


def pytest_sessionfinish(session):
    if not hasattr(session.config, "workerinput"):
        parallel.save(session.config)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item):
    """Around each test not marked `lab`, make the real parts' gates fail it (testbed/lab_marker.py)."""
    from testbed import lab_marker

    lab_marker.unmarked_test = None if item.get_closest_marker("lab") else item.nodeid
    try:
        return (yield)
    finally:
        lab_marker.unmarked_test = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI (CI set) a skipped test fails: CI must run every test, whatever skipped it."""
    report = yield
    if report.skipped and os.environ.get("CI") and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"CI must run this test, but it was skipped: {reason}"
    return report


def make_config(**overrides):
    """A valid config dict for the reference household, with top-level keys overridden."""
    raw = {
        "network": {"cidrs": ["198.51.100.0/24"]},
        "wifi": {"scan_interval": 30, "offline_grace": 300},
        "graphite": {"prefix": "home.presence", "send_interval": 5},
        "people": [
            {"name": "Nick", "macs": ["02:00:00:00:01:01"], "offline_grace": 600},
            {"name": "Susan", "macs": ["02:00:00:00:02:01", "02:00:00:00:02:02"]},
            {"name": "Charlie", "macs": ["02:00:00:00:03:01"]},
            {"name": "Archie", "macs": ["02:00:00:00:04:01"]},
            {"name": "Mo", "macs": ["02:00:00:00:05:01"]},
            {"name": "Tom", "macs": ["02:00:00:00:06:01"]},
        ],
        "ignore_macs": ["02:00:00:00:ff:ff"],
    }
    raw.update(overrides)
    return raw


@pytest.fixture
def config():
    return parse_config(make_config(), "test.yaml")


@pytest.fixture
def lan():
    """A fresh namespaced LAN on 198.51.100.0/24, deleted afterwards (also on failure)."""
    from testbed.lab import Lan, require_lab

    require_lab()
    with Lan() as network:
        yield network


@pytest.fixture
def nft_lan():
    """The same LAN, where `nft` can also make devices doze or go deaf."""
    from testbed.lab import Lan, require_lab

    require_lab(nft=True)
    with Lan() as network:
        yield network


@pytest.fixture
def collector():
    """A carbon-like server on loopback that keeps what it is sent, closed afterwards."""
    from testbed.graphite_peers import Peer

    server = Peer("carbon")
    yield server
    server.close()


def write_config(path, raw):
    """Write a config dict as YAML and return its path as a string."""
    import yaml

    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return str(path)


def cli(lan, *args, ns=None, wrapper=(), **kwargs):
    """Run presence_to_graphite.py inside the lab's scanner namespace (or `ns`), maybe under `wrapper`."""
    argv = [*wrapper, sys.executable, os.path.join(ROOT, "presence_to_graphite.py"), *args]
    return lan.run(ns or lan.scanner_ns, argv, cwd=ROOT, timeout=60, **kwargs)
