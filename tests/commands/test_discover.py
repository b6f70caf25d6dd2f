"""`discover` on the namespaced LAN: one-shot table, JSON and YAML, and `--watch`."""

import io
import json
import signal
import subprocess
import sys
import time

import pytest
import yaml

from presence.config.load import parse_config
from presence.commands.discover import _event, device_row, people_snippet, run_discover_homeassistant, table
from presence.state.model import DeviceRecord, State
from tests.conftest import ROOT, cli, make_config, write_config
from testbed.hostile_http import HostileServer, answers, bounded, silent, trickle_body, trickle_headers

T0 = 1_800_000_000.0


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
    assert result.returncode == 64 and "--yaml prints a snapshot" in result.stderr


# Text from outside (the state file, Home Assistant) is printed escaped; no line break reaches the YAML.
EVIL = "pwned\n  - name: evil\n    macs: [\"02:00:00:00:01:01\"]\x1b[2J"
GUEST = "da:a1:19:00:00:22"


def evil_rows(tmp_path):
    # The state file refuses such a hostname now (tests/state/test_file.py); the printing must not rely on it.
    return [device_row(GUEST, "198.51.100.22", State(devices={GUEST: DeviceRecord("198.51.100.22", T0, T0, "dhcp",
                                                                                  EVIL)}))]


def test_a_hostname_from_the_state_file_cannot_add_entries_to_the_yaml(tmp_path):
    config = parse_config(make_config())
    snippet = people_snippet(evil_rows(tmp_path), config)
    people = yaml.safe_load(snippet)["people"]
    assert len(people) == 1 and people[0]["macs"] == [GUEST]
    assert "\x1b" not in snippet and not any(line.startswith("  - name: evil") for line in snippet.splitlines())


def test_table_and_watch_lines_escape_what_they_print(tmp_path):
    rows = evil_rows(tmp_path)
    printed = table(rows, 1)
    out = io.StringIO()
    _event(out, False, "appeared", rows[0])
    for text in (printed, out.getvalue()):
        assert "\x1b" not in text and "pwned\\x0a" in text
    assert len(out.getvalue().splitlines()) == 1


LIMIT = 1.0 + 3


def ha_discover_config(url, **extra):
    raw = make_config(homeassistant={"url": url, **extra})
    raw["people"][0]["homeassistant_entities"] = ["person.nick"]
    return parse_config(raw)


@pytest.mark.parametrize("behaviour", [trickle_headers(), trickle_body(), silent()],
                         ids=["trickling headers", "trickling body", "silent"])
@pytest.mark.lab
def test_discover_homeassistant_ends_at_the_timeout(behaviour, caplog):
    with HostileServer(behaviour) as server:
        status, _ = bounded(LIMIT, run_discover_homeassistant, ha_discover_config(server.url, timeout=1),
                            io.StringIO(), False, {"HOME_ASSISTANT_TOKEN": "t"})
    assert status == 1
    assert f"discover --homeassistant: cannot reach {server.url}: Timeout" in caplog.text


def test_discover_homeassistant_says_what_is_wrong_with_an_answer(caplog):
    with HostileServer(answers(lambda _path: (200, {"person.nick": "home"}))) as server:
        status = run_discover_homeassistant(ha_discover_config(server.url), io.StringIO(), False,
                                            {"HOME_ASSISTANT_TOKEN": "t"})
    assert status == 1
    assert f"{server.url}/api/states answered an object, not a list of entities" in caplog.text


def test_discover_homeassistant_escapes_names_and_states():
    entities = [{"entity_id": "person.nick", "state": "home\x1b]0;owned\x07", "attributes": {"friendly_name": "Nick"}},
                {"entity_id": "device_tracker.x\u202e", "state": "not_home",
                 "attributes": {"friendly_name": "evil\nperson.fake   home"}},
                {"entity_id": "light.kitchen", "state": "on"}]
    with HostileServer(answers(lambda _path: (200, entities))) as server:
        config = ha_discover_config(server.url)
        table_out, json_out = io.StringIO(), io.StringIO()
        assert run_discover_homeassistant(config, table_out, False, {"HOME_ASSISTANT_TOKEN": "t"}) == 0
        assert run_discover_homeassistant(config, json_out, True, {"HOME_ASSISTANT_TOKEN": "t"}) == 0
    lines = table_out.getvalue().splitlines()
    assert len(lines) == 3 and "\x1b" not in table_out.getvalue() and "\u202e" not in table_out.getvalue()
    assert lines[1].startswith("device_tracker.x\\u202e") and lines[1].endswith("evil\\x0aperson.fake   home")
    assert lines[2].split()[:3] == ["person.nick", "home\\x1b]0;owned\\x07", "nick"]
    assert [row["state"] for row in json.loads(json_out.getvalue())] == ["not_home", "home\x1b]0;owned\x07"]
