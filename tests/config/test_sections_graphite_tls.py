"""The `graphite.tls` section: what it holds, and every mistake named by its key."""

import pytest

from presence.config.load import parse_config
from presence.config.model import ConfigError, GraphiteTls
from tests.conftest import make_config


def graphite(**section):
    return parse_config(make_config(graphite=section)).graphite


def problems(**section):
    with pytest.raises(ConfigError) as caught:
        parse_config(make_config(graphite=section))
    return caught.value.problems


def test_no_tls_section_is_plaintext():
    assert graphite(host="carbon.lan").tls is None


def test_the_files_and_the_server_name_are_kept():
    section = graphite(host="203.0.113.5", port=2004, prefix="study.h17.presence",
                       tls={"ca": "/etc/ca.pem", "cert": "/etc/h17.pem", "key": "/etc/h17.key",
                            "server_name": "relay.study.example"})
    assert section.tls == GraphiteTls(ca="/etc/ca.pem", cert="/etc/h17.pem", key="/etc/h17.key",
                                      server_name="relay.study.example")
    assert section.prefix == "study.h17.presence" and section.port == 2004


def test_the_key_may_come_from_the_credential_instead():
    assert graphite(host="r", tls={"ca": "/c", "cert": "/h"}).tls.key is None


@pytest.mark.parametrize("tls, expected", [
    ({"cert": "/h", "key": "/k"}, "graphite.tls.ca: missing"),
    ({"ca": "/c", "key": "/k"}, "graphite.tls.cert: missing"),
    ({"ca": "/c", "cert": "/h", "verify": False}, "graphite.tls.verify: unknown key"),
    ({"ca": 5, "cert": "/h"}, "graphite.tls.ca"),
    ({"ca": "/c", "cert": "/h", "server_name": "a b"}, "graphite.tls.server_name"),
    ("yes", "graphite.tls"),
])
def test_mistakes_name_their_key(tls, expected):
    found = problems(host="relay", tls=tls)
    assert any(problem.startswith(expected) for problem in found), found


def test_tls_without_a_host_says_to_name_the_relay():
    assert any("graphite.host is not" in problem for problem in problems(tls={"ca": "/c", "cert": "/h"}))
