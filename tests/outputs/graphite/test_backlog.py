"""The Graphite backlog on its own: ticks kept in order within their bound, spilled to a spool while there is
no connection, let go when confirmed, a failing spool retried on time; with a spool that is only a list."""

import errno
import logging

import pytest

from presence.outputs.graphite.backlog import Backlog
from tests.outputs.graphite.senders import tick

RETRY = 30.0


class ListSpool:
    """Spool's interface over a list of segments, one per tick; `fail_after` appends succeed before each fails."""

    def __init__(self, folder="/var/spool/presence", failure=None, fail_after=0):
        self.folder = folder
        self.segments, self.data = [], {}
        self.failure, self.fail_after = failure, fail_after
        self.checks, self.closed = 0, False
        self.close_failure = None

    def __len__(self):
        return len(self.segments)

    @property
    def bytes(self):
        return sum(len(self.data[name]) for name in self.segments)

    def check(self):
        self.checks += 1
        if self.failure is not None:
            raise self.failure

    def append(self, message):
        if self.failure is not None:
            if self.fail_after <= 0:
                raise self.failure
            self.fail_after -= 1
        name = f"{len(self.data) + 1:012d}.spool"
        self.segments.append(name)
        self.data[name] = message

    def remove(self, names):
        self.segments = [name for name in self.segments if name not in names]

    def close(self):
        self.closed = True
        if self.close_failure is not None:
            raise self.close_failure

    def spooled(self):
        return [self.data[name] for name in self.segments]


def full_disk():
    return OSError(errno.ENOSPC, "No space left on device", "/var/spool/presence/000000000001.spool")


def backlog(spool=None, max_pending=5, now=0.0):
    return Backlog(spool, max_pending, RETRY, now)


def test_ticks_wait_in_memory_in_the_order_they_came():
    kept = backlog()
    assert kept.empty()
    for i in range(3):
        assert kept.keep(tick(i)) == 0
    assert list(kept.memory) == [tick(0), tick(1), tick(2)] and not kept.empty()


def test_beyond_the_bound_the_oldest_ticks_are_dropped_and_counted(caplog):
    kept = backlog(max_pending=3)
    dropped = [kept.keep(tick(i)) for i in range(6)]
    assert dropped == [0, 0, 0, 1, 1, 1] and kept.dropped == 3
    assert list(kept.memory) == [tick(3), tick(4), tick(5)]
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert said == ["Graphite unreachable and 3 ticks pending: dropping the oldest (1 dropped so far)"]


def test_the_drops_are_said_again_every_thousandth_only(caplog):
    kept = backlog(max_pending=1)
    for i in range(2001):
        kept.keep(tick(i))
    said = [r.getMessage() for r in caplog.records if "dropping the oldest" in r.getMessage()]
    assert [message.split("(")[1] for message in said] == ["1 dropped so far)", "1000 dropped so far)",
                                                           "2000 dropped so far)"]


def test_confirmed_ticks_and_segments_are_let_go_oldest_first():
    spool = ListSpool()
    kept = backlog(spool)
    spool.append(tick(0))
    spool.append(tick(1))
    for i in range(2, 5):
        kept.keep(tick(i))
    kept.delivered([spool.segments[0]], 2)
    assert spool.spooled() == [tick(1)] and list(kept.memory) == [tick(4)]
    kept.delivered(spool.segments, 1)
    assert kept.empty()


def test_nothing_confirmed_lets_go_of_nothing():
    spool = ListSpool()
    kept = backlog(spool)
    spool.append(tick(0))
    kept.keep(tick(1))
    kept.delivered([], 0)
    assert spool.spooled() == [tick(0)] and list(kept.memory) == [tick(1)]


def test_a_backlog_with_a_segment_waiting_is_not_empty():
    spool = ListSpool()
    kept = backlog(spool)
    spool.append(tick(0))
    assert not kept.empty() and not kept.memory


def test_unsent_segments_are_the_spools_oldest_first_but_those_sent():
    spool = ListSpool()
    kept = backlog(spool)
    for i in range(4):
        spool.append(tick(i))
    first, second, third, fourth = spool.segments
    assert kept.unsent_segments([]) == [first, second, third, fourth]
    assert kept.unsent_segments([third, first]) == [second, fourth]
    assert backlog().unsent_segments(["anything"]) == []


def test_without_a_connection_the_ticks_in_memory_move_to_the_end_of_the_spool_in_order():
    spool = ListSpool()
    spool.append(tick(0))
    kept = backlog(spool)
    kept.keep(tick(1))
    kept.keep(tick(2))
    kept.tend(10.0, spill=True)
    assert spool.spooled() == [tick(0), tick(1), tick(2)] and not kept.memory
    assert kept.spool_problem() is None


def test_with_a_connection_the_ticks_stay_in_memory():
    spool = ListSpool()
    kept = backlog(spool)
    kept.keep(tick(0))
    kept.tend(10.0, spill=False)
    assert list(kept.memory) == [tick(0)] and spool.spooled() == [] and spool.checks == 1


def test_without_a_spool_the_ticks_stay_in_memory_whatever_happens():
    kept = backlog()
    kept.keep(tick(0))
    kept.tend(10.0, spill=True)
    assert list(kept.memory) == [tick(0)] and kept.spool_problem() is None and kept.kept(True) == [
        "1 ticks in memory"]


def test_a_spool_that_fails_midway_keeps_the_rest_in_memory_in_order(caplog):
    spool = ListSpool()
    kept = backlog(spool)
    spool.failure, spool.fail_after = full_disk(), 1
    for i in range(3):
        kept.keep(tick(i))
    kept.tend(10.0, spill=True)
    assert spool.spooled() == [tick(0)] and list(kept.memory) == [tick(1), tick(2)]
    assert kept.spool_problem() == ("spool unwritable: No space left on device "
                                    "(/var/spool/presence/000000000001.spool); 2 ticks held in memory only")
    assert "Graphite spool /var/spool/presence not written (No space left on device" in caplog.text
    assert "(5 at most)" in caplog.text and "Retrying every 30 s" in caplog.text


def test_a_failed_spool_is_retried_only_every_spool_retry_seconds():
    spool = ListSpool()
    kept = backlog(spool)
    spool.failure = full_disk()
    kept.keep(tick(0))
    kept.tend(100.0, spill=True)
    checks = spool.checks
    kept.tend(100.0 + RETRY - 1, spill=True)
    kept.tend(100.0 + RETRY - 1, spill=False)
    assert spool.checks == checks and list(kept.memory) == [tick(0)]
    spool.failure = None
    kept.tend(100.0 + RETRY, spill=True)
    assert spool.spooled() == [tick(0)] and not kept.memory and kept.spool_problem() is None


def test_a_failed_spool_is_retried_though_nothing_needs_it_so_its_mending_is_seen(caplog):
    spool = ListSpool()
    kept = backlog(spool)
    spool.failure = full_disk()
    kept.keep(tick(0))
    kept.tend(100.0, spill=True)
    spool.failure = None
    kept.delivered([], 1)
    caplog.set_level(logging.INFO)
    kept.tend(100.0 + RETRY, spill=False)
    assert spool.checks == 2 and kept.spool_problem() is None
    assert "Graphite spool /var/spool/presence is written again" in caplog.text


def test_a_spool_that_fails_at_the_start_is_said_at_once_and_retried_at_the_first_tend(caplog):
    spool = ListSpool(failure=OSError(errno.EROFS, "Read-only file system", "/var/spool/presence"))
    kept = backlog(spool, now=50.0)
    assert kept.spool_problem() == ("spool unwritable: Read-only file system (/var/spool/presence); "
                                    "0 ticks held in memory only")
    assert "Read-only file system" in caplog.text
    spool.failure = None
    kept.tend(50.0, spill=False)
    assert spool.checks == 2 and kept.spool_problem() is None


def test_the_same_failure_again_is_not_said_again_but_a_different_one_is(caplog):
    spool = ListSpool(failure=full_disk())
    kept = backlog(spool)
    for at in (0.0, RETRY, 2 * RETRY):
        kept.tend(at, spill=False)
    spool.failure = PermissionError(errno.EACCES, "Permission denied", "/var/spool/presence")
    kept.tend(3 * RETRY, spill=False)
    said = [r.getMessage() for r in caplog.records if "not written" in r.getMessage()]
    assert len(said) == 2 and "No space left" in said[0] and "Permission denied" in said[1]
    assert kept.spool_problem().startswith("spool unwritable: Permission denied (/var/spool/presence)")


def test_finish_spools_what_memory_holds_and_makes_the_spool_durable():
    spool = ListSpool()
    kept = backlog(spool)
    kept.keep(tick(0))
    kept.keep(tick(1))
    kept.finish(1.0)
    assert spool.spooled() == [tick(0), tick(1)] and spool.closed and not kept.memory


def test_finish_tries_a_failed_spool_at_once_rather_than_at_its_next_retry():
    spool = ListSpool()
    kept = backlog(spool)
    spool.failure = full_disk()
    kept.keep(tick(0))
    kept.tend(100.0, spill=True)
    spool.failure = None
    kept.finish(101.0)
    assert spool.spooled() == [tick(0)] and not kept.memory


def test_finish_says_what_it_could_not_keep(caplog):
    spool = ListSpool(failure=full_disk())
    kept = backlog(spool)
    kept.keep(tick(0))
    kept.keep(tick(1))
    spool.close_failure = OSError(errno.EIO, "Input/output error")
    kept.finish(1.0)
    assert list(kept.memory) == [tick(0), tick(1)] and spool.closed
    assert "Graphite spool: cannot make it durable: [Errno 5] Input/output error" in caplog.text
    assert "Graphite: 2 tick(s) not delivered (or not confirmed) at shutdown" in caplog.text


def test_finish_without_a_spool_says_the_ticks_lost(caplog):
    kept = backlog()
    kept.keep(tick(0))
    kept.finish(1.0)
    assert "Graphite: 1 tick(s) not delivered" in caplog.text


@pytest.mark.parametrize("size, shown", [(999, "999 B"), (1000, "1.0 kB"), (12_345, "12.3 kB"),
                                         (1_500_000, "1.5 MB")])
def test_what_is_kept_is_said_as_the_spools_size(size, shown):
    spool = ListSpool()
    kept = backlog(spool)
    spool.append(b"x" * size)
    assert kept.kept(with_memory=True) == [f"{shown} spooled"]


def test_what_is_kept_says_the_ticks_in_memory_only_when_asked():
    spool = ListSpool()
    kept = backlog(spool)
    spool.append(b"x" * 10)
    kept.keep(tick(0))
    kept.keep(tick(1))
    assert kept.kept(with_memory=True) == ["10 B spooled, 2 ticks in memory"]
    assert kept.kept(with_memory=False) == ["10 B spooled"]


def test_nothing_kept_is_no_item():
    assert backlog(ListSpool()).kept(with_memory=True) == [] and backlog().kept(with_memory=True) == []


def test_a_spool_error_without_a_file_name_or_errno_is_said_as_it_is():
    spool = ListSpool(failure=OSError("spool folder vanished"))
    assert backlog(spool).spool_problem() == "spool unwritable: spool folder vanished; 0 ticks held in memory only"
    spool = ListSpool(failure=OSError(errno.ENOSPC, "No space left on device"))
    assert backlog(spool).spool_problem().startswith("spool unwritable: No space left on device; ")
