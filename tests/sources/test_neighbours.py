"""The neighbour-table fallback, on canned `ip -json neigh` output: which entries count as seen, and a table
that cannot be read. No network and no root: `ip` itself is replaced."""

import ipaddress
import json
import subprocess

import pytest

from presence.sources import neighbours
from presence.sources.neighbours import read_neighbours
from presence.sources.network_interfaces import ScanError

LAN = (ipaddress.IPv4Network("198.51.100.0/24"),)


@pytest.fixture
def ip_neigh(monkeypatch):
    """Make `ip` print `table` (a list of entries, or raw text); keeps the commands it was asked to run."""
    calls, answer = [], {"stdout": "[]"}

    def run(command, **options):
        calls.append((command, options))
        if isinstance(answer["stdout"], BaseException):
            raise answer["stdout"]
        return subprocess.CompletedProcess(command, 0, stdout=answer["stdout"], stderr="")

    monkeypatch.setattr(neighbours.subprocess, "run", run)

    def prints(table):
        answer["stdout"] = table if isinstance(table, (str, BaseException)) else json.dumps(table)
        return calls
    return prints


def entry(dst, lladdr, *state):
    return {"dst": dst, "dev": "wlan0", "lladdr": lladdr, "state": list(state)}


def test_it_asks_the_kernel_for_the_ipv4_neighbours_of_one_interface_with_a_timeout(ip_neigh):
    calls = ip_neigh([])
    assert read_neighbours("wlan0", LAN) == {}
    [(command, options)] = calls
    assert command == ["ip", "-json", "-4", "neigh", "show", "dev", "wlan0"]
    assert options["check"] and options["timeout"] > 0


def test_only_fresh_entries_count_as_seen(ip_neigh):
    ip_neigh([entry("198.51.100.11", "02:00:00:00:01:01", "REACHABLE"),
              entry("198.51.100.12", "02:00:00:00:02:01", "DELAY"),
              entry("198.51.100.13", "02:00:00:00:03:01", "PROBE"),
              entry("198.51.100.14", "02:00:00:00:04:01", "STALE"),
              entry("198.51.100.15", "02:00:00:00:05:01", "FAILED"),
              entry("198.51.100.16", "02:00:00:00:06:01", "PERMANENT"),
              entry("198.51.100.17", "02:00:00:00:07:01", "NOARP")])
    assert read_neighbours("wlan0", LAN) == {"02:00:00:00:01:01": "198.51.100.11",
                                             "02:00:00:00:02:01": "198.51.100.12",
                                             "02:00:00:00:03:01": "198.51.100.13"}


def test_an_entry_with_several_states_counts_when_one_is_fresh(ip_neigh):
    ip_neigh([entry("198.51.100.11", "02:00:00:00:01:01", "REACHABLE", "PROXY")])
    assert read_neighbours("wlan0", LAN) == {"02:00:00:00:01:01": "198.51.100.11"}


def test_entries_without_an_address_of_the_link_or_outside_the_networks_are_left_out(ip_neigh):
    ip_neigh([{"dst": "198.51.100.20", "dev": "wlan0", "state": ["INCOMPLETE"]},
              {"dst": "198.51.100.21", "dev": "wlan0", "state": ["REACHABLE"]},
              entry("198.51.100.22", "nonsense", "REACHABLE"),
              entry("203.0.113.5", "02:00:00:00:09:01", "REACHABLE")])
    assert read_neighbours("wlan0", LAN) == {}


def test_the_mac_is_normalised_and_each_network_given_counts(ip_neigh):
    ip_neigh([entry("198.51.100.11", "02:AA:00:00:01:01", "REACHABLE"),
              entry("203.0.113.5", "02:aa:00:00:09:01", "REACHABLE")])
    networks = LAN + (ipaddress.IPv4Network("203.0.113.0/24"),)
    assert read_neighbours("wlan0", networks) == {"02:aa:00:00:01:01": "198.51.100.11",
                                                  "02:aa:00:00:09:01": "203.0.113.5"}


def test_an_empty_answer_is_an_empty_table(ip_neigh):
    ip_neigh("")
    assert read_neighbours("wlan0", LAN) == {}


@pytest.mark.parametrize("failure", [FileNotFoundError(2, "No such file or directory", "ip"),
                                     subprocess.TimeoutExpired(["ip"], 5),
                                     subprocess.CalledProcessError(1, ["ip"], stderr="Cannot find device")])
def test_a_table_that_cannot_be_read_is_a_scan_error_saying_so(ip_neigh, failure):
    ip_neigh(failure)
    with pytest.raises(ScanError, match=r"^cannot read the neighbour table with `ip neigh`: "):
        read_neighbours("wlan0", LAN)
