"""`discover`: list the devices on the LAN that no person claims, to help map MACs to people."""

import json
import logging
import os
import queue
import sys
import threading
import time
from datetime import datetime

from presence import exits
from presence.config import defaults
from presence.config.model import ConfigError
from presence.config.secrets import read_token
from presence.macs import is_randomized
from presence.safe_text import safe
from presence.sources.homeassistant import HomeAssistantError, HomeAssistantSource
from presence.sources.listener import WifiListener
from presence.sources.vendors import vendor_of
from presence.sources.wifi import WifiSource

log = logging.getLogger(__name__)


def local_time(epoch):
    """Epoch seconds as local ISO 8601 to the second; None stays None."""
    return None if epoch is None else datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")


def device_row(mac, ip, state, hostname=None):
    """Everything `discover` tells about one device: live answer plus what state.json remembers."""
    known = state.devices.get(mac)
    return {"mac": mac, "ip": ip, "vendor": vendor_of(mac), "randomized": is_randomized(mac),
            "hostname": hostname or (known.hostname if known else None),
            "first_seen": local_time(known.first_seen if known else None),
            "last_seen": local_time(known.last_seen if known else None)}


def unmapped(config, found):
    """Keep the {mac: ip} entries no person claims and `ignore_macs` does not list, in IP order."""
    keep = [(mac, ip) for mac, ip in found.items() if mac not in config.mac_owner and mac not in config.ignore_macs]
    return sorted(keep, key=lambda item: tuple(int(part) for part in item[1].split(".")))


def run_discover(config, state, out, as_json=False, as_yaml=False):
    """Sweep once and print the unmapped devices; return the exit status."""
    source = WifiSource(config.network)
    try:
        found, _how = source.scan()
    finally:
        source.close()
    rows = [device_row(mac, ip, state) for mac, ip in unmapped(config, found)]
    if as_json:
        out.write(json.dumps(rows, indent=2) + "\n")
    elif as_yaml:
        out.write(people_snippet(rows, config))
    else:
        out.write(table(rows, len(found)))
    return exits.EX_OK


def table(rows, seen):
    """The unmapped devices as aligned text columns, with what to do next."""
    if not rows:
        return f"No unmapped devices answered ({seen} device(s) seen, all mapped or ignored).\n"
    lines = [f"{'MAC':<18} {'IP':<16} {'RANDOM':<7} {'VENDOR':<24} {'HOSTNAME':<20} FIRST SEEN"]
    for row in rows:
        lines.append(f"{safe(row['mac']):<18} {safe(row['ip']):<16} {'yes' if row['randomized'] else 'no':<7} "
                     f"{safe(row['vendor'] or '-')[:24]:<24} {safe(row['hostname'] or '-')[:20]:<20} "
                     f"{row['first_seen'] or '-'}")
    lines.append(f"\n{len(rows)} unmapped device(s). Add a MAC to a person's 'macs' in the config, or to "
                 "'ignore_macs'; `discover --yaml` prints a snippet to paste.")
    return "\n".join(lines) + "\n"


def people_snippet(rows, config):
    """A `people:` block to paste into the config, one entry per unmapped device."""
    networks = ", ".join(map(str, config.network.cidrs))
    lines = [f"# Unmapped devices on {networks} at {local_time(time.time())}.",
             "# Rename each entry to its person, merge entries of the same person, and move",
             "# routers, printers and TVs to ignore_macs instead.", "people:"]
    for row in rows:
        name = row["hostname"] or f"device-{row['mac'][-5:].replace(':', '')}"
        about = [row["ip"], "randomized MAC" if row["randomized"] else (row["vendor"] or "unknown vendor")]
        if row["hostname"]:
            about.append(f"hostname {row['hostname']}")
        # JSON strings are YAML's double-quoted scalars; the comment is escaped, or a line break in a
        # hostname would start an entry of its own.
        lines += [f"  - name: {json.dumps(name)}  # {safe(', '.join(about))}", f"    macs: [{json.dumps(row['mac'])}]"]
    if not rows:
        lines.append("  []  # no unmapped device answered")
    return "\n".join(lines) + "\n"


def run_watch(config, state, out, stop, as_json=False, interval=defaults.WATCH_INTERVAL):
    """Stream devices as they appear and vanish until `stop` is set (Ctrl-C)."""
    heard = queue.Queue()
    known_ips = {}
    listener = WifiListener(config.network, known_ips)
    threading.Thread(target=listener.run, args=(heard.put, stop, time.time), daemon=True).start()
    source = WifiSource(config.network, known_ips=known_ips)
    present, misses, hostnames = {}, {}, {}
    try:
        while not stop.is_set():
            source.watch = tuple(present)
            found, _how = source.scan()
            while not heard.empty():
                for sighting in heard.get().sightings:
                    if sighting.ip:
                        found.setdefault(sighting.mac, sighting.ip)
                    if sighting.hostname:
                        hostnames[sighting.mac] = sighting.hostname
            for mac, ip in unmapped(config, found):
                misses[mac] = 0
                if mac not in present:
                    present[mac] = ip
                    _event(out, as_json, "appeared", device_row(mac, ip, state, hostnames.get(mac)))
            for mac in [mac for mac in present if mac not in found]:
                misses[mac] = misses.get(mac, 0) + 1
                if misses[mac] >= defaults.WATCH_MISSES:
                    _event(out, as_json, "vanished", device_row(mac, present.pop(mac), state, hostnames.get(mac)))
            stop.wait(interval)
    finally:
        source.close()
    return exits.EX_OK


def _event(out, as_json, event, row):
    if as_json:
        out.write(json.dumps({"event": event, "at": local_time(time.time()), **row}) + "\n")
    else:
        sign = "+" if event == "appeared" else "-"
        out.write(safe(f"{sign} {datetime.now().strftime('%H:%M:%S')} {row['mac']} {row['ip']:<15} "
                       f"{'randomized' if row['randomized'] else (row['vendor'] or 'unknown vendor')}"
                       f"{'  ' + row['hostname'] if row['hostname'] else ''}") + "\n")
    out.flush()


def run_discover_homeassistant(config, out, as_json=False, environ=os.environ):
    """`discover --homeassistant`: the entities a person can be mapped to, with what they read now."""
    if config.homeassistant is None:
        log.error("discover --homeassistant: the config has no 'homeassistant' section")
        return exits.EX_CONFIG
    try:
        token = read_token(config.homeassistant, config.path, environ)
        rows = HomeAssistantSource(config.homeassistant, (), token).states()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return exits.EX_CONFIG
    except HomeAssistantError as error:
        log.error("discover --homeassistant: %s", error)
        return exits.EX_FAILURE
    mapped = {entity: person.key for person in config.people for entity in person.homeassistant_entities}
    out.write(entity_table(rows, mapped, as_json))
    return exits.EX_OK


def entity_table(rows, mapped, as_json=False):
    """`[(entity_id, state, name)]` as JSON or as a table whose every string is escaped."""
    if as_json:
        return json.dumps([{"entity_id": entity, "state": state, "name": name, "person": mapped.get(entity)}
                           for entity, state, name in rows], indent=2) + "\n"
    lines = [f"{'ENTITY':<40} {'STATE':<14} {'MAPPED TO':<12} NAME"]
    lines += [f"{safe(entity):<40} {safe(state or '-'):<14} {mapped.get(entity, '-'):<12} {safe(name or '-')}"
              for entity, state, name in rows]
    return "\n".join(lines) + "\n"
