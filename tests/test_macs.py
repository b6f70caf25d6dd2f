import pytest

from presence.macs import is_multicast, is_randomized, normalise_mac


@pytest.mark.parametrize("spelling", [
    "aa:bb:cc:dd:ee:01", "AA:BB:CC:DD:EE:01", "aa-bb-cc-dd-ee-01", "aabb.ccdd.ee01",
    "AABBCCDDEE01", " aa:bb:cc:dd:ee:01 ",
])
def test_common_spellings_normalise_to_one_form(spelling):
    assert normalise_mac(spelling) == "aa:bb:cc:dd:ee:01"


def test_single_digit_octets_are_padded():
    assert normalise_mac("a:b:c:d:e:f") == "0a:0b:0c:0d:0e:0f"


@pytest.mark.parametrize("text", ["zz:bb:cc:dd:ee:01", "aa:bb:cc:dd:ee", "aa:bb-cc:dd:ee:01",
                                  "aa:bb:cc:dd:ee:01:02", "", None, 12, "aabb.ccdd.ee0"])
def test_non_macs_are_refused(text):
    assert normalise_mac(text) is None


def test_randomized_and_multicast_bits():
    assert is_randomized("da:a1:19:00:00:01")
    assert not is_randomized("3c:22:fb:00:00:01")
    assert is_multicast("01:00:5e:00:00:fb")
    assert not is_multicast("02:00:00:00:00:01")
