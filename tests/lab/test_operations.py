"""What an operator does to a running daemon: reload its config, start a second one, point --state
somewhere odd, kill it during a save."""

import os
import signal
import subprocess
import sys
import time

import pytest

from presence.state.folder import StateLock
from testbed.carbon import require
from tests.conftest import ROOT, cli, make_config, write_config
from testbed.daemon_process import DaemonProcess


def run_here(*args):
    """Run the CLI in this namespace; only for cases that stop before any scan."""
    return subprocess.run([sys.executable, f"{ROOT}/presence_to_graphite.py", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=60)


@pytest.fixture
def config_file(tmp_path):
    return write_config(tmp_path / "people.yaml", make_config())


def test_a_second_daemon_on_the_same_state_is_refused(tmp_path, config_file):
    state = str(tmp_path / "state.json")
    lock = StateLock(state).acquire()
    try:
        result = run_here("--config", config_file, "--state", state, "once", "--dry-run")
    finally:
        lock.release()
    assert result.returncode == 75 and "Traceback" not in result.stderr
    assert f"another presence daemon (pid {os.getpid()}) is using {state}; stop it first" in result.stderr
    assert not os.path.exists(state)


def test_state_path_that_is_a_directory_or_the_config_is_refused_untouched(tmp_path, config_file):
    folder = tmp_path / "folder"
    folder.mkdir()
    result = run_here("--config", config_file, "--state", str(folder), "run", "--dry-run")
    assert result.returncode == 78 and f"--state: {folder} is a directory" in result.stderr
    assert folder.is_dir() and not list(tmp_path.glob("folder.corrupt-*"))

    before = open(config_file).read()
    result = run_here("--config", config_file, "--state", config_file, "once", "--dry-run")
    assert result.returncode == 78 and f"--state: {config_file} is the configuration file" in result.stderr
    assert open(config_file).read() == before and not list(tmp_path.glob("people.yaml.corrupt-*"))


def test_a_file_that_never_was_a_state_file_is_refused_not_set_aside(tmp_path, config_file):
    other = tmp_path / "hosts"
    other.write_text("127.0.0.1 localhost\n")
    result = run_here("--config", config_file, "--state", str(other), "once", "--dry-run")
    assert result.returncode == 78 and f"--state: {other} is not a state file written by presence" in result.stderr
    assert other.read_text() == "127.0.0.1 localhost\n" and not list(tmp_path.glob("hosts.corrupt-*"))


def test_state_file_from_the_config_names_its_key(tmp_path):
    folder = tmp_path / "here"
    folder.mkdir()
    config = write_config(tmp_path / "c.yaml", make_config(state_file=str(folder)))
    result = run_here("--config", config, "once", "--dry-run")
    assert result.returncode == 78 and f"{config}: state_file: {folder} is a directory" in result.stderr


@pytest.mark.lab
def test_a_read_only_state_directory_starts_and_says_what_it_means(tmp_path, config_file):
    require(None if os.geteuid() == 0 else "needs root to mount a read-only tmpfs")
    folder = tmp_path / "ro"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)], check=True)
    try:
        result = run_here("--config", config_file, "--state", str(folder / "state.json"), "once", "--dry-run")
    finally:
        subprocess.run(["umount", str(folder)], check=True)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert f"--state: cannot write in {folder} now (Read-only file system); starting anyway" in result.stderr
    assert "a restart now starts fresh" in result.stderr


def test_a_state_folder_that_cannot_be_made_is_a_named_error(tmp_path, config_file):
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    result = run_here("--config", config_file, "--state", str(not_a_folder / "state.json"), "once", "--dry-run")
    assert result.returncode == 78 and "Traceback" not in result.stderr, result.stderr
    assert f"--state: {not_a_folder} is not a folder; choose another state file" in result.stderr
    deeper = not_a_folder / "presence"
    result = run_here("--config", config_file, "--state", str(deeper / "state.json"), "once", "--dry-run")
    assert result.returncode == 78 and "Traceback" not in result.stderr, result.stderr
    assert f"--state: cannot write in {deeper}: Not a directory" in result.stderr


def test_report_takes_a_relative_time_after_a_space():
    result = run_here("--config", os.path.join(ROOT, "presence", "people_config.example.yaml"),
                      "report", "--from", "-30d", "--until", "-1d")
    assert result.returncode == 78, result.stderr
    assert "report reads Graphite's render API" in result.stderr


def test_temp_files_of_an_interrupted_save_are_removed_at_start(lan, tmp_path, config_file):
    state = tmp_path / "state.json"
    leftover = tmp_path / ".state-k1ll3d00.tmp"
    leftover.write_text('{"version": 1, "dev')
    result = cli(lan, "--config", config_file, "--state", str(state), "once", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert not leftover.exists() and state.exists()
    assert "Removed 1 temp file(s) left by an interrupted save" in result.stderr


def test_sighup_reloads_a_valid_config_and_keeps_the_old_one_when_invalid(lan, tmp_path):
    lan.add_device("nick", "02:00:00:00:01:01", "198.51.100.11")
    lan.add_device("zoe", "02:00:00:00:07:01", "198.51.100.17")
    raw = make_config(wifi={"scan_interval": 2, "offline_grace": 5}, graphite={"send_interval": 1})
    raw["people"] = [{"name": "Nick", "macs": ["02:00:00:00:01:01"]}]
    path = tmp_path / "people.yaml"
    config = write_config(path, raw)
    daemon = DaemonProcess(lan, config, str(tmp_path / "state.json"), people=1)
    try:
        daemon.wait_until(lambda t: t["nick.is_home"], timeout=10)
        raw["people"].append({"name": "Zoe", "macs": ["02:00:00:00:07:01"]})
        write_config(path, raw)
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.lines_per_tick = 4 * 2 + 3
        daemon.wait_until(lambda t: t["zoe.is_home"] and t["nick.is_home"], timeout=10)

        raw["wifi"]["scan_interval"] = "often"
        write_config(path, raw)
        daemon.proc.send_signal(signal.SIGHUP)
        time.sleep(2)
        still = daemon.wait_until(lambda t: t["zoe.is_home"] and t["count_home"] == 2, timeout=5)
        assert still
        status, _ = daemon.stop(signal.SIGTERM)
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
    log = "".join(daemon.stderr)
    assert status == 0, log
    assert "Received SIGHUP; reloading" in log and f"Reloaded {config}: 2 people" in log
    assert "Reload refused; running on with the configuration loaded before." in log
    assert "wifi.scan_interval: must be a number, not str 'often'" in log
    assert "Traceback" not in log
