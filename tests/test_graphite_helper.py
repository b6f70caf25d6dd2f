import math

import pytest

from graphite_helper import build_line, build_message


def test_build_line_and_message():
    assert build_line("home.presence.nick.is_home", True, 1_800_000_000.7) == \
        "home.presence.nick.is_home 1 1800000000\n"
    assert build_message("home.presence", [("count_home", 2), ("wifi.devices_present_count", 7)], 1_800_000_005) == \
        b"home.presence.count_home 2 1800000005\nhome.presence.wifi.devices_present_count 7 1800000005\n"


@pytest.mark.parametrize("name, value", [
    ("a b", 1), ("a\nb", 1), ("a..b", 1), ("", 1), (".a", 1), ("a", math.nan), ("a", math.inf), ("a", "1"),
    ("a", None),
])
def test_malformed_lines_are_refused(name, value):
    with pytest.raises(ValueError):
        build_line(name, value, 0)
