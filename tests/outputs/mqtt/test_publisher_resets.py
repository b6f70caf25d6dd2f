"""The MQTT publisher never hangs: connections reset mid-burst, a close during a slow connect, a name lookup
that never answers; and what it reads is bounded (a large retained message on a topic it follows)."""

import faulthandler
import itertools
import logging
import socket
import struct
import sys
import threading
import time

import pytest

from presence.config import defaults
from presence.config.load import parse_config
from presence.outputs.mqtt.publisher import MqttPublisher
from presence.state.model import PersonStatus, Snapshot, State
from testbed.loopback import listen, serve
from tests.conftest import make_config

# A hang detector, not a speed bound: a publishing call that does no network I/O of its own takes well
# under a millisecond; one stuck this long is stuck for good (the old deadlock), and fails the test at once.
HANG = 10.0
RESETS = 30


class ResettingProxy:
    """Forwards TCP from a free 127.0.0.1 port to `target_port`; `reset()` ends every connection with a TCP
    reset towards the client (SO_LINGER 0) and closes the broker's side."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.server = listen()
        self.port = self.server.getsockname()[1]
        self.accepted = 0
        self._live = []
        self._lock = threading.Lock()
        serve(self.server, self._relay)

    def _relay(self, conn):
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        with self._lock:
            self.accepted += 1
            self._live.append((conn, upstream))
        threading.Thread(target=_pump, args=(upstream, conn), daemon=True).start()
        _pump(conn, upstream)

    def reset(self):
        with self._lock:
            live, self._live = self._live, []
        for conn, upstream in live:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST
            # shutdown wakes the pumps' recv (a close alone would wait for them); then the close resets.
            for sock, how in ((conn, socket.SHUT_RD), (upstream, socket.SHUT_RDWR)):
                try:
                    sock.shutdown(how)
                except OSError:
                    pass
            conn.close()
            upstream.close()
        return len(live)

    def close(self):
        self.server.close()
        self.reset()


def _pump(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass


class Watchdog:
    """Runs calls on a worker thread and fails the test, with every thread's stack, when one does not return
    within HANG seconds (so a hang fails fast instead of hanging the suite)."""

    def __init__(self):
        self.calling = None  # (what, since) while a call runs
        self.longest = 0.0
        self.calls = 0

    def call(self, what, function, *args):
        started = time.monotonic()
        self.calling = (what, started)
        try:
            return function(*args)
        finally:
            self.calling = None
            self.calls += 1
            self.longest = max(self.longest, time.monotonic() - started)

    def check(self):
        calling = self.calling
        if calling is not None and time.monotonic() - calling[1] > HANG:
            faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
            pytest.fail(f"{calling[0]} has not returned in {HANG:g} s: hung (stacks on stderr)")

    def run_alone(self, what, function, *args):
        """Call on a thread of its own; wait for it, failing at HANG."""
        worker = threading.Thread(target=self.call, args=(what, function, *args), daemon=True)
        worker.start()
        while worker.is_alive():
            self.check()
            worker.join(0.05)


def household(port, people=("Nick", "Susan"), host="127.0.0.1", **mqtt):
    raw = make_config(mqtt={"host": host, "port": port, "username": "presence", **mqtt})
    raw["people"] = [{"name": name} for name in people]
    return parse_config(raw)


def snapshot(*home):
    people = tuple(PersonStatus(key, key in home, key in home, False, int(key in home)) for key in ("nick", "susan"))
    return Snapshot(at=time.time(), people=people, devices_present_count=len(home))


def wait_until(predicate, timeout=10, watchdog=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if watchdog is not None:
            watchdog.check()
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout} s")


@pytest.fixture
def broker(tmp_path):
    from testbed.carbon import require
    from testbed.mosquitto import Mosquitto, mosquitto_unavailable_reason

    require(mosquitto_unavailable_reason())
    broker = Mosquitto(tmp_path / "broker").start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.mark.lab  # a real broker
@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_resets_in_a_publish_burst_never_hang_a_call_and_the_broker_ends_with_the_latest(broker, tls, monkeypatch):
    monkeypatch.setattr(defaults, "MQTT_MAX_RECONNECT_DELAY", 0.2)  # about a second a reset, not doubling
    proxy = ResettingProxy(broker.tls_port if tls else broker.port)
    tls_keys = {"tls": True, "ca_file": broker.ca_file} if tls else {}
    small, large = household(proxy.port, **tls_keys), household(proxy.port, ("Nick", "Susan", "Tom"), **tls_keys)
    presence = MqttPublisher(small, "presence-pw").start()
    watchdog, stop = Watchdog(), threading.Event()

    def burst():
        for i, home in enumerate(itertools.cycle([("nick",), ("susan",), ("nick", "susan"), ()])):
            if stop.is_set():
                return
            watchdog.call("publish", presence.publish, snapshot(*home), State())
            if i % 97 == 0:  # at SIGHUP, now and then, during the burst
                watchdog.call("reconfigure", presence.reconfigure, large if i % 2 else small)

    publishing = threading.Thread(target=burst, daemon=True)
    publishing.start()
    try:
        for done in range(RESETS):
            wait_until(lambda: proxy.accepted > done and presence.problem() is None, 3 * HANG, watchdog)
            time.sleep(0.05 * (done % 5))  # reset at different points of the burst
            watchdog.check()
            proxy.reset()
        stop.set()
        while publishing.is_alive():
            watchdog.check()
            publishing.join(0.05)
        watchdog.run_alone("reconfigure", presence.reconfigure, small)
        watchdog.run_alone("publish", presence.publish, snapshot("susan"), State())
        assert watchdog.calls > RESETS * 10, "the burst hardly published"
        expected = {"presence/person/nick/state": b"not_home", "presence/person/susan/state": b"home",
                    "presence/count_home": b"1", "presence/anyone_home": b"ON", "presence/status": b"online"}
        with broker.subscriber(user="homeassistant", tls=tls) as home_assistant:
            # The burst's own last values may already match `expected` while the final reconfigure and
            # publish are still in the outbox (reconnecting after the last reset): wait for the whole end state.
            tom = "homeassistant/device_tracker/presence/tom/config"  # removed by the last reconfigure
            wait_until(lambda: expected.items() <= home_assistant.retained().items()
                       and tom not in home_assistant.retained(), timeout=15, watchdog=watchdog)
            held = home_assistant.retained()
        assert "homeassistant/device_tracker/presence/susan/config" in held
        assert tom not in held and expected.items() <= held.items()
        started = time.monotonic()
        watchdog.run_alone("close", presence.close, 1.0)
        assert time.monotonic() - started < HANG
        print(f"{watchdog.calls} calls, the longest {watchdog.longest * 1000:.1f} ms, close "
              f"{(time.monotonic() - started) * 1000:.0f} ms")
    finally:
        stop.set()
        proxy.close()


def _slow_lookup(monkeypatch, host, answer):
    """socket.getaddrinfo, with `host` looked up only when `answer` (an Event) is set, as 127.0.0.1."""
    real, asked = socket.getaddrinfo, threading.Event()

    def getaddrinfo(name, port, *args, **kwargs):
        if name != host:
            return real(name, port, *args, **kwargs)
        asked.set()
        answer.wait()
        return real("127.0.0.1", port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_name_lookup_that_never_answers_is_given_up_at_the_deadline_and_said(monkeypatch, caplog):
    monkeypatch.setattr(defaults, "MQTT_TIMEOUT", 0.3)
    never = threading.Event()
    asked = _slow_lookup(monkeypatch, "stuck.broker.test", never)
    presence = MqttPublisher(household(1883, host="stuck.broker.test"), "presence-pw").start()
    watchdog = Watchdog()
    try:
        assert asked.wait(HANG)
        wait_until(lambda: presence.problem() is not None, timeout=HANG, watchdog=watchdog)
        assert "cannot resolve mqtt.host 'stuck.broker.test': no answer within 0.3 s" in presence.problem()
        watchdog.run_alone("publish", presence.publish, snapshot("nick"), State())
        watchdog.run_alone("close", presence.close, 0.5)
    finally:
        never.set()


def test_a_broker_that_speaks_only_mqtt_3_1_1_is_spoken_to_in_it_and_said_once(caplog):
    caplog.set_level(logging.INFO)
    server, levels = listen(), []

    def old_broker(conn):  # what mosquitto 1.5 answers: CONNACK 1 (unacceptable protocol version) to MQTT 5
        with conn:
            try:
                packet = conn.recv(65536)
                level = packet[packet.index(b"MQTT") + 4]
                levels.append(level)
                conn.sendall(b"\x20\x02\x00" + (b"\x01" if level == 5 else b"\x00"))
                while level == 4 and conn.recv(65536):
                    pass
            except (OSError, ValueError):
                pass

    serve(server, old_broker)
    presence = MqttPublisher(household(server.getsockname()[1]), "presence-pw").start()
    try:
        wait_until(lambda: len(levels) >= 2, timeout=HANG)
        wait_until(lambda: "connected to" in caplog.text, timeout=HANG)
        assert levels == [5, 4]
        assert presence.problem() is None
        said = [r.getMessage() for r in caplog.records if "speaks only MQTT 3.1.1" in r.getMessage()]
        assert len(said) == 1 and "its max_packet_size bounds what we read" in said[0]
    finally:
        presence.close(0.5)
        server.close()


@pytest.mark.lab  # a real broker
def test_a_close_during_a_slow_connect_returns_and_the_old_client_never_connects(broker, monkeypatch):
    answer = threading.Event()
    asked = _slow_lookup(monkeypatch, "slow.broker.test", answer)
    config = household(broker.port, host="slow.broker.test", client_id="presence-closed-while-connecting")
    presence = MqttPublisher(config, "presence-pw").start()
    watchdog = Watchdog()
    assert asked.wait(HANG)
    watchdog.run_alone("close", presence.close, 0.3)
    answer.set()  # the lookup answers after the close, within its deadline
    # Until the old client's thread has ended, or (as before) it connected after all.
    wait_until(lambda: not presence._thread.is_alive() or config.mqtt.client_id in broker.log_text(), timeout=HANG)
    with broker.subscriber(user="homeassistant") as home_assistant:
        time.sleep(0.5)
        assert "presence/status" not in home_assistant.retained()
    assert "presence-closed-while-connecting" not in broker.log_text()


@pytest.mark.lab  # a real broker
def test_an_oversized_retained_birth_is_dropped_and_said_once_across_reconnects(broker, caplog, monkeypatch):
    monkeypatch.setattr(defaults, "MQTT_MAX_RECONNECT_DELAY", 0.2)
    caplog.set_level(logging.INFO)
    proxy = ResettingProxy(broker.port)
    broker.publish("homeassistant/status", "online" + " " * 10_000, retain=True, user="homeassistant")
    presence = MqttPublisher(household(proxy.port, client_id="presence-oversized"), "presence-pw").start()
    sent = "Sending PUBLISH to presence-oversized (d0, q0, r1, m0, 'homeassistant/status'"
    try:
        for done in range(4):  # the first connection and three reconnects
            wait_until(lambda: proxy.accepted > done and presence.problem() is None)
            wait_until(lambda: broker.log_text().count(sent) > done)
            time.sleep(0.2)  # read and handled
            proxy.reset()
        said = [r for r in caplog.records if r.name == "presence.outputs.mqtt.publisher" and "status" in r.getMessage()]
        assert [(r.levelno, r.getMessage()) for r in said] == [
            (logging.WARNING, "MQTT: ignoring homeassistant/status: a message of 10006 bytes, more than the "
                              f"{defaults.MAX_MQTT_PAYLOAD} accepted (said once)")]
        assert "Home Assistant came online" not in caplog.text
    finally:
        presence.close()
        proxy.close()


@pytest.mark.lab  # a real broker
def test_a_retained_message_larger_than_our_maximum_packet_is_never_sent_to_us(broker, caplog):
    broker.publish("homeassistant/status", "x" * (defaults.MQTT_MAX_PACKET + 1), retain=True, user="homeassistant")
    presence = MqttPublisher(household(broker.port, client_id="presence-max-packet"), "presence-pw").start()
    try:
        with broker.subscriber("homeassistant/status", user="homeassistant") as home_assistant:
            assert len(home_assistant.retained()["homeassistant/status"]) == defaults.MQTT_MAX_PACKET + 1
        wait_until(lambda: presence.problem() is None and "presence-max-packet" in broker.log_text())
        # mosquitto says it (after its "Sending PUBLISH" line): the packet never left the broker.
        wait_until(lambda: "Dropping too large outgoing PUBLISH for presence-max-packet" in broker.log_text())
        time.sleep(0.3)
        assert not [r for r in caplog.records if r.name == "presence.outputs.mqtt.publisher" and "status" in r.getMessage()]
    finally:
        presence.close()


@pytest.mark.lab  # a real broker
def test_home_assistant_s_birth_calls_on_birth_after_the_republish_even_when_it_failed_before(broker, caplog):
    births = []

    def on_birth():
        births.append(time.monotonic())
        if len(births) == 1:
            raise RuntimeError("the hook's own trouble")

    presence = MqttPublisher(household(broker.port), "presence-pw", on_birth=on_birth).start()
    presence.publish(snapshot(), State())
    try:
        with broker.subscriber(user="homeassistant") as home_assistant:
            home_assistant.wait_for("presence/status", "online")
            home_assistant.publish("presence/person/nick/state", "", retain=True)  # as if lost
            home_assistant.publish("homeassistant/status", "online")
            wait_until(lambda: len(births) == 1)
            home_assistant.wait_for("presence/person/nick/state", "not_home")  # republished all the same
            assert "MQTT: on Home Assistant's birth: RuntimeError: the hook's own trouble" in caplog.text
            home_assistant.publish("homeassistant/status", "offline")
            home_assistant.publish("homeassistant/status", "online")
            wait_until(lambda: len(births) == 2)
    finally:
        presence.close()
