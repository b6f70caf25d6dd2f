"""Shared fixtures: the repository root on sys.path, and small config builders."""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from presence.config.load import parse_config  # noqa: E402

EXAMPLE_CONFIG = os.path.join(ROOT, "presence", "people_config.example.yaml")


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


def write_config(path, raw):
    """Write a config dict as YAML and return its path as a string."""
    import yaml

    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return str(path)


def cli(lan, *args, ns=None, wrapper=(), **kwargs):
    """Run presence_to_graphite.py inside the lab's scanner namespace (or `ns`), maybe under `wrapper`."""
    argv = [*wrapper, sys.executable, os.path.join(ROOT, "presence_to_graphite.py"), *args]
    return lan.run(ns or lan.scanner_ns, argv, cwd=ROOT, timeout=60, **kwargs)
