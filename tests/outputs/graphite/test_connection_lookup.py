"""The Graphite sender's name lookup has a deadline: a DNS outage neither stops metrics nor a close's spooling."""

import json
import logging
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading

import pytest

from presence.outputs.graphite.connection import ConnectionFailed, Resolver
from testbed.lab import require_lab
from testbed.lab.namespaces import cmd, delete_ns

NAME = "carbon.presence.test"
REAL_GETADDRINFO = socket.getaddrinfo
from tests.conftest import ROOT  # noqa: E402 (the repository, wherever this file is)


# The resolver's logic, with getaddrinfo replaced by one that answers only when the test lets it.

class HeldLookups:
    """getaddrinfo that blocks until `answer(...)`, counting the lookups started."""

    def __init__(self):
        self.started = 0
        self.release = threading.Event()
        self.outcome = None

    def __call__(self, host, port, type=0, flags=0):
        if flags & socket.AI_NUMERICHOST:
            return REAL_GETADDRINFO(host, port, type=type, flags=flags)
        self.started += 1
        self.release.wait()
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    def answer(self, outcome):
        self.outcome = outcome
        self.release.set()


ANSWER = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.7", 2003))]


@pytest.fixture
def lookups(monkeypatch):
    held = HeldLookups()
    monkeypatch.setattr(socket, "getaddrinfo", held)
    yield held
    held.release.set()


def never():
    return False


def test_a_lookup_with_no_answer_fails_at_its_deadline_and_is_not_started_twice(lookups):
    resolver = Resolver(NAME, 2003)
    for _ in range(3):
        with pytest.raises(ConnectionFailed, match=f"no answer from the name lookup of {NAME} within 0.05 s"):
            resolver.addresses(0.05, never)
    assert lookups.started == 1  # still the first one, waited for again
    lookups.answer(ANSWER)
    assert resolver.addresses(10, never) == ANSWER and resolver.problem() is None


def test_a_close_ends_the_wait_for_a_lookup_long_before_its_deadline(lookups):
    with pytest.raises(ConnectionFailed, match="within 3600 s"):
        Resolver(NAME, 2003).addresses(3600, lambda: True)


def test_during_an_outage_the_last_good_address_is_used_and_said_once(lookups, caplog):
    caplog.set_level(logging.INFO)
    resolver = Resolver(NAME, 2003)
    lookups.answer(ANSWER)
    assert resolver.addresses(10, never) == ANSWER
    lookups.release.clear()
    for _ in range(2):
        assert resolver.addresses(0.05, never) == ANSWER
    assert resolver.problem() == f"name lookup of {NAME} failing, sending to its last known address"
    assert caplog.text.count("sending to its last known address 192.0.2.7") == 1
    lookups.answer(socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"))
    assert resolver.addresses(10, never) == ANSWER and resolver._pending is None and resolver.problem()
    lookups.answer(ANSWER)
    assert resolver.addresses(10, never) == ANSWER and resolver.problem() is None
    assert f"Graphite {NAME}: name lookups work again" in caplog.text


def test_a_name_that_does_not_exist_is_not_replaced_by_the_last_good_address(lookups):
    resolver = Resolver(NAME, 2003)
    lookups.answer(ANSWER)
    resolver.addresses(10, never)
    lookups.answer(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    with pytest.raises(ConnectionFailed, match="cannot look up carbon.presence.test: Name or service not known"):
        resolver.addresses(10, never)


def test_an_address_needs_no_lookup_thread(lookups):
    assert Resolver("127.0.0.1", 2003).addresses(0, never)[0][4] == ("127.0.0.1", 2003)
    assert lookups.started == 0


# A real DNS outage: a namespace whose resolv.conf names a local server that answers, then falls silent
# (glibc then waits 30 s per try, 5 tries: getaddrinfo blocks for minutes).

def dns_server(sock, answering):
    """Answer A queries for NAME with 127.0.0.1 while `answering` is set; say nothing otherwise."""
    while True:
        query, peer = sock.recvfrom(512)
        if not answering.is_set():
            continue
        end = query.index(b"\0", 12) + 5
        labels, at = [], 12
        while query[at]:
            labels.append(query[at + 1:at + 1 + query[at]].decode())
            at += 1 + query[at]
        qtype = struct.unpack("!H", query[end - 4:end - 2])[0]
        known = ".".join(labels).lower() == NAME
        answer = struct.pack("!HHHLH4s", 0xC00C, 1, 1, 0, 4, socket.inet_aton("127.0.0.1")) \
            if known and qtype == 1 else b""
        flags = 0x8180 if known else 0x8183
        sock.sendto(query[:2] + struct.pack("!HHHHH", flags, 1, 1 if answer else 0, 0, 0) + query[12:end] + answer,
                    peer)


def child(folder):
    """In the namespace: deliver through DNS, then through its outage; print what arrived and what was spooled."""
    from presence.outputs.graphite.sender import GraphiteSender
    from presence.outputs.graphite.spool import Spool
    from testbed.graphite_delivery import confirmed
    from testbed.graphite_peers import Peer
    from tests.outputs.graphite.senders import spooled, tick, wait

    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.bind(("127.0.0.1", 53))
    answering = threading.Event()
    answering.set()
    threading.Thread(target=dns_server, args=(dns, answering), daemon=True).start()
    peer = Peer("carbon")
    out = {}
    sender = GraphiteSender(NAME, peer.port, lookup_timeout=0.5, max_backoff=0.1, retry_every=0.02,
                            confirm_period=0.05)
    sender.send(tick(0))
    out["idle_with_dns"] = confirmed(sender)
    answering.clear()
    for i in range(1, 4):
        sender.send(tick(i))
    out["idle_in_outage"] = confirmed(sender)
    out["problem"] = sender.problem()
    sender.close()
    out["delivered"] = peer.data().decode()

    # A sender that never had an answer, closed while its lookup is stuck: what is queued is spooled.
    late = GraphiteSender("other." + NAME, peer.port, spool=Spool(folder, 10**6), lookup_timeout=30, start=False)
    for i in range(4, 7):
        late.send(tick(i))
    late._thread.start()
    out["stuck"] = wait(lambda: late.resolver._pending is not None)
    late.close(timeout=1.0)
    out["closed"] = not late._thread.is_alive()
    out["spooled"] = spooled(folder).decode()
    print(json.dumps(out))


@pytest.mark.lab
def test_a_dns_outage_keeps_metrics_flowing_and_a_close_still_spools(tmp_path):
    require_lab()
    ns = f"prs{os.getpid()}x90-dns"
    etc = f"/etc/netns/{ns}"
    cmd(["ip", "netns", "add", ns])
    try:
        os.makedirs(etc)
        with open(f"{etc}/resolv.conf", "w") as handle:
            handle.write("nameserver 127.0.0.1\noptions timeout:30 attempts:5\n")
        script = f"from tests.outputs.graphite.test_connection_lookup import child; child({str(tmp_path / 'spool')!r})"
        run = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", script], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        out = json.loads(run.stdout.splitlines()[-1])
    finally:
        delete_ns([ns])
        shutil.rmtree(etc, ignore_errors=True)
    from tests.outputs.graphite.senders import ticks
    assert out["idle_with_dns"] and out["idle_in_outage"]
    assert out["problem"] == f"Graphite name lookup of {NAME} failing, sending to its last known address"
    assert out["delivered"] == ticks(range(4)).decode()
    assert out["stuck"] and out["closed"] and out["spooled"] == ticks(range(4, 7)).decode()
