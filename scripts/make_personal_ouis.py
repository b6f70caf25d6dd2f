"""Write presence/sources/personal_ouis.txt: the OUI prefixes in scapy's bundled manuf table whose vendor
is one of PERSONAL_VENDORS, which `looks_personal` reads instead of loading scapy.

Rerun it after upgrading scapy or changing PERSONAL_VENDORS, and commit the file
(tests/sources/test_vendors_personal_ouis.py fails until you do):

    .venv/bin/python scripts/make_personal_ouis.py
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import scapy  # noqa: E402
from scapy.data import load_manuf  # noqa: E402

from presence.macs import is_randomized  # noqa: E402
from presence.sources.vendors import PERSONAL_OUIS, PERSONAL_VENDORS  # noqa: E402

# scapy looks a MAC up by its first three octets, upper case: longer (/28, /36) entries never match.
_OUI = re.compile(r"[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2}")


def personal_prefixes(table):
    """The prefixes of `table` (scapy's ManufDA) that the old scapy lookup took for a phone maker's."""
    return sorted(oui for oui, (_short, vendor) in table.d.items()
                  if _OUI.fullmatch(oui) and not is_randomized(oui.lower())
                  and vendor.lower().startswith(PERSONAL_VENDORS))


def main():
    # Without a file name, scapy reads its own bundled copy (not a system Wireshark's): reproducible.
    prefixes = personal_prefixes(load_manuf())
    header = (f"# Made by scripts/make_personal_ouis.py from scapy {scapy.__version__}'s manuf table: "
              f"the prefixes of {', '.join(PERSONAL_VENDORS)}.\n")
    PERSONAL_OUIS.write_text(header + "".join(f"{oui}\n" for oui in prefixes), encoding="ascii")
    print(f"{len(prefixes)} prefixes written to {os.path.relpath(PERSONAL_OUIS, ROOT)}")


if __name__ == "__main__":
    main()
