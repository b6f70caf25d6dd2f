import os
import time

import pytest

from graphite_helper import build_message
from presence.outputs.graphite.sender import GraphiteSender
from presence.outputs.graphite.spool import Spool
from testbed.graphite_delivery import confirmed
from testbed.graphite_peers import Peer
from tests.outputs.graphite.senders import fast, peer_gone, spooled, tick, ticks, wait


# Confirmation: nothing leaves the spool or memory until the server has shown it read it.

def test_a_healthy_server_gets_each_tick_once_over_many_confirmations(tmp_path, collector):
    sender = fast(collector.port, spool=Spool(str(tmp_path), 10**6), confirm_period=0.0)
    try:
        for i in range(20):
            sender.send(tick(i))
            if i % 5 == 4:
                assert confirmed(sender)
        assert confirmed(sender)
    finally:
        sender.close()
    assert collector.data() == ticks(range(20))
    assert collector.accepted["carbon"] >= 4 and os.listdir(tmp_path) == []


@pytest.mark.lab
def test_a_server_that_stalls_then_resets_takes_nothing_away(tmp_path):
    peer = Peer("stall", rcvbuf=4096)
    sender = fast(peer.port, spool=Spool(str(tmp_path / "spool"), 10**7))
    try:
        for i in range(30):  # longer than any time-based guess at what the server has read
            sender.send(tick(i))
            time.sleep(0.1)
        wait(lambda: peer.accepted["stall"] >= 2)  # until it gave up on a connection and tried again
        peer.reset()
        peer.mode = "close"
        for i in range(30, 35):
            sender.send(tick(i))
        wait(lambda: peer.accepted["close"] >= 2)
        peer.mode = "carbon"
        assert confirmed(sender)
        assert peer.data() == ticks(range(35))  # every tick, once, in order
        assert sender.problem() is None
    finally:
        sender.close()
        peer.close()


@pytest.mark.lab
def test_a_large_spool_replayed_into_a_stalled_server_stays_spooled(tmp_path):
    folder = str(tmp_path / "spool")
    spool = Spool(folder, 10**8)
    big = [build_message("p", [(f"m{k}", i) for k in range(30)], 1_800_000_000 + i) for i in range(2000)]
    for message in big:
        spool.append(message)
    spool.close()
    before = spooled(folder)
    peer = Peer("stall", rcvbuf=4096)
    sender = fast(peer.port, spool=Spool(folder, 10**8))
    try:
        wait(lambda: peer.accepted["stall"] >= 2)
        assert spooled(folder) == before
        peer.reset()
        peer.mode = "carbon"
        assert confirmed(sender, timeout=30)
    finally:
        sender.close()
        peer.close()
    assert peer.data() == b"".join(big) and os.listdir(folder) == []


@pytest.mark.lab
def test_a_server_that_reads_and_resets_takes_nothing_away():
    peer = Peer("reader")
    sender = fast(peer.port, confirm_period=10, confirm_timeout=10)
    try:
        for i in range(30):
            sender.send(tick(i))
            time.sleep(0.1)
        assert wait(lambda: peer.read_by("reader") == ticks(range(30)))
        peer.reset()  # everything it read is lost with it
        assert wait(lambda: peer_gone(sender))
        peer.mode = "carbon"
        sender.send(tick(30))
        assert confirmed(sender)
        assert peer.data() == ticks(range(31))
    finally:
        sender.close()
        peer.close()


def test_a_server_that_never_closes_confirms_nothing(caplog):
    peer = Peer("reader")
    sender = fast(peer.port, confirm_period=0.0, confirm_timeout=0.1)
    try:
        sender.send(tick(0))
        assert wait(lambda: sender.problem() and "not confirming delivery" in sender.problem())
        assert peer.read_by("reader").startswith(tick(0))
        assert list(sender.memory) == [tick(0)]  # read, as far as we can tell, but kept: it may have been lost
        assert "does not close connections as carbon does" in caplog.text
    finally:
        sender.close(timeout=0.5)
        peer.close()


@pytest.mark.lab
def test_close_spools_what_a_stalled_server_did_not_confirm(tmp_path):
    folder = str(tmp_path / "spool")
    peer = Peer("stall", rcvbuf=4096)
    sender = GraphiteSender("127.0.0.1", peer.port, spool=Spool(folder, 10**6), retry_every=0.02)
    for i in range(10):
        sender.send(tick(i))
    assert wait(lambda: peer.accepted["stall"] == 1)
    time.sleep(0.2)  # written into the server's buffers, as far as the kernel is concerned
    sender.close(timeout=1.0)
    assert spooled(folder) == ticks(range(10))
    assert not sender._thread.is_alive() and sender.alive()
    peer.reset()
    peer.mode = "carbon"
    second = fast(peer.port, spool=Spool(folder, 10**6))
    try:
        assert confirmed(second)
    finally:
        second.close()
        peer.close()
    assert peer.data() == ticks(range(10)) and os.listdir(folder) == []


def test_close_confirms_with_a_healthy_server_and_spools_nothing(tmp_path, collector):
    folder = str(tmp_path / "spool")
    sender = GraphiteSender("127.0.0.1", collector.port, spool=Spool(folder, 10**6))
    for i in range(5):
        sender.send(tick(i))
    sender.close(timeout=1.5)
    assert collector.data() == ticks(range(5)) and os.listdir(folder) == []
