"""The production service: the unit's hardening, the installer, and the daemon as an unprivileged user."""

import json
import os
import pathlib
import re
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import tempfile

import pytest

from testbed.carbon import require
from tests.conftest import ROOT, make_config, write_config

UNIT = os.path.join(ROOT, "systemd", "presence-monitoring.service")
INSTALL = os.path.join(ROOT, "systemd", "install.sh")
NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
ONLY_NET_RAW = (*NOBODY, "--inh-caps=+net_raw", "--ambient-caps=+net_raw", "--")
NICK = "02:00:00:00:01:01"
INSTALLED_ITEMS = ("presence", "presence_to_graphite.py", "graphite_helper.py", "requirements.txt", "README.md", "docs",
                   "graphite", "systemd")
# What a developer's runs leave in the tree: none of it may reach /opt.
LEFT_BY_RUNS = ("state.json", "state.json.corrupt-1", "graphite-spool/1700000000.txt", ".venv/pyvenv.cfg",
                "presence/state.json", "presence/state.json.corrupt-1", "presence/people_config.yaml",
                "presence/graphite-spool/1700000000.txt", "presence/__pycache__/cli.cpython-311.pyc",
                "device-history/2026-11-27.jsonl", "presence/device-history/2026-11-27.jsonl")
# In a checkout, neither tracked nor ignored, such as a module not `git add`ed yet: the installer names it.
NOT_ADDED = "presence/not_added_yet.py"
# systemd's DefaultTimeoutStartSec, which the unit does not override.
SYSTEMD_START_TIMEOUT = 90


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The installer run twice into a throwaway root that an unprivileged user can read.

    It runs from a copy of the working tree that is not a git checkout, so that it installs the code as it is
    now, new files that git does not track yet included.
    """
    source = tmp_path_factory.mktemp("working-tree")
    for item in INSTALLED_ITEMS:
        copy = shutil.copytree if os.path.isdir(os.path.join(ROOT, item)) else shutil.copy2
        copy(os.path.join(ROOT, item), source / item)
    root = tempfile.mkdtemp(prefix="presence-install-", dir="/tmp")
    os.chmod(root, 0o755)
    try:
        for _ in range(2):
            result = subprocess.run([source / "systemd/install.sh", "--root", root], capture_output=True, text=True,
                                    timeout=300)
            assert result.returncode == 0, result.stderr
        yield root, result.stdout
    finally:
        shutil.rmtree(root)


@pytest.mark.lab
def test_installer_is_idempotent_keeps_the_config_and_says_what_next(installed, tmp_path):
    root, second_run = installed
    app, etc = f"{root}/opt/presence-monitoring", f"{root}/etc/presence-monitoring"
    assert "Kept the existing" in second_run and "systemctl enable --now presence-monitoring" in second_run
    assert os.access(f"{app}/venv/bin/python", os.X_OK)
    for credential in ("ha_token", "mqtt_password", "graphite_tls_key"):
        assert stat.S_IMODE(os.stat(f"{etc}/{credential}").st_mode) == 0o600
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


@pytest.fixture(scope="module")
def checkout_after_runs(tmp_path_factory):
    """A git clone of the repository with this installer and unit, and untracked leftovers of a developer's runs."""
    require(None if os.geteuid() == 0 else "needs root (the installer chowns the token)")
    source = tmp_path_factory.mktemp("checkout") / "presence"
    subprocess.run(["git", "clone", "--quiet", ROOT, str(source)], check=True)
    for path in (INSTALL, UNIT):
        shutil.copy2(path, source / "systemd")
    for name in LEFT_BY_RUNS:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("left by a run\n")
    (source / NOT_ADDED).write_text("# not added yet\n")
    return source


def tracked(checkout):
    """The files git tracks among what the installer installs."""
    names = subprocess.run(["git", "-C", str(checkout), "ls-files", "-z", "--", *INSTALLED_ITEMS],
                           capture_output=True, text=True, check=True).stdout
    return set(names.split("\0")) - {""}


def root_with_an_old_install(tmp_path):
    """A root holding files from an older install and a token readable by all, owned by nobody."""
    root = tmp_path / "root"
    for stale in ("opt/presence-monitoring/presence/gone.py", "opt/presence-monitoring/presence/state.json.corrupt-9"):
        (root / stale).parent.mkdir(parents=True, exist_ok=True)
        (root / stale).write_text("from an older install\n")
    token = root / "etc/presence-monitoring/ha_token"
    token.parent.mkdir(parents=True)
    token.write_text("secret\n")
    token.chmod(0o644)
    os.chown(token, 65534, 65534)
    return root


def install_from(source, root):
    result = subprocess.run([f"{source}/systemd/install.sh", "--root", str(root)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def installed_files(root):
    """Every file under /opt/presence-monitoring but the venv, as relative paths."""
    app = root / "opt/presence-monitoring"
    return {str(path.relative_to(app)) for path in app.rglob("*")
            if not path.is_dir() and path.relative_to(app).parts[0] != "venv"}


def assert_token_is_roots_only(root):
    token = root / "etc/presence-monitoring/ha_token"
    info = token.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o600, 0, 0)
    assert token.read_text() == "secret\n"


@pytest.mark.lab
def test_installer_from_a_checkout_copies_only_tracked_files_and_makes_the_token_roots(checkout_after_runs,
                                                                                      tmp_path):
    """Exactly the tracked files, nothing of an older install, and an existing token made 0600 root:root."""
    root = root_with_an_old_install(tmp_path)
    second_run = [install_from(checkout_after_runs, root) for _ in range(2)][-1]
    assert installed_files(root) == tracked(checkout_after_runs)
    assert "Left out what git does not track in " in second_run and NOT_ADDED in second_run
    assert "ha_token to mode" not in second_run
    assert_token_is_roots_only(root)


@pytest.mark.lab
def test_installer_from_a_tarball_leaves_out_what_runs_left_and_makes_the_token_roots(checkout_after_runs,
                                                                                     tmp_path):
    """Without git: the same files, owned by root although the source tree is nobody's; the token as above."""
    source = tmp_path / "presence"
    # A tarball of the project holds its files and what runs left, not a developer's unfinished module.
    shutil.copytree(checkout_after_runs, source, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", os.path.basename(NOT_ADDED)))
    subprocess.run(["chown", "-R", "nobody:nogroup", str(source)], check=True)
    root = root_with_an_old_install(tmp_path)
    first_run = install_from(source, root)
    assert installed_files(root) == tracked(checkout_after_runs)
    assert "ha_token to mode 600, owner root:root (it was mode 644, owner nobody:nogroup)." in first_run
    assert_token_is_roots_only(root)
    for path in (root / "opt/presence-monitoring").rglob("*"):
        info = path.lstat()
        assert info.st_uid == 0 and (path.is_symlink() or not info.st_mode & 0o022), path


def unit_for(root, tmp_path):
    """The unit with its paths pointing into the test's install (systemd-analyze checks they exist)."""
    path = tmp_path / "presence-monitoring.service"
    path.write_text(open(UNIT).read().replace("/opt/presence-monitoring", f"{root}/opt/presence-monitoring"))
    return str(path)


@pytest.mark.lab
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
                    "ExecReload=/bin/sh -c 'kill -HUP $MAINPID'", "StartLimitIntervalSec=", "StartLimitBurst=",
                    "CapabilityBoundingSet=CAP_NET_RAW", "StateDirectory=presence-monitoring",
                    "LoadCredential=ha_token:", "LoadCredential=mqtt_password:", "LoadCredential=graphite_tls_key:",
                    "RestrictAddressFamilies=AF_PACKET AF_NETLINK AF_INET AF_INET6 AF_UNIX"):
        assert setting in open(UNIT).read()


def unit_settings():
    """The unit's settings as {(section, key): [values]}, with continued lines joined."""
    settings, section = {}, None
    for line in open(UNIT).read().replace("\\\n", " ").splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif line and not line.startswith(("#", ";")):
            key, _, value = line.partition("=")
            settings.setdefault((section, key), []).append(value)
    return settings


def seconds(span):
    """A systemd time span such as `5`, `90s` or `10min`, in seconds."""
    number, unit = re.fullmatch(r"(\d+)\s*(s|sec|min|h)?", span).groups()
    return int(number) * {None: 1, "s": 1, "sec": 1, "min": 60, "h": 3600}[unit]


def test_a_daemon_that_keeps_failing_ends_as_a_failed_unit():
    """With the restarts the unit asks for, every kind of failing round hits the start limit, so the loop ends."""
    unit = unit_settings()
    interval = seconds(unit.get(("Unit", "StartLimitIntervalSec"), ["10s"])[-1])
    burst = int(unit.get(("Unit", "StartLimitBurst"), ["5"])[-1])
    restart, stop = seconds(unit["Service", "RestartSec"][-1]), seconds(unit["Service", "TimeoutStopSec"][-1])
    rounds = {"exits at once": restart, "hangs until the start timeout": SYSTEMD_START_TIMEOUT + stop + restart,
              "killed by the watchdog": seconds(unit["Service", "WatchdogSec"][-1]) + stop + restart}
    for what, length in rounds.items():
        # systemd refuses start number burst + 1 when it comes within the interval from the first.
        assert burst * length <= interval, what
    assert burst >= 3, "one passing fault must not need a hand"
    assert unit["Service", "Restart"] == ["on-failure"] and unit["Service", "RestartPreventExitStatus"] == ["78"]


CATCH_SIGHUP = """import signal
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
print("waiting", flush=True)
print(signal.Signals(signal.sigwait({signal.SIGHUP})).name)
"""


def test_reload_sends_sighup_to_the_main_process():
    """`systemctl reload` runs ExecReload with $MAINPID set to the daemon's pid: that must deliver a SIGHUP."""
    daemon = subprocess.Popen([sys.executable, "-c", CATCH_SIGHUP], stdout=subprocess.PIPE, text=True)
    try:
        assert daemon.stdout.readline() == "waiting\n"
        [command] = unit_settings()["Service", "ExecReload"]
        subprocess.run(shlex.split(command.replace("$MAINPID", str(daemon.pid))), check=True, timeout=10)
        assert daemon.communicate(timeout=10)[0] == "SIGHUP\n"
    finally:
        daemon.kill()
        daemon.wait()


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
