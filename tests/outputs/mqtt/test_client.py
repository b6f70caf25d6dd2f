"""The paho client as the daemon makes it, without a broker: its id, credentials and TLS, what its failures
mean in the words of the config, and a connect that sends nothing once told to give up."""

import errno
import shutil
import socket
import ssl
import subprocess

import paho.mqtt.client as paho
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from presence.config import defaults
from presence.config.model import ConfigError, MqttConfig
from presence.net import web
from presence.outputs.mqtt import client as mqtt_client
from presence.outputs.mqtt.client import (LookupFailed, client_id, connect_problem, connect_properties, make_client,
                                          refusal)
from testbed.loopback import listen
from tests.outputs.graphite.senders import closed_port

PLAIN = MqttConfig(host="broker.lan")
TLS = MqttConfig(host="broker.lan", port=8883, tls=True)


def test_a_configured_client_id_is_used_as_it_is(monkeypatch):
    monkeypatch.setattr(socket, "gethostname", lambda: "kitchen-pi")
    assert client_id(MqttConfig(host="b", client_id="presence.upstairs")) == "presence.upstairs"


def test_the_default_client_id_is_the_prefix_and_the_host_name_within_64_characters(monkeypatch):
    monkeypatch.setattr(socket, "gethostname", lambda: "kitchen-pi")
    assert client_id(PLAIN) == "presence-kitchen-pi"
    monkeypatch.setattr(socket, "gethostname", lambda: "h" * 100)
    assert client_id(PLAIN) == ("presence-" + "h" * 100)[:64] and len(client_id(PLAIN)) == 64


def test_a_client_without_a_username_sends_no_credentials_and_does_not_reconnect_by_itself():
    client = make_client(PLAIN, "ignored", "presence-test", "/etc/presence.yaml")
    assert client.username is None and client.password is None
    assert client.connect_timeout == defaults.MQTT_TIMEOUT and client.protocol == paho.MQTTv311
    assert client._reconnect_on_failure is False and client._client_id == b"presence-test"
    assert not client._ssl


def test_a_client_with_a_username_sends_it_with_the_password():
    client = make_client(MqttConfig(host="b", username="presence"), "s3cret", "id", "/etc/presence.yaml",
                         protocol=paho.MQTTv5)
    assert (client.username, client.password) == ("presence", "s3cret") and client.protocol == paho.MQTTv5


def test_tls_checks_the_certificate_and_the_host_name_by_default():
    client = make_client(TLS, None, "id", "/etc/presence.yaml")
    context = client._ssl_context
    assert client._ssl and context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_tls_without_verification_checks_neither_certificate_nor_host_name():
    client = make_client(MqttConfig(host="b", tls=True, verify_tls=False), None, "id", "/etc/presence.yaml")
    context = client._ssl_context
    assert client._ssl and context.verify_mode == ssl.CERT_NONE and not context.check_hostname


@pytest.fixture
def one_ca(tmp_path):
    """A file holding one CA certificate, made for the test by openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command makes the CA (apt-get install openssl)")
    path = tmp_path / "ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(tmp_path / "ca.key"), "-out", str(path), "-days", "1",
                    "-subj", "/CN=presence test CA"], check=True, capture_output=True)
    return str(path)


def test_a_ca_file_is_the_only_ca_trusted(one_ca):
    client = make_client(MqttConfig(host="b", tls=True, ca_file=one_ca), None, "id", "/etc/presence.yaml")
    assert len(client._ssl_context.get_ca_certs()) == 1


def test_a_missing_ca_file_is_a_config_error_naming_the_key_and_the_file(tmp_path):
    missing = str(tmp_path / "nowhere.pem")
    with pytest.raises(ConfigError) as raised:
        make_client(MqttConfig(host="b", tls=True, ca_file=missing), None, "id", "/etc/presence.yaml")
    assert raised.value.source == "/etc/presence.yaml"
    assert raised.value.problems == [f"mqtt.ca_file: cannot use {missing} as CA certificates: "
                                     "No such file or directory"]


def test_a_ca_file_that_holds_no_certificate_is_a_config_error(tmp_path):
    garbage = tmp_path / "ca.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigError) as raised:
        make_client(MqttConfig(host="b", tls=True, ca_file=str(garbage)), None, "id", "/etc/presence.yaml")
    [problem] = raised.value.problems
    assert problem.startswith(f"mqtt.ca_file: cannot use {garbage} as CA certificates: ")
    assert len(problem) > len(f"mqtt.ca_file: cannot use {garbage} as CA certificates: ")


def test_mqtt_5_asks_the_broker_to_keep_large_packets_to_itself_and_3_1_1_cannot():
    properties = connect_properties(paho.MQTTv5)
    assert properties.packetType == PacketTypes.CONNECT
    assert properties.MaximumPacketSize == defaults.MQTT_MAX_PACKET
    assert connect_properties(paho.MQTTv311) is None


@pytest.mark.parametrize("name", ["Not authorized", "Bad user name or password"])
def test_a_refused_login_says_to_check_the_username_and_password(name):
    assert refusal("broker.lan:8883", ReasonCode(PacketTypes.CONNACK, name)) == (
        f"broker.lan:8883 refused the connection: {name} (check mqtt.username and the password)")


@pytest.mark.parametrize("name", ["Server unavailable", "Client identifier not valid", "Banned"])
def test_another_refusal_is_said_without_the_login_hint(name):
    assert refusal("broker.lan:1883", ReasonCode(PacketTypes.CONNACK, name)) == (
        f"broker.lan:1883 refused the connection: {name}")


def untrusted():
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_message = "self-signed certificate"
    return error


def test_an_untrusted_certificate_says_to_set_the_ca_file():
    assert connect_problem(TLS, untrusted()) == ("the TLS certificate of broker.lan:8883 is not trusted "
                                                 "(self-signed certificate): set mqtt.ca_file to the CA that "
                                                 "signed it")


def test_an_untrusted_certificate_with_a_ca_file_says_that_ca_did_not_sign_it():
    mqtt = MqttConfig(host="broker.lan", port=8883, tls=True, ca_file="/etc/presence/ca.pem")
    assert connect_problem(mqtt, untrusted()).endswith(
        "(self-signed certificate): mqtt.ca_file (/etc/presence/ca.pem) did not sign it")


def wrong_version():
    error = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    error.reason = "WRONG_VERSION_NUMBER"
    return error


@pytest.mark.parametrize("error, reason", [
    (wrong_version(), "WRONG_VERSION_NUMBER"),
    (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), "Connection reset by peer"),
    (EOFError(), "the connection was closed")])
def test_a_failed_tls_handshake_asks_whether_the_port_speaks_tls(error, reason):
    assert connect_problem(TLS, error) == (f"TLS with broker.lan:8883 failed ({reason}): does it speak TLS on "
                                           "that port (mqtt.tls, mqtt.port)?")


def test_a_reset_without_tls_is_only_a_connection_that_failed():
    error = ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
    assert connect_problem(PLAIN, error) == "cannot reach broker.lan:1883: Connection reset by peer"


def test_a_name_that_does_not_resolve_names_mqtt_host():
    assert connect_problem(PLAIN, LookupFailed("Name or service not known")) == (
        "cannot resolve mqtt.host 'broker.lan': Name or service not known")
    assert connect_problem(PLAIN, socket.gaierror(socket.EAI_NONAME, "Name or service not known")) == (
        "cannot resolve mqtt.host 'broker.lan': Name or service not known")


@pytest.mark.parametrize("error", [TimeoutError("timed out"), socket.timeout("timed out")])
def test_a_timeout_says_how_long_it_waited(error):
    assert connect_problem(PLAIN, error) == "cannot reach broker.lan:1883: no answer within 5 s"


def test_any_other_failure_is_said_by_its_reason():
    refused = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    assert connect_problem(PLAIN, refused) == "cannot reach broker.lan:1883: Connection refused"
    assert connect_problem(PLAIN, ValueError("Invalid host.")) == "cannot reach broker.lan:1883: Invalid host."


@pytest.fixture
def listener():
    server = listen()
    server.settimeout(5)
    yield server
    server.close()


def received(server):
    conn, _ = server.accept()
    conn.settimeout(5)
    with conn:
        data = b""
        while chunk := conn.recv(4096):
            data += chunk
        return data


def test_a_connect_sends_connect_unless_told_to_give_up_once_the_socket_is_made(listener):
    port = listener.getsockname()[1]
    client = make_client(PLAIN, None, "presence-test", "/etc/presence.yaml")
    client.give_up = lambda: True
    with pytest.raises(ConnectionAbortedError, match="closed while connecting"):
        client.connect("127.0.0.1", port)
    assert received(listener) == b""
    client = make_client(PLAIN, None, "presence-test", "/etc/presence.yaml")
    client.connect("127.0.0.1", port)
    client.socket().close()
    sent = received(listener)
    assert sent[0] == 0x10 and b"presence-test" in sent  # a CONNECT packet, with our id


def test_a_refused_tcp_connect_is_raised_as_it_is():
    with pytest.raises(ConnectionRefusedError):
        make_client(PLAIN, None, "id", "/etc/presence.yaml").connect("127.0.0.1", closed_port())


@pytest.mark.parametrize("raised, expected, text", [
    (web.WebError("cannot resolve broker.lan: Name or service not known"), LookupFailed,
     "Name or service not known"),
    (web.Timeout("Timeout: the name broker.lan did not resolve within 5 s"), LookupFailed, "no answer within 5 s"),
    (web.Timeout("Timeout: no complete answer within 5 s"), TimeoutError, "Timeout: no complete answer within 5 s")])
def test_a_lookup_or_connect_that_fails_is_raised_as_what_connect_problem_understands(monkeypatch, raised,
                                                                                       expected, text):
    def failing(host, port, deadline):
        raise raised

    monkeypatch.setattr(mqtt_client.web, "connect", failing)
    with pytest.raises(expected) as caught:
        make_client(PLAIN, None, "id", "/etc/presence.yaml").connect("broker.lan", 1883)
    assert str(caught.value) == text


def test_a_tcp_connect_ended_by_the_deadline_is_a_timeout(monkeypatch):
    def shut_down_at_the_deadline(host, port, deadline):
        deadline.expired = True
        raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")

    monkeypatch.setattr(mqtt_client.web, "connect", shut_down_at_the_deadline)
    with pytest.raises(TimeoutError, match="no answer within 5 s"):
        make_client(PLAIN, None, "id", "/etc/presence.yaml").connect("broker.lan", 1883)
