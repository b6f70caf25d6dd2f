"""How fast a phone's arrival and departure reach Home Assistant: through presence (MQTT) or its own `ping`.

In a throwaway namespace LAN (198.51.100.0/24) with one phone and an always-on printer, the daemon (`run`,
publishing over TLS to Debian's mosquitto) and a real Home Assistant core, with MQTT and the ping integration
for the phone's address, all run on 127.0.0.1 of the scanner namespace. Each round the phone joins at a random
moment, then leaves at another; the seconds until each path's device_tracker says `home`, then `not_home`, come
from Home Assistant's REST API. Nothing here asserts.
`.venv/bin/python -m benchmarks.homeassistant_mqtt_benchmark [--rounds 5] [--grace 60] [--scan-interval 30]`
as root, from the repository root.
"""

import argparse
import glob
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import requests
import yaml

from testbed.homeassistant_core import HA_VENV, HomeAssistantCore, homeassistant_unavailable_reason, installed_version
from testbed.lab import Lan, lab_unavailable_reason
from testbed.lab.netns_thread import call_in_netns
from testbed.mosquitto import Mosquitto, mosquitto_unavailable_reason

ROOT = Path(__file__).resolve().parents[1]
SUBNET = "198.51.100.0/24"
PHONE_MAC, PHONE_IP = "02:00:00:00:01:01", "198.51.100.20"
OURS = "device_tracker.presence_nick"
PING_POLL = 30  # the ping integration's coordinator interval, fixed in its code


class Daemon:
    """`run` in the scanner namespace, publishing over TLS; its log lines with the time each was read."""

    def __init__(self, lan, broker, folder, scan_interval, grace):
        raw = {"network": {"cidrs": [SUBNET]}, "wifi": {"scan_interval": scan_interval, "offline_grace": grace},
               "people": [{"name": "Nick", "macs": [PHONE_MAC]}],
               "mqtt": {"host": "127.0.0.1", "port": broker.tls_port, "ca_file": broker.ca_file,
                        "username": "presence"}}
        config = Path(folder) / "people.yaml"
        config.write_text(yaml.safe_dump(raw, sort_keys=False))
        argv = [sys.executable, str(ROOT / "presence_to_graphite.py"), "--config", str(config), "--state",
                str(Path(folder) / "state.json"), "run"]
        env = {**os.environ, "MQTT_PASSWORD": broker.users["presence"]}
        env.pop("JOURNAL_STREAM", None)  # keep the timestamps in its log lines
        self.proc = lan.popen(lan.scanner_ns, argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_for(self, text, timeout):
        """The first log line holding `text`, or None after timeout seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = next((line for line in list(self.lines) if text in line), None)
            if found:
                return found
            time.sleep(0.05)
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def log_time(line):
    """Epoch seconds of a log line's own timestamp (local time, as time.time())."""
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def watch(ha, entities, wanted, since, timeout):
    """Seconds from `since` (epoch) until each entity's REST state first was `wanted` (None: not within timeout)."""

    def poll():
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {ha.token}"
        seen = dict.fromkeys(entities)
        while None in seen.values() and time.time() < since + timeout:
            for entity in entities:
                if seen[entity] is None:
                    answer = session.get(f"{ha.url}/api/states/{entity}", timeout=10)
                    if answer.ok and answer.json()["state"] == wanted:
                        seen[entity] = time.time() - since
            time.sleep(0.05)
        return seen

    return call_in_netns(ha.ns, poll)


def rounds(phone, ha, daemon, ping, args):
    """Join and leave the phone args.rounds times; per round, seconds to each path's home / not_home."""
    rng, results = random.Random(args.seed), []
    for n in range(args.rounds):
        row = {}
        for change, wanted, log_text, timeout in (
                ("arrival", "home", "nick: away -> home", 2 * PING_POLL + 30),
                ("departure", "not_home", "nick: home -> away", args.grace + 2 * PING_POLL + 30)):
            time.sleep(rng.uniform(0, args.pause))  # at a random moment of both polling cycles
            decisions = len(daemon.lines)
            since = time.time()
            (phone.join if change == "arrival" else phone.leave)()
            seen = watch(ha, (OURS, ping), wanted, since, timeout)
            decided = next((line for line in daemon.lines[decisions:] if log_text in line), None)
            row[change] = {"decided": decided and log_time(decided) - since, "ours": seen[OURS], "ping": seen[ping]}
        results.append(row)
        print(f"round {n + 1}/{args.rounds}: {row}", file=sys.stderr, flush=True)
    return results


def seconds(value):
    return "-" if value is None else f"{value:.2f}" if value < 1 else f"{value:.1f}"


def spread(values):
    """`min / median / max` of the values measured, with how many timed out."""
    done = [v for v in values if v is not None]
    text = " / ".join(map(seconds, (min(done), statistics.median(done), max(done)))) if done else "-"
    return text + (f" ({len(values) - len(done)} timed out)" if len(done) < len(values) else "")


def report(results, args, setup):
    """The Markdown table: per path, arrival and departure seconds (min / median / max), then every round."""
    cell = lambda change, path: [row[change][path] for row in results]
    lines = [f"Home Assistant {installed_version()} (Python {setup['ha_python']}), presence on Python "
             f"{sys.version.split()[0]}; {args.rounds} rounds; presence: scan_interval {args.scan_interval:g} s, "
             f"offline_grace {args.grace:g} s; ping: poll every {PING_POLL} s (fixed), {args.count} pings a poll, "
             f"consider_home {args.grace:g} s; random pause of 0-{args.pause:g} s before each change",
             "", "| path to Home Assistant | arrival s: min / median / max | departure s: min / median / max |",
             "|---|---|---|"]
    for label, path in (("presence, its own decision (log line)", "decided"),
                        ("presence over MQTT: `device_tracker.presence_nick`", "ours"),
                        (f"Home Assistant's ping: `{setup['ping']}`", "ping")):
        lines.append(f"| {label} | {spread(cell('arrival', path))} | {spread(cell('departure', path))} |")
    lines += ["", "| round | arrival: presence decided | presence in HA | ping in HA | departure: presence decided "
              "| presence in HA | ping in HA |", "|---|---|---|---|---|---|---|"]
    for n, row in enumerate(results, 1):
        lines.append(f"| {n} | " + " | ".join(seconds(row[change][path]) for change in ("arrival", "departure")
                                             for path in ("decided", "ours", "ping")) + " |")
    lines += ["", "Seconds from the phone's link going up (join: then its gratuitous ARP) or down (leave). By design "
              f"neither path says `not_home` sooner than {args.grace:g} s after the phone's last answer (presence's "
              "offline_grace, ping's consider_home); that answer may come before the leave (a sweep, a poll, the "
              "phone's own ARP), so the time after the leave can be shorter."]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="arrivals and departures of the phone (default 5)")
    parser.add_argument("--grace", type=float, default=60,
                        help="presence's offline_grace and ping's consider_home, s (default 60)")
    parser.add_argument("--scan-interval", type=float, default=30, help="presence's scan_interval, s (default 30)")
    parser.add_argument("--count", type=int, default=5, help="ping's pings per poll (default 5, its own default)")
    parser.add_argument("--pause", type=float, default=PING_POLL,
                        help=f"longest random pause before each join and leave, s (default {PING_POLL})")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", help="write the Markdown results here instead of stdout")
    args = parser.parse_args()
    reason = lab_unavailable_reason() or homeassistant_unavailable_reason() or mosquitto_unavailable_reason()
    if reason is None and not glob.glob(os.path.join(HA_VENV, "lib", "python3*", "site-packages", "icmplib")):
        reason = f"{HA_VENV} has no icmplib for the ping integration: scripts/install-homeassistant adds it"
    if reason is not None:
        sys.exit(f"cannot run the benchmark: {reason}")
    setup = {"ha_python": subprocess.run([os.path.join(HA_VENV, "bin", "python"), "--version"], capture_output=True,
                                         text=True).stdout.split()[-1]}
    with Lan(SUBNET) as lan, tempfile.TemporaryDirectory() as folder:
        phone = lan.add_device("phone", PHONE_MAC, PHONE_IP)
        phone.leave()
        # Always on: with no device answering, the daemon counts the LAN as unreachable and holds presence.
        lan.add_device("printer", "02:00:00:00:09:01", "198.51.100.50")
        broker = Mosquitto(Path(folder) / "broker", lan.scanner_ns)
        ha = HomeAssistantCore(Path(folder) / "ha", lan.scanner_ns, {"nick": [OURS]})
        daemon = None
        try:
            broker.start()
            ha.start()
            ha.setup_mqtt("127.0.0.1", broker.port, "homeassistant", broker.users["homeassistant"])
            print("Home Assistant is up; adding ping (its tracker appears after a 30 s reload)...", file=sys.stderr)
            setup["ping"] = ha.setup_ping(PHONE_IP, int(args.grace), count=args.count)
            daemon = Daemon(lan, broker, folder, args.scan_interval, args.grace)
            if not daemon.wait_for("MQTT: connected to", 30):
                raise RuntimeError("the daemon did not connect to the broker: " + "".join(daemon.lines[-15:]))
            start = watch(ha, (OURS, setup["ping"]), "not_home", time.time(), 60)
            if None in start.values():
                raise RuntimeError(f"the trackers are not both not_home at the start: {start}")
            results = rounds(phone, ha, daemon, setup["ping"], args)
        finally:
            if daemon:
                daemon.stop()
            ha.stop()
            broker.stop()
    text = report(results, args, setup)
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
