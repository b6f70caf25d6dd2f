"""Validation of each config section: problems are collected, each named by its key path."""

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from presence import defaults
from presence.config_model import (GraphiteConfig, HomeAssistantConfig, NetworkConfig, Person, ReportConfig,
                                   WifiConfig)
from presence.macs import is_multicast, normalise_mac

TOP_KEYS = {"network", "wifi", "homeassistant", "graphite", "state_file", "people", "ignore_macs", "metrics",
            "report"}
_NETWORK_KEYS = {"interface", "cidrs"}
_WIFI_KEYS = {"scan_interval", "offline_grace", "wake_knock"}
METRICS_KEYS = {"guest_devices", "seconds_since_seen"}
_HA_KEYS = {"url", "token_env", "poll_interval", "timeout", "stale_after", "ca_bundle"}
_GRAPHITE_KEYS = {"host", "port", "prefix", "send_interval", "spool_max_mb", "render_url"}
_REPORT_KEYS = {"render_url", "power", "energy_counter", "energy_unit", "timezone", "timeout"}
_PERSON_KEYS = {"name", "macs", "homeassistant_entities", "offline_grace"}
_ENTITY = re.compile(r"(person|device_tracker|binary_sensor|input_boolean)\.[a-z0-9_]+")
_PREFIX = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
_IFACE = re.compile(r"[A-Za-z0-9_.:@-]{1,15}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def person_key(name):
    """Turn a display name into a Graphite-safe metric key (`Zoë Smith` -> `zoe_smith`)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9_-]+", "_", ascii_name.lower()).strip("_-")


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
            self.fail(path, f"must be a mapping of keys, not {_describe(value)}")
            return {}
        self.unknown_keys(value, allowed, path)
        return value

    def unknown_keys(self, value, allowed, path):
        for key in value:
            if key not in allowed:
                where = f"{path}.{key}" if path else str(key)
                self.fail(where, f"unknown key (expected one of: {', '.join(sorted(allowed))})")

    def sequence(self, value, path):
        if not isinstance(value, list):
            self.fail(path, f"must be a list, not {_describe(value)}")
            return []
        return value

    def number(self, value, path, minimum, integer=False):
        kind = int if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kind) or value != value:
            self.fail(path, f"must be a {'whole ' if integer else ''}number, not {_describe(value)}")
            return None
        if value < minimum:
            self.fail(path, f"must be at least {minimum}, not {value}")
            return None
        return value if integer else float(value)

    def boolean(self, value, path):
        if not isinstance(value, bool):
            self.fail(path, f"must be true or false, not {_describe(value)}")
            return False
        return value

    def string(self, value, path, pattern=None, what="a string"):
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"must be {what}, not {_describe(value)}")
            return None
        if pattern and not pattern.fullmatch(value):
            self.fail(path, f"{value!r} is not {what}")
            return None
        return value

    def mac(self, value, path):
        mac = normalise_mac(value)
        if mac is None:
            self.fail(path, f"{value!r} is not a MAC address")
        elif is_multicast(mac):
            self.fail(path, f"{mac} is a multicast address, not a device's")
            mac = None
        return mac


def _describe(value):
    return "empty" if value is None else f"{type(value).__name__} {value!r}"


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
    cidrs = []
    for index, item in enumerate(check.sequence(section.get("cidrs", []), "network.cidrs")):
        path = f"network.cidrs[{index}]"
        try:
            network = ipaddress.IPv4Network(str(item), strict=False)
        except ValueError:
            check.fail(path, f"{item!r} is not an IPv4 network such as 192.168.1.0/24")
            continue
        if network.prefixlen < defaults.MIN_PREFIX_LENGTH:
            check.fail(path, f"{network} has {network.num_addresses} addresses; the largest "
                             f"network an ARP sweep covers is a /{defaults.MIN_PREFIX_LENGTH}")
            continue
        cidrs.append(network)
    return NetworkConfig(cidrs=tuple(cidrs), interface=interface)


def wifi_section(check, raw):
    section = check.mapping(raw, "wifi", _WIFI_KEYS)
    scan = check.number(section.get("scan_interval", defaults.DEFAULT_SCAN_INTERVAL),
                        "wifi.scan_interval", defaults.MIN_SCAN_INTERVAL)
    grace = check.number(section.get("offline_grace", defaults.DEFAULT_OFFLINE_GRACE),
                         "wifi.offline_grace", 0)
    _grace_covers_a_scan(check, grace, scan, "wifi.offline_grace")
    return WifiConfig(scan_interval=scan or defaults.DEFAULT_SCAN_INTERVAL,
                      offline_grace=defaults.DEFAULT_OFFLINE_GRACE if grace is None else grace,
                      wake_knock=check.boolean(section.get("wake_knock", True), "wifi.wake_knock"))


def _grace_covers_a_scan(check, grace, scan_interval, path):
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
    poll = check.number(section.get("poll_interval", defaults.DEFAULT_HA_POLL_INTERVAL),
                        "homeassistant.poll_interval", defaults.MIN_HA_POLL_INTERVAL)
    timeout = check.number(section.get("timeout", defaults.DEFAULT_HA_TIMEOUT),
                           "homeassistant.timeout", 0.1)
    stale = section.get("stale_after")
    if stale is not None:
        stale = check.number(stale, "homeassistant.stale_after", 0)
    ca_bundle = section.get("ca_bundle")
    if ca_bundle is not None:
        ca_bundle = check.string(ca_bundle, "homeassistant.ca_bundle", what="the path of a CA certificate file")
    return HomeAssistantConfig(url=url or "", ca_bundle=ca_bundle,
                               token_env=token_env or defaults.DEFAULT_HA_TOKEN_ENV,
                               poll_interval=poll or defaults.DEFAULT_HA_POLL_INTERVAL,
                               timeout=timeout or defaults.DEFAULT_HA_TIMEOUT, stale_after=stale)


def graphite_section(check, raw):
    section = check.mapping(raw, "graphite", _GRAPHITE_KEYS)
    host = section.get("host")
    if host is not None:
        host = check.string(host, "graphite.host", what="a host name or address")
    port = check.number(section.get("port", defaults.DEFAULT_GRAPHITE_PORT), "graphite.port", 1, integer=True)
    if port is not None and port > 65535:
        check.fail("graphite.port", f"must be at most 65535, not {port}")
    prefix = check.string(section.get("prefix", defaults.DEFAULT_PREFIX), "graphite.prefix", _PREFIX,
                          "a metric prefix made of [A-Za-z0-9_-] parts joined by dots")
    send = check.number(section.get("send_interval", defaults.DEFAULT_SEND_INTERVAL),
                        "graphite.send_interval", 1, integer=True)
    spool = check.number(section.get("spool_max_mb", defaults.DEFAULT_SPOOL_MAX_MB), "graphite.spool_max_mb", 1)
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
    if unit not in defaults.ENERGY_UNITS:
        check.fail("report.energy_unit", f"must be one of {', '.join(defaults.ENERGY_UNITS)}, not {_describe(unit)}")
        unit = defaults.DEFAULT_ENERGY_UNIT
    timezone = section.get("timezone")
    if timezone is not None:
        timezone = time_zone(check, timezone, "report.timezone")
    timeout = check.number(section.get("timeout", defaults.DEFAULT_REPORT_TIMEOUT), "report.timeout", 1)
    return ReportConfig(render_url=render_url or graphite.render_url, power=targets.get("power"),
                        energy_counter=targets.get("energy_counter"), energy_unit=unit, timezone=timezone,
                        timeout=timeout or defaults.DEFAULT_REPORT_TIMEOUT)


def time_zone(check, value, path):
    """Return `value` when it names an IANA time zone such as Europe/Berlin, else record the problem."""
    try:
        ZoneInfo(value)
        return value
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        check.fail(path, f"{value!r} is not a time zone name such as Europe/Berlin (see timedatectl list-timezones)")
        return None


def _http_url(check, value, path):
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).hostname:
        check.fail(path, f"{value!r} is not an http:// or https:// URL")
        return None
    return value.rstrip("/")


def ignore_macs_section(check, raw):
    macs = []
    for index, item in enumerate(check.sequence(raw, "ignore_macs") if raw is not None else []):
        mac = check.mac(item, f"ignore_macs[{index}]")
        if mac:
            macs.append(mac)
    return macs


def people_section(check, raw, wifi, homeassistant, ignore):
    people, owner, seen_keys, mac_paths = [], {}, {}, {}
    for index, item in enumerate(check.sequence(raw, "people") if raw is not None else []):
        path = f"people[{index}]"
        if not isinstance(item, dict):
            check.fail(path, f"must be a mapping with at least 'name', not {_describe(item)}")
            continue
        check.unknown_keys(item, _PERSON_KEYS, path)
        name = check.string(item.get("name"), f"{path}.name", what="a name")
        key = person_key(name) if name else None
        if name and not key:
            check.fail(f"{path}.name", f"{name!r} leaves no letters or digits for the metric key")
        elif key in defaults.RESERVED_PERSON_KEYS:
            check.fail(f"{path}.name", f"{name!r} gives the metric key {key!r}, which is reserved")
        elif key in seen_keys:
            check.fail(f"{path}.name", f"{name!r} gives the metric key {key!r}, as {seen_keys[key]} does")
        elif key:
            seen_keys[key] = f"{path}.name"
        macs = []
        for mac_index, value in enumerate(check.sequence(item.get("macs", []), f"{path}.macs")):
            mac_path = f"{path}.macs[{mac_index}]"
            mac = check.mac(value, mac_path)
            if mac is None:
                continue
            if mac in mac_paths:
                check.fail(mac_path, f"{mac} is already listed at {mac_paths[mac]}")
            elif mac in ignore:
                check.fail(mac_path, f"{mac} is also in ignore_macs")
            else:
                mac_paths[mac] = mac_path
                macs.append(mac)
        entities = []
        raw_entities = check.sequence(item.get("homeassistant_entities", []), f"{path}.homeassistant_entities")
        if raw_entities and homeassistant is None:
            check.fail(f"{path}.homeassistant_entities", "set, but there is no 'homeassistant' section")
        for entity_index, value in enumerate(raw_entities):
            entity = check.string(value, f"{path}.homeassistant_entities[{entity_index}]", _ENTITY,
                                  "an entity id of person.*, device_tracker.*, binary_sensor.* or input_boolean.*")
            if entity:
                entities.append(entity)
        grace = item.get("offline_grace")
        if grace is not None:
            grace = check.number(grace, f"{path}.offline_grace", 0)
            _grace_covers_a_scan(check, grace, wifi.scan_interval, f"{path}.offline_grace")
        if name and key:
            person = Person(name=name, key=key, macs=tuple(macs), homeassistant_entities=tuple(entities),
                            offline_grace=wifi.offline_grace if grace is None else grace)
            people.append(person)
            owner.update({mac: person for mac in macs})
    return people, owner
