import os
import textwrap

import pytest

from presence.config.model import ConfigError
from presence.config.load import default_config_path, load_config, parse_config
from tests.conftest import EXAMPLE_CONFIG, make_config


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
