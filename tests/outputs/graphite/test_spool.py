import errno
import os
import shutil

import pytest

from presence.outputs.graphite.spool import Spool, SpoolInUse
from testbed.carbon import require
from testbed.small_fs import fill, read_only, small_fs_unavailable_reason, small_tmpfs


def tick(i):
    return f"p.a {i} {1_800_000_000 + 5 * i}\np.b {i} {1_800_000_000 + 5 * i}\n".encode()


def drain(spool):
    data = b""
    while len(spool):
        name = spool.segments[0]
        data += spool.read(name) or b""
        spool.remove([name])
    return data


def test_order_survives_a_restart(tmp_path):
    spool = Spool(str(tmp_path), max_bytes=10**6, segment_messages=3)
    for i in range(7):
        spool.append(tick(i))
    spool.close()
    assert len(spool) == 3
    reopened = Spool(str(tmp_path), max_bytes=10**6, segment_messages=3)
    reopened.append(tick(7))
    assert drain(reopened) == b"".join(tick(i) for i in range(8))
    assert os.listdir(tmp_path) == [] and reopened.bytes == 0


def test_bound_drops_the_oldest_segment_and_counts_its_lines(tmp_path, caplog):
    size = len(tick(0))
    spool = Spool(str(tmp_path), max_bytes=size * 5, segment_messages=2)
    for i in range(8):
        spool.append(tick(i))
    assert spool.dropped_lines == 8 and spool.bytes <= size * 5
    assert sum(os.path.getsize(tmp_path / name) for name in os.listdir(tmp_path)) <= size * 5
    assert drain(spool) == b"".join(tick(i) for i in range(4, 8))
    assert "dropped the oldest 4 lines (8 dropped in all)" in caplog.text


def test_a_torn_last_line_is_never_replayed(tmp_path):
    (tmp_path / "000000000001.spool").write_bytes(tick(0) + b"p.a 1 18000")
    spool = Spool(str(tmp_path), max_bytes=10**6)
    assert spool.read("000000000001.spool") == tick(0)
    spool.append(tick(2))
    assert drain(spool) == tick(0) + tick(2)


def test_files_are_private(tmp_path):
    folder = tmp_path / "spool"
    Spool(str(folder), max_bytes=10).append(b"x 1 1\n")
    assert oct(os.stat(folder).st_mode & 0o777) == "0o700"


def test_a_segment_being_read_takes_no_more_appends(tmp_path):
    spool = Spool(str(tmp_path), max_bytes=10**6)
    spool.append(tick(0))
    first = spool.segments[0]
    assert spool.read(first) == tick(0)
    spool.append(tick(1))
    assert spool.segments[0] == first and len(spool) == 2 and spool.read(first) == tick(0)


def test_entries_that_are_not_segments_are_left_alone_with_one_log_line(tmp_path, caplog):
    (tmp_path / "junk.spool").write_bytes(b"not metrics\n")
    (tmp_path / "000000000007.spool").mkdir()
    (tmp_path / "notes.txt").write_bytes(b"x")
    (tmp_path / "000000000003.spool").write_bytes(tick(0))
    spool = Spool(str(tmp_path), max_bytes=10**6)
    assert spool.error is None and spool.segments == ["000000000003.spool"]
    spool.append(tick(1))
    assert spool.segments[-1] == "000000000008.spool"  # after every name a segment could have
    spool.append(tick(2))
    assert drain(spool) == tick(0) + tick(1) + tick(2)
    ignoring = [r for r in caplog.records if "ignoring" in r.getMessage()]
    assert len(ignoring) == 1 and "000000000007.spool, junk.spool, notes.txt" in ignoring[0].getMessage()
    assert sorted(os.listdir(tmp_path)) == ["000000000007.spool", "junk.spool", "notes.txt"]


def test_a_folder_that_cannot_be_made_is_an_error_to_retry_not_an_exception(tmp_path):
    folder = tmp_path / "spool"
    folder.write_bytes(b"a file where the folder belongs")
    spool = Spool(str(folder), max_bytes=10**6)
    assert spool.error.errno == errno.EEXIST and len(spool) == 0
    with pytest.raises(OSError):
        spool.append(tick(0))
    with pytest.raises(OSError):
        spool.check()
    folder.unlink()
    spool.check()
    assert spool.error is None and os.listdir(folder) == []
    spool.append(tick(1))
    assert drain(spool) == tick(1)


def test_segments_removed_by_another_process_are_skipped(tmp_path, caplog):
    spool = Spool(str(tmp_path), max_bytes=10**6, segment_messages=2)
    for i in range(5):
        spool.append(tick(i))
    first, second, third = spool.segments
    os.remove(tmp_path / first)
    os.remove(tmp_path / third)  # the one still open for appends
    spool.append(tick(5))
    assert "segment 000000000003.spool was removed by another process; 1 tick(s) in it are lost" in caplog.text
    assert spool.read(first) is None and "skipping segment 000000000001.spool" in caplog.text
    spool.remove([first])
    assert drain(spool) == tick(2) + tick(3) + tick(5)
    assert spool.bytes == 0 and os.listdir(tmp_path) == []


@pytest.fixture
def small_disk(tmp_path):
    require(small_fs_unavailable_reason())
    with small_tmpfs(tmp_path / "disk", size="64k") as folder:
        yield folder


@pytest.mark.lab
def test_a_write_that_fails_on_a_full_disk_leaves_no_torn_line(small_disk):
    spool = Spool(os.path.join(small_disk, "spool"), max_bytes=10**6)
    filler = fill(small_disk, leave=6000)
    message = b"".join(b"home.presence.metric_%03d 1 1800000000\n" % i for i in range(30))  # about 1.2 kB
    kept, failures = [], 0
    for i in range(20):
        try:
            spool.append(message.replace(b"1800000000", b"%d" % (1_800_000_000 + i)))
            kept.append(i)
        except OSError as error:
            assert error.errno == errno.ENOSPC
            failures += 1
    assert failures > 1 and spool.error.errno == errno.ENOSPC
    assert len(os.listdir(spool.folder)) == 1  # retries on a full disk leave no trail of new files
    os.remove(filler)
    spool.append(message.replace(b"1800000000", b"1800000099"))
    expected = b"".join(message.replace(b"1800000000", b"%d" % (1_800_000_000 + i)) for i in [*kept, 99])
    on_disk = b"".join(open(os.path.join(spool.folder, name), "rb").read() for name in spool.segments)
    assert on_disk == expected and spool.bytes == len(expected)
    assert drain(spool) == expected


# One sender per folder: the folder's flock, taken at the first look into it, let go by close().

def test_a_second_spool_on_the_folder_is_refused_until_the_first_closes(tmp_path):
    first = Spool(str(tmp_path), max_bytes=10**6)
    first.append(tick(0))
    second = Spool(str(tmp_path), max_bytes=10**6)
    assert isinstance(second.error, SpoolInUse) and second.error.filename == str(tmp_path)
    assert second.segments == []  # not even read: the first may deliver and remove them
    with pytest.raises(SpoolInUse):
        second.append(tick(1))
    with pytest.raises(SpoolInUse):
        second.check()
    first.append(tick(1))
    assert os.listdir(tmp_path) == first.segments
    first.close()
    second.check()
    second.append(tick(2))
    assert drain(second) == tick(0) + tick(1) + tick(2)
    with pytest.raises(SpoolInUse):
        first.append(tick(3))


def test_a_folder_made_anew_is_locked_anew(tmp_path):
    folder = tmp_path / "spool"
    spool = Spool(str(folder), max_bytes=10**6)
    spool.append(tick(0))
    shutil.rmtree(folder)
    with pytest.raises(OSError):
        spool.append(tick(1))  # into the folder that is gone
    spool.append(tick(2))
    assert isinstance(Spool(str(folder), max_bytes=10**6).error, SpoolInUse)
    assert drain(spool) == tick(2)


@pytest.mark.lab
def test_the_lock_is_taken_on_a_full_and_on_a_read_only_folder(small_disk, tmp_path):
    full = os.path.join(small_disk, "spool")
    os.mkdir(full)
    fill(small_disk)
    held = Spool(full, max_bytes=10**6)
    assert held.error is None
    assert isinstance(Spool(full, max_bytes=10**6).error, SpoolInUse)
    (tmp_path / "ro").mkdir()
    with read_only(tmp_path / "ro"):
        assert Spool(str(tmp_path / "ro"), max_bytes=10**6).error is None
        with pytest.raises(OSError) as failure:
            Spool(str(tmp_path / "ro"), max_bytes=10**6).append(tick(0))
        assert failure.value.errno == errno.EROFS
    held.close()
