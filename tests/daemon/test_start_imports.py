"""The daemon's run path at defaults (WiFi and Graphite, no MQTT nor Home Assistant) imports none of the
modules that cost it memory for nothing: scapy, paho, TLS, HTTP, the commands and the report."""

import json
import subprocess
import sys

from tests.conftest import ROOT, make_config

UNWANTED = ("scapy", "paho", "ssl", "http.client", "email", "presence.commands", "presence.report",
            "presence.sources.homeassistant", "presence.net.web", "presence.outputs.mqtt.publisher")

# Builds the outputs and sources as the daemon's start does, then uses what the sweep and the listener
# use per frame; nothing is started or polled, so no packet is sent. Prints the unwanted modules loaded.
CODE = """
import json, sys
import presence.cli, presence.daemon.start
from presence.clock import SystemClock
from presence.config.load import parse_config
from presence.daemon.wiring import Wiring
from presence.sources.frames import arp_request
from presence.sources.vendors import looks_personal

config = parse_config(json.loads(sys.argv[1]), "test.yaml")
wiring = Wiring(sys.argv[2], SystemClock())
outputs, sources = wiring.outputs(config), wiring.sources(config)
assert looks_personal("3c:22:fb:00:00:01") and not looks_personal("00:1b:a9:00:00:01")
arp_request("02:00:00:00:00:02", "198.51.100.2", "198.51.100.7")
unwanted = json.loads(sys.argv[3])
print(json.dumps(sorted(m for m in sys.modules if any(m == u or m.startswith(u + ".") for u in unwanted))))
"""


def test_the_daemons_run_path_at_defaults_imports_no_unwanted_module(tmp_path):
    raw = make_config()
    assert "mqtt" not in raw and "homeassistant" not in raw and "host" not in raw["graphite"]
    run = subprocess.run([sys.executable, "-c", CODE, json.dumps(raw), str(tmp_path / "state.json"),
                          json.dumps(UNWANTED)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    loaded = json.loads(run.stdout.splitlines()[-1])
    assert loaded == [], f"imported on the daemon's run path: {', '.join(loaded)}"
