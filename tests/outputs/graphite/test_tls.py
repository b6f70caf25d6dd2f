"""graphite.tls: the files checked at start, each failure of a real OpenSSL handshake said as what it means,
and delivery over TLS confirmed only by the peer's TLS close."""

import logging
import os
import ssl
import time

import pytest

from presence.config.model import ConfigError, GraphiteTls
from presence.outputs.graphite.connection import ConnectionFailed, Resolver, open_connection
from presence.outputs.graphite.tls import TlsClient, certificate_problem, client_context, expires_in, key_file
from presence.clock import SystemClock
from testbed.certificates import Authority
from testbed.graphite_delivery import confirmed
from testbed.graphite_peers import Peer
from testbed.tls_peer import TlsPeer
from tests.outputs.graphite.senders import fast, tick, ticks


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    study, other = Authority(folder / "study"), Authority(folder / "other", "Another CA")
    return {"ca": study.cert, "relay": study.server(), "home": study.client("home"),
            "stranger": other.client("stranger"), "fake_relay": other.server(), "other_ca": other.cert}


def tls_of(pki, client="home", server_name=None, ca=None):
    cert, key = pki[client]
    return GraphiteTls(ca=ca or pki["ca"], cert=cert, key=key, server_name=server_name)


def connect(port, tls):
    clock = SystemClock()
    return open_connection(Resolver("127.0.0.1", port, clock), 1.0, 2.0, lambda: False, clock,
                           TlsClient(tls, "127.0.0.1", "cfg"))


def failure(port, tls):
    with pytest.raises(ConnectionFailed) as raised:
        connect(port, tls).close()
    return raised.value.reason


# The files, checked once when the sender is made: each problem names its key.

def test_a_key_others_can_read_is_refused_naming_the_key_and_the_fix(pki, tmp_path):
    cert, key = pki["home"]
    loose = tmp_path / "loose.key"
    loose.write_bytes(open(key, "rb").read())
    os.chmod(loose, 0o640)
    with pytest.raises(ConfigError) as raised:
        client_context(GraphiteTls(ca=pki["ca"], cert=cert, key=str(loose)), "cfg", environ={})
    assert "graphite.tls.key" in str(raised.value) and "0640" in str(raised.value)
    assert f"chmod 600 {loose}" in str(raised.value) and "graphite_tls_key" in str(raised.value)


def test_the_systemd_credential_holds_the_key_and_wins_over_the_path(pki, tmp_path):
    cert, key = pki["home"]
    (tmp_path / "graphite_tls_key").write_bytes(open(key, "rb").read())
    os.chmod(tmp_path / "graphite_tls_key", 0o400)
    tls = GraphiteTls(ca=pki["ca"], cert=cert, key=None)
    assert key_file(tls, "cfg", {"CREDENTIALS_DIRECTORY": str(tmp_path)}) == str(tmp_path / "graphite_tls_key")
    assert isinstance(client_context(tls, "cfg", {"CREDENTIALS_DIRECTORY": str(tmp_path)}), ssl.SSLContext)
    (tmp_path / "graphite_tls_key").write_bytes(b"")  # empty, as install.sh makes it: the path is used
    with pytest.raises(ConfigError, match="graphite.tls.key: missing"):
        key_file(tls, "cfg", {"CREDENTIALS_DIRECTORY": str(tmp_path)})


@pytest.mark.parametrize("case, expected", [
    ("missing ca", "graphite.tls.ca: cannot use"),
    ("ca not pem", "graphite.tls.ca: cannot use"),
    ("missing cert", "graphite.tls.cert:"),
    ("wrong key", "the key does not belong to the certificate"),
    ("passphrase", "protected by a passphrase"),
    ("missing key", "graphite.tls.key:"),
])
def test_unusable_files_are_named(pki, tmp_path, case, expected):
    cert, key = pki["home"]
    ca = pki["ca"]
    if case == "missing ca":
        ca = str(tmp_path / "nope.pem")
    elif case == "ca not pem":
        ca = str(tmp_path / "junk.pem")
        open(ca, "w").write("not a certificate\n")
    elif case == "missing cert":
        cert = str(tmp_path / "nope.pem")
    elif case == "wrong key":
        key = pki["stranger"][1]
    elif case == "passphrase":
        key = str(tmp_path / "locked.key")
        os.system(f"openssl ec -in {pki['home'][1]} -aes256 -passout pass:secret -out {key} 2>/dev/null")
        os.chmod(key, 0o600)
    elif case == "missing key":
        key = str(tmp_path / "nope.key")
    with pytest.raises(ConfigError) as raised:
        client_context(GraphiteTls(ca=ca, cert=cert, key=key), "cfg", environ={})
    assert expected in str(raised.value)
    assert "secret" not in str(raised.value)


def test_the_certificate_dates_are_read(pki):
    now = time.time()
    assert certificate_problem(pki["home"][0], now) is None
    assert 29 < expires_in(pki["home"][0], now) <= 30
    assert "expired on" in certificate_problem(pki["home"][0], now + 31 * 86400)
    assert "valid only from" in certificate_problem(pki["home"][0], now - 86400)


# Handshakes with a real OpenSSL server that asks for this home's certificate.

def test_a_home_the_study_signed_is_taken_and_verifies_the_relay(pki):
    peer = TlsPeer(pki["ca"], *pki["relay"])
    try:
        connection = connect(peer.port, tls_of(pki))
        assert connection.sock.version() in ("TLSv1.3", "TLSv1.2")
        connection.close()
    finally:
        peer.close()


@pytest.mark.parametrize("maximum", [None, ssl.TLSVersion.TLSv1_2])
def test_a_home_another_ca_signed_is_told_the_relay_refused_it(pki, maximum):
    peer = TlsPeer(pki["ca"], *pki["relay"], maximum=maximum)
    try:
        reason = failure(peer.port, tls_of(pki, "stranger", ca=pki["ca"]))
        assert reason.startswith("the relay refused this home's certificate")
        assert pki["stranger"][0] in reason
    finally:
        peer.close()


def test_a_relay_the_study_did_not_sign_is_refused_naming_graphite_tls_ca(pki):
    peer = TlsPeer(pki["ca"], *pki["fake_relay"])
    try:
        reason = failure(peer.port, tls_of(pki))
        assert reason == f"the relay's certificate is not signed by graphite.tls.ca ({pki['ca']})"
    finally:
        peer.close()


def test_a_relay_certificate_for_another_name_says_which_key_to_set(pki):
    peer = TlsPeer(pki["ca"], *pki["relay"])
    try:
        reason = failure(peer.port, tls_of(pki, server_name="relay.elsewhere"))
        assert "is not for relay.elsewhere" in reason and "graphite.tls.server_name" in reason
    finally:
        peer.close()


def test_a_plaintext_carbon_port_is_said_to_be_one(pki):
    peer = Peer("reader")
    try:
        assert "a plaintext carbon port" in failure(peer.port, tls_of(pki))
    finally:
        peer.close()


# Delivery over TLS: only the peer's TLS close after ours confirms.

def test_the_sender_delivers_over_tls_and_is_confirmed_by_the_relays_close(pki):
    peer = TlsPeer(pki["ca"], *pki["relay"])
    sender = fast(peer.port, tls=TlsClient(tls_of(pki), "127.0.0.1", "cfg"), confirm_timeout=2.0)
    try:
        for i in range(5):
            sender.send(tick(i))
        assert confirmed(sender)
    finally:
        sender.close()
        peer.close()
    # At least once, in order: a confirmation late on a loaded machine sends the same ticks again.
    data = peer.data()
    assert data.startswith(ticks(range(5))) and set(data.splitlines()) == set(ticks(range(5)).splitlines())


def test_a_close_without_a_tls_close_is_no_confirmation(pki):
    peer = TlsPeer(pki["ca"], *pki["relay"], mode="ragged")
    sender = fast(peer.port, tls=TlsClient(tls_of(pki), "127.0.0.1", "cfg"))
    try:
        sender.send(tick(0))
        assert not confirmed(sender, timeout=1.5)
        assert len(sender.memory) == 1 and "Graphite 127.0.0.1" in sender.problem()
    finally:
        sender.close(timeout=0.5)
        peer.close()


def test_a_refused_home_is_said_once_and_keeps_its_ticks(pki, caplog):
    peer = TlsPeer(pki["ca"], *pki["relay"])
    sender = fast(peer.port, tls=TlsClient(tls_of(pki, "stranger"), "127.0.0.1", "cfg"))
    try:
        with caplog.at_level(logging.WARNING):
            for i in range(3):
                sender.send(tick(i))
            assert not confirmed(sender, timeout=1.5)
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len([w for w in warnings if "refused this home's certificate" in w]) == 1, warnings
        assert "refusing this home's certificate" in sender.problem() and len(sender.memory) == 3
    finally:
        sender.close(timeout=0.5)
        peer.close()


def test_a_tcp_end_without_a_tls_close_is_never_taken_for_one(pki):
    """Debian's Python ignores unexpected EOFs by default: then a dead relay's drop would read as its close."""
    cert, key = pki["home"]
    context = client_context(GraphiteTls(ca=pki["ca"], cert=cert, key=key), "cfg", environ={})
    assert not context.options & ssl.OP_IGNORE_UNEXPECTED_EOF
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2 and context.verify_mode == ssl.CERT_REQUIRED
