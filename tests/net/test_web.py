"""The HTTP client against real sockets on loopback: peers that trickle, stay silent, send too much or lie.

The timeouts are a second or two; a peer that "stalls for minutes" is the same peer cut shorter,
since the bound is the deadline, not the peer. `< timeout + 3 s` is a correctness bound.
"""

import base64
import socket

import pytest

from presence.net import web
from testbed.hostile_http import (HostileServer, answers, bounded, endless_body, self_signed, silent,
                                  tls_server_context, trickle_body, trickle_headers)

TIMEOUT = 1.0
LIMIT = TIMEOUT + 3


@pytest.mark.parametrize("behaviour", [trickle_headers(), trickle_body(), silent()],
                         ids=["trickling headers", "trickling body", "silent"])
@pytest.mark.lab
def test_a_peer_that_trickles_or_says_nothing_ends_at_the_deadline(behaviour):
    with HostileServer(behaviour) as server:
        with pytest.raises(web.Timeout) as caught:
            bounded(LIMIT, web.get, server.url + "/api/", TIMEOUT, 1_000_000)
    assert str(caught.value) == "Timeout: no complete answer within 1 s"


@pytest.mark.lab
def test_a_tls_handshake_that_never_comes_ends_at_the_deadline():
    with HostileServer(silent()) as server:
        with pytest.raises(web.Timeout):
            bounded(LIMIT, web.get, server.url.replace("http:", "https:") + "/", TIMEOUT, 1_000_000)


def test_an_endless_body_is_cut_at_the_bound():
    with HostileServer(endless_body()) as server:
        with pytest.raises(web.TooLarge) as caught:
            bounded(LIMIT, web.get, server.url + "/", 10, 5_000_000)
    assert "more than the 5,000,000 bytes accepted" in str(caught.value)


def test_a_declared_length_over_the_bound_is_refused_before_reading():
    def behave(conn, _path, closed):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n")
        closed.wait()

    with HostileServer(behave) as server:
        with pytest.raises(web.TooLarge) as caught:
            bounded(LIMIT, web.get, server.url + "/", 10, 1_000_000)
    assert "100,000,000 bytes" in str(caught.value)


def test_a_body_cut_short_is_an_error_not_a_short_answer():
    def behave(conn, _path, _closed):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"state\": \"ho")

    with HostileServer(behave) as server:
        with pytest.raises(web.WebError) as caught:
            web.get(server.url + "/", TIMEOUT, 1_000_000)
    assert "short of its Content-Length" in str(caught.value)


def test_an_answer_within_the_bounds_is_read_whole():
    with HostileServer(answers(lambda path: (200, {"path": path}))) as server:
        answer = web.get(server.url + "/api/states/person.nick?x=1", TIMEOUT, 1_000)
    assert answer.status == 200 and answer.json() == {"path": "/api/states/person.nick?x=1"}


def test_json_nested_too_deeply_is_a_value_error():
    with HostileServer(answers(lambda _path: (200, "[" * 200_000 + "]" * 200_000))) as server:
        answer = web.get(server.url + "/", TIMEOUT, 1_000_000)
    with pytest.raises(ValueError):
        answer.json()


def test_userinfo_is_sent_as_basic_auth_unless_the_caller_authorizes():
    with HostileServer(answers(lambda _path: (200, {}))) as server:
        url = server.url.replace("http://", "http://graphite:p%40ss@")
        web.get(url + "/render", TIMEOUT, 1_000)
        web.get(url + "/render", TIMEOUT, 1_000, headers={"Authorization": "Bearer abc"})
    basic = "Basic " + base64.b64encode(b"graphite:p@ss").decode()
    assert f"Authorization: {basic}" in server.heads[0].splitlines()
    assert "Authorization: Bearer abc" in server.heads[1].splitlines() and basic not in server.heads[1]


@pytest.mark.parametrize("url, shown", [
    ("http://user:secret@graphite.local:8080/render?x=1", "http://***@graphite.local:8080/render?x=1"),
    ("https://user@ha.local/", "https://***@ha.local/"),
    ("http://graphite.local", "http://graphite.local"),
    ("http://a:b@c@host/", "http://***@host/"),
])
def test_redact_hides_the_userinfo(url, shown):
    assert web.redact(url) == shown


def test_a_closed_port_and_a_bad_url_are_web_errors():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(web.WebError) as caught:
        web.get(f"http://127.0.0.1:{port}/", TIMEOUT, 1_000)
    assert "ConnectionRefusedError" in str(caught.value)
    for bad in ("http://127.0.0.1:99999/", "ftp://127.0.0.1/", "not a url"):
        with pytest.raises(web.WebError):
            web.get(bad, TIMEOUT, 1_000)


def test_tls_is_verified_against_the_system_or_the_given_bundle(tmp_path):
    cert, key = self_signed(str(tmp_path))
    other, _ = self_signed(str(tmp_path), "other")
    (tmp_path / "junk.pem").write_text("not a certificate")
    with HostileServer(answers(lambda _path: (200, {"ok": True})), tls=tls_server_context(cert, key)) as server:
        assert web.get(server.url + "/", TIMEOUT, 1_000, ca_bundle=cert).json() == {"ok": True}
        for bundle, kind, text in ((None, "untrusted", "self-signed certificate"),
                                   (other, "untrusted", "self-signed certificate"),
                                   (str(tmp_path / "missing.pem"), "bundle", "No such file or directory"),
                                   (str(tmp_path / "junk.pem"), "bundle", "holds no PEM certificate")):
            with pytest.raises(web.TlsError) as caught:
                web.get(server.url + "/", TIMEOUT, 1_000, ca_bundle=bundle)
            assert caught.value.kind == kind and text in str(caught.value), bundle



def test_a_host_name_is_resolved_within_the_deadline():
    with HostileServer(answers(lambda _path: (200, {"ok": True}))) as server:
        answer = web.get(server.url.replace("127.0.0.1", "localhost") + "/", TIMEOUT, 1_000)
    assert answer.json() == {"ok": True}


def test_a_ca_bundle_fixed_after_a_failure_is_read_again(tmp_path):
    cert, key = self_signed(str(tmp_path))
    other, _ = self_signed(str(tmp_path), "other")
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(open(other, "rb").read())
    with HostileServer(answers(lambda _path: (200, {"ok": True})), tls=tls_server_context(cert, key)) as server:
        with pytest.raises(web.TlsError):
            web.get(server.url + "/", TIMEOUT, 1_000, ca_bundle=str(bundle))
        bundle.write_bytes(open(cert, "rb").read())
        assert web.get(server.url + "/", TIMEOUT, 1_000, ca_bundle=str(bundle)).json() == {"ok": True}
