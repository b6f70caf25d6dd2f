"""The Graphite sender with its spool unwritable from the first moment, against a real carbon-cache: every tick
still goes out live, what cannot be delivered is held in memory and said once, and all resumes by itself."""

import errno
import logging
import os
import shutil
import time

import pytest

from graphite_helper import build_message
from presence.outputs.graphite.sender import GraphiteSender
from presence.outputs.graphite.spool import Spool
from testbed.carbon import Carbon, carbon_unavailable_reason, require
from testbed.graphite_delivery import confirmed
from testbed.small_fs import fill, read_only, small_fs_unavailable_reason, small_tmpfs, use_up_inodes
from tests.outputs.graphite.senders import spooled, wait

pytestmark = pytest.mark.lab  # a real carbon-cache and real small filesystems in every test

HELD = "ticks are held in memory only (17280 at most); a restart now loses them"


@pytest.fixture
def carbon(tmp_path):
    require(carbon_unavailable_reason())
    require(small_fs_unavailable_reason())
    server = Carbon(tmp_path / "carbon").start()
    yield server
    server.stop()


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.INFO, logger="presence.outputs")
    return caplog


def household_ticks(first, count):
    """`count` ticks one second apart from `first`, 27 metrics each, every value the tick's number."""
    return [build_message("home.presence", [(f"m{k:02d}", i) for k in range(27)], first + i) for i in range(count)]


def sender_for(carbon, folder):
    return GraphiteSender("127.0.0.1", carbon.port, spool=Spool(folder, 10**7), max_backoff=0.2, retry_every=0.02,
                          confirm_period=0.2, spool_retry=0.1)


def landed(carbon, first, count):
    """How many of the ticks from `first` carbon stored, once all `count` are in or its wait ran out."""
    found = carbon.wait_for_points("home.presence.m26", first - 1, first + count, count)
    assert all(found[first + i] == float(i) for i in range(count) if first + i in found)
    return len(found)


def send_each_live(sender, carbon, messages, first, landed_before=0):
    """Send the ticks one at a time; each must reach carbon before the next is sent."""
    for i, message in enumerate(messages, start=landed_before):
        sender.send(message)
        assert confirmed(sender), f"tick {i} was not confirmed"
        assert landed(carbon, first, i + 1) == i + 1


def test_a_disk_full_before_the_start_holds_back_no_live_tick(carbon, tmp_path, log):
    first = int(time.time()) - 300
    with small_tmpfs(tmp_path / "disk", size="64k") as disk:
        fill(disk)
        sender = sender_for(carbon, os.path.join(disk, "spool"))
        try:
            send_each_live(sender, carbon, household_ticks(first, 8), first)
            assert sender.alive() and sender.problem().startswith("spool unwritable: No space left on device")
            assert log.text.count("No space left on device") == 1 and HELD in log.text
        finally:
            sender.close()


def test_graphite_down_then_up_with_the_disk_full_the_held_ticks_arrive(carbon, tmp_path, log):
    carbon.stop()
    first = int(time.time()) - 300
    messages = household_ticks(first, 30)
    with small_tmpfs(tmp_path / "disk", size="64k") as disk:
        fill(disk)
        sender = sender_for(carbon, os.path.join(disk, "spool"))
        try:
            for message in messages:
                sender.send(message)
            assert wait(lambda: len(sender.memory) == 30)
            problem = sender.problem()
            assert problem.startswith("spool unwritable: No space left on device; 30 ticks held in memory only; ")
            assert "unreachable" in problem
            carbon.start()
            assert confirmed(sender, timeout=15)
            assert landed(carbon, first, 30) == 30
            assert log.text.count("No space left on device") == 1
        finally:
            sender.close()


def test_space_freed_the_held_ticks_are_spooled_with_no_restart(carbon, tmp_path, log):
    carbon.stop()
    first = int(time.time()) - 300
    messages = household_ticks(first, 20)
    with small_tmpfs(tmp_path / "disk", size="256k") as disk:
        filler = fill(disk)
        folder = os.path.join(disk, "spool")
        sender = sender_for(carbon, folder)
        try:
            for message in messages:
                sender.send(message)
            assert wait(lambda: len(sender.memory) == 20)
            os.remove(filler)
            assert wait(lambda: not sender.memory and "spool unwritable" not in sender.problem())
            assert spooled(folder) == b"".join(messages)
            assert "spool " + folder + " is written again" in log.text
            carbon.start()
            assert confirmed(sender, timeout=15) and os.listdir(folder) == []
            assert landed(carbon, first, 20) == 20
        finally:
            sender.close()


def test_a_read_only_spool_folder_sends_live_then_spools_once_writable(carbon, tmp_path, log):
    folder = tmp_path / "spool"
    folder.mkdir()
    first = int(time.time()) - 300
    messages = household_ticks(first, 12)
    with read_only(folder):
        sender = sender_for(carbon, str(folder))
        try:
            send_each_live(sender, carbon, messages[:4], first)
            assert "spool unwritable: Read-only file system" in sender.problem()
            carbon.stop()
            for message in messages[4:8]:
                sender.send(message)
            assert wait(lambda: len(sender.memory) == 4)
        except BaseException:
            sender.close()
            raise
    try:
        assert wait(lambda: not sender.memory and "spool unwritable" not in sender.problem())
        for message in messages[8:]:
            sender.send(message)
        assert wait(lambda: spooled(folder) == b"".join(messages[4:]))
        carbon.start()
        assert confirmed(sender, timeout=15)
        assert landed(carbon, first, 12) == 12
        assert log.text.count("Read-only file system") == 1
    finally:
        sender.close()


def test_no_inode_left_for_the_spool_folder_at_the_start(carbon, tmp_path, log):
    first = int(time.time()) - 300
    messages = household_ticks(first, 6)
    with small_tmpfs(tmp_path / "disk", size="1m", options="nr_inodes=16") as disk:
        blockers = use_up_inodes(disk)
        folder = os.path.join(disk, "spool")
        sender = sender_for(carbon, folder)
        try:
            send_each_live(sender, carbon, messages[:3], first)
            assert sender.problem().startswith("spool unwritable: No space left on device")
            for path in blockers:
                os.remove(path)
            assert wait(lambda: sender.problem() is None and os.path.isdir(folder))
            send_each_live(sender, carbon, messages[3:], first, landed_before=3)
        finally:
            sender.close()
    assert log.text.count("No space left on device") == 1


def test_the_spool_folder_deleted_while_running_is_made_and_locked_again(carbon, tmp_path, log):
    carbon.stop()
    first = int(time.time()) - 300
    messages = household_ticks(first, 15)
    folder = str(tmp_path / "state" / "spool")
    sender = sender_for(carbon, folder)
    try:
        for message in messages[:5]:
            sender.send(message)
        assert wait(lambda: spooled(folder) == b"".join(messages[:5]) and not sender.memory)
        shutil.rmtree(tmp_path / "state")  # what was spooled goes with it: only the ticks after it count
        for message in messages[5:]:
            sender.send(message)
        assert wait(lambda: os.path.isdir(folder) and spooled(folder) == b"".join(messages[5:]))
        assert "segment 000000000001.spool was removed by another process" in log.text
        assert Spool(folder, 10**6).error.strerror == "in use by another Graphite sender"
        carbon.start()
        assert confirmed(sender, timeout=15) and sender.problem() is None
        found = carbon.wait_for_points("home.presence.m26", first - 1, first + 15, 10)
        assert found == {first + i: float(i) for i in range(5, 15)}
    finally:
        sender.close()


def test_a_close_on_a_full_disk_keeps_to_its_deadline_and_says_what_is_lost(carbon, tmp_path, log):
    carbon.stop()
    first = int(time.time()) - 300
    with small_tmpfs(tmp_path / "disk", size="64k") as disk:
        fill(disk)
        sender = sender_for(carbon, os.path.join(disk, "spool"))
        for message in household_ticks(first, 3):
            sender.send(message)
        assert wait(lambda: len(sender.memory) == 3)
        sender.close(timeout=1.0)
        assert not sender._thread.is_alive() and sender.alive()
        assert "3 tick(s) not delivered (or not confirmed) at shutdown" in log.text
    assert errno.ENOSPC == sender.backlog.spool_error.errno
