"""Who made a device, from the MAC's prefix: scapy's bundled copy of the IEEE/Wireshark OUI table."""

import functools

from presence.macs import is_randomized

# Vendors whose devices are mostly phones, tablets and watches: a guest's device, not a printer.
PERSONAL_VENDORS = ("apple", "samsung", "google", "xiaomi", "oneplus", "huawei", "oppo", "vivo",
                    "motorola", "sony mobile", "hmd global", "nothing technology", "realme", "honor",
                    "fairphone", "zte", "lg electronics")


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
    vendor = (vendor_of(mac) or "").lower()
    return any(vendor.startswith(name) for name in PERSONAL_VENDORS)
