"""`check`'s graphite line with graphite.tls, against a real OpenSSL server that asks for this home's
certificate: OK with the TLS version, or FAIL with what is wrong, naming the file."""

import time

import pytest

from presence.commands.check import Outcome, check_graphite
from presence.config.load import parse_config
from testbed.certificates import Authority
from testbed.tls_peer import TlsPeer
from tests.conftest import make_config


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    study, other = Authority(folder / "study"), Authority(folder / "other", "Another CA")
    peer = TlsPeer(study.cert, *study.server())
    yield {"ca": study.cert, "home": study.client("home"), "stranger": other.client("stranger"), "port": peer.port}
    peer.close()


def config(pki, client="home", port=None):
    cert, key = pki[client]
    return parse_config(make_config(graphite={"host": "127.0.0.1", "port": port or pki["port"],
                                              "tls": {"ca": pki["ca"], "cert": cert, "key": key}}))


def test_a_home_the_relay_takes_is_ok_with_its_tls_version(pki):
    result = check_graphite(config(pki))
    assert result.outcome is Outcome.OK, result.text
    assert "TLSv1." in result.text and "verified against graphite.tls.ca" in result.text


def test_a_certificate_close_to_its_end_is_a_warning(pki):
    result = check_graphite(config(pki), now=time.time() + 25 * 86400)
    assert result.outcome is Outcome.WARN and "expires in" in result.text


def test_an_expired_certificate_fails_before_any_connection(pki):
    result = check_graphite(config(pki), now=time.time() + 40 * 86400)
    assert result.outcome is Outcome.FAIL and "expired on" in result.text


def test_a_home_the_relay_refuses_fails_naming_the_certificate(pki):
    result = check_graphite(config(pki, "stranger"))
    assert result.outcome is Outcome.FAIL
    assert "the relay refused this home's certificate" in result.text and pki["stranger"][0] in result.text


def test_a_key_others_can_read_fails_naming_the_key(pki, tmp_path):
    cert, key = pki["home"]
    loose = tmp_path / "home.key"
    loose.write_bytes(open(key, "rb").read())
    loose.chmod(0o644)
    settings = make_config(graphite={"host": "127.0.0.1", "port": pki["port"],
                                     "tls": {"ca": pki["ca"], "cert": cert, "key": str(loose)}})
    result = check_graphite(parse_config(settings))
    assert result.outcome is Outcome.FAIL and result.text.startswith("graphite.tls.key:")
