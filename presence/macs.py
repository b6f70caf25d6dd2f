"""MAC address spelling: parse the common forms, print one canonical form."""

import re

_HEX12 = re.compile(r"[0-9a-f]{12}")
_SEPARATED = re.compile(r"[0-9a-f]{1,2}([:-])(?:[0-9a-f]{1,2}\1){4}[0-9a-f]{1,2}")
_CISCO = re.compile(r"[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}")


def normalise_mac(text):
    """Return `text` as `aa:bb:cc:dd:ee:ff`, or None when it is not a MAC address."""
    if not isinstance(text, str):
        return None
    value = text.strip().lower()
    if _SEPARATED.fullmatch(value):
        octets = re.split(r"[:-]", value)
        return ":".join(octet.zfill(2) for octet in octets)
    if _CISCO.fullmatch(value) or _HEX12.fullmatch(value):
        digits = value.replace(".", "")
        return ":".join(digits[i:i + 2] for i in range(0, 12, 2))
    return None


def is_randomized(mac):
    """Tell whether a canonical MAC is locally administered (as private WiFi addresses are)."""
    return bool(int(mac[:2], 16) & 0x02)


def is_multicast(mac):
    """Tell whether a canonical MAC is a group address (never a device)."""
    return bool(int(mac[:2], 16) & 0x01)
