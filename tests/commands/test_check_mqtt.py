"""`check`'s mqtt line without a broker: a dead port, a missing password or CA file, and what a real mosquitto
cannot be made to do, played by a scripted MQTT peer on 127.0.0.1 (a broker that speaks only 3.1.1, refuses for a
reason other than the login, refuses every publish, never acknowledges one, or stays silent). Against a real
broker: test_check_mqtt_broker.py."""

import threading

import pytest

from presence.commands.check_mqtt import probe_broker
from presence.config import defaults
from presence.config.load import parse_config
from testbed.loopback import listen, serve
from tests.conftest import make_config
from tests.outputs.graphite.senders import closed_port

PASSWORD = "presence-pw-3f9a"
# CONNACK and PUBACK reason codes (MQTT 5, and 3.1.1's CONNACK return codes).
ACCEPTED, UNACCEPTABLE_PROTOCOL_311, NOT_AUTHORIZED_311 = 0, 1, 5
NOT_AUTHORIZED, SERVER_UNAVAILABLE, UNSUPPORTED_PROTOCOL = 0x87, 0x88, 0x84
SILENT = None
# The scripted peer's short deadline: how long a test waits for an answer that never comes.
SHORT_TIMEOUT = 0.2


def household(port, **mqtt):
    return parse_config(make_config(mqtt={"host": "127.0.0.1", "port": port, **mqtt}))


class ScriptedPeer:
    """A TCP server on a free 127.0.0.1 port that speaks just enough MQTT: it answers each CONNECT with
    `connack(level)` (SILENT: no answer) and each QoS 1 PUBLISH with `puback(topic)` (SILENT: no PUBACK),
    and keeps what it was sent."""

    def __init__(self, connack=lambda level: ACCEPTED, puback=lambda topic: ACCEPTED):
        self.connack, self.puback = connack, puback
        self.connects, self.publishes = [], []
        self._lock = threading.Lock()
        self.server = listen()
        self.port = self.server.getsockname()[1]
        serve(self.server, self._talk)

    def close(self):
        self.server.close()

    def _talk(self, conn):
        with conn:
            try:
                level = None
                while (packet := _read_packet(conn)) is not None:
                    kind, flags, body = packet
                    if kind == 1:
                        level = self._on_connect(conn, body)
                    elif kind == 3:
                        self._on_publish(conn, level, flags, body)
                    elif kind == 14:
                        return
            except OSError:
                pass

    def _on_connect(self, conn, body):
        connect = _parse_connect(body)
        with self._lock:
            self.connects.append(connect)
        code = self.connack(connect["level"])
        if code is not SILENT:
            # An old broker answers an MQTT 5 CONNECT in 3.1.1's form: no properties.
            modern = connect["level"] == 5 and code != UNACCEPTABLE_PROTOCOL_311
            conn.sendall(b"\x20\x03\x00" + bytes([code]) + b"\x00" if modern else b"\x20\x02\x00" + bytes([code]))
        return connect["level"]

    def _on_publish(self, conn, level, flags, body):
        size = int.from_bytes(body[:2], "big")
        topic, rest = body[2:2 + size].decode(), body[2 + size:]
        qos, retain = (flags >> 1) & 3, bool(flags & 1)
        packet_id, rest = rest[:2], rest[2:]
        if level == 5:
            skip, used = _varint(rest)
            rest = rest[used + skip:]
        with self._lock:
            self.publishes.append((topic, qos, retain, rest))
        code = self.puback(topic)
        if code is not SILENT:
            conn.sendall(b"\x40\x03" + packet_id + bytes([code]) if level == 5 else b"\x40\x02" + packet_id)


def _read_exactly(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _read_packet(conn):
    """(type, flags, body) of the next MQTT packet, or None at the end of the stream."""
    first = _read_exactly(conn, 1)
    if first is None:
        return None
    length, shift = 0, 0
    while True:
        byte = _read_exactly(conn, 1)
        if byte is None:
            return None
        length |= (byte[0] & 0x7f) << shift
        shift += 7
        if not byte[0] & 0x80:
            break
    body = _read_exactly(conn, length) if length else b""
    return None if body is None else (first[0] >> 4, first[0] & 0x0f, body)


def _varint(data):
    """(value, bytes used) of an MQTT variable byte integer at the start of `data`."""
    value = 0
    for used, byte in enumerate(data[:4]):
        value |= (byte & 0x7f) << (7 * used)
        if not byte & 0x80:
            return value, used + 1
    raise ValueError("malformed variable byte integer")


def _parse_connect(body):
    """The protocol level, client id, user name and password of a CONNECT (no will: the check sets none)."""
    name_size = int.from_bytes(body[:2], "big")
    at = 2 + name_size
    level, flags = body[at], body[at + 1]
    at += 4  # level, flags, keepalive
    if level == 5:
        skip, used = _varint(body[at:])
        at += used + skip

    def field():
        nonlocal at
        size = int.from_bytes(body[at:at + 2], "big")
        value = body[at + 2:at + 2 + size].decode()
        at += 2 + size
        return value

    client = field()
    user = field() if flags & 0x80 else None
    password = field() if flags & 0x40 else None
    return {"level": level, "client_id": client, "username": user, "password": password}


@pytest.fixture
def peer():
    made = []

    def make(**script):
        made.append(ScriptedPeer(**script))
        return made[-1]

    yield make
    for one in made:
        one.close()


def test_a_dead_port_is_said_as_the_address_that_refused():
    port = closed_port()
    assert probe_broker(household(port), {}) == (False, f"cannot reach 127.0.0.1:{port}: Connection refused")


def test_a_missing_password_is_the_config_problem_and_nothing_is_tried(peer):
    broker = peer()
    assert probe_broker(household(broker.port, username="presence"), {}) == (False, (
        "mqtt.password_env: the environment variable MQTT_PASSWORD is empty or not set, and there is no systemd "
        "credential 'mqtt_password'; provide the broker password of mqtt.username"))
    assert broker.connects == []


def test_a_ca_file_that_cannot_be_read_is_named_by_its_key(tmp_path):
    missing = tmp_path / "home-ca.pem"
    ok, text = probe_broker(household(closed_port(), ca_file=str(missing)), {})
    assert not ok and text == f"mqtt.ca_file: cannot use {missing} as CA certificates: No such file or directory"


def test_an_anonymous_broker_under_other_topics_is_said_so(peer):
    broker = peer()
    ok, text = probe_broker(household(broker.port, discovery_prefix="ha", base_topic="home/who"), {})
    assert ok and text == (f"connected to 127.0.0.1:{broker.port} anonymously; may publish under ha/ (discovery) "
                           "and home/who/")
    assert [topic for topic, *_ in broker.publishes] == ["ha/home_who/check", "home/who/check"]
    assert broker.connects[0]["username"] is None


def test_a_refusal_that_is_not_about_the_login_has_no_login_hint(peer):
    broker = peer(connack=lambda level: SERVER_UNAVAILABLE)
    ok, text = probe_broker(household(broker.port), {})
    assert not ok and text == f"127.0.0.1:{broker.port} refused the connection: Server unavailable"


def test_every_refused_publish_is_listed(peer):
    broker = peer(puback=lambda topic: NOT_AUTHORIZED)
    ok, text = probe_broker(household(broker.port), {})
    assert not ok and "may not publish to homeassistant/presence/check (Not authorized), presence/check (Not " \
                      "authorized): allow" in text


@pytest.mark.parametrize("refusal", [UNACCEPTABLE_PROTOCOL_311, UNSUPPORTED_PROTOCOL])
def test_a_broker_that_speaks_only_3_1_1_is_checked_in_it_and_said_to_be_unable_to_refuse_a_publish(peer, refusal):
    broker = peer(connack=lambda level: refusal if level == 5 else ACCEPTED)
    ok, text = probe_broker(household(broker.port, username="presence"), {"MQTT_PASSWORD": PASSWORD})
    assert ok, text
    assert text == (f"connected to 127.0.0.1:{broker.port} as presence; may publish under homeassistant/ "
                    "(discovery) and presence/; the broker speaks only MQTT 3.1.1, which cannot say whether a "
                    "publish was refused")
    assert [connect["level"] for connect in broker.connects] == [5, 4]


def test_a_3_1_1_broker_that_then_refuses_the_login_says_only_the_refusal(peer):
    broker = peer(connack=lambda level: UNACCEPTABLE_PROTOCOL_311 if level == 5 else NOT_AUTHORIZED_311)
    ok, text = probe_broker(household(broker.port, username="presence"), {"MQTT_PASSWORD": PASSWORD})
    assert not ok and text == (f"127.0.0.1:{broker.port} refused the connection: Not authorized (check "
                               "mqtt.username and the password)")


def test_a_peer_that_takes_tcp_but_never_answers_mqtt_may_want_tls(peer, monkeypatch):
    monkeypatch.setattr(defaults, "MQTT_TIMEOUT", SHORT_TIMEOUT)
    broker = peer(connack=lambda level: SILENT)
    ok, text = probe_broker(household(broker.port), {})
    assert not ok and text == (f"127.0.0.1:{broker.port} accepted TCP but did not answer MQTT within "
                               f"{SHORT_TIMEOUT:g} s (does it expect TLS there? mqtt.tls, mqtt.port)")


def test_a_publish_never_acknowledged_is_named_by_its_topic(peer, monkeypatch):
    monkeypatch.setattr(defaults, "MQTT_TIMEOUT", SHORT_TIMEOUT)
    broker = peer(puback=lambda topic: SILENT)
    ok, text = probe_broker(household(broker.port), {})
    assert not ok and text == (f"127.0.0.1:{broker.port} did not acknowledge a publish to "
                               f"homeassistant/presence/check within {SHORT_TIMEOUT:g} s")


def test_without_environ_the_password_comes_from_the_process_environment(peer, monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.setenv("MQTT_PASSWORD", PASSWORD)
    broker = peer()
    ok, text = probe_broker(household(broker.port, username="presence"))
    assert ok, text
    assert broker.connects[0]["password"] == PASSWORD
