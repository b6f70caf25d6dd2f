"""Validation of each config section: problems are collected, each named by its key path."""

import ipaddress
import re
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from presence.config import defaults
from presence.config.model import (GraphiteConfig, HomeAssistantConfig, NetworkConfig, ReportConfig, WifiConfig,
                                   shown, shown_text)
from presence.macs import is_multicast, normalise_mac

TOP_KEYS = {"network", "wifi", "homeassistant", "graphite", "state_file", "people", "ignore_macs", "metrics",
            "report"}
_NETWORK_KEYS = {"interface", "cidrs"}
_CIDR_ENTRY_KEYS = {"cidr", "interface"}
_WIFI_KEYS = {"scan_interval", "offline_grace", "wake_knock"}
METRICS_KEYS = {"guest_devices", "seconds_since_seen"}
_HA_KEYS = {"url", "token_env", "poll_interval", "timeout", "stale_after", "ca_bundle"}
_GRAPHITE_KEYS = {"host", "port", "prefix", "send_interval", "spool_max_mb", "render_url"}
_REPORT_KEYS = {"render_url", "power", "energy_counter", "energy_unit", "timezone", "timeout"}
_PREFIX = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
_IFACE = re.compile(r"[A-Za-z0-9_.:@-]{1,15}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A URL's user:password@, kept out of error messages.
_USERINFO = re.compile(r"//[^/?#]*@")
_MAX_PATH = 4096
_MAX_KEY_SHOWN = 40


class Checker:
    """Collects problems instead of stopping at the first one."""

    def __init__(self):
        self.problems = []

    def fail(self, path, message):
        self.problems.append(f"{path}: {message}" if path else message)

    def mapping(self, value, path, allowed):
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, f"must be a mapping of keys, not {describe(value)}")
            return {}
        self.unknown_keys(value, allowed, path)
        return value

    def unknown_keys(self, value, allowed, path):
        for key in value:
            if key not in allowed:
                where = f"{path}.{_key_text(key)}" if path else _key_text(key)
                self.fail(where, f"unknown key (expected one of: {', '.join(sorted(allowed))})")

    def sequence(self, value, path):
        if not isinstance(value, list):
            self.fail(path, f"must be a list, not {describe(value)}")
            return []
        return value

    def number(self, value, path, minimum, maximum, integer=False, unit=""):
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
        if not isinstance(value, bool):
            self.fail(path, f"must be true or false, not {describe(value)}")
            return False
        return value

    def string(self, value, path, pattern=None, what="a string"):
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"must be {what}, not {describe(value)}")
            return None
        if pattern and not pattern.fullmatch(value):
            self.fail(path, f"{shown(value)} is not {what}")
            return None
        return value

    def file_path(self, value, path, what="the path of a file"):
        value = self.string(value, path, what=what)
        if value is not None and ("\0" in value or len(value) > _MAX_PATH):
            self.fail(path, f"{shown(value)} is not {what}: it has a NUL character or more than {_MAX_PATH} characters")
            return None
        return value

    def mac(self, value, path):
        mac = normalise_mac(value)
        if mac is None:
            self.fail(path, f"{shown(value)} is not a MAC address")
        elif is_multicast(mac):
            self.fail(path, f"{mac} is a multicast address, not a device's")
            mac = None
        return mac


def describe(value):
    return "empty" if value is None else f"{type(value).__name__} {shown(value)}"


def _key_text(key):
    """A mapping key as a part of a key path: as written when short and printable, else its bounded repr."""
    if isinstance(key, str) and key.isprintable() and len(key) <= _MAX_KEY_SHOWN:
        return key
    return shown(key)


def _as_duration(maximum, unit):
    if unit != " s" or maximum < 3600:
        return ""
    count, name = (maximum / 86400, "day") if maximum >= 86400 else (maximum / 3600, "hour")
    return f" ({count:g} {name}{'' if count == 1 else 's'})"


def network_section(check, raw):
    if "network" not in raw:
        check.fail("network", "missing: the section with 'cidrs' (the LAN to scan) is required")
        return NetworkConfig(cidrs=())
    section = check.mapping(raw["network"], "network", _NETWORK_KEYS)
    interface = section.get("interface")
    if interface is not None:
        interface = check.string(interface, "network.interface", _IFACE, "an interface name")
    if "cidrs" not in section:
        check.fail("network.cidrs", "missing: list the networks to scan, e.g. [192.168.1.0/24]")
    entries = []
    for index, item in enumerate(check.sequence(section.get("cidrs", []), "network.cidrs")):
        entry = _network_entry(check, item, f"network.cidrs[{index}]")
        if entry:
            entries.append(entry)
    _no_overlaps(check, entries)
    return NetworkConfig(cidrs=tuple(network for network, _, _ in entries), interface=interface,
                         cidr_interfaces=tuple(iface for _, iface, _ in entries))


def _network_entry(check, item, path):
    """Return (network, interface or None, path) of one `network.cidrs` entry: a CIDR, or {cidr, interface}."""
    interface, what = None, "an IPv4 network such as 192.168.1.0/24, or a mapping with 'cidr' and 'interface'"
    if isinstance(item, dict):
        check.mapping(item, path, _CIDR_ENTRY_KEYS)
        if item.get("interface") is not None:
            interface = check.string(item["interface"], f"{path}.interface", _IFACE, "an interface name")
        if "cidr" not in item:
            check.fail(f"{path}.cidr", "missing: the network on that interface, e.g. 192.168.20.0/24")
            return None
        item, path, what = item["cidr"], f"{path}.cidr", "an IPv4 network such as 192.168.1.0/24"
    if not isinstance(item, str):
        check.fail(path, f"must be {what}, not {describe(item)}")
        return None
    try:
        network = ipaddress.IPv4Network(item, strict=False)
    except ValueError:
        check.fail(path, f"{shown(item)} is not an IPv4 network such as 192.168.1.0/24")
        return None
    if network.prefixlen < defaults.MIN_PREFIX_LENGTH:
        check.fail(path, f"{network} has {network.num_addresses} addresses; the largest "
                         f"network an ARP sweep covers is a /{defaults.MIN_PREFIX_LENGTH}")
        return None
    return network, interface, path


def _no_overlaps(check, entries):
    """Name both entries of each network listed twice or inside another (by sorting: n log n, not n squared)."""
    order = {path: index for index, (_, _, path) in enumerate(entries)}
    widest = None  # (network, path) of the entry reaching furthest so far
    for network, _, path in sorted(entries, key=lambda entry: (entry[0].network_address, -entry[0].num_addresses)):
        if widest and network.network_address <= widest[0].broadcast_address:
            (first, first_path), (second, second_path) = sorted([widest, (network, path)],
                                                                key=lambda pair: order[pair[1]])
            relation = "is listed twice" if first == second else f"overlaps {first}"
            check.fail(second_path, f"{second} {relation}: also at {first_path}")
        if not widest or network.broadcast_address > widest[0].broadcast_address:
            widest = (network, path)


def wifi_section(check, raw):
    section = check.mapping(raw, "wifi", _WIFI_KEYS)
    scan = check.number(section.get("scan_interval", defaults.DEFAULT_SCAN_INTERVAL), "wifi.scan_interval",
                        defaults.MIN_SCAN_INTERVAL, defaults.MAX_SCAN_INTERVAL, unit=" s")
    grace = check.number(section.get("offline_grace", defaults.DEFAULT_OFFLINE_GRACE), "wifi.offline_grace",
                         0, defaults.MAX_OFFLINE_GRACE, unit=" s")
    grace_covers_a_scan(check, grace, scan, "wifi.offline_grace")
    return WifiConfig(scan_interval=scan or defaults.DEFAULT_SCAN_INTERVAL,
                      offline_grace=defaults.DEFAULT_OFFLINE_GRACE if grace is None else grace,
                      wake_knock=check.boolean(section.get("wake_knock", True), "wifi.wake_knock"))


def grace_covers_a_scan(check, grace, scan_interval, path):
    if grace is not None and scan_interval is not None and grace <= scan_interval:
        check.fail(path, f"{grace:g} s is not longer than wifi.scan_interval ({scan_interval:g} s): "
                         "people would be shown away between two sweeps")


def homeassistant_section(check, raw):
    if raw is None:
        return None
    section = check.mapping(raw, "homeassistant", _HA_KEYS)
    url = section.get("url")
    if url is None:
        check.fail("homeassistant.url", "missing: the address of Home Assistant, e.g. http://homeassistant.local:8123")
    else:
        url = _http_url(check, url, "homeassistant.url")
    token_env = check.string(section.get("token_env", defaults.DEFAULT_HA_TOKEN_ENV),
                             "homeassistant.token_env", _ENV_NAME, "an environment variable name")
    poll = check.number(section.get("poll_interval", defaults.DEFAULT_HA_POLL_INTERVAL), "homeassistant.poll_interval",
                        defaults.MIN_HA_POLL_INTERVAL, defaults.MAX_HA_POLL_INTERVAL, unit=" s")
    timeout = check.number(section.get("timeout", defaults.DEFAULT_HA_TIMEOUT), "homeassistant.timeout",
                           defaults.MIN_HA_TIMEOUT, defaults.MAX_HA_TIMEOUT, unit=" s")
    stale = section.get("stale_after")
    if stale is not None:
        stale = check.number(stale, "homeassistant.stale_after", 0, defaults.MAX_HA_STALE_AFTER, unit=" s")
    ca_bundle = section.get("ca_bundle")
    if ca_bundle is not None:
        ca_bundle = check.file_path(ca_bundle, "homeassistant.ca_bundle", "the path of a CA certificate file")
    return HomeAssistantConfig(url=url or "", ca_bundle=ca_bundle,
                               token_env=token_env or defaults.DEFAULT_HA_TOKEN_ENV,
                               poll_interval=poll or defaults.DEFAULT_HA_POLL_INTERVAL,
                               timeout=timeout or defaults.DEFAULT_HA_TIMEOUT, stale_after=stale)


def graphite_section(check, raw):
    section = check.mapping(raw, "graphite", _GRAPHITE_KEYS)
    host = section.get("host")
    if host is not None:
        host = check.string(host, "graphite.host", what="a host name or address")
    port = check.number(section.get("port", defaults.DEFAULT_GRAPHITE_PORT), "graphite.port", 1, 65535, integer=True)
    prefix = check.string(section.get("prefix", defaults.DEFAULT_PREFIX), "graphite.prefix", _PREFIX,
                          "a metric prefix made of [A-Za-z0-9_-] parts joined by dots")
    send = check.number(section.get("send_interval", defaults.DEFAULT_SEND_INTERVAL), "graphite.send_interval",
                        1, defaults.MAX_SEND_INTERVAL, integer=True, unit=" s")
    spool = check.number(section.get("spool_max_mb", defaults.DEFAULT_SPOOL_MAX_MB), "graphite.spool_max_mb",
                         1, defaults.MAX_SPOOL_MAX_MB, unit=" MB")
    render_url = section.get("render_url")
    if render_url is not None:
        render_url = _http_url(check, render_url, "graphite.render_url")
    return GraphiteConfig(host=host, port=port or defaults.DEFAULT_GRAPHITE_PORT,
                          prefix=prefix or defaults.DEFAULT_PREFIX,
                          send_interval=send or defaults.DEFAULT_SEND_INTERVAL,
                          spool_max_mb=spool or defaults.DEFAULT_SPOOL_MAX_MB, render_url=render_url)


def report_section(check, raw, graphite):
    section = check.mapping(raw, "report", _REPORT_KEYS)
    render_url = section.get("render_url")
    if render_url is not None:
        render_url = _http_url(check, render_url, "report.render_url")
    targets = {}
    for key in ("power", "energy_counter"):
        if section.get(key) is not None:
            targets[key] = check.string(section[key], f"report.{key}", what="a Graphite metric or target")
    if len(targets) == 2:
        check.fail("report.energy_counter", "set either report.power (watts) or report.energy_counter "
                                            "(a cumulative meter reading), not both")
    unit = section.get("energy_unit", defaults.DEFAULT_ENERGY_UNIT)
    if not isinstance(unit, str) or unit not in defaults.ENERGY_UNITS:
        check.fail("report.energy_unit", f"must be one of {', '.join(defaults.ENERGY_UNITS)}, not {describe(unit)}")
        unit = defaults.DEFAULT_ENERGY_UNIT
    timezone = section.get("timezone")
    if timezone is not None:
        timezone = time_zone(check, timezone, "report.timezone")
    timeout = check.number(section.get("timeout", defaults.DEFAULT_REPORT_TIMEOUT), "report.timeout",
                           defaults.MIN_REPORT_TIMEOUT, defaults.MAX_REPORT_TIMEOUT, unit=" s")
    return ReportConfig(render_url=render_url or graphite.render_url, power=targets.get("power"),
                        energy_counter=targets.get("energy_counter"), energy_unit=unit, timezone=timezone,
                        timeout=timeout or defaults.DEFAULT_REPORT_TIMEOUT)


def time_zone(check, value, path):
    """Return `value` when it names an IANA time zone such as Europe/Berlin, else record the problem."""
    try:
        ZoneInfo(value)
        return value
    # A folder of the zone database ("Europe") or an over-long name is an OSError.
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        check.fail(path, f"{shown(value)} is not a time zone name such as Europe/Berlin "
                         "(see timedatectl list-timezones)")
        return None


def _http_url(check, value, path):
    what = "an http:// or https:// URL"
    if not isinstance(value, str):
        check.fail(path, f"must be {what}, not {describe(value)}")
        return None
    shown_url = shown(_USERINFO.sub("//***@", value))
    if not value.isprintable() or any(char.isspace() for char in value):
        check.fail(path, f"{shown_url} is not {what}: it has spaces or control characters")
        return None
    try:
        parts = urlsplit(value)
        port, host = parts.port, parts.hostname
    except ValueError as error:  # "http://[::1", "http://host:99999", "http://host:port"
        check.fail(path, f"{shown_url} is not {what}: {shown_text(error)}")
        return None
    if parts.scheme not in ("http", "https") or not host:
        check.fail(path, f"{shown_url} is not {what}")
        return None
    if port == 0:
        check.fail(path, f"{shown_url} is not {what}: port 0 cannot be connected to")
        return None
    return value.rstrip("/")


def ignore_macs_section(check, raw):
    macs = []
    for index, item in enumerate(check.sequence(raw, "ignore_macs") if raw is not None else []):
        mac = check.mac(item, f"ignore_macs[{index}]")
        if mac:
            macs.append(mac)
    return macs
