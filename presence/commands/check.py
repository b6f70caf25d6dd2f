"""`check`: validate the config and try each configured endpoint, one line per check."""

import socket
import time
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlencode

from presence import exits
from presence.net import web
from presence.config import defaults, report_defaults
from presence.commands.check_mqtt import probe_broker
from presence.config.model import ConfigError
from presence.outputs.mqtt.topics import own_entities_mapped, own_output
from presence.config.secrets import read_token
from presence.history.hints import new_address_hint
from presence.safe_text import safe
from presence.sources.homeassistant import HomeAssistantError, HomeAssistantSource, loop_problem
from presence.sources.network_interfaces import ScanError, interface_groups, link_problem, route_interface
from presence.sources.wifi import ArpSweeper
from presence.state.file import peek_state
from presence.state.vanished import describe, vanished_devices


class Outcome(Enum):
    """How a check ended; the value is its label in the printed line."""

    OK = "ok"
    FAIL = "FAIL"
    SKIP = "skip"
    WARN = "WARN"


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome and the line that explains it."""

    outcome: Outcome
    text: str


def check_config(config):
    """OK with what the config holds: its people, devices and networks."""
    devices = sum(len(person.macs) for person in config.people)
    return CheckResult(Outcome.OK, f"{config.path}: {len(config.people)} people, {devices} device(s), "
                                   f"{len(config.network.cidrs)} network(s)")


def check_scan(config):
    """Open the ARP sweeper on each interface and look for a direct route to each network."""
    groups, missing = interface_groups(config.network)
    if missing:
        return CheckResult(Outcome.FAIL, "; ".join(missing.values()))
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
    return CheckResult(Outcome.FAIL if failed else Outcome.OK, "; ".join(lines))


def check_homeassistant(config):
    """Ask Home Assistant for every mapped entity, and FAIL on a missing one or a loop through our own output."""
    ha = config.homeassistant
    if ha is None:
        return CheckResult(Outcome.SKIP, "not configured (from_homeassistant is always 0)")
    entities = [e for person in config.people for e in person.homeassistant_entities]
    try:
        source = HomeAssistantSource(ha, entities, read_token(ha, config.path), own=own_output(config))
        message = source.ping()
        found = {entity: source.inspect(entity) for entity in entities}
    except ConfigError as error:
        return CheckResult(Outcome.FAIL, "; ".join(error.problems))
    except HomeAssistantError as error:
        return CheckResult(Outcome.FAIL, str(error))
    missing = [entity for entity, (state, _) in found.items() if state is None]
    shown = ", ".join(f"{entity}={state or 'MISSING'}" for entity, (state, _) in found.items())
    echoes = [loop_problem(entity, own) for entity, (_, own) in found.items() if own] + \
        [f"{path}: {loop_problem(entity, entity)}" for path, entity in own_entities_mapped(config)
         if not found[entity][1]]
    if echoes:
        return CheckResult(Outcome.FAIL, f"{source.shown_url}: a loop: {'; '.join(echoes)}")
    if missing:
        return CheckResult(Outcome.FAIL, f"{source.shown_url}: no such entity: {', '.join(missing)} "
                                         f"(see `discover --homeassistant`); {shown}")
    return CheckResult(Outcome.OK, f"{source.shown_url}: {message or 'answered'}; {shown or 'no entities mapped'}")


def check_graphite(config, now=None):
    """Connect to carbon once, sending nothing (with graphite.tls: shake hands with the relay)."""
    graphite = config.graphite
    if not graphite.host:
        return CheckResult(Outcome.SKIP, "no graphite.host: metrics go to stdout")
    if graphite.tls is not None:
        return check_graphite_tls(config, time.time() if now is None else now)
    try:
        socket.create_connection((graphite.host, graphite.port), timeout=defaults.CHECK_CONNECT_TIMEOUT).close()
    except OSError as error:
        return CheckResult(Outcome.FAIL, f"cannot connect to {graphite.host}:{graphite.port}: "
                                         f"{error.strerror or error}")
    return CheckResult(Outcome.OK, f"{graphite.host}:{graphite.port} accepts connections")


def check_graphite_tls(config, now):
    """FAIL unless the relay shakes hands, is verified against graphite.tls.ca and takes this home's certificate."""
    from presence.clock import SystemClock
    from presence.outputs.graphite.connection import ConnectionFailed, Resolver, open_connection
    from presence.outputs.graphite.tls import TlsClient, certificate_problem, expires_in

    graphite = config.graphite
    where = f"{graphite.host}:{graphite.port}"
    try:
        client = TlsClient(graphite.tls, graphite.host, config.path)
    except ConfigError as error:
        return CheckResult(Outcome.FAIL, "; ".join(error.problems))
    problem = certificate_problem(graphite.tls.cert, now)
    if problem:
        return CheckResult(Outcome.FAIL, problem)
    clock = SystemClock()
    try:
        connection = open_connection(Resolver(graphite.host, graphite.port, clock), defaults.CHECK_CONNECT_TIMEOUT,
                                     defaults.CHECK_CONNECT_TIMEOUT, lambda: False, clock, client)
    except ConnectionFailed as error:
        return CheckResult(Outcome.FAIL, f"{where}: {error.reason}")
    version = connection.sock.version()
    connection.close()
    text = (f"{where}: {version}; the relay's certificate verified against graphite.tls.ca; it took this home's "
            "certificate")
    days = expires_in(graphite.tls.cert, now)
    if days is not None and days < defaults.CERT_WARN_DAYS:
        return CheckResult(Outcome.WARN, f"{text}, which expires in {days:.0f} day(s): ask the study for a new one")
    return CheckResult(Outcome.OK, text)


def check_retention(config, now=None):
    """Warn when Graphite keeps this prefix at a coarser step than the send interval (needs render_url)."""
    # Imported here: the daemon imports this module (through cli) but never needs the report's.
    from presence.report.fetch import FetchError, parse_json

    graphite = config.graphite
    if not graphite.render_url:
        return CheckResult(Outcome.SKIP, "no graphite.render_url: cannot see how Graphite stores the metrics")
    target = f"{graphite.prefix}.count_home"
    # Absolute times: Graphite's clock may differ from ours.
    until = int(time.time() if now is None else now)
    since = until - defaults.RETENTION_SPAN
    query = urlencode({"target": target, "from": since, "until": until, "format": "json"})
    shown = f"{web.redact(graphite.render_url)}/render"
    try:
        response = web.get(f"{graphite.render_url}/render?{query}", defaults.RETENTION_TIMEOUT,
                           report_defaults.MAX_RENDER_BYTES)
        if response.status != 200:
            return CheckResult(Outcome.FAIL, f"{shown} answered HTTP {response.status}")
        series = parse_json(response.json(), target, since, until, graphite.send_interval)
    except web.WebError as error:
        return CheckResult(Outcome.FAIL, f"cannot read {shown}: {error}")
    except FetchError as error:
        return CheckResult(Outcome.FAIL, f"{shown}: {error}")
    except ValueError:
        return CheckResult(Outcome.FAIL, f"{shown} did not answer JSON: is graphite.render_url the address of "
                                         "graphite-web?")
    if len(series.values) < 2:
        return CheckResult(Outcome.SKIP, f"{target} has no data yet; run the daemon, then check again")
    step, sent = series.step, graphite.send_interval
    if step > sent:
        return CheckResult(Outcome.WARN, f"Graphite stores {graphite.prefix}.* at {step} s steps but the daemon "
                                         f"sends every {sent} s: {step // sent - 1} of every {step // sent} points "
                                         "are lost; install graphite/storage-schemas.conf and resize the files "
                                         "(README, Graphite retention)")
    return CheckResult(Outcome.OK, f"{target} is stored at {step} s steps (sent every {sent} s)")


def check_mqtt(config):
    """Connect to the broker as the daemon does, and publish a test message under each of our topic roots."""
    if config.mqtt is None:
        return CheckResult(Outcome.SKIP, "no mqtt section: Home Assistant gets no presence from this daemon")
    ok, text = probe_broker(config)
    return CheckResult(Outcome.OK if ok else Outcome.FAIL, text)


CHECKS = (("config", check_config), ("scan", check_scan), ("homeassistant", check_homeassistant),
          ("graphite", check_graphite), ("mqtt", check_mqtt), ("retention", check_retention))


def check_devices(config, state_path, history_folder, now):
    """WARN for each person's device unseen for wifi.vanished_after while another source saw them home."""
    state = peek_state(state_path)
    found = vanished_devices(state, config, now)
    if not found:
        return CheckResult(Outcome.OK, f"no person's device unseen for {config.wifi.vanished_after / 86400:g} days "
                                       "while its person was home")
    return CheckResult(Outcome.WARN, "; ".join(describe(item) + new_address_hint(history_folder, state, config, now,
                                                                                 item.key) for item in found))


def run_check(config, out, state_path=None, history_folder=None, now=None):
    """Run every check; print one line each; return EX_OK when none failed, else EX_FAILURE."""
    failed = False
    checks = list(CHECKS)
    if state_path:
        checks.append(("devices", lambda config: check_devices(config, state_path, history_folder, now)))
    for name, check in checks:
        result = check(config)
        failed |= result.outcome is Outcome.FAIL
        # Messages carry text from Home Assistant and Graphite: never let it drive the terminal.
        out.write(f"{result.outcome.value:<5} {name:<14} {safe(result.text)}\n")
    return exits.EX_FAILURE if failed else exits.EX_OK
