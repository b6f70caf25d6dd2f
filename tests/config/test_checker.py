"""The Checker's helpers on their own: good values come back (normalised), each bad one is kept as a problem
that starts with its key path, and checking goes on after it."""

import re

import pytest

from presence.config.checker import Checker, describe


def check(helper, *args, **kwargs):
    """(what the helper returned, the problems it recorded)."""
    checker = Checker()
    return getattr(checker, helper)(*args, **kwargs), checker.problems


def test_every_problem_is_kept_in_order_and_one_about_the_whole_file_has_no_path():
    checker = Checker()
    checker.fail("wifi.scan_interval", "must be a number")
    checker.fail(None, "must be a YAML mapping")
    checker.boolean("yes", "wifi.wake_knock")
    assert checker.problems == ["wifi.scan_interval: must be a number", "must be a YAML mapping",
                                "wifi.wake_knock: must be true or false, not str 'yes'"]


def test_a_mapping_with_known_keys_comes_back_and_an_empty_one_is_an_empty_mapping():
    section = {"host": "carbon", "port": 2003}
    assert check("mapping", section, "graphite", {"host", "port", "prefix"}) == (section, [])
    assert check("mapping", None, "graphite", {"host"}) == ({}, [])


def test_a_mapping_that_is_something_else_says_what_it_is():
    assert check("mapping", ["carbon"], "graphite", {"host"}) == (
        {}, ["graphite: must be a mapping of keys, not list ['carbon']"])


def test_each_unknown_key_is_named_under_its_section_with_the_expected_ones_sorted():
    value, found = check("mapping", {"hots": "carbon", "port": 2003, "prefx": "home"}, "graphite",
                         {"prefix", "host", "port"})
    assert value == {"hots": "carbon", "port": 2003, "prefx": "home"}
    assert found == ["graphite.hots: unknown key (expected one of: host, port, prefix)",
                     "graphite.prefx: unknown key (expected one of: host, port, prefix)"]


def test_an_unknown_key_at_the_top_has_no_leading_dot():
    assert check("unknown_keys", {"colour": "blue"}, {"network", "people"}, "")[1] == [
        "colour: unknown key (expected one of: network, people)"]


def test_an_unknown_key_that_is_not_plain_text_is_shown_by_its_repr_and_a_long_one_is_cut():
    found = check("unknown_keys", {"a\nb": 1, 5: 2, "k" * 500: 3}, {"host"}, "graphite")[1]
    assert found[0] == "graphite.'a\\nb': unknown key (expected one of: host)"
    assert found[1] == "graphite.5: unknown key (expected one of: host)"
    assert found[2].startswith("graphite.'kkk") and "..." in found[2] and len(found[2]) < 200


def test_a_sequence_must_be_a_list():
    assert check("sequence", ["a", "b"], "people") == (["a", "b"], [])
    assert check("sequence", "Nick", "people") == ([], ["people: must be a list, not str 'Nick'"])
    assert check("sequence", None, "people") == ([], ["people: must be a list, not empty"])


def test_a_number_in_range_comes_back_as_a_float_and_a_whole_one_as_an_int():
    value, found = check("number", 30, "wifi.scan_interval", 0.5, 3600, unit=" s")
    assert value == 30.0 and isinstance(value, float) and found == []
    value, found = check("number", 2003, "graphite.port", 1, 65535, integer=True)
    assert value == 2003 and isinstance(value, int) and found == []
    assert check("number", 0.5, "wifi.scan_interval", 0.5, 3600)[0] == 0.5
    assert check("number", 3600, "wifi.scan_interval", 0.5, 3600)[0] == 3600.0


@pytest.mark.parametrize("value, shown", [(True, "bool True"), (float("nan"), "float nan"), ("30", "str '30'"),
                                          (None, "empty"), ([30], "list [30]")])
def test_what_is_not_a_number_is_named_with_its_type(value, shown):
    assert check("number", value, "wifi.scan_interval", 0.5, 3600) == (
        None, [f"wifi.scan_interval: must be a number, not {shown}"])


def test_a_fraction_where_a_whole_number_is_needed_is_refused():
    assert check("number", 2.5, "graphite.send_interval", 1, 60, integer=True) == (
        None, ["graphite.send_interval: must be a whole number, not float 2.5"])


@pytest.mark.parametrize("value, maximum, expected", [
    (0.4, 3600, "must be at least 0.5 s, not 0.4"),
    (3601, 3600, "must be at most 3600 s (1 hour), not 3601"),
    (7200.5, 7200, "must be at most 7200 s (2 hours), not 7200.5"),
    (90000, 86400, "must be at most 86400 s (1 day), not 90000"),
    (200000, 172800, "must be at most 172800 s (2 days), not 200000"),
    (1000, 600, "must be at most 600 s, not 1000"),
])
def test_a_number_out_of_range_names_the_bound_and_a_long_maximum_also_in_hours_or_days(value, maximum, expected):
    assert check("number", value, "wifi.offline_grace", 0.5, maximum, unit=" s") == (
        None, [f"wifi.offline_grace: {expected}"])


def test_a_bound_without_a_unit_is_not_read_as_a_duration_and_a_huge_integer_is_shown_by_its_size():
    assert check("number", 70000, "graphite.port", 1, 65535, integer=True)[1] == [
        "graphite.port: must be at most 65535, not 70000"]
    assert check("number", 10 ** 5000, "graphite.port", 1, 65535, integer=True)[1] == [
        "graphite.port: must be at most 65535, not <an integer of 16610 bits>"]


def test_a_boolean_must_be_true_or_false_not_a_word_or_a_number():
    assert check("boolean", False, "wifi.wake_knock") == (False, [])
    assert check("boolean", True, "wifi.wake_knock") == (True, [])
    assert check("boolean", 1, "wifi.wake_knock") == (False, ["wifi.wake_knock: must be true or false, not int 1"])


def test_a_string_must_be_non_blank_and_match_its_pattern():
    prefix = re.compile(r"[a-z]+(\.[a-z]+)*")
    assert check("string", "home.presence", "graphite.prefix", prefix, "a metric prefix") == ("home.presence", [])
    assert check("string", "home presence", "graphite.prefix", prefix, "a metric prefix") == (
        None, ["graphite.prefix: 'home presence' is not a metric prefix"])
    assert check("string", "   ", "graphite.prefix", prefix, "a metric prefix") == (
        None, ["graphite.prefix: must be a metric prefix, not str '   '"])
    assert check("string", 7, "mqtt.username") == (None, ["mqtt.username: must be a string, not int 7"])


def test_a_file_path_has_no_nul_and_is_not_longer_than_path_max():
    assert check("file_path", "/var/lib/presence/state.json", "state_file") == ("/var/lib/presence/state.json", [])
    assert check("file_path", "state\0.json", "state_file")[1] == [
        "state_file: 'state\\x00.json' is not the path of a file: it has a NUL character or more than 4096 characters"]
    value, found = check("file_path", "/" + "a" * 4096, "state_file")
    assert value is None and found[0].startswith("state_file: '/aaa") and "more than 4096 characters" in found[0]
    assert check("file_path", "", "mqtt.ca_file", what="the path of a CA file")[1] == [
        "mqtt.ca_file: must be the path of a CA file, not str ''"]


def test_a_mac_comes_back_normalised_and_a_bad_or_multicast_one_is_named():
    assert check("mac", "AA-BB-CC-DD-EE-01", "people[0].macs[0]") == ("aa:bb:cc:dd:ee:01", [])
    assert check("mac", "zz:11:22:33:44:55", "people[0].macs[1]") == (
        None, ["people[0].macs[1]: 'zz:11:22:33:44:55' is not a MAC address"])
    assert check("mac", 12, "ignore_macs[0]") == (None, ["ignore_macs[0]: 12 is not a MAC address"])
    assert check("mac", "01-00-5E-00-00-FB", "ignore_macs[1]") == (
        None, ["ignore_macs[1]: 01:00:5e:00:00:fb is a multicast address, not a device's"])


def test_an_http_url_loses_its_trailing_slash_and_keeps_everything_else():
    assert check("http_url", "http://198.51.100.10:8123/", "homeassistant.url") == ("http://198.51.100.10:8123", [])
    assert check("http_url", "https://ha.local/api/", "homeassistant.url") == ("https://ha.local/api", [])


@pytest.mark.parametrize("url, expected", [
    (8123, "must be an http:// or https:// URL, not int 8123"),
    ("ftp://ha.local", "'ftp://ha.local' is not an http:// or https:// URL"),
    ("http://", "'http://' is not an http:// or https:// URL"),
    ("http://ha.local:0", "'http://ha.local:0' is not an http:// or https:// URL: port 0 cannot be connected to"),
    ("http://ha local", "'http://ha local' is not an http:// or https:// URL: it has spaces or control characters"),
    ("http://ha:99999", "'http://ha:99999' is not an http:// or https:// URL: Port out of range 0-65535"),
])
def test_a_url_that_cannot_be_connected_to_says_why(url, expected):
    assert check("http_url", url, "homeassistant.url") == (None, [f"homeassistant.url: {expected}"])


def test_a_refused_url_never_shows_its_user_and_password():
    found = check("http_url", "ftp://admin:s3cret@graphite/", "graphite.render_url")[1]
    assert found == ["graphite.render_url: 'ftp://***@graphite/' is not an http:// or https:// URL"]
    assert "s3cret" not in found[0] and "admin" not in found[0]


def test_a_time_zone_must_be_an_iana_name_not_a_folder_of_them():
    assert check("time_zone", "Europe/Berlin", "report.timezone") == ("Europe/Berlin", [])
    assert check("time_zone", "UTC", "report.timezone") == ("UTC", [])
    hint = "is not a time zone name such as Europe/Berlin (see timedatectl list-timezones)"
    for value, shown in (("Europe", "'Europe'"), ("Mars/Olympus", "'Mars/Olympus'"), ("../etc/passwd",
                         "'../etc/passwd'"), (42, "42"), ("x" * 5000, "'xxx")):
        value_back, found = check("time_zone", value, "report.timezone")
        assert value_back is None and found[0].startswith(f"report.timezone: {shown}") and hint in found[0]


def test_describe_names_the_type_and_a_bounded_repr_or_empty():
    assert describe(None) == "empty"
    assert describe({"a": 1}) == "dict {'a': 1}"
    long = describe("x" * 1000)
    assert long.startswith("str 'xxx") and "..." in long and len(long) < 100
