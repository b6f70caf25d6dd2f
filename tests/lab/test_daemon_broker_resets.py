"""The whole daemon while its broker connection is reset again and again in the middle of publishing
(and a reload reconfigures the publisher meanwhile): the ticks never stop, SIGTERM still ends it, and
Home Assistant ends with the latest states."""

import os
import signal
import subprocess
import time

import pytest

from testbed.carbon import require
from testbed.lab import lab_unavailable_reason
from testbed.mosquitto import Mosquitto, mosquitto_unavailable_reason
from tests.lab.test_full_disk import GRACE, METRIC, SCAN, Running, home, household, latest_is  # noqa: F401 (home)

pytestmark = pytest.mark.lab

RESETS = 25


def nft(lan, script):
    subprocess.run(["ip", "netns", "exec", lan.scanner_ns, "nft", "-f", "-"], input=script, text=True, check=True)


def reset_on(lan, port):
    """Every packet the daemon sends to the broker's port is answered by a TCP reset, from now on."""
    nft(lan, f"table inet resets {{\n chain out {{\n  type filter hook output priority 0;\n"
             f"  tcp dport {port} reject with tcp reset\n }}\n}}\n")


def reset_off(lan):
    nft(lan, "delete table inet resets\n")


def test_broker_resets_in_a_loop_during_publishing_never_stop_a_tick(home, tmp_path):
    lan, nick, guest, carbon = home
    require(mosquitto_unavailable_reason())
    require(lab_unavailable_reason(nft=True))
    broker = Mosquitto(tmp_path / "broker", netns=lan.scanner_ns).start()
    config = household(tmp_path, carbon, mqtt={"host": "127.0.0.1", "port": broker.port, "username": "presence"})
    env = {**os.environ, "MQTT_PASSWORD": broker.users["presence"]}
    daemon = Running(lan, config, str(tmp_path / "state.json"), env)
    try:
        with broker.subscriber("presence/#") as watcher:
            daemon.wait_for_line("MQTT: connected to")
            watcher.wait_for("presence/person/nick/state", "home", timeout=10)
            started = int(time.time()) + 1
            for round_ in range(RESETS):
                # Each round changes what is published (a guest comes or goes: the device count, the
                # household's attributes), then resets the connection while the daemon publishes it.
                (guest.leave if round_ % 2 else guest.join)()
                time.sleep(0.2 + (round_ % 5) * 0.1)
                reset_on(lan, broker.port)
                if round_ == RESETS // 2:
                    daemon.proc.send_signal(signal.SIGHUP)  # the publisher reconfigured during the resets
                time.sleep(0.3)
                reset_off(lan)
                time.sleep(0.4)
            ended = int(time.time())
            # A hang detector: the ticks reach carbon every second throughout (a hung tick stops them).
            landed = carbon.wait_for_points(METRIC, started - 1, ended + 1, ended - started + 1, timeout=40)
            missing = [stamp for stamp in range(started, ended + 1) if stamp not in landed]
            assert not missing, f"ticks missing: {missing[:10]}; {daemon.log()[-3000:]}"
            assert "Reloaded" in daemon.log()
            # After the resets, Home Assistant sees a change at once, as before.
            nick.leave()
            latest_is(watcher, "presence/person/nick/state", b"not_home", timeout=GRACE + SCAN + 10, log=daemon.log)
    finally:
        try:
            reset_off(lan)
        except subprocess.CalledProcessError:
            pass  # not set at that moment
        code = daemon.stop()
        broker.stop()
    assert code == 0, daemon.log()[-3000:]
    assert "Traceback" not in daemon.log()
