"""`discover` on the namespaced LAN: one-shot table, JSON and YAML, and `--watch`."""

import json
import signal
import subprocess
import sys
import time

import yaml

from presence.config import parse_config
from tests.conftest import ROOT, cli, make_config, write_config


def lab_config(tmp_path):
    raw = make_config()
    raw["people"][0]["macs"] = ["02:00:00:00:01:01"]
    return write_config(tmp_path / "people.yaml", raw)


def discover_json(lan, config, *extra):
    result = cli(lan, "--config", config, *extra, "discover", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_lists_the_unmapped_with_vendor_randomized_and_state(lan, tmp_path):
    lan.add_device("nick", "02:00:00:00:01:01", "198.51.100.11")
    lan.add_device("router", "02:00:00:00:ff:ff", "198.51.100.1")
    lan.add_device("printer", "00:1a:11:00:00:21", "198.51.100.21")
    guest = lan.add_device("guest", "da:a1:19:00:00:22", "198.51.100.22")
    config, state = lab_config(tmp_path), str(tmp_path / "state.json")
    rows = discover_json(lan, config)
    assert [(r["mac"], r["ip"], r["vendor"], r["randomized"], r["hostname"], r["first_seen"]) for r in rows] == [
        ("00:1a:11:00:00:21", "198.51.100.21", "Google, Inc.", False, None, None),
        ("da:a1:19:00:00:22", "198.51.100.22", None, True, None, None)]

    daemon = lan.popen(lan.scanner_ns, [sys.executable, f"{ROOT}/presence_to_graphite.py", "--config", config,
                                        "--state", state, "run", "--dry-run"], cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    guest.dhcp_request("Guest-Pixel")
    time.sleep(1.0)
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=5) == 0
    rows = discover_json(lan, config, "--state", state)
    assert rows[1]["hostname"] == "Guest-Pixel" and rows[1]["first_seen"] and rows[1]["last_seen"]


def test_yaml_snippet_pastes_into_a_valid_config(lan, tmp_path):
    lan.add_device("printer", "00:1a:11:00:00:21", "198.51.100.21")
    lan.add_device("guest", "da:a1:19:00:00:22", "198.51.100.22")
    result = cli(lan, "--config", lab_config(tmp_path), "discover", "--yaml")
    assert result.returncode == 0, result.stderr
    snippet = yaml.safe_load(result.stdout)
    assert snippet == {"people": [{"name": "device-0021", "macs": ["00:1a:11:00:00:21"]},
                                  {"name": "device-0022", "macs": ["da:a1:19:00:00:22"]}]}
    assert "# 198.51.100.22, randomized MAC" in result.stdout
    parse_config({"network": {"cidrs": ["198.51.100.0/24"]}, **snippet})


def test_table(lan, tmp_path):
    lan.add_device("guest", "da:a1:19:00:00:22", "198.51.100.22")
    result = cli(lan, "--config", lab_config(tmp_path), "discover")
    assert result.returncode == 0
    assert result.stdout.splitlines()[1].split()[:3] == ["da:a1:19:00:00:22", "198.51.100.22", "yes"]
    assert "1 unmapped device(s)" in result.stdout


def test_watch_streams_devices_as_they_appear_and_vanish(lan, tmp_path):
    phone = lan.add_device("phone", "da:a1:19:00:00:33", "198.51.100.33")
    phone.leave()
    watch = lan.popen(lan.scanner_ns, [sys.executable, f"{ROOT}/presence_to_graphite.py", "--config",
                                       lab_config(tmp_path), "discover", "--watch", "--json"],
                      cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.0)
    phone.join()
    phone.dhcp_request("Toms-iPhone")
    appeared = json.loads(watch.stdout.readline())
    assert (appeared["event"], appeared["mac"], appeared["ip"]) == ("appeared", phone.mac, phone.ip)
    phone.leave()
    vanished = json.loads(watch.stdout.readline())
    assert (vanished["event"], vanished["mac"]) == ("vanished", phone.mac)
    watch.send_signal(signal.SIGINT)
    assert watch.wait(timeout=5) == 0


def test_yaml_and_watch_do_not_mix(tmp_path):
    result = subprocess.run([sys.executable, f"{ROOT}/presence_to_graphite.py", "--config", lab_config(tmp_path),
                             "discover", "--yaml", "--watch"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2 and "--yaml prints a snapshot" in result.stderr
