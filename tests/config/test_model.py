"""The typed config: values shown in errors stay short, a ConfigError lists its problems, and the few
derived values (a device's grace, how long a Home Assistant answer is trusted)."""

import pytest

from presence.config import defaults
from presence.config.load import parse_config
from presence.config.model import ConfigError, HomeAssistantConfig, NetworkConfig, shown, shown_text
from tests.conftest import make_config


def test_a_huge_or_deeply_nested_value_is_shown_in_a_few_dozen_characters():
    nested = [[[[["deep"]]]]]
    assert shown(nested) == "[[[...]]]"
    long = shown("x" * 10_000)
    assert len(long) <= defaults.SHOWN_LENGTH and "..." in long and long.startswith("'x")
    assert len(shown({str(i): "y" * 50 for i in range(3)})) == defaults.SHOWN_LENGTH
    assert shown(list(range(100))) == "[0, 1, 2, 3, ...]"


def test_an_integer_too_large_for_python_to_print_is_described_not_raised():
    assert shown(2 ** 100_000) == "<an integer of 100001 bits>"
    assert shown(2 ** 10) == "1024"


def test_a_message_is_shown_on_one_line_with_control_characters_escaped():
    assert shown_text("bad\n  value\x1b[31m here") == "bad value\\x1b[31m here"
    assert len(shown_text("word " * 100)) == defaults.SHOWN_LENGTH


def test_a_config_error_names_its_source_on_every_line_and_counts_its_problems():
    one = ConfigError("/etc/presence.yaml", ["wifi.scan_interval: must be a number"])
    assert str(one) == ("/etc/presence.yaml: invalid configuration (1 problem):\n"
                        "  /etc/presence.yaml: wifi.scan_interval: must be a number")
    two = ConfigError("people.yaml", ["a: x", "b: y"])
    assert str(two).splitlines()[0] == "people.yaml: invalid configuration (2 problems):"


def test_a_config_error_with_very_many_problems_shows_the_first_and_says_how_many_more():
    problems = [f"people[{i}].name: missing" for i in range(defaults.MAX_PROBLEMS_SHOWN + 7)]
    lines = str(ConfigError("c.yaml", problems)).splitlines()
    assert len(lines) == 1 + defaults.MAX_PROBLEMS_SHOWN + 1
    assert lines[-1] == "  c.yaml: ... and 7 more"


def test_each_network_without_an_interface_of_its_own_gets_none():
    assert NetworkConfig(cidrs=("198.51.100.0/24", "203.0.113.0/24")).cidr_interfaces == (None, None)
    with pytest.raises(ValueError, match="one entry per network"):
        NetworkConfig(cidrs=("198.51.100.0/24",), cidr_interfaces=("eth0", "eth1"))


def test_a_home_assistant_answer_is_trusted_for_three_polls_unless_stale_after_says_otherwise():
    assert HomeAssistantConfig(url="http://ha:8123", poll_interval=60).max_age == 60 * defaults.DEFAULT_HA_STALE_POLLS
    assert HomeAssistantConfig(url="http://ha:8123", poll_interval=60, stale_after=45).max_age == 45


def test_a_device_has_its_owners_grace_and_an_unmapped_one_the_global_grace():
    raw = make_config(wifi={"scan_interval": 30, "offline_grace": 300})
    raw["people"][0]["offline_grace"] = 900
    config = parse_config(raw)
    owner = config.people[0]
    assert config.grace_for(owner.macs[0]) == 900
    assert config.grace_for("02:00:00:00:99:99") == 300
