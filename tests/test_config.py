import json
import os
import subprocess
import sys
import textwrap

import pytest

from presence.config.model import ConfigError
from presence.config.load import default_config_path, load_config, parse_config
from presence.config.people import person_key
from tests.conftest import EXAMPLE_CONFIG, ROOT, make_config


def problems(raw):
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "people.yaml")
    return caught.value.problems


def test_reference_household_parses_with_defaults(config):
    assert [p.key for p in config.people] == ["nick", "susan", "charlie", "archie", "mo", "tom"]
    assert config.people[0].offline_grace == 600
    assert config.people[1].offline_grace == 300
    assert config.graphite.host is None and config.graphite.port == 2003
    assert config.homeassistant is None
    assert config.mac_owner["02:00:00:00:02:02"].key == "susan"
    assert config.grace_for("02:00:00:00:01:01") == 600
    assert config.grace_for("02:00:00:00:77:77") == 300


def test_shipped_example_is_valid():
    config = load_config(EXAMPLE_CONFIG)
    assert len(config.people) == 6
    assert config.people[1].macs == ("3c:22:fb:10:20:02", "3c:22:fb:10:20:12")
    assert config.people[2].macs == ("00:16:3e:10:20:03",)


def test_bad_mac_names_file_and_key_path():
    raw = make_config()
    raw["people"][2]["macs"] = ["zz:11:22:33:44:55"]
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "/etc/presence/people.yaml")
    assert "people[2].macs[0]: 'zz:11:22:33:44:55' is not a MAC address" in caught.value.problems
    assert "/etc/presence/people.yaml: people[2].macs[0]" in str(caught.value)


def test_all_problems_are_reported_at_once():
    raw = make_config(wifi={"scan_interval": 0.1, "offline_grace": "long"})
    raw["people"][0]["macs"] = ["nonsense"]
    raw["graphite"]["port"] = 70000
    found = problems(raw)
    assert any(p.startswith("wifi.scan_interval:") for p in found)
    assert any(p.startswith("wifi.offline_grace:") for p in found)
    assert any(p.startswith("people[0].macs[0]:") for p in found)
    assert any(p.startswith("graphite.port:") for p in found)


@pytest.mark.parametrize("where, raw_change, key_path", [
    ("top", {"colour": "blue"}, "colour: unknown key"),
    ("network", {"network": {"cidrs": ["198.51.100.0/24"], "iface": "eth0"}}, "network.iface: unknown key"),
    ("graphite", {"graphite": {"hots": "x"}}, "graphite.hots: unknown key"),
    ("homeassistant", {"homeassistant": {"url": "http://ha:8123", "token": "x"}}, "homeassistant.token: unknown key"),
])
def test_unknown_keys_are_rejected_with_their_path(where, raw_change, key_path):
    assert any(p.startswith(key_path) for p in problems(make_config(**raw_change))), where


def test_unknown_person_key_is_rejected():
    raw = make_config()
    raw["people"][1]["mac"] = ["02:00:00:00:02:09"]
    assert any(p.startswith("people[1].mac: unknown key") for p in problems(raw))


def test_mac_listed_for_two_people_is_an_error():
    raw = make_config()
    raw["people"][3]["macs"] = ["02-00-00-00-02-01"]
    assert "people[3].macs[0]: 02:00:00:00:02:01 is already listed at people[1].macs[0]" in problems(raw)


def test_mac_both_mapped_and_ignored_is_an_error():
    raw = make_config(ignore_macs=["02:00:00:00:03:01"])
    assert "people[2].macs[0]: 02:00:00:00:03:01 is also in ignore_macs" in problems(raw)


def test_multicast_mac_is_not_a_device():
    raw = make_config(ignore_macs=["01:00:5e:00:00:fb"])
    assert any(p.startswith("ignore_macs[0]: 01:00:5e:00:00:fb is a multicast") for p in problems(raw))


@pytest.mark.parametrize("name, key", [("Nick", "nick"), ("Zoë Smith", "zoe_smith"),
                                       ("a.b c\nd", "a_b_c_d"), ("  Mo-2 ", "mo-2")])
def test_person_names_become_safe_metric_keys(name, key):
    assert person_key(name) == key


def test_name_that_leaves_no_key_is_rejected():
    raw = make_config()
    raw["people"][0]["name"] = "..."
    assert any(p.startswith("people[0].name: '...' leaves no letters") for p in problems(raw))


def test_two_names_with_the_same_key_are_rejected():
    raw = make_config()
    raw["people"][5]["name"] = "nick"
    assert any(p.startswith("people[5].name: 'nick' gives the metric key 'nick', as people[0].name")
               for p in problems(raw))


def test_reserved_key_is_rejected():
    raw = make_config()
    raw["people"][5]["name"] = "WiFi"
    assert any(p.startswith("people[5].name: 'WiFi' gives the metric key 'wifi', which is reserved")
               for p in problems(raw))


@pytest.mark.parametrize("cidr, message", [
    ("198.51.100.0/33", "is not an IPv4 network"),
    ("2001:db8::/64", "is not an IPv4 network"),
    ("10.0.0.0/8", "has 16777216 addresses"),
])
def test_bad_networks(cidr, message):
    found = problems(make_config(network={"cidrs": [cidr]}))
    assert any(p.startswith("network.cidrs[0]:") and message in p for p in found)


def test_host_bits_in_a_cidr_are_forgiven():
    config = parse_config(make_config(network={"cidrs": ["198.51.100.7/24"]}))
    assert str(config.network.cidrs[0]) == "198.51.100.0/24"


def test_missing_network_section():
    raw = make_config()
    del raw["network"]
    assert any(p.startswith("network: missing") for p in problems(raw))


@pytest.mark.parametrize("section, key, value, message", [
    ("wifi", "scan_interval", 0.4, "must be at least 0.5"),
    ("wifi", "offline_grace", True, "must be a number"),
    ("graphite", "send_interval", 2.5, "must be a whole number"),
    ("graphite", "prefix", "home..presence", "is not a metric prefix"),
    ("graphite", "prefix", "home presence", "is not a metric prefix"),
])
def test_number_and_prefix_errors(section, key, value, message):
    raw = make_config()
    raw[section][key] = value
    assert any(p.startswith(f"{section}.{key}:") and message in p for p in problems(raw))


def test_homeassistant_section():
    raw = make_config(homeassistant={"url": "http://198.51.100.10:8123/", "poll_interval": 60})
    raw["people"][0]["homeassistant_entities"] = ["person.nick", "device_tracker.nick_phone"]
    config = parse_config(raw)
    assert config.homeassistant.url == "http://198.51.100.10:8123"
    assert config.homeassistant.token_env == "HOME_ASSISTANT_TOKEN"
    assert config.homeassistant.max_age == 180
    assert config.people[0].homeassistant_entities == ("person.nick", "device_tracker.nick_phone")


@pytest.mark.parametrize("change, key_path", [
    ({"url": "ftp://x"}, "homeassistant.url"),
    ({"url": "http://ha:8123", "token_env": "not a name"}, "homeassistant.token_env"),
    ({"url": "http://ha:8123", "poll_interval": 0}, "homeassistant.poll_interval"),
    ({}, "homeassistant.url: missing"),
])
def test_homeassistant_errors(change, key_path):
    assert any(p.startswith(key_path) for p in problems(make_config(homeassistant=change)))


def test_entities_without_homeassistant_section_or_bad_ids():
    raw = make_config()
    raw["people"][0]["homeassistant_entities"] = ["person.nick"]
    assert "people[0].homeassistant_entities: set, but there is no 'homeassistant' section" in problems(raw)
    raw["homeassistant"] = {"url": "http://ha:8123"}
    raw["people"][0]["homeassistant_entities"] = ["light.kitchen"]
    assert any(p.startswith("people[0].homeassistant_entities[0]: 'light.kitchen' is not an entity id")
               for p in problems(raw))


def test_yaml_syntax_error_names_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("network:\n  cidrs: [198.51.100.0/24\npeople: []\n")
    with pytest.raises(ConfigError) as caught:
        load_config(str(path))
    assert str(path) in str(caught.value) and "line 3" in str(caught.value)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_config(str(tmp_path / "nope.yaml"))
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        load_config(str(empty))


def test_config_path_from_environment():
    assert default_config_path({"PRESENCE_CONFIG": "/etc/p.yaml"}) == "/etc/p.yaml"
    assert default_config_path({}) == "presence/people_config.yaml"


def test_load_from_file(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(textwrap.dedent("""\
        network: {cidrs: [198.51.100.0/24]}
        people:
          - {name: Nick, macs: ["AA-BB-CC-DD-EE-01"]}
        """))
    config = load_config(str(path))
    assert config.people[0].macs == ("aa:bb:cc:dd:ee:01",)
    assert config.path == str(path) and os.path.basename(config.state_file) == "state.json"


def test_grace_must_outlast_a_scan_interval():
    found = problems(make_config(wifi={"scan_interval": 30, "offline_grace": 30}))
    assert any(p.startswith("wifi.offline_grace: 30 s is not longer than wifi.scan_interval (30 s)")
               for p in found)
    raw = make_config()
    raw["people"][4]["offline_grace"] = 20
    assert any(p.startswith("people[4].offline_grace: 20 s is not longer") for p in problems(raw))


def test_opt_in_metrics_and_wake_knock():
    config = parse_config(make_config(metrics={"guest_devices": True}))
    assert config.metrics.guest_devices and not config.metrics.seconds_since_seen
    assert config.wifi.wake_knock is True
    found = problems(make_config(metrics={"guests": True, "seconds_since_seen": "yes"},
                                 wifi={"scan_interval": 30, "offline_grace": 300, "wake_knock": 1}))
    assert any(p.startswith("metrics.guests: unknown key") for p in found)
    assert any(p.startswith("metrics.seconds_since_seen: must be true or false") for p in found)
    assert any(p.startswith("wifi.wake_knock: must be true or false") for p in found)


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


# Names in other scripts, and the `key` option.

def test_cyrillic_and_greek_names_are_transliterated():
    for name, key in [("Ник", "nik"), ("Σοφία", "sofia"), ("ΣΟΦΊΑ", "sofia"), ("Андрей Щукин", "andrey_shchukin"),
                      ("Юлія", "yuliya"), ("Ђорђе", "djordje"), ("Θεόδωρος", "theodoros"), ("李雷", "")]:
        assert person_key(name) == key, name
    # A key once derived never changes: a name with Latin letters keeps its key without the others.
    assert person_key("Nick Ник") == "nick"


def test_non_latin_names_parse(tmp_path):
    path = tmp_path / "people.yaml"
    path.write_text("network: {cidrs: [198.51.100.0/24]}\npeople:\n  - {name: Ник, macs: ['02:00:00:00:01:01']}\n"
                    "  - {name: Σοφία}\n  - {name: 李雷, key: li_lei}\n", encoding="utf-8")
    config = load_config(str(path))
    assert [(p.name, p.key) for p in config.people] == [("Ник", "nik"), ("Σοφία", "sofia"), ("李雷", "li_lei")]


def test_name_without_key_in_another_script_asks_for_one():
    raw = make_config()
    raw["people"][3]["name"] = "李雷"
    assert any(p.startswith("people[3].name: '李雷' leaves no letters or digits for the metric key: set people[3].key")
               for p in problems(raw))


@pytest.mark.parametrize("key, message", [
    ("Li Lei", "people[3].key: 'Li Lei' is not a metric key made of a-z, 0-9, _ and -"),
    ("", "people[3].key: must be a metric key made of a-z, 0-9, _ and -, not str ''"),
    ("wifi", "people[3].key: 'wifi' is a reserved metric key"),
    ("nick", "people[3].key: 'nick' is already the metric key of people[0].name"),
])
def test_key_is_checked_like_a_derived_one(key, message):
    raw = make_config()
    raw["people"][3]["key"] = key
    assert message in problems(raw)


def test_key_overrides_the_name_and_a_later_name_cannot_take_it():
    raw = make_config()
    raw["people"][0]["key"] = "dad"
    raw["people"][5]["name"] = "Dad"
    assert "people[5].name: 'Dad' gives the metric key 'dad', as people[0].key does" in problems(raw)
    del raw["people"][5]
    assert parse_config(raw).people[0].key == "dad"
    raw["people"][1] = {"key": "susan"}
    assert "people[1].name: must be a name, not empty" in problems(raw)


# More than one LAN: each network.cidrs entry may name its interface.

def test_cidr_entries_may_name_their_interface(tmp_path):
    path = tmp_path / "people.yaml"
    path.write_text("network:\n  interface: eth0\n  cidrs:\n    - 198.51.100.0/24\n"
                    "    - {cidr: 203.0.113.0/24, interface: eth0.20}\n    - {cidr: 192.0.2.0/25}\n")
    network = load_config(str(path)).network
    assert [str(n) for n in network.cidrs] == ["198.51.100.0/24", "203.0.113.0/24", "192.0.2.0/25"]
    assert network.cidr_interfaces == (None, "eth0.20", None) and network.interface == "eth0"


def test_network_config_built_in_code_has_parallel_interfaces():
    config = parse_config(make_config())
    assert config.network.cidr_interfaces == (None,)


@pytest.mark.parametrize("entry, problem", [
    ({"cidr": "203.0.113.0/24", "iface": "eth0.20"}, "network.cidrs[1].iface: unknown key (expected one of: "
                                                     "cidr, interface)"),
    ({"interface": "eth0.20"}, "network.cidrs[1].cidr: missing"),
    ({"cidr": "203.0.113.0/24", "interface": "eth0 20"}, "network.cidrs[1].interface: 'eth0 20' is not an "
                                                         "interface name"),
    ({"cidr": "203.0.113.0/33"}, "network.cidrs[1].cidr: '203.0.113.0/33' is not an IPv4 network"),
    ({"cidr": ["203.0.113.0/24"]}, "network.cidrs[1].cidr: must be an IPv4 network"),
    (42, "network.cidrs[1]: must be an IPv4 network such as 192.168.1.0/24, or a mapping"),
])
def test_bad_cidr_entries_are_named(entry, problem):
    found = problems(make_config(network={"cidrs": ["198.51.100.0/24", entry]}))
    assert any(p.startswith(problem) for p in found), found


@pytest.mark.parametrize("cidrs, problem", [
    (["198.51.100.0/24", "203.0.113.0/24", "198.51.100.0/24"],
     "network.cidrs[2]: 198.51.100.0/24 is listed twice: also at network.cidrs[0]"),
    (["198.51.100.0/24", {"cidr": "198.51.100.7/24", "interface": "eth1"}],
     "network.cidrs[1].cidr: 198.51.100.0/24 is listed twice: also at network.cidrs[0]"),
    (["198.51.100.128/25", "198.51.100.0/24"],
     "network.cidrs[1]: 198.51.100.0/24 overlaps 198.51.100.128/25: also at network.cidrs[0]"),
    (["198.51.0.0/16", "203.0.113.0/24", "198.51.100.0/24"],
     "network.cidrs[2]: 198.51.100.0/24 overlaps 198.51.0.0/16: also at network.cidrs[0]"),
])
def test_same_or_overlapping_networks_name_both_paths(cidrs, problem):
    assert problem in problems(make_config(network={"cidrs": cidrs}))


def test_many_networks_are_checked_quickly():
    """Overlaps are found by sorting: 20,000 entries do not take 200 million comparisons."""
    cidrs = [f"10.{i // 256}.{i % 256}.0/24" for i in range(20000)] + ["10.0.0.0/16"]
    found = problems(make_config(network={"cidrs": cidrs}))
    assert len(found) == 256 and found[0] == "network.cidrs[20000]: 10.0.0.0/16 overlaps 10.0.0.0/24: also at " \
                                              "network.cidrs[0]"


def test_a_config_that_is_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "people.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError) as caught:
        load_config(str(fifo))
    assert caught.value.problems == ["not a regular file"]
