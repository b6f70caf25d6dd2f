import os

from presence.spool import Spool


def tick(i):
    return f"p.a {i} {1_800_000_000 + 5 * i}\np.b {i} {1_800_000_000 + 5 * i}\n".encode()


def drain(spool):
    data = b""
    while len(spool):
        data += spool.oldest()
        spool.remove_oldest()
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
    assert spool.oldest() == tick(0)
    spool.append(tick(2))
    assert drain(spool) == tick(0) + tick(2)


def test_files_are_private(tmp_path):
    folder = tmp_path / "spool"
    Spool(str(folder), max_bytes=10).append(b"x 1 1\n")
    assert oct(os.stat(folder).st_mode & 0o777) == "0o700"
