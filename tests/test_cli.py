"""The command line contract: exit statuses, `check`, and both sources fused through `once`."""

import os
import socket
import subprocess
import sys

from tests.conftest import ROOT, cli, make_config, write_config

TOKEN = "lab-token-" + "7" * 30


def run_here(*args, env=None):
    """Run the CLI in this namespace; only for cases that stop before any scan."""
    return subprocess.run([sys.executable, f"{ROOT}/presence_to_graphite.py", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=60, env={**os.environ, **(env or {})})


def test_bad_config_exits_78_naming_file_and_key(tmp_path):
    raw = make_config()
    raw["people"][2]["macs"] = ["zz:00:00:00:00:01"]
    raw["wifi"]["scan_intervall"] = 3
    config = write_config(tmp_path / "bad.yaml", raw)
    result = run_here("--config", config, "once", "--dry-run")
    assert result.returncode == 78 and result.stdout == ""
    assert f"{config}: people[2].macs[0]: 'zz:00:00:00:00:01' is not a MAC address" in result.stderr
    assert f"{config}: wifi.scan_intervall: unknown key" in result.stderr


def test_config_path_from_environment(tmp_path):
    result = run_here("check", env={"PRESENCE_CONFIG": str(tmp_path / "missing.yaml")})
    assert result.returncode == 78 and "missing.yaml: cannot read the file" in result.stderr


def test_missing_token_is_a_config_error(tmp_path):
    raw = make_config(homeassistant={"url": "http://127.0.0.1:9", "token_env": "PRESENCE_TEST_TOKEN"})
    env = {k: v for k, v in os.environ.items() if k not in ("PRESENCE_TEST_TOKEN", "CREDENTIALS_DIRECTORY")}
    result = subprocess.run([sys.executable, f"{ROOT}/presence_to_graphite.py", "--config",
                             write_config(tmp_path / "c.yaml", raw), "once", "--dry-run"],
                            cwd=ROOT, text=True, capture_output=True, env=env, timeout=60)
    assert result.returncode == 78
    assert "homeassistant.token_env: the environment variable PRESENCE_TEST_TOKEN is empty" in result.stderr


def test_usage_errors():
    result = run_here("frobnicate")
    assert result.returncode == 64 and "invalid choice: 'frobnicate'" in result.stderr
    assert run_here("--help").stdout.count("discover") >= 1


def start_fake_ha(lan, *states):
    proc = lan.popen(lan.scanner_ns, [sys.executable, "-m", "testbed.fake_homeassistant", TOKEN, *states],
                     cwd=ROOT, stdout=subprocess.PIPE)
    return proc.stdout.readline().strip()


def start_listener(lan):
    """A TCP listener on the scanner namespace's own loopback, standing in for carbon's port."""
    code = ("import socket,sys\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen()\n"
            "print(s.getsockname()[1],flush=True)\nwhile True: s.accept()[0].recv(1<<16)")
    proc = lan.popen(lan.scanner_ns, [sys.executable, "-c", code], stdout=subprocess.PIPE)
    return int(proc.stdout.readline())


def fused_config(lan, tmp_path, ha_url, graphite_port):
    raw = make_config(homeassistant={"url": ha_url, "token_env": "PRESENCE_TEST_TOKEN"},
                      graphite={"host": "127.0.0.1", "port": graphite_port})
    raw["people"][0]["homeassistant_entities"] = ["person.nick"]
    raw["people"][2]["homeassistant_entities"] = ["person.charlie", "device_tracker.charlie_gps"]
    return write_config(tmp_path / "people.yaml", raw)


def test_check_all_ok_then_each_failure(lan, tmp_path):
    lan.add_device("nick", "02:00:00:00:01:01", "198.51.100.11")
    url = start_fake_ha(lan, "person.nick=home", "person.charlie=not_home", "device_tracker.charlie_gps=Work")
    config = fused_config(lan, tmp_path, url, start_listener(lan))
    result = cli(lan, "--config", config, "check", env={**os.environ, "PRESENCE_TEST_TOKEN": TOKEN})
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [["ok", "config"], ["ok", "scan"], ["ok", "homeassistant"],
                                                   ["ok", "graphite"], ["skip", "mqtt"], ["skip", "retention"],
                                                   ["ok", "devices"]]
    assert lines[2].endswith("API running.; person.nick=home, person.charlie=not_home, device_tracker.charlie_gps=Work")

    missing_url = start_fake_ha(lan, "person.nick=home")
    result = cli(lan, "--config", fused_config(lan, tmp_path, missing_url, 9), "check",
                 env={**os.environ, "PRESENCE_TEST_TOKEN": TOKEN})
    assert result.returncode == 1
    assert "no such entity: person.charlie, device_tracker.charlie_gps" in result.stdout

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    config = fused_config(lan, tmp_path, url, closed_port)
    result = cli(lan, "--config", config, "check", env={**os.environ, "PRESENCE_TEST_TOKEN": "bad-token-XYZ123"})
    assert result.returncode == 1
    assert "FAIL  homeassistant" in result.stdout and "401" in result.stdout
    assert "FAIL  graphite" in result.stdout and "cannot connect to 127.0.0.1" in result.stdout
    assert "bad-token-XYZ123" not in result.stdout + result.stderr


def test_once_fuses_wifi_and_homeassistant(lan, tmp_path):
    lan.add_device("nick", "02:00:00:00:01:01", "198.51.100.11")
    url = start_fake_ha(lan, "person.nick=not_home", "person.charlie=home", "device_tracker.charlie_gps=Work")
    config = fused_config(lan, tmp_path, url, 9)
    result = cli(lan, "--config", config, "--state", str(tmp_path / "s.json"), "once", "--dry-run",
                 env={**os.environ, "PRESENCE_TEST_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    values = {line.split()[0].removeprefix("home.presence."): int(line.split()[1])
              for line in result.stdout.splitlines()}
    assert len([name for name in values if not name.startswith("events.")]) == 27
    assert {name for name in values if name.startswith("events.")} == {"events.nick.arrival", "events.charlie.arrival"}
    assert (values["nick.is_home"], values["nick.from_wifi"], values["nick.from_homeassistant"]) == (1, 1, 0)
    assert (values["charlie.is_home"], values["charlie.from_wifi"], values["charlie.from_homeassistant"]) == (1, 0, 1)
    assert values["count_home"] == 2 and values["anyone_home"] == 1
    assert TOKEN not in result.stderr


def test_once_exits_0_when_home_assistant_is_dead(lan, tmp_path):
    lan.add_device("nick", "02:00:00:00:01:01", "198.51.100.11")
    config = fused_config(lan, tmp_path, "http://127.0.0.1:9", 9)
    result = cli(lan, "--config", config, "--state", str(tmp_path / "s.json"), "once", "--dry-run",
                 env={**os.environ, "PRESENCE_TEST_TOKEN": TOKEN})
    assert result.returncode == 0
    assert "homeassistant: cannot reach http://127.0.0.1:9" in result.stderr
    assert "home.presence.nick.is_home 1 " in result.stdout
    assert result.stdout.count("\n") == 27 + 1  # the set, and nick's arrival


def test_once_dry_run_prints_the_mqtt_messages_without_a_broker_or_its_password(lan, tmp_path):
    lan.add_device("nick", "02:00:00:00:01:01", "198.51.100.11")
    raw = make_config(mqtt={"host": "127.0.0.1", "port": 9, "username": "presence"},
                      homeassistant={"url": "http://127.0.0.1:9", "token_env": "PRESENCE_TEST_TOKEN"})
    raw["people"][0]["homeassistant_entities"] = ["device_tracker.presence_nick"]
    env = {**os.environ, "PRESENCE_TEST_TOKEN": TOKEN}
    env.pop("MQTT_PASSWORD", None)
    result = cli(lan, "--config", write_config(tmp_path / "c.yaml", raw), "--state", str(tmp_path / "s.json"),
                 "once", "--dry-run", env=env)
    assert result.returncode == 0, result.stderr
    mqtt = [line.split(" ", 2)[1:] for line in result.stdout.splitlines() if line.startswith("mqtt ")]
    topics = [topic for topic, _ in mqtt]
    assert topics[0] == "homeassistant/device_tracker/presence/nick/config"
    assert ["presence/person/nick/state", "home"] in mqtt and ["presence/person/susan/state", "not_home"] in mqtt
    assert ["presence/count_home", "1"] in mqtt and mqtt[-1] == ["presence/status", "offline"]
    assert "home.presence.nick.is_home 1 " in result.stdout
    assert ("people[0].homeassistant_entities[0]: device_tracker.presence_nick is published by this daemon over "
            "MQTT: it is ignored") in result.stderr


def test_once_publishes_to_a_real_broker_before_it_exits(lan, tmp_path):
    from testbed.carbon import require
    from testbed.mosquitto import Mosquitto, mosquitto_unavailable_reason

    require(mosquitto_unavailable_reason())
    lan.add_device("nick", "02:00:00:00:01:01", "198.51.100.11")
    with Mosquitto(tmp_path / "broker", lan.scanner_ns) as broker:
        raw = make_config(mqtt={"host": "127.0.0.1", "port": broker.tls_port, "ca_file": broker.ca_file,
                                "username": "presence"})
        result = cli(lan, "--config", write_config(tmp_path / "c.yaml", raw), "--state", str(tmp_path / "s.json"),
                     "once", env={**os.environ, "MQTT_PASSWORD": broker.users["presence"]})
        assert result.returncode == 0, result.stderr
        with broker.subscriber(user="homeassistant") as home_assistant:
            held = home_assistant.retained()
    assert held["presence/person/nick/state"] == b"home" and held["presence/count_home"] == b"1"
    assert "homeassistant/device_tracker/presence/tom/config" in held
    assert held["presence/status"] == b"offline"  # `once` is not a running daemon
    assert broker.users["presence"] not in result.stderr
