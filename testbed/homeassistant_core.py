"""A real Home Assistant core (from a cached venv) inside the lab's scanner namespace.

scripts/install-homeassistant makes the venv (`make test` runs it): the newest release for the newest CPython
there is, 2025.4.4 on 3.13, 2025.1.4 on 3.12 or 2024.3.3 on 3.11; the same tests hold on each."""

import glob
import os
import subprocess
import textwrap
import time
from datetime import datetime

import requests

from testbed.carbon import free_port, stop_process
from testbed.lab.netns_thread import call_in_netns

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INSTALLER = os.path.join(ROOT, "scripts", "install-homeassistant")


def _venv():
    """PRESENCE_HA_VENV (`make test` sets it; empty: there is none), else the venv the installer picks here."""
    if "PRESENCE_HA_VENV" in os.environ:
        return os.environ["PRESENCE_HA_VENV"]
    try:
        return subprocess.run([INSTALLER, "--path"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


HA_VENV = _venv()
HASS = os.path.join(HA_VENV, "bin", "hass")
# The recorder (by default it commits every few seconds) and its history API, both part of default_config.
RECORDER = "recorder:\n  commit_interval: 0\nhistory:\n"
# Run by Home Assistant's own Python (it has aiohttp): enable the device_tracker of config entry argv[3].
ENABLE_TRACKER = """
import asyncio, sys, aiohttp

async def main(url, token, entry_id):
    async with aiohttp.ClientSession() as session, session.ws_connect(url + "/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": token})
        await ws.receive_json()  # auth_ok; with a bad token the listing below fails
        await ws.send_json({"id": 1, "type": "config/entity_registry/list"})
        found = [e["entity_id"] for e in (await ws.receive_json())["result"]
                 if e["config_entry_id"] == entry_id and e["entity_id"].startswith("device_tracker.")]
        await ws.send_json({"id": 2, "type": "config/entity_registry/update", "entity_id": found[0],
                            "disabled_by": None})
        reply = await ws.receive_json()
        if not reply.get("success"):
            sys.exit(f"enabling {found[0]}: {reply}")
        print(found[0], (reply["result"] or {}).get("reload_delay", 0))

asyncio.run(main(*sys.argv[1:]))
"""

# Run by Home Assistant's own Python: rename entity argv[3] to argv[4] in the entity registry, as the UI does.
RENAME_ENTITY = """
import asyncio, sys, aiohttp

async def main(url, token, old, new):
    async with aiohttp.ClientSession() as session, session.ws_connect(url + "/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": token})
        await ws.receive_json()
        await ws.send_json({"id": 1, "type": "config/entity_registry/update", "entity_id": old,
                            "new_entity_id": new})
        reply = await ws.receive_json()
        if not reply.get("success"):
            sys.exit(f"renaming {old} to {new}: {reply}")

asyncio.run(main(*sys.argv[1:]))
"""


def installed_version():
    """The homeassistant release in HA_VENV, or None."""
    found = glob.glob(os.path.join(HA_VENV, "lib", "python3*", "site-packages", "homeassistant-*.dist-info"))
    return os.path.basename(found[0])[len("homeassistant-"):-len(".dist-info")] if HA_VENV and found else None


def homeassistant_unavailable_reason():
    if not HA_VENV:
        return ("a real Home Assistant is needed, and it needs CPython 3.11, 3.12 or 3.13: "
                "scripts/install-homeassistant says what to install")
    if not (os.access(HASS, os.X_OK) and os.path.exists(os.path.join(HA_VENV, ".installed"))):
        return (f"a real Home Assistant is needed: scripts/install-homeassistant (`make test` runs it) installs it "
                f"into {HA_VENV} (once, about 3 minutes)")
    if not glob.glob(os.path.join(HA_VENV, "lib", "python3*", "site-packages", "paho_mqtt-*")):
        return (f"{HA_VENV} predates the tests' MQTT integration (it has no paho-mqtt): "
                f"scripts/install-homeassistant (`make test` runs it) updates it in seconds")
    return None


class HomeAssistantCore:
    """`hass -c folder` on 127.0.0.1 of namespace `ns`, with people linked to device trackers; with
    `recorder`, also its recorder (committing each change at once) and the history API that reads it;
    after setup_mqtt, also MQTT (with discovery) on a broker there."""

    def __init__(self, folder, ns, people, recorder=False):
        self.folder, self.ns, self.people = str(folder), ns, people
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = os.path.join(self.folder, "home-assistant.log")
        self.token = None
        self.proc = None
        os.makedirs(self.folder, exist_ok=True)
        persons = "".join(f"    - name: {name.title()}\n      id: {name}\n      device_trackers: {trackers}\n"
                          for name, trackers in people.items())
        with open(os.path.join(self.folder, "configuration.yaml"), "w") as handle:
            handle.write(textwrap.dedent(f"""\
                homeassistant:
                  name: Presence test home
                  latitude: 52.37
                  longitude: 4.89
                  elevation: 0
                  unit_system: metric
                  time_zone: UTC
                  country: NL
                http:
                  server_host: 127.0.0.1
                  server_port: {self.port}
                api:
                onboarding:
                device_tracker:
                logger:
                  default: warning
                person:
                """) + persons + (RECORDER if recorder else ""))

    def start(self, timeout=120):
        with open(os.path.join(self.folder, "hass.out"), "ab") as out:
            self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, HASS, "-c", self.folder, "--skip-pip",
                                          "--log-file", self.log_file], stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hass ({installed_version()}) exited with {self.proc.returncode}; "
                                   f"see {self.log_file}")
            try:
                if self.call("get", "/api/", auth=False).status_code in (200, 401):
                    break
            except requests.RequestException:
                pass
            time.sleep(0.3)
        else:
            raise RuntimeError(f"Home Assistant {installed_version()} did not answer on {self.url} within {timeout} s; "
                               f"see {self.log_file}")
        if self.token is None:
            self.token = self._onboard()
        return self

    def stop(self):
        stop_process(self.proc, 30)

    def call(self, method, path, auth=True, **kwargs):
        """An HTTP request to Home Assistant, made from inside its namespace."""
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        return call_in_netns(self.ns, requests.request, method, self.url + path, headers=headers, timeout=10,
                             **kwargs)

    def set_tracker(self, entity_id, state, source_type="router"):
        response = self.call("post", f"/api/states/{entity_id}",
                             json={"state": state, "attributes": {"source_type": source_type}})
        response.raise_for_status()

    def state(self, entity_id):
        response = self.call("get", f"/api/states/{entity_id}")
        return response.json()["state"] if response.status_code == 200 else None

    def wait_for_state(self, entity_id, expected, timeout=10):
        if not _poll(lambda: self.state(entity_id) == expected, timeout):
            raise AssertionError(f"{entity_id} is {self.state(entity_id)!r}, not {expected!r}, after {timeout} s")

    def setup_mqtt(self, host, port, username, password, timeout=30):
        """Add the MQTT integration for the broker at host:port (plain TCP) as the owner; wait until it is loaded."""
        # Since 2022.12 configuration.yaml takes no broker: only a config flow (the UI's, here over REST) does.
        flow = self._flow("", {"handler": "mqtt", "show_advanced_options": False})
        if flow.get("step_id") != "broker":
            raise RuntimeError(f"Home Assistant {installed_version()} offered no MQTT broker step: {flow}")
        done = self._flow(flow["flow_id"], {"broker": host, "port": port, "username": username, "password": password})
        if done.get("type") != "create_entry":
            raise RuntimeError(f"Home Assistant {installed_version()} did not add MQTT for {host}:{port}: {done}")
        self.wait_for_mqtt(timeout)

    def wait_for_mqtt(self, timeout=30):
        """Wait until the MQTT entry is loaded (connected); also after a restart, which keeps the entry."""
        if not _poll(self.mqtt_entry_loaded, timeout):
            raise RuntimeError(f"Home Assistant {installed_version()}'s MQTT entry is not loaded after {timeout} s: "
                               f"{self.mqtt_entries()}; see {self.log_file}")

    def setup_ping(self, host, consider_home, count=5, timeout=60):
        """Add the ping integration for `host` as a user does in the UI: the config flow, then its options
        (`count` pings a poll, `consider_home` seconds), then its device_tracker enabled; return that tracker's
        entity id once that reload has given it a state. It polls every 30 s (fixed in the integration)."""
        flow = self._flow("", {"handler": "ping"})
        done = self._flow(flow["flow_id"], {"host": host}) if flow.get("step_id") == "user" else flow
        if done.get("type") != "create_entry":
            raise RuntimeError(f"Home Assistant {installed_version()} did not add ping for {host}: {done}")
        entry_id = done["result"]["entry_id"]
        # consider_home is an option of the entry, not part of the user step; setting it reloads the entry.
        options = self._options_flow("", {"handler": entry_id})
        done = self._options_flow(options["flow_id"], {"host": host, "count": count, "consider_home": consider_home})
        if done.get("type") != "create_entry":
            raise RuntimeError(f"Home Assistant {installed_version()} refused the ping options: {done}")
        # Its device_tracker starts disabled (only the binary_sensor is on by default). Enabled as the UI does it
        # (websocket API), it is there once Home Assistant has reloaded the entry, reload_delay (30) s later.
        enabled_at = time.time()
        proc = subprocess.run(["ip", "netns", "exec", self.ns, os.path.join(HA_VENV, "bin", "python"), "-c",
                               ENABLE_TRACKER, self.url, self.token, entry_id], capture_output=True, text=True,
                              timeout=30)
        if proc.returncode:
            raise RuntimeError(f"could not enable the ping device_tracker: {proc.stderr.strip()}")
        entity_id, delay = proc.stdout.split()

        def reloaded():
            found = self.call("get", f"/api/states/{entity_id}")
            return found.ok and found.json()["state"] != "unavailable" and datetime.fromisoformat(
                found.json()["last_updated"]).timestamp() > enabled_at + float(delay)

        if not _poll(reloaded, float(delay) + timeout):
            raise RuntimeError(f"{entity_id} has no fresh state after {timeout} s; see {self.log_file}")
        return entity_id

    def rename_entity(self, entity_id, new_entity_id):
        """Give an entity a new id in Home Assistant's entity registry (websocket API only), as the UI does."""
        proc = subprocess.run(["ip", "netns", "exec", self.ns, os.path.join(HA_VENV, "bin", "python"), "-c",
                               RENAME_ENTITY, self.url, self.token, entity_id, new_entity_id], capture_output=True,
                              text=True, timeout=30)
        if proc.returncode:
            raise RuntimeError(f"could not rename {entity_id}: {proc.stderr.strip()}")

    def mqtt_entries(self):
        """The MQTT config entries, each a dict with its entry_id, title and state ("loaded", "setup_retry", ...)."""
        response = self.call("get", "/api/config/config_entries/entry", params={"domain": "mqtt"})
        response.raise_for_status()
        return response.json()

    def mqtt_entry_loaded(self):
        return any(entry["state"] == "loaded" for entry in self.mqtt_entries())

    def log_lines(self, text):
        with open(self.log_file, encoding="utf-8", errors="replace") as handle:
            return [line for line in handle if text in line]

    def _flow(self, flow_id, body):
        """One step of a config flow: start one (flow_id "") or answer the step it shows."""
        response = self.call("post", f"/api/config/config_entries/flow{'/' if flow_id else ''}{flow_id}", json=body)
        if not response.ok:  # its body says why (which key is wrong, say); raise_for_status would drop that
            raise RuntimeError(f"Home Assistant {installed_version()} refused a config flow step with "
                               f"{response.status_code}: {response.text}")
        return response.json()

    def _options_flow(self, flow_id, body):
        """One step of an options flow: start one (flow_id "", body {"handler": entry_id}) or answer its step."""
        response = self.call("post", f"/api/config/config_entries/options/flow{'/' if flow_id else ''}{flow_id}",
                             json=body)
        if not response.ok:
            raise RuntimeError(f"Home Assistant refused an options flow step ({response.status_code}): {response.text}")
        return response.json()

    def _onboard(self):
        client_id = f"{self.url}/"
        response = self.call("post", "/api/onboarding/users", auth=False, json={
            "client_id": client_id, "name": "Owner", "username": "owner", "password": "presence-test-pw",
            "language": "en"})
        response.raise_for_status()
        token = self.call("post", "/auth/token", auth=False, data={
            "grant_type": "authorization_code", "code": response.json()["auth_code"], "client_id": client_id})
        token.raise_for_status()
        return token.json()["access_token"]


def _poll(predicate, timeout):
    """Whether predicate() turned true within timeout seconds (checked every 0.1 s)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
