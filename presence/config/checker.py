"""The Checker: each value of the config checked as it is read, every problem kept with its key path."""

import re
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from presence.config import defaults
from presence.config.model import shown, shown_text
from presence.macs import is_multicast, normalise_mac

# A URL's user:password@, kept out of error messages.
_USERINFO = re.compile(r"//[^/?#]*@")


class Checker:
    """Collects problems instead of stopping at the first one."""

    def __init__(self):
        self.problems = []

    def fail(self, path, message):
        """Record a problem at key path `path` (none: about the whole file)."""
        self.problems.append(f"{path}: {message}" if path else message)

    def mapping(self, value, path, allowed):
        """Return `value` when it is a mapping with only `allowed` keys ({} when empty), else record the problem."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, f"must be a mapping of keys, not {describe(value)}")
            return {}
        self.unknown_keys(value, allowed, path)
        return value

    def unknown_keys(self, value, allowed, path):
        """Record each key of `value` that is not in `allowed`, naming the expected ones."""
        for key in value:
            if key not in allowed:
                where = f"{path}.{_key_text(key)}" if path else _key_text(key)
                self.fail(where, f"unknown key (expected one of: {', '.join(sorted(allowed))})")

    def sequence(self, value, path):
        """Return `value` when it is a list, else record the problem and return []."""
        if not isinstance(value, list):
            self.fail(path, f"must be a list, not {describe(value)}")
            return []
        return value

    def number(self, value, path, minimum, maximum, integer=False, unit=""):
        """Return `value` when it is a number in [minimum, maximum] (whole when `integer`), else record the problem
        and return None."""
        kind = int if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kind) or value != value:
            self.fail(path, f"must be a {'whole ' if integer else ''}number, not {describe(value)}")
            return None
        if value < minimum:
            self.fail(path, f"must be at least {minimum:g}{unit}, not {shown(value)}")
            return None
        if value > maximum:
            self.fail(path, f"must be at most {maximum:g}{unit}{_as_duration(maximum, unit)}, not {shown(value)}")
            return None
        return value if integer else float(value)

    def boolean(self, value, path):
        """Return `value` when it is true or false, else record the problem and return False."""
        if not isinstance(value, bool):
            self.fail(path, f"must be true or false, not {describe(value)}")
            return False
        return value

    def string(self, value, path, pattern=None, what="a string"):
        """Return `value` when it is a non-blank string matching `pattern`, else record the problem and return None."""
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"must be {what}, not {describe(value)}")
            return None
        if pattern and not pattern.fullmatch(value):
            self.fail(path, f"{shown(value)} is not {what}")
            return None
        return value

    def file_path(self, value, path, what="the path of a file"):
        """Return `value` when it can be a file's path (no NUL, at most PATH_MAX), else record the problem."""
        value = self.string(value, path, what=what)
        if value is not None and ("\0" in value or len(value) > defaults.MAX_PATH_LENGTH):
            self.fail(path, f"{shown(value)} is not {what}: it has a NUL character or more than "
                            f"{defaults.MAX_PATH_LENGTH} characters")
            return None
        return value

    def mac(self, value, path):
        """Return `value` as a normalised unicast MAC, else record the problem and return None."""
        mac = normalise_mac(value)
        if mac is None:
            self.fail(path, f"{shown(value)} is not a MAC address")
        elif is_multicast(mac):
            self.fail(path, f"{mac} is a multicast address, not a device's")
            mac = None
        return mac

    def http_url(self, value, path):
        """Return an http(s) URL without its trailing slash, else record the problem (its password hidden)."""
        what = "an http:// or https:// URL"
        if not isinstance(value, str):
            self.fail(path, f"must be {what}, not {describe(value)}")
            return None
        shown_url = shown(_USERINFO.sub("//***@", value))
        if not value.isprintable() or any(char.isspace() for char in value):
            self.fail(path, f"{shown_url} is not {what}: it has spaces or control characters")
            return None
        try:
            parts = urlsplit(value)
            port, host = parts.port, parts.hostname
        except ValueError as error:  # "http://[::1", "http://host:99999", "http://host:port"
            self.fail(path, f"{shown_url} is not {what}: {shown_text(error)}")
            return None
        if parts.scheme not in ("http", "https") or not host:
            self.fail(path, f"{shown_url} is not {what}")
            return None
        if port == 0:
            self.fail(path, f"{shown_url} is not {what}: port 0 cannot be connected to")
            return None
        return value.rstrip("/")

    def time_zone(self, value, path):
        """Return `value` when it names an IANA time zone such as Europe/Berlin, else record the problem."""
        try:
            ZoneInfo(value)
            return value
        # A folder of the zone database ("Europe") or an over-long name is an OSError.
        except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
            self.fail(path, f"{shown(value)} is not a time zone name such as Europe/Berlin "
                            "(see timedatectl list-timezones)")
            return None


def describe(value):
    """A value as named in a problem: its type and its bounded repr, or `empty`."""
    return "empty" if value is None else f"{type(value).__name__} {shown(value)}"


def _key_text(key):
    """A mapping key as a part of a key path: as written when short and printable, else its bounded repr."""
    if isinstance(key, str) and key.isprintable() and len(key) <= defaults.MAX_KEY_SHOWN:
        return key
    return shown(key)


def _as_duration(maximum, unit):
    if unit != " s" or maximum < 3600:
        return ""
    count, name = (maximum / 86400, "day") if maximum >= 86400 else (maximum / 3600, "hour")
    return f" ({count:g} {name}{'' if count == 1 else 's'})"
