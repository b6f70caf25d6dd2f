import json
import os
import subprocess
import sys

import pytest

from presence.config.model import ConfigError
from presence.config.load import load_config
from presence.config.people import person_key
from tests.conftest import ROOT


# Inputs that crashed the daemon at start (a traceback, exit 1, and a systemd restart loop) are
# named errors now: each through load_config on a real file, naming the key (or the line).

BASE = "network: {cidrs: [198.51.100.0/24]}\npeople: [{name: Nick, macs: ['02:00:00:00:01:01']}]\n"


def load_problems(tmp_path, text, mode="w"):
    path = tmp_path / "people.yaml"
    if mode == "wb":
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(str(path))
    return caught.value


@pytest.mark.parametrize("url", ["http://[::1", "http://[::1]:8123:", "http://host:99999", "http://host:port",
                                 "http://host:-1", "http://host:0", "http://ha .local:8123", "http://ha\u001b[2J"])
@pytest.mark.parametrize("key", ["homeassistant.url", "graphite.render_url", "report.render_url"])
def test_malformed_url_is_named(tmp_path, key, url):
    section, name = key.split(".")
    error = load_problems(tmp_path, BASE + f"{section}: {{{name}: {json.dumps(url)}}}\n")
    assert any(p.startswith(f"{key}: ") and "is not an http:// or https:// URL" in p for p in error.problems), \
        error.problems


def test_a_malformed_url_with_a_password_does_not_show_it(tmp_path):
    error = load_problems(tmp_path, BASE + "graphite: {render_url: 'http://admin:s3cret@graphite:port'}\n")
    assert error.problems == ["graphite.render_url: 'http://***@graphite:port' is not an http:// or https:// URL: "
                              "Port could not be cast to integer value as 'port'"]


def test_file_that_is_not_utf8_names_the_line(tmp_path):
    error = load_problems(tmp_path, BASE.encode() + b"# caf\xe9 (Latin-1)\n", mode="wb")
    assert error.problems == ["line 3: not UTF-8 text (byte 0xe9); save the file as UTF-8"]


@pytest.mark.parametrize("opening, closing", [("[", "]"), ("{a: ", "}")])
def test_deep_nesting_is_named(tmp_path, opening, closing):
    error = load_problems(tmp_path, BASE + "wifi: " + opening * 5000 + closing * 5000 + "\n")
    assert "nested hundreds of levels deep" in str(error)


def _laughs(levels=9):
    """The billion laughs: 9 levels of 9 aliases expand to 9**9 items, while the file has a few hundred bytes."""
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"lol{n}: &lol{n} [" + ", ".join([f"*lol{n - 1}"] * 9) + "]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("where, key", [
    ("wifi: {scan_interval: *lol8}", "wifi.scan_interval: must be a number"),
    ("graphite: *lol8", "graphite: must be a mapping"),
    ("report: {energy_unit: *lol8}", "report.energy_unit: must be one of"),
    ("report: {timezone: *lol8}", "report.timezone:"),
    ("state_file: *lol8", "state_file: must be the path"),
    ("ignore_macs: [*lol8]", "ignore_macs[0]:"),
    ("metrics: {guest_devices: *lol8}", "metrics.guest_devices:"),
])
def test_alias_bomb_is_named_in_a_short_message(tmp_path, where, key):
    error = load_problems(tmp_path, _laughs() + BASE + where + "\n")
    assert any(p.startswith(key) for p in error.problems), error.problems
    assert all(len(p) < 200 for p in error.problems)


def test_alias_bomb_in_network_cidrs_is_named(tmp_path):
    text = _laughs() + "network: {cidrs: [*lol8, {cidr: *lol8, interface: *lol8}]}\n"
    error = load_problems(tmp_path, text)
    assert any(p.startswith("network.cidrs[0]: must be an IPv4 network") for p in error.problems)
    assert any(p.startswith("network.cidrs[1].cidr: must be an IPv4 network") for p in error.problems)
    assert any(p.startswith("network.cidrs[1].interface: must be an interface name") for p in error.problems)
    assert all(len(p) < 200 for p in error.problems)


def test_merge_bomb_is_refused_and_ordinary_merges_still_work(tmp_path):
    """`<<` copies keys: 2,000 mappings each merging a 1,000-key one would build 2 million pairs."""
    big = "big: &big {" + ", ".join(f"k{i}: 1" for i in range(1000)) + "}\n"
    copies = "copies: [" + ", ".join(["{<<: *big}"] * 2000) + "]\n"
    error = load_problems(tmp_path, BASE + big + copies)
    [problem] = error.problems
    assert problem.startswith("line 4, column ") and problem.endswith(": not valid YAML: merges (<<) copy in "
                                                                      "more than 10000 keys")
    path = tmp_path / "merges.yaml"
    path.write_text("network: {cidrs: [198.51.100.0/24]}\npeople:\n"
                    "  - &nick {name: Nick, macs: ['02:00:00:00:01:01'], offline_grace: 900}\n"
                    "  - {<<: *nick, name: Susan, macs: ['02:00:00:00:02:01']}\n")
    assert [p.offline_grace for p in load_config(str(path)).people] == [900, 900]


def test_too_large_file_is_named(tmp_path):
    error = load_problems(tmp_path, BASE + "# " + "x" * 1_000_000 + "\n")
    assert error.problems[0].startswith("the file is larger than 1000 kB")


@pytest.mark.parametrize("text, problem", [
    ("wifi: {scan_interval: !!int abc}", "line 3, column 23: not valid YAML: cannot read this value"),
    ("wifi: {scan_interval: " + "1" * 5000 + "}", "line 3, column 23: not valid YAML: cannot read this value"),
    ("wifi: {scan_interval: 2001-13-45}", "wifi.scan_interval: must be a number, not str '2001-13-45'"),
    ("wifi: {scan_interval: 1" + ":0" * 3000 + "}", "wifi.scan_interval: must be at most 3600 s (1 hour), "
                                                     "not <an integer of"),
])
def test_values_python_cannot_hold_are_named(tmp_path, text, problem):
    error = load_problems(tmp_path, BASE + text + "\n")
    assert any(p.startswith(problem) for p in error.problems), error.problems


NUMBER_BOUNDS = [  # key, its largest value, the bound as the message states it
    ("wifi.scan_interval", "3600", "must be at most 3600 s (1 hour)"),
    ("wifi.offline_grace", "604800", "must be at most 604800 s (7 days)"),
    ("people[0].offline_grace", "604800", "must be at most 604800 s (7 days)"),
    ("homeassistant.poll_interval", "86400", "must be at most 86400 s (1 day)"),
    ("homeassistant.timeout", "300", "must be at most 300 s"),
    ("homeassistant.stale_after", "604800", "must be at most 604800 s (7 days)"),
    ("graphite.spool_max_mb", "100000", "must be at most 100000 MB"),
    ("report.timeout", "3600", "must be at most 3600 s (1 hour)"),
]


def _with_number(key, value):
    section, name = key.split(".")
    if section == "people[0]":
        return ("network: {cidrs: [198.51.100.0/24]}\nwifi: {offline_grace: 300}\n"
                f"people: [{{name: Nick, macs: ['02:00:00:00:01:01'], {name}: {value}}}]\n")
    extra = {"homeassistant": "url: 'http://198.51.100.10:8123', ",
             "wifi": "offline_grace: 604800, " if name == "scan_interval" else ""}.get(section, "")
    return BASE + f"{section}: {{{extra}{name}: {value}}}\n"


@pytest.mark.parametrize("key, largest, bound", NUMBER_BOUNDS)
@pytest.mark.parametrize("value", [".inf", "1.0e+300"])
def test_absurd_numbers_name_the_key_and_the_bound(tmp_path, key, largest, bound, value):
    path = tmp_path / "ok.yaml"
    path.write_text(_with_number(key, largest))
    assert load_config(str(path))
    error = load_problems(tmp_path, _with_number(key, value))
    assert any(p.startswith(f"{key}: {bound}, not ") for p in error.problems), error.problems


@pytest.mark.parametrize("value", ["3601", "1" + "0" * 30])
def test_absurd_send_interval_names_the_key_and_the_bound(tmp_path, value):
    error = load_problems(tmp_path, BASE + f"graphite: {{send_interval: {value}}}\n")
    assert any(p.startswith("graphite.send_interval: must be at most 3600 s (1 hour), not ")
               for p in error.problems), error.problems


def test_only_the_first_50_problems_are_printed(tmp_path):
    error = load_problems(tmp_path, BASE + "ignore_macs: [" + ", ".join(["nonsense"] * 200) + "]\n")
    assert len(error.problems) == 200
    lines = str(error).splitlines()
    assert lines[0].endswith("(200 problems):") and len(lines) == 52
    assert lines[-1].endswith(": ... and 150 more")


@pytest.mark.parametrize("text, problem", [
    ("report: {energy_unit: [kWh]}", "report.energy_unit: must be one of Wh, kWh, not list ['kWh']"),
    ("report: {timezone: Europe}", "report.timezone: 'Europe' is not a time zone name"),
    ("report: {timezone: '" + "x" * 300 + "'}", "report.timezone: 'xxxxx"),
    ("state_file: ''", "state_file: must be the path of the state file"),
    ("state_file: [a]", "state_file: must be the path of the state file"),
    ('state_file: "a\\0b"', "state_file: 'a\\x00b' is not the path of the state file"),
    ("homeassistant: {url: 'http://ha:8123', ca_bundle: \"\\0\"}", "homeassistant.ca_bundle:"),
    ("people: [{name: Nick, key: 5}]", "people[0].key: must be a metric key"),
    ("wifi: {'" + "k" * 1000 + "': 1}", "wifi.'kkkkkkk"),
    ("wifi: {\"a\\nb\": 1}", "wifi.'a\\nb': unknown key"),
])
def test_other_raw_values_are_named(tmp_path, text, problem):
    error = load_problems(tmp_path, BASE + text + "\n")
    assert any(p.startswith(problem) for p in error.problems), error.problems
    assert all(len(p) < 200 for p in error.problems)


def test_person_key_of_a_non_string_is_empty():
    assert person_key(None) == "" and person_key(["Nick"]) == ""


def test_cli_check_exits_78_without_a_traceback(tmp_path):
    path = tmp_path / "people.yaml"
    path.write_text(_laughs() + "network: {cidrs: [*lol8]}\nwifi: {scan_interval: .inf}\n"
                    "homeassistant: {url: 'http://[::1'}\n")
    result = subprocess.run([sys.executable, os.path.join(ROOT, "presence_to_graphite.py"), "--config", str(path),
                             "check"], cwd=ROOT, text=True, capture_output=True, timeout=60)
    assert result.returncode == 78, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for key in ("network.cidrs[0]: must be an IPv4 network", "wifi.scan_interval: must be at most 3600",
                "homeassistant.url: 'http://[::1' is not an http:// or https:// URL"):
        assert f"{path}: {key}" in result.stderr
    assert len(result.stderr) < 3000


def test_a_config_that_is_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "people.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError) as caught:
        load_config(str(fifo))
    assert caught.value.problems == ["not a regular file"]
