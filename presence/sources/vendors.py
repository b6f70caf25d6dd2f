"""Who made a device, from the MAC's prefix: scapy's bundled copy of the IEEE/Wireshark OUI table."""

import functools
from pathlib import Path

from presence.macs import is_randomized

# Vendors whose devices are mostly phones, tablets and watches: a guest's device, not a printer.
PERSONAL_VENDORS = ("apple", "samsung", "google", "xiaomi", "oneplus", "huawei", "oppo", "vivo",
                    "motorola", "sony mobile", "hmd global", "nothing technology", "realme", "honor",
                    "fairphone", "zte", "lg electronics")
# PERSONAL_VENDORS' prefixes in scapy's table, made by scripts/make_personal_ouis.py: the daemon needs
# only these, and scapy with its whole table would cost it about 20 MB.
PERSONAL_OUIS = Path(__file__).with_name("personal_ouis.txt")


@functools.lru_cache(maxsize=4096)
def vendor_of(mac):
    """Return the organisation registered for the MAC's prefix, or None (always for randomized MACs)."""
    if is_randomized(mac):
        return None
    from scapy.config import conf

    try:
        vendor = conf.manufdb._get_manuf(mac)
    except Exception:  # the table is optional data; a failed lookup just means "unknown"
        return None
    return None if not vendor or vendor.lower() == mac else vendor


def looks_personal(mac):
    """Guess whether a device is someone's phone or tablet: a randomized MAC or a phone maker's prefix."""
    if is_randomized(mac):
        return True
    # The key scapy's table is looked up by, so that any spelling gets scapy's answer.
    return ":".join(mac.split(":")[:3]).upper() in _personal_prefixes()


@functools.cache
def _personal_prefixes():
    lines = PERSONAL_OUIS.read_text(encoding="ascii").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))
