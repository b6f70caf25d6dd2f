"""Validation of each config section: problems are collected, each named by its key path."""

import ipaddress
import re

from presence.config import defaults
from presence.config.checker import describe
from presence.config.model import (GraphiteConfig, GraphiteTls, HomeAssistantConfig, MqttConfig, NetworkConfig, ReportConfig,
                                   WifiConfig, shown)
# The tariff is read beside the week it prices (that module imports numpy only when it prices a report).
from presence.config.tariff import read_tariff

TOP_KEYS = {"network", "wifi", "homeassistant", "graphite", "state_file", "state_save_interval", "people",
            "ignore_macs", "metrics", "report", "mqtt"}
_NETWORK_KEYS = {"interface", "cidrs"}
_CIDR_ENTRY_KEYS = {"cidr", "interface"}
_WIFI_KEYS = {"scan_interval", "offline_grace", "wake_knock", "vanished_after"}
METRICS_KEYS = {"guest_devices", "seconds_since_seen"}
_HA_KEYS = {"url", "token_env", "poll_interval", "timeout", "stale_after", "ca_bundle"}
_GRAPHITE_KEYS = {"host", "port", "prefix", "send_interval", "spool_max_mb", "render_url", "tls"}
_GRAPHITE_TLS_KEYS = {"ca", "cert", "key", "server_name"}
_REPORT_KEYS = {"render_url", "power", "energy_counter", "energy_unit", "timezone", "timeout", "price", "currency",
                "tariff"}
_MQTT_KEYS = {"host", "port", "tls", "ca_file", "verify_tls", "username", "password_env", "client_id",
              "discovery_prefix", "base_topic"}
_TOPIC = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*")
_CLIENT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_USERNAME = re.compile(r"[^\x00-\x1f\x7f]{1,256}")
_PREFIX = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
_IFACE = re.compile(r"[A-Za-z0-9_.:@-]{1,15}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SERVER_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,253}")


def network_section(check, raw):
    """The `network:` section checked (required) as a NetworkConfig: its networks, which may not overlap."""
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
    """The `wifi:` section checked as a WifiConfig."""
    section = check.mapping(raw, "wifi", _WIFI_KEYS)
    scan = check.number(section.get("scan_interval", defaults.DEFAULT_SCAN_INTERVAL), "wifi.scan_interval",
                        defaults.MIN_SCAN_INTERVAL, defaults.MAX_SCAN_INTERVAL, unit=" s")
    grace = check.number(section.get("offline_grace", defaults.DEFAULT_OFFLINE_GRACE), "wifi.offline_grace",
                         0, defaults.MAX_OFFLINE_GRACE, unit=" s")
    grace_covers_a_scan(check, grace, scan, "wifi.offline_grace")
    vanished = check.number(section.get("vanished_after", defaults.DEFAULT_VANISHED_AFTER), "wifi.vanished_after",
                            defaults.MIN_VANISHED_AFTER, defaults.MAX_VANISHED_AFTER, unit=" s")
    return WifiConfig(scan_interval=scan or defaults.DEFAULT_SCAN_INTERVAL,
                      offline_grace=defaults.DEFAULT_OFFLINE_GRACE if grace is None else grace,
                      wake_knock=check.boolean(section.get("wake_knock", True), "wifi.wake_knock"),
                      vanished_after=defaults.DEFAULT_VANISHED_AFTER if vanished is None else vanished)


def grace_covers_a_scan(check, grace, scan_interval, path):
    """Record a problem when an offline grace is not longer than the sweep interval."""
    if grace is not None and scan_interval is not None and grace <= scan_interval:
        check.fail(path, f"{grace:g} s is not longer than wifi.scan_interval ({scan_interval:g} s): "
                         "people would be shown away between two sweeps")


def homeassistant_section(check, raw):
    """The `homeassistant:` section checked as a HomeAssistantConfig, or None when absent."""
    if raw is None:
        return None
    section = check.mapping(raw, "homeassistant", _HA_KEYS)
    url = section.get("url")
    if url is None:
        check.fail("homeassistant.url", "missing: the address of Home Assistant, e.g. http://homeassistant.local:8123")
    else:
        url = check.http_url(url, "homeassistant.url")
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
    """The `graphite:` section checked as a GraphiteConfig."""
    section = check.mapping(raw, "graphite", _GRAPHITE_KEYS)
    host = section.get("host")
    if host is not None:
        host = check.string(host, "graphite.host", what="a host name or address")
    port = check.number(section.get("port", defaults.DEFAULT_GRAPHITE_PORT), "graphite.port", 1, 65535, integer=True)
    prefix = check.string(section.get("prefix", defaults.DEFAULT_PREFIX), "graphite.prefix", _PREFIX,
                          "a metric prefix made of [A-Za-z0-9_-] parts joined by dots")
    send = check.number(section.get("send_interval", defaults.DEFAULT_SEND_INTERVAL), "graphite.send_interval",
                        defaults.MIN_SEND_INTERVAL, defaults.MAX_SEND_INTERVAL, integer=True, unit=" s")
    spool = check.number(section.get("spool_max_mb", defaults.DEFAULT_SPOOL_MAX_MB), "graphite.spool_max_mb",
                         defaults.MIN_SPOOL_MAX_MB, defaults.MAX_SPOOL_MAX_MB, unit=" MB")
    render_url = section.get("render_url")
    if render_url is not None:
        render_url = check.http_url(render_url, "graphite.render_url")
    tls = _graphite_tls(check, section.get("tls"), host)
    return GraphiteConfig(host=host, port=port or defaults.DEFAULT_GRAPHITE_PORT,
                          prefix=prefix or defaults.DEFAULT_PREFIX,
                          send_interval=send or defaults.DEFAULT_SEND_INTERVAL,
                          spool_max_mb=spool or defaults.DEFAULT_SPOOL_MAX_MB, render_url=render_url, tls=tls)


def _graphite_tls(check, raw, host):
    """`graphite.tls` checked as a GraphiteTls (its files are opened when the sender is made), or None."""
    if raw is None:
        return None
    section = check.mapping(raw, "graphite.tls", _GRAPHITE_TLS_KEYS)
    if host is None:
        check.fail("graphite.tls", "set, but graphite.host is not: name the study's relay in graphite.host")
    paths = {}
    for key, what in (("ca", "the study's CA certificate, to verify the relay"),
                      ("cert", "this home's client certificate"), ("key", "this home's private key")):
        if key in section:
            paths[key] = check.file_path(section[key], f"graphite.tls.{key}", f"the path of {what}")
        elif key != "key":
            check.fail(f"graphite.tls.{key}", f"missing: the path of {what} (PEM)")
    server_name = section.get("server_name")
    if server_name is not None:
        server_name = check.string(server_name, "graphite.tls.server_name", _SERVER_NAME,
                                   "the host name in the relay's certificate")
    return GraphiteTls(ca=paths.get("ca") or "", cert=paths.get("cert") or "", key=paths.get("key"),
                       server_name=server_name)


def mqtt_section(check, raw):
    """The `mqtt:` section checked as an MqttConfig, or None when absent."""
    if raw is None:
        return None
    section = check.mapping(raw, "mqtt", _MQTT_KEYS)
    host = section.get("host")
    if host is None:
        check.fail("mqtt.host", "missing: the MQTT broker Home Assistant uses, e.g. homeassistant.local or 192.168.1.10")
    else:
        host = check.string(host, "mqtt.host", what="a host name or address")
    ca_file = section.get("ca_file")
    if ca_file is not None:
        ca_file = check.file_path(ca_file, "mqtt.ca_file", "the path of a CA certificate file")
    tls = check.boolean(section.get("tls", ca_file is not None), "mqtt.tls")
    if ca_file and not tls:
        check.fail("mqtt.ca_file", "set, but mqtt.tls is false: remove one of them")
    port = check.number(section.get("port", defaults.DEFAULT_MQTT_TLS_PORT if tls else defaults.DEFAULT_MQTT_PORT),
                        "mqtt.port", 1, 65535, integer=True)
    username = section.get("username")
    if username is not None:
        username = check.string(username, "mqtt.username", _USERNAME, "a user name on one line")
    password_env = check.string(section.get("password_env", defaults.DEFAULT_MQTT_PASSWORD_ENV), "mqtt.password_env",
                                _ENV_NAME, "an environment variable name")
    client_id = section.get("client_id")
    if client_id is not None:
        client_id = check.string(client_id, "mqtt.client_id", _CLIENT_ID, "1 to 64 of A-Z, a-z, 0-9, _, . and -")
    topics = {key: check.string(section.get(key, default), f"mqtt.{key}", _TOPIC,
                                "a topic of [A-Za-z0-9_-] parts joined by /, without wildcards")
              for key, default in (("discovery_prefix", defaults.DEFAULT_DISCOVERY_PREFIX),
                                   ("base_topic", defaults.DEFAULT_MQTT_BASE_TOPIC))}
    if topics["base_topic"] and topics["base_topic"] == topics["discovery_prefix"]:
        check.fail("mqtt.base_topic", "must differ from mqtt.discovery_prefix: Home Assistant reads everything "
                                      "under that prefix as discovery")
    return MqttConfig(host=host or "", port=port or defaults.DEFAULT_MQTT_PORT, tls=tls, ca_file=ca_file,
                      verify_tls=check.boolean(section.get("verify_tls", True), "mqtt.verify_tls"),
                      username=username, password_env=password_env or defaults.DEFAULT_MQTT_PASSWORD_ENV,
                      client_id=client_id,
                      discovery_prefix=topics["discovery_prefix"] or defaults.DEFAULT_DISCOVERY_PREFIX,
                      base_topic=topics["base_topic"] or defaults.DEFAULT_MQTT_BASE_TOPIC)


def report_section(check, raw, graphite):
    """The `report:` section checked as a ReportConfig (its render_url defaults to graphite's)."""
    section = check.mapping(raw, "report", _REPORT_KEYS)
    render_url = section.get("render_url")
    if render_url is not None:
        render_url = check.http_url(render_url, "report.render_url")
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
        timezone = check.time_zone(timezone, "report.timezone")
    timeout = check.number(section.get("timeout", defaults.DEFAULT_REPORT_TIMEOUT), "report.timeout",
                           defaults.MIN_REPORT_TIMEOUT, defaults.MAX_REPORT_TIMEOUT, unit=" s")
    price = section.get("price")
    if price is not None:
        price = _price(check, price)
    return ReportConfig(render_url=render_url or graphite.render_url, power=targets.get("power"),
                        energy_counter=targets.get("energy_counter"), energy_unit=unit, timezone=timezone,
                        timeout=timeout or defaults.DEFAULT_REPORT_TIMEOUT, price=price,
                        currency=_currency(check, section.get("currency")),
                        tariff=read_tariff(check, section.get("tariff"), section.get("price") is not None))


def _price(check, value):
    """`report.price`: what one kWh costs, more than 0 and up to MAX_PRICE; else None."""
    price = check.number(value, "report.price", 0, defaults.MAX_PRICE)
    if price == 0:
        check.fail("report.price", "must be more than 0: what one kWh costs")
        return None
    return price


def _currency(check, value):
    """`report.currency`, the text shown after an amount (EUR, €, kr), or None."""
    if value is not None and (not isinstance(value, str) or not value.strip() or value != value.strip()
                              or not value.isprintable() or len(value) > defaults.MAX_CURRENCY_LENGTH):
        check.fail("report.currency", f"must be the currency shown after an amount, e.g. EUR, € or kr: 1 to "
                                      f"{defaults.MAX_CURRENCY_LENGTH} printable characters, not {describe(value)}")
        return None
    return value


def ignore_macs_section(check, raw):
    """The `ignore_macs:` list checked: the normalised MACs."""
    macs = []
    for index, item in enumerate(check.sequence(raw, "ignore_macs") if raw is not None else []):
        mac = check.mac(item, f"ignore_macs[{index}]")
        if mac:
            macs.append(mac)
    return macs
