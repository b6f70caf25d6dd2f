"""The production service: the unit's hardening, the installer, and the daemon as an unprivileged user."""

import json
import os
import pathlib
import re
import shutil
import socket
import stat
import subprocess
import tempfile

import pytest

from tests.carbon import require
from tests.conftest import ROOT, make_config, write_config

UNIT = os.path.join(ROOT, "systemd", "presence-monitoring.service")
INSTALL = os.path.join(ROOT, "systemd", "install.sh")
NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
ONLY_NET_RAW = (*NOBODY, "--inh-caps=+net_raw", "--ambient-caps=+net_raw", "--")
NICK = "02:00:00:00:01:01"


@pytest.fixture(scope="module")
def installed():
    """The installer run twice into a throwaway root that an unprivileged user can read."""
    root = tempfile.mkdtemp(prefix="presence-install-", dir="/tmp")
    os.chmod(root, 0o755)
    try:
        for _ in range(2):
            result = subprocess.run([INSTALL, "--root", root], capture_output=True, text=True, timeout=300)
            assert result.returncode == 0, result.stderr
        yield root, result.stdout
    finally:
        shutil.rmtree(root)


def test_installer_is_idempotent_keeps_the_config_and_says_what_next(installed, tmp_path):
    root, second_run = installed
    app, etc = f"{root}/opt/presence-monitoring", f"{root}/etc/presence-monitoring"
    assert "Kept the existing" in second_run and "systemctl enable --now presence-monitoring" in second_run
    assert os.access(f"{app}/venv/bin/python", os.X_OK)
    assert stat.S_IMODE(os.stat(f"{etc}/ha_token").st_mode) == 0o600
    assert open(f"{root}/etc/systemd/system/presence-monitoring.service").read() == open(UNIT).read()
    check = subprocess.run([f"{app}/venv/bin/python", f"{app}/presence_to_graphite.py", "--config",
                            f"{etc}/people_config.yaml", "check"], capture_output=True, text=True, timeout=60)
    assert check.stdout.startswith("ok    config")

    copy = tmp_path / "root"
    shutil.copytree(root, copy, symlinks=True)
    (copy / "etc/presence-monitoring/people_config.yaml").write_text("# mine\n")
    result = subprocess.run([INSTALL, "--root", str(copy), "--uninstall"], capture_output=True, text=True)
    assert result.returncode == 0 and not (copy / "opt/presence-monitoring").exists()
    assert not (copy / "etc/systemd/system/presence-monitoring.service").exists()
    assert (copy / "etc/presence-monitoring/people_config.yaml").read_text() == "# mine\n"


def unit_for(root, tmp_path):
    """The unit with its paths pointing into the test's install (systemd-analyze checks they exist)."""
    path = tmp_path / "presence-monitoring.service"
    path.write_text(open(UNIT).read().replace("/opt/presence-monitoring", f"{root}/opt/presence-monitoring"))
    return str(path)


def test_unit_verifies_and_its_exposure_is_at_most_2(installed, tmp_path):
    require(None if shutil.which("systemd-analyze") else "systemd-analyze is needed (apt-get install systemd)")
    unit = unit_for(installed[0], tmp_path)
    verify = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
    assert "presence-monitoring" not in verify.stderr, verify.stderr
    security = subprocess.run(["systemd-analyze", "security", "--offline=true", unit], capture_output=True, text=True)
    exposure = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout).group(1))
    assert exposure <= 2.0, security.stdout
    for setting in ("Type=notify", "WatchdogSec=", "RestartPreventExitStatus=78", "AmbientCapabilities=CAP_NET_RAW",
                    "CapabilityBoundingSet=CAP_NET_RAW", "StateDirectory=presence-monitoring",
                    "LoadCredential=ha_token:", "RestrictAddressFamilies=AF_PACKET AF_NETLINK AF_INET AF_INET6 AF_UNIX"):
        assert setting in open(UNIT).read()


@pytest.fixture
def notify_socket():
    folder = tempfile.mkdtemp(prefix="presence-notify-", dir="/tmp")
    os.chmod(folder, 0o777)
    path = os.path.join(folder, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o777)
    sock.settimeout(15)
    yield path, sock, folder
    sock.close()
    shutil.rmtree(folder)


def test_unprivileged_user_with_only_cap_net_raw_sweeps_and_notifies(installed, lan, notify_socket):
    root, _ = installed
    lan.add_device("nick", NICK, "198.51.100.11")
    path, sock, folder = notify_socket
    raw = make_config(wifi={"scan_interval": 2, "offline_grace": 10}, graphite={"send_interval": 1})
    raw["people"] = [{"name": "Nick", "macs": [NICK]}, {"name": "Susan", "macs": ["02:00:00:00:02:01"]}]
    config = write_config(pathlib.Path(folder) / "people.yaml", raw)
    os.chmod(config, 0o644)
    app = f"{root}/opt/presence-monitoring"
    env = {"PATH": os.environ["PATH"], "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "4000000"}
    daemon = lan.popen(lan.scanner_ns, [*ONLY_NET_RAW, f"{app}/venv/bin/python", f"{app}/presence_to_graphite.py",
                                        "--config", config, "--state", f"{folder}/state.json", "run", "--dry-run"],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready = sock.recv(4096).decode()
        assert ready.startswith("READY=1\nSTATUS=1 home: nick; last scan "), ready
        watchdog = sock.recv(4096).decode()
        assert watchdog.startswith("WATCHDOG=1")
    finally:
        daemon.terminate()
        out, err = daemon.communicate(timeout=10)
    assert daemon.returncode == 0, err
    assert "CAP_NET_RAW" not in err
    assert "home.presence.nick.from_wifi 1 " in out
    state = json.load(open(f"{folder}/state.json"))
    assert state["devices"][NICK]["how"] == "arp"
    assert os.stat(f"{folder}/state.json").st_uid == 65534


def test_without_the_capability_it_says_what_is_missing(installed, lan, tmp_path):
    root, _ = installed
    app = f"{root}/opt/presence-monitoring"
    folder = tempfile.mkdtemp(prefix="presence-nocap-", dir="/tmp")
    os.chmod(folder, 0o777)
    try:
        config = write_config(pathlib.Path(folder) / "people.yaml", make_config())
        os.chmod(config, 0o644)
        argv = [*NOBODY, "--", f"{app}/venv/bin/python", f"{app}/presence_to_graphite.py", "--config", config]
        once = lan.run(lan.scanner_ns, [*argv, "--state", f"{folder}/state.json", "once", "--dry-run"])
        assert once.returncode == 0
        assert once.stderr.count("needs the CAP_NET_RAW capability") == 1
        assert "AmbientCapabilities=CAP_NET_RAW" in once.stderr
        check = lan.run(lan.scanner_ns, [*argv, "check"])
        assert check.returncode == 1 and "FAIL  scan" in check.stdout
    finally:
        shutil.rmtree(folder)
