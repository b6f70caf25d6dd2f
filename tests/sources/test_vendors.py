"""Who made a device, from scapy's OUI table; what the guest count takes for someone's phone."""

from presence.sources.vendors import looks_personal, vendor_of


def test_a_randomized_mac_or_a_phone_makers_looks_personal_a_printers_does_not():
    assert looks_personal("da:a1:19:00:00:01")  # locally administered: a phone's private address
    assert vendor_of("3c:22:fb:00:00:01").startswith("Apple") and looks_personal("3c:22:fb:00:00:01")
    assert vendor_of("00:1b:a9:00:00:01").startswith("Brother") and not looks_personal("00:1b:a9:00:00:01")


def test_a_randomized_mac_has_no_vendor():
    assert vendor_of("da:a1:19:00:00:01") is None
