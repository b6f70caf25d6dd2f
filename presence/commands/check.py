"""`check`: validate the config and try each configured endpoint, one line per check."""

import socket
import time
from urllib.parse import urlencode

from presence import web
from presence.config.model import ConfigError
from presence.sources.homeassistant import HomeAssistantError, HomeAssistantSource, read_token
from presence.sources.network_interfaces import ScanError, interface_groups, link_problem, route_interface
from presence.safe_text import safe
from presence.sources.wifi import ArpSweeper

# Seconds the render API has to answer the retention probe.
RETENTION_TIMEOUT = 5.0


def check_config(config):
    devices = sum(len(person.macs) for person in config.people)
    return True, (f"{config.path}: {len(config.people)} people, {devices} device(s), "
                  f"{len(config.network.cidrs)} network(s)")


def check_scan(config):
    groups, missing = interface_groups(config.network)
    if missing:
        return False, "; ".join(missing.values())
    lines, failed = [], False
    for iface, networks in groups.items():
        named = iface == config.network.interface or iface in (config.network.cidr_interfaces or ())
        off_link = [str(n) for n in networks if route_interface(n) != iface and not named]
        try:
            ArpSweeper(iface, networks).close()
        except (PermissionError, ScanError, OSError) as error:
            lines.append(f"{iface}: {error}")
            failed = True
            continue
        problem = link_problem(iface)
        if off_link or problem:
            lines.append(f"{iface}: raw socket ok, but " + (problem or f"no direct route on it to {', '.join(off_link)}"))
            failed = True
        else:
            lines.append(f"{iface}: raw socket opened; ARP sweep of {', '.join(map(str, networks))}")
    return not failed, "; ".join(lines)


def check_homeassistant(config):
    ha = config.homeassistant
    if ha is None:
        return None, "not configured (from_homeassistant is always 0)"
    entities = [e for person in config.people for e in person.homeassistant_entities]
    try:
        source = HomeAssistantSource(ha, entities, read_token(ha, config.path))
        message = source.ping()
        readings = {entity: source.read(entity) for entity in entities}
    except ConfigError as error:
        return False, "; ".join(error.problems)
    except HomeAssistantError as error:
        return False, str(error)
    missing = [entity for entity, state in readings.items() if state is None]
    shown = ", ".join(f"{entity}={state or 'MISSING'}" for entity, state in readings.items())
    if missing:
        return False, (f"{source.shown_url}: no such entity: {', '.join(missing)} (see `discover --homeassistant`); "
                       f"{shown}")
    return True, f"{source.shown_url}: {message or 'answered'}; {shown or 'no entities mapped'}"


def check_graphite(config):
    graphite = config.graphite
    if not graphite.host:
        return None, "no graphite.host: metrics go to stdout"
    try:
        socket.create_connection((graphite.host, graphite.port), timeout=3).close()
    except OSError as error:
        return False, f"cannot connect to {graphite.host}:{graphite.port}: {error.strerror or error}"
    return True, f"{graphite.host}:{graphite.port} accepts connections"


def check_retention(config, now=None):
    """Warn when Graphite keeps this prefix at a coarser step than the send interval (needs render_url)."""
    # Imported here: the daemon imports this module (through cli) but never needs the report's.
    from presence.report.fetch import MAX_RENDER_BYTES, FetchError, parse_json

    graphite = config.graphite
    if not graphite.render_url:
        return None, "no graphite.render_url: cannot see how Graphite stores the metrics"
    target = f"{graphite.prefix}.count_home"
    # Absolute times: Graphite's clock may differ from ours.
    until = int(time.time() if now is None else now)
    query = urlencode({"target": target, "from": until - 600, "until": until, "format": "json"})
    shown = f"{web.redact(graphite.render_url)}/render"
    try:
        response = web.get(f"{graphite.render_url}/render?{query}", RETENTION_TIMEOUT, MAX_RENDER_BYTES)
        if response.status != 200:
            return False, f"{shown} answered HTTP {response.status}"
        series = parse_json(response.json(), target, until - 600, until, graphite.send_interval)
    except web.WebError as error:
        return False, f"cannot read {shown}: {error}"
    except FetchError as error:
        return False, f"{shown}: {error}"
    except ValueError:
        return False, f"{shown} did not answer JSON: is graphite.render_url the address of graphite-web?"
    if len(series.values) < 2:
        return None, f"{target} has no data yet; run the daemon, then check again"
    step = series.step
    if step > graphite.send_interval:
        return "warn", (f"Graphite stores {graphite.prefix}.* at {step} s steps but the daemon sends every "
                        f"{graphite.send_interval} s: {step // graphite.send_interval - 1} of every "
                        f"{step // graphite.send_interval} points are lost; install graphite/storage-schemas.conf "
                        "and resize the files (README, Graphite retention)")
    return True, f"{target} is stored at {step} s steps (sent every {graphite.send_interval} s)"


CHECKS = (("config", check_config), ("scan", check_scan), ("homeassistant", check_homeassistant),
          ("graphite", check_graphite), ("retention", check_retention))


def run_check(config, out):
    """Run every check; print one line each; return 0 when none failed, else 1."""
    failed = False
    for name, check in CHECKS:
        ok, message = check(config)
        label = {True: "ok", False: "FAIL", None: "skip", "warn": "WARN"}[ok]
        failed |= ok is False
        # Messages carry text from Home Assistant and Graphite: never let it drive the terminal.
        out.write(f"{label:<5} {name:<14} {safe(message)}\n")
    return 1 if failed else 0
