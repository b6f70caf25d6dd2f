"""The history writer: closed records appended in batches, held (bounded) while the disk refuses them, said once."""

from tests.state.test_machine import T0


def test_the_writer_keeps_what_it_cannot_write_says_so_once_and_writes_it_later(tmp_path, caplog):
    from presence.history import journal
    from presence.outputs.history.writer import HistoryWriter

    caplog.set_level("INFO")
    blocker = tmp_path / "history"
    blocker.write_text("a file where the history's folder should be")
    writer = HistoryWriter(str(blocker), T0, flush_interval=0)
    records = [{"kind": "watched", "start": T0 + i, "end": T0 + i + 0.5} for i in range(3)]
    for record in records:
        writer.write([record], T0 + 10)
    assert caplog.text.count("Cannot write the device history") == 1 and len(writer.pending) == 3
    assert writer.problem() == "device history not written: File exists (3 records held; a restart now loses them)"
    blocker.unlink()
    writer.write([], T0 + 20)
    assert writer.pending == [] and "Device history written to" in caplog.text and writer.problem() is None
    assert [(item.start, item.end) for item in journal.read(str(blocker), T0, T0 + 60).watched] == \
        [(T0 + i, T0 + i + 0.5) for i in range(3)]


def test_the_writer_appends_in_batches_a_minute_apart_and_at_flush(tmp_path, monkeypatch):
    from presence.history import journal
    from presence.outputs.history.writer import HistoryWriter

    appends = []
    real_append = journal.append
    monkeypatch.setattr(journal, "append", lambda *args, **kwargs: appends.append(len(args[1])) or
                        real_append(*args, **kwargs))
    folder = str(tmp_path / "history")
    writer = HistoryWriter(folder, T0)
    for second in range(0, 150, 5):
        writer.write([{"kind": "watched", "start": T0 + second, "end": T0 + second + 1}], T0 + second + 1)
    assert appends == [13, 12]  # at T0 + 61 and T0 + 121; five records wait for the next batch
    assert len(writer.pending) == 5 and writer.flush(T0 + 150) and appends == [13, 12, 5]
    writer.write([{"kind": "watched", "start": T0 + 10, "end": T0 + 11}], T0 + 11)  # the clock went back
    assert appends == [13, 12, 5, 1]
    assert len(journal.read(folder, T0, T0 + 200).watched) == 30  # each of the 30 once (the last one twice)


def test_a_mapped_phones_records_keep_their_room_in_a_day_a_flood_filled(tmp_path, monkeypatch):
    from presence.config import defaults
    from presence.history import journal
    from presence.outputs.history.writer import HistoryWriter

    monkeypatch.setattr(defaults, "MAX_HISTORY_DAY_BYTES", 1_000)
    folder = str(tmp_path / "history")
    writer = HistoryWriter(folder, T0, flush_interval=0)
    phone = "02:00:00:00:01:01"
    flood = [{"kind": "device", "mac": f"06:00:00:00:01:{i:02x}", "start": T0 + i, "end": T0 + i + 1}
             for i in range(100)]
    writer.write(flood, T0 + 100, people_macs={phone: "nick"})
    writer.write([{"kind": "device", "mac": phone, "start": T0, "end": T0 + 100}], T0 + 101)
    assert journal.read(folder, T0, T0 + 200).devices[phone].intervals[0].end == T0 + 100
    assert writer.pending == [] and writer.problem() is None
