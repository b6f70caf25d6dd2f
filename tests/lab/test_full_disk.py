"""The whole daemon with nothing writable from its first moment: a full disk, a read-only state folder, the
folder removed while it runs. The live numbers reach a real carbon every tick and a real broker on every
change; what cannot be written is held, said once, and written once it can be, with no restart."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from testbed.carbon import Carbon, carbon_unavailable_reason, require
from testbed.mosquitto import Mosquitto, mosquitto_unavailable_reason
from testbed.small_fs import fill, read_only, small_fs_unavailable_reason, small_tmpfs
from tests.conftest import ROOT, cli, make_config, write_config

pytestmark = pytest.mark.lab

NICK, GUEST = "02:00:00:00:01:01", "da:a1:19:00:00:22"
GRACE, SCAN = 4, 2
METRIC = "home.presence.nick.is_home"


class Running:
    """`run` in the scanner namespace, sending to carbon (and the broker); its log collected line by line."""

    def __init__(self, lan, config, state, env=None):
        argv = [sys.executable, f"{ROOT}/presence_to_graphite.py", "--config", config, "--state", state, "run"]
        self.proc = lan.popen(lan.scanner_ns, argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, env=env)
        self.lines = []
        threading.Thread(target=lambda: self.lines.extend(self.proc.stderr), daemon=True).start()

    def log(self):
        return "".join(self.lines)

    def wait_for_line(self, text, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            assert self.proc.poll() is None, f"the daemon ended: {self.log()[-2000:]}"
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} within {timeout} s; log: {self.log()[-2000:]}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def home(lan, tmp_path):
    require(carbon_unavailable_reason())
    require(small_fs_unavailable_reason())
    nick = lan.add_device("nick", NICK, "198.51.100.11")
    guest = lan.add_device("guest", GUEST, "198.51.100.22")
    lan.add_device("tv", "da:a1:19:00:00:33", "198.51.100.33")  # always on: the LAN answers when both are out
    carbon = Carbon(tmp_path / "carbon", netns=lan.scanner_ns).start()
    try:
        yield lan, nick, guest, carbon
    finally:
        carbon.stop()


def household(tmp_path, carbon, **extra):
    raw = make_config(wifi={"scan_interval": SCAN, "offline_grace": GRACE},
                      graphite={"host": "127.0.0.1", "port": carbon.port, "send_interval": 1}, **extra)
    raw["people"] = [{"name": "Nick", "macs": [NICK]}]
    return write_config(tmp_path / "people.yaml", raw)


def latest_is(watcher, topic, payload, timeout, log=str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if [m[1] for m in watcher.messages if m[0] == topic][-1:] == [payload]:
            return
        time.sleep(0.05)
    raise AssertionError(f"{topic} is not {payload!r} after {timeout} s: {watcher.messages[-5:]}; {log()[-3000:]}")


def assert_every_second_landed(carbon, since, until, value=1.0, log=""):
    """Every tick from `since` to `until` is in whisper with `value`: none lost, none invented."""
    landed = carbon.wait_for_points(METRIC, since - 1, until + 1, until - since + 1, timeout=40)
    missing = [stamp for stamp in range(since, until + 1) if landed.get(stamp) != value]
    assert not missing, f"ticks not in carbon: {missing[:10]} of {until - since + 1}; {log[-3000:]}"


def test_a_disk_full_before_the_start_sends_every_tick_live_holds_the_rest_and_writes_all_once_freed(
        home, tmp_path):
    lan, nick, guest, carbon = home
    require(mosquitto_unavailable_reason())
    broker = Mosquitto(tmp_path / "broker", netns=lan.scanner_ns).start()
    config = household(tmp_path, carbon, mqtt={"host": "127.0.0.1", "port": broker.port, "username": "presence"})
    env = {**os.environ, "MQTT_PASSWORD": broker.users["presence"]}
    with small_tmpfs(tmp_path / "state", size="256k") as disk:
        filler = fill(disk)
        state = os.path.join(disk, "state.json")
        daemon = Running(lan, config, state, env)
        try:
            with broker.subscriber("presence/#") as watcher:
                daemon.wait_for_line("MQTT: connected to")
                watcher.wait_for("presence/person/nick/state", "home", timeout=10)
                started = int(time.time()) + 1  # the first tick after the start
                time.sleep(4)
                assert_every_second_landed(carbon, started, int(time.time()) - 1)

                # Graphite away while nothing can be spooled: the ticks wait in memory, then all land.
                carbon.stop()
                stopped = int(time.time())
                guest.leave()  # a closed history record that cannot be written either
                time.sleep(GRACE + SCAN + 2)
                carbon.start()
                back = int(time.time())
                assert back - stopped >= 6
                assert_every_second_landed(carbon, started, back - 1)

                # Home Assistant hears of each change at once, disk or no disk.
                nick.leave()
                latest_is(watcher, "presence/person/nick/state", b"not_home", timeout=GRACE + SCAN + 5,
                          log=daemon.log)
                left = int(time.time())
                nick.join()
                latest_is(watcher, "presence/person/nick/state", b"home", timeout=SCAN + 5)

            assert daemon.proc.poll() is None, "the daemon ended on a full disk"
            assert not os.path.exists(state)
            said = daemon.log()
            assert "Traceback" not in said
            assert said.count("State not saved to") == 1 and "a restart now starts fresh" in said

            os.remove(filler)
            daemon.wait_for_line(f"State saved to {state} again", timeout=SCAN + 10)
            lock = f"{state}.lock"
            deadline = time.monotonic() + 10
            while open(lock).read() != f"{daemon.proc.pid}\n" and time.monotonic() < deadline:
                time.sleep(0.1)
            assert open(lock).read() == f"{daemon.proc.pid}\n"
            # Stopped with nothing written twice and the whole run in carbon.
            assert daemon.stop() == 0
            assert_every_second_landed(carbon, started, left - GRACE - SCAN - 2)
            history = os.path.join(disk, "device-history")
            assert os.path.isdir(history) and any(
                GUEST in open(os.path.join(history, name)).read() for name in os.listdir(history))
        finally:
            daemon.stop()
            broker.stop()


def test_a_read_only_state_folder_runs_on_the_state_it_has_and_saves_once_writable(home, tmp_path):
    lan, _, _, carbon = home
    config = household(tmp_path, carbon)
    folder = tmp_path / "state"
    state = str(folder / "state.json")
    result = cli(lan, "--config", config, "--state", state, "once")
    assert result.returncode == 0, result.stderr
    saved = os.stat(state).st_mtime_ns
    with read_only(folder):
        daemon = Running(lan, config, state)
        try:
            daemon.wait_for_line("Running:")
            started = int(time.time()) + 1  # the first tick after the start
            time.sleep(5)
            assert_every_second_landed(carbon, started, int(time.time()) - 1, log=daemon.log())
            assert daemon.log().count("Read-only file system") >= 1 and "Traceback" not in daemon.log()
            assert os.stat(state).st_mtime_ns == saved
            # In the daemon's own mount namespace (`ip netns exec` gave it a copy of ours), with its root
            # (-r: inside a chroot, entering the namespace alone would leave the chroot behind).
            subprocess.run(["nsenter", "-t", str(daemon.proc.pid), "-m", "-r", "-w", "mount", "-o", "remount,bind,rw",
                            str(folder)], check=True)
            daemon.wait_for_line(f"State saved to {state} again", timeout=SCAN + 10)
            assert daemon.stop() == 0
        finally:
            daemon.stop()
    assert os.stat(state).st_mtime_ns > saved


def test_the_state_folder_removed_while_running_is_made_again_and_stays_one_daemons(home, tmp_path):
    lan, _, _, carbon = home
    config = household(tmp_path, carbon)
    folder = tmp_path / "state"
    state = str(folder / "state.json")
    daemon = Running(lan, config, state)
    try:
        daemon.wait_for_line("Running:")
        started = int(time.time()) + 1  # the first tick after the start
        time.sleep(2)
        remove_while_written(folder)
        carbon.stop()  # the spool has to be made again too
        time.sleep(3)
        carbon.start()
        daemon.wait_for_line("Locked the state folder", timeout=SCAN + 10)
        assert os.path.exists(state)
        second = cli(lan, "--config", config, "--state", state, "once")
        assert second.returncode == 75 and "another presence daemon" in second.stderr
        assert_every_second_landed(carbon, started, int(time.time()) - 1, log=daemon.log())
        assert daemon.stop() == 0 and "Traceback" not in daemon.log()
    finally:
        daemon.stop()


def remove_while_written(folder):
    """rm -r a folder the daemon may be writing in at that moment (a temp file gone between list and unlink)."""
    while os.path.exists(folder):
        shutil.rmtree(folder, ignore_errors=True)

