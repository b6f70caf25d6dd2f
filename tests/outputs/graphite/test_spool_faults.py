import os

from presence.outputs.graphite.spool import Spool
from testbed.graphite_delivery import confirmed
from testbed.graphite_peers import Peer
from tests.outputs.graphite.senders import closed_port, fast, spooled, tick, ticks, wait


# The sender never dies: the disk fails under it, and it carries on in memory.

def test_a_spool_folder_that_cannot_be_made_holds_ticks_in_memory(tmp_path, caplog):
    folder = tmp_path / "spool"
    folder.write_bytes(b"a file where the folder belongs")
    port = closed_port()
    sender = fast(port, spool=Spool(str(folder), 10**6))
    try:
        for i in range(3):
            sender.send(tick(i))
        # The ticks are kept before the first connection fails: wait for both (a loaded machine shows the gap).
        assert wait(lambda: len(sender.memory) == 3 and "unreachable" in (sender.problem() or ""))
        problem = sender.problem()
        assert problem.startswith(f"spool unwritable: File exists ({folder}); 3 ticks held in memory only; ")
        assert f"Graphite 127.0.0.1:{port} unreachable for " in problem
        assert sender.alive() and caplog.text.count("File exists") == 1
        folder.unlink()
        assert wait(lambda: len(sender.spool) and not sender.memory)
        assert "spool unwritable" not in sender.problem()
        collector = Peer("carbon", port=port)
        sender.send(tick(3))
        assert confirmed(sender)
        assert collector.data() == ticks(range(4))
        collector.close()
    finally:
        sender.close()


def test_a_spool_mended_while_graphite_is_up_is_no_longer_a_problem(tmp_path, collector):
    folder = tmp_path / "spool"
    folder.write_bytes(b"a file where the folder belongs")
    sender = fast(collector.port, spool=Spool(str(folder), 10**6))
    try:
        sender.send(tick(0))
        assert confirmed(sender) and sender.problem() == f"spool unwritable: File exists ({folder}); " \
            "0 ticks held in memory only"
        folder.unlink()
        assert wait(lambda: sender.problem() is None)
        assert os.listdir(folder) == []
    finally:
        sender.close()


def test_entries_in_the_spool_folder_that_are_not_segments_do_no_harm(tmp_path):
    (tmp_path / "junk.spool").write_bytes(b"junk")
    (tmp_path / "000000000007.spool").mkdir()
    port = closed_port()
    sender = fast(port, spool=Spool(str(tmp_path), 10**6))
    try:
        for i in range(3):
            sender.send(tick(i))
        assert wait(lambda: len(sender.spool) and not sender.memory and sender.inbox.empty())
        collector = Peer("carbon", port=port)
        sender.send(tick(3))
        assert confirmed(sender) and sender.alive()
        assert collector.data() == ticks(range(4))
        collector.close()
    finally:
        sender.close()
    assert sorted(os.listdir(tmp_path)) == ["000000000007.spool", "junk.spool"]


def test_segments_removed_under_the_sender_cost_only_themselves(tmp_path):
    port = closed_port()
    sender = fast(port, spool=Spool(str(tmp_path), 10**6, segment_messages=2))
    try:
        for i in range(5):
            sender.send(tick(i))
        assert wait(lambda: len(sender.spool) == 3 and not sender.memory and sender.inbox.empty())
        for name in sorted(os.listdir(tmp_path))[:2]:  # another daemon on the same folder delivered them
            os.remove(tmp_path / name)
        collector = Peer("carbon", port=port)
        sender.send(tick(5))
        assert confirmed(sender) and sender.alive()
        assert collector.data() == ticks([4, 5])
        collector.close()
    finally:
        sender.close()


class FlakySpool(Spool):
    """A spool whose appends fail in a way nobody planned for, `failures` times."""

    def __init__(self, folder, failures):
        super().__init__(folder, 10**6)
        self.failures = failures

    def append(self, message):
        if self.failures:
            self.failures -= 1
            raise RuntimeError("unforeseen")
        super().append(message)


def test_an_unforeseen_error_is_logged_once_and_the_sender_carries_on(tmp_path, caplog):
    port = closed_port()
    sender = fast(port, spool=FlakySpool(str(tmp_path), failures=3))
    try:
        for i in range(3):
            sender.send(tick(i))
        assert wait(lambda: sender.spool.failures == 0 and len(sender.spool) and not sender.memory)
        assert sender.alive() and caplog.text.count("unexpected error") == 1
        collector = Peer("carbon", port=port)
        assert confirmed(sender)
        assert collector.data() == ticks(range(3))
        collector.close()
    finally:
        sender.close()


def test_two_senders_on_one_spool_folder_never_both_write_it(tmp_path, caplog):
    """At a reload whose old sender did not end in time: the new one holds its ticks in memory until it does."""
    port = closed_port()
    old = fast(port, spool=Spool(str(tmp_path), 10**6, segment_messages=2))
    new = None
    try:
        for i in range(3):
            old.send(tick(i))
        assert wait(lambda: not old.memory and old.inbox.unfinished_tasks == 0)
        new = fast(port, spool=Spool(str(tmp_path), 10**6))
        for i in range(3, 5):
            new.send(tick(i))
            old.send(tick(10 + i))
        assert wait(lambda: len(new.memory) == 2 and not old.memory and old.inbox.unfinished_tasks == 0)
        assert new.spool.segments == [] and sorted(os.listdir(tmp_path)) == old.spool.segments
        assert spooled(tmp_path) == ticks([0, 1, 2, 13, 14])  # the old sender's alone
        assert new.problem().startswith(f"spool unwritable: in use by another Graphite sender ({tmp_path}); "
                                        "2 ticks held in memory only")
        assert caplog.text.count("in use by another Graphite sender") == 1
        assert "a restart now loses them" in caplog.text
        old.close()
        assert wait(lambda: not new.memory and "spool unwritable" not in new.problem())
        assert spooled(tmp_path) == ticks([0, 1, 2, 13, 14, 3, 4])
        collector = Peer("carbon", port=port)
        assert confirmed(new)
        assert collector.data() == ticks([0, 1, 2, 13, 14, 3, 4]) and os.listdir(tmp_path) == []
        collector.close()
    finally:
        old.close()
        if new is not None:
            new.close()
