"""The shipped table of phone makers' prefixes is scapy's table filtered by PERSONAL_VENDORS, and
looks_personal, which reads it, answers as the scapy lookup did."""

import random
import re

from scapy.data import load_manuf

from presence.macs import is_randomized
from presence.sources.vendors import PERSONAL_OUIS, PERSONAL_VENDORS, looks_personal

# scapy's bundled table, the one the generator reads (without a file name scapy ignores a system Wireshark's).
TABLE = load_manuf()
THREE_OCTETS = re.compile(r"[0-9A-F]{2}(:[0-9A-F]{2}){2}")
RERUN = "rerun scripts/make_personal_ouis.py and commit presence/sources/personal_ouis.txt"


def scapy_answer(mac):
    """looks_personal as it was: the randomized bit, else the vendor scapy's table gives the MAC."""
    if is_randomized(mac):
        return True
    vendor = TABLE._get_manuf(mac)
    vendor = "" if vendor.lower() == mac else vendor.lower()
    return any(vendor.startswith(name) for name in PERSONAL_VENDORS)


def shipped():
    lines = PERSONAL_OUIS.read_text(encoding="ascii").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def test_the_shipped_table_is_scapys_filtered_by_the_personal_vendors():
    expected = {oui for oui in TABLE.d if THREE_OCTETS.fullmatch(oui) and not is_randomized(oui.lower())
                and scapy_answer(f"{oui.lower()}:00:00:01")}
    prefixes = shipped()
    assert len(prefixes) == len(set(prefixes)), "a prefix is listed twice"
    assert set(prefixes) == expected, RERUN
    assert len(expected) > 1000  # Apple alone has hundreds: an empty filter would pass unnoticed


def test_looks_personal_agrees_with_the_scapy_lookup_on_every_prefix_and_random_macs():
    rng = random.Random(24)
    ouis = [oui.lower() for oui in TABLE.d if THREE_OCTETS.fullmatch(oui)]
    macs = [f"{oui}:{rng.randbytes(3).hex(':')}" for oui in ouis]
    macs += [rng.randbytes(6).hex(":") for _ in range(20000)]
    # Randomized (locally administered) ones, also in prefixes the table gives a phone maker.
    macs += [f"{int(oui[:2], 16) | 0x02:02x}{oui[2:]}:00:00:01" for oui in ouis[:5000]]
    macs += [mac.upper() for mac in macs[::7]] + ["3c-22-fb-00-00-01", "3c22.fb00.0001"]
    wrong = [mac for mac in macs if looks_personal(mac) != scapy_answer(mac)]
    assert wrong == [], f"{len(wrong)} of {len(macs)} MACs, e.g. {wrong[:5]}"
    assert sum(map(looks_personal, macs)) > 10000 and not all(map(looks_personal, macs))
