import errno
import json
import logging
import os
import random

import pytest

from presence.config import defaults
from presence.history import journal
from presence.history.model import DeviceHistory, Interval, PersonHistory
from testbed.carbon import require
from testbed.small_fs import fill, small_fs_unavailable_reason, small_tmpfs

DAY = 86400
T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC
MIDNIGHT = T0 - T0 % DAY
PHONE, TV = "3a:f1:00:00:00:9c", "02:aa:00:00:00:02"


def device(mac, start, end, hostname=None, personal=False):
    record = {"kind": "device", "mac": mac, "start": start, "end": end, "personal": personal}
    if hostname:
        record["hostname"] = hostname
    return record


def ha(person, start, end, home):
    return {"kind": "ha", "person": person, "start": start, "end": end, "home": home}


def watched(start, end):
    return {"kind": "watched", "start": start, "end": end}


def lines(folder, name):
    with open(os.path.join(folder, name), encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def day_name(at):
    return journal._day(at) + ".jsonl"


def test_round_trip_in_a_compact_format(tmp_path):
    folder = str(tmp_path / "history")
    written = journal.append(folder, [device(PHONE, T0, T0 + 3600.04, "Susans-iPhone", personal=True),
                                      ha("susan", T0 - 60, T0 + 7200.52, True), watched(T0 - 100, T0 + 8000)])
    name = "2027-01-15.jsonl"
    assert os.listdir(folder) == [name] and os.path.getsize(os.path.join(folder, name)) == written
    with open(os.path.join(folder, name)) as handle:
        assert handle.readline() == ('{"device":"3a:f1:00:00:00:9c","start":1800000000,"end":1800003600,'
                                     '"hostname":"Susans-iPhone","personal":true}\n')
    assert lines(folder, name)[1:] == [{"ha": "susan", "home": True, "start": 1799999940, "end": 1800007200.5},
                                       {"watched": True, "start": 1799999900, "end": 1800008000}]
    history = journal.read(folder, T0 - DAY, T0 + DAY)
    assert history.devices == {PHONE: DeviceHistory(PHONE, (Interval(T0, T0 + 3600),), frozenset({"Susans-iPhone"}),
                                                    True)}
    assert history.people == {"susan": PersonHistory("susan", (Interval(T0 - 60, T0 + 7200.5),),
                                                     (Interval(T0 - 60, T0 + 7200.5),))}
    assert history.watched == (Interval(T0 - 100, T0 + 8000),)


def test_a_missing_folder_is_an_empty_history(tmp_path):
    history = journal.read(str(tmp_path / "none"), T0, T0 + DAY)
    assert (history.devices, history.people, history.watched) == ({}, {}, ())
    assert journal.prune(str(tmp_path / "none"), T0) == []


def test_intervals_that_touch_or_overlap_merge_across_appends_and_days(tmp_path):
    folder = str(tmp_path)
    journal.append(folder, [device(PHONE, T0, T0 + 100), device(PHONE, T0 + 100, T0 + 200)])
    journal.append(folder, [device(PHONE, T0 + 150, T0 + 300), device(PHONE, T0 + 400, T0 + 500)])
    journal.append(folder, [device(PHONE, T0 + DAY, T0 + DAY + 10), device(TV, T0 - 20 * DAY, T0 + DAY)])
    journal.append(folder, [ha("mo", T0, T0 + 50, True), ha("mo", T0 + 50, T0 + 90, False),
                            ha("mo", T0 + 200, T0 + 300, True)])
    assert sorted(os.listdir(folder)) == [day_name(T0), day_name(T0 + DAY)]
    history = journal.read(folder, T0 - DAY, T0 + 2 * DAY)
    assert history.devices[PHONE].intervals == (Interval(T0, T0 + 300), Interval(T0 + 400, T0 + 500),
                                                Interval(T0 + DAY, T0 + DAY + 10))
    # The TV's record lies in the file of the day it ended: clipped to the window, not lost.
    assert history.devices[TV].intervals == (Interval(T0 - DAY, T0 + DAY),)
    mo = history.people["mo"]
    assert mo.ha_home == (Interval(T0, T0 + 50), Interval(T0 + 200, T0 + 300))
    assert mo.ha_known == (Interval(T0, T0 + 90), Interval(T0 + 200, T0 + 300))
    window = journal.read(folder, T0 + 250, T0 + 450)
    assert window.devices[PHONE].intervals == (Interval(T0 + 250, T0 + 300), Interval(T0 + 400, T0 + 450))
    assert journal.read(folder, T0 + 2 * DAY, T0 + 3 * DAY).devices == {}


def test_a_hostname_is_written_once_a_day_and_every_one_is_kept(tmp_path, monkeypatch):
    folder = str(tmp_path)
    for i in range(3):
        journal.append(folder, [device(PHONE, T0 + 10 * i, T0 + 10 * i + 5, "susans-phone", personal=True)])
    journal.append(folder, [device(PHONE, T0 + 40, T0 + 45, "Susans-iPhone", personal=True)])
    journal.append(folder, [device(PHONE, T0 + DAY, T0 + DAY + 5, "Susans-iPhone", personal=True)])
    monkeypatch.setattr(journal, "_described", {})  # a restart: the day's file is described again
    journal.append(folder, [device(PHONE, T0 + 60, T0 + 65, "Susans-iPhone")])
    assert [sorted(line) for line in lines(folder, day_name(T0))] == [
        ["device", "end", "hostname", "personal", "start"], ["device", "end", "start"], ["device", "end", "start"],
        ["device", "end", "hostname", "start"], ["device", "end", "hostname", "start"]]
    assert "hostname" in lines(folder, day_name(T0 + DAY))[0]
    phone = journal.read(folder, T0, T0 + 2 * DAY).devices[PHONE]
    assert phone.hostnames == {"susans-phone", "Susans-iPhone"} and phone.personal


def test_a_torn_last_line_is_skipped_once_and_cut_by_the_next_append(tmp_path, caplog):
    folder = str(tmp_path)
    journal.append(folder, [device(PHONE, T0, T0 + 10)])
    path = os.path.join(folder, day_name(T0))
    with open(path, "ab") as handle:
        handle.write(b'{"device":"3a:f1:00:00:00:9c","start":18000')
    caplog.set_level(logging.INFO)
    assert journal.read(folder, T0, T0 + DAY).devices[PHONE].intervals == (Interval(T0, T0 + 10),)
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert f"skipped the torn last line of {day_name(T0)} (a crash while writing)" in caplog.text
    caplog.clear()
    journal.append(folder, [device(PHONE, T0 + 20, T0 + 30)])
    assert "cut a torn last line of 43 bytes" in caplog.text
    assert lines(folder, day_name(T0)) == [{"device": PHONE, "start": T0, "end": T0 + 10},
                                           {"device": PHONE, "start": T0 + 20, "end": T0 + 30}]
    caplog.clear()
    journal.read(folder, T0, T0 + DAY)
    assert caplog.text == ""


BAD_LINES = [
    b"not json", b"[1, 2]", b'"device"', b"{}", b'{"kind":"device","mac":"3a:f1:00:00:00:9c","start":1,"end":2}',
    b'{"device":"3a:f1:00:00:00:9c","ha":"susan","start":1800000000,"end":1800000001,"home":true}',
    b'{"device":"not a mac","start":1800000000,"end":1800000001}',
    b'{"device":5,"start":1800000000,"end":1800000001}',
    b'{"device":"3a:f1:00:00:00:9c","start":"1800000000","end":1800000001}',
    b'{"device":"3a:f1:00:00:00:9c","start":true,"end":1800000001}',
    b'{"device":"3a:f1:00:00:00:9c","start":NaN,"end":1800000001}',
    b'{"device":"3a:f1:00:00:00:9c","start":1e400,"end":1e400}',
    b'{"device":"3a:f1:00:00:00:9c","start":-5,"end":1800000001}',
    b'{"device":"3a:f1:00:00:00:9c","start":1800000002,"end":1800000001}',
    b'{"device":"3a:f1:00:00:00:9c","start":1800000000}',
    b'{"ha":"Susan Smith","home":true,"start":1800000000,"end":1800000001}',
    b'{"ha":"susan","home":"yes","start":1800000000,"end":1800000001}',
    b'{"ha":"' + b"s" * 300 + b'","home":true,"start":1800000000,"end":1800000001}',
    b'{"watched":false,"start":1800000000,"end":1800000001}',
    b'{"device":"3a:f1:00:00:00:9c","start":1800000000,"end":1800000001,"x":"' + b"x" * 5000 + b'"}',
    b'{"device":"3a:f1:00:\xff\xfe:00:9c","start":1800000000,"end":1800000001}',
    b"[" * 2000 + b"]" * 2000, b"\0" * 100, b"",
]


def test_corrupt_or_hostile_lines_are_skipped_counted_and_said_once(tmp_path, caplog):
    folder = str(tmp_path)
    good = b'{"device":"3A-F1-00-00-00-9C","start":1800000000,"end":1800000010,"hostname":"a\\u001bb","extra":1}\n'
    with open(os.path.join(folder, day_name(T0)), "wb") as handle:
        handle.write(good + b"\n".join(BAD_LINES) + b"\n" + good.replace(b"010", b"020"))
    caplog.set_level(logging.INFO)
    history = journal.read(folder, T0 - DAY, T0 + DAY)
    # A hostname that is not printable is left out, not the record; unknown keys are ignored.
    assert history.devices == {PHONE: DeviceHistory(PHONE, (Interval(T0, T0 + 20),))}
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert f"{day_name(T0)}: skipped {len(BAD_LINES)} bad line(s) (line 2: not JSON)" in caplog.text


def test_day_files_that_are_not_regular_files_are_skipped(tmp_path, caplog):
    folder = str(tmp_path)
    journal.append(folder, [device(PHONE, T0, T0 + 10)])
    os.mkdir(os.path.join(folder, day_name(T0 + DAY)))
    os.mkfifo(os.path.join(folder, day_name(T0 + 2 * DAY)))  # would block a plain open()
    os.symlink("/etc/passwd", os.path.join(folder, day_name(T0 + 3 * DAY)))
    (tmp_path / "notes.txt").write_text("not a day")
    history = journal.read(folder, T0 - DAY, T0 + 5 * DAY)
    assert history.devices[PHONE].intervals == (Interval(T0, T0 + 10),)
    assert len(caplog.records) == 1 and caplog.records[0].levelname == "WARNING"
    assert (f"skipped {day_name(T0 + DAY)} (a directory), {day_name(T0 + 2 * DAY)} (not a regular file), "
            f"{day_name(T0 + 3 * DAY)} (a symbolic link)") in caplog.text
    for day in (1, 2, 3):
        with pytest.raises(OSError):
            journal.append(folder, [device(PHONE, T0 + day * DAY, T0 + day * DAY + 1)])


def test_an_unwritable_folder_is_an_oserror_for_the_caller(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError):
        journal.append(str(tmp_path / "file" / "history"), [device(PHONE, T0, T0 + 1)])
    with pytest.raises(NotADirectoryError):
        journal.read(str(tmp_path / "file"), T0, T0 + 1)


def flood(macs, start, count):
    """A MAC-rotating device: every record from another random-looking address."""
    return [device(f"06:00:00:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}", start + i, start + i + 0.5)
            for i in range(macs, macs + count)]


def test_a_flood_of_unknown_devices_never_pushes_out_peoples_records(tmp_path, monkeypatch, caplog):
    folder = str(tmp_path)
    monkeypatch.setattr(defaults, "MAX_HISTORY_DAY_BYTES", 2_000)
    monkeypatch.setattr(defaults, "HISTORY_DAY_PEOPLE_BYTES", 1_000)
    journal.append(folder, flood(0, T0, 60), people_macs={PHONE})
    unknown = os.path.getsize(os.path.join(folder, day_name(T0)))
    assert 1_900 < unknown <= 2_000
    assert caplog.text.count("devices nobody is mapped to are spent") == 1
    # Every other kind still has its own room: Home Assistant's, the watched LAN's and a mapped phone's.
    journal.append(folder, [ha("susan", T0, T0 + 50, True), watched(T0, T0 + 60), device(PHONE, T0, T0 + 70)]
                   + flood(100, T0 + 100, 10), people_macs={PHONE})
    history = journal.read(folder, T0, T0 + DAY)
    assert history.people["susan"].ha_home == (Interval(T0, T0 + 50),)
    assert history.watched == (Interval(T0, T0 + 60),)
    assert history.devices[PHONE].intervals == (Interval(T0, T0 + 70),)
    assert caplog.text.count("devices nobody is mapped to are spent") == 1  # said once a day
    # After a restart, the budget counts what the day's file already holds.
    journal._described.clear()
    journal.append(folder, flood(200, T0 + 200, 10) + [ha("mo", T0 + 300, T0 + 310, False)], people_macs={PHONE})
    history = journal.read(folder, T0, T0 + DAY)
    assert "mo" in history.people and not any(record["mac"] in history.devices for record in flood(200, T0, 10))
    # People's records have a bound too, and the next day has room again for everyone.
    journal.append(folder, [ha("susan", T0 + 400 + i, T0 + 400.5 + i, True) for i in range(40)], people_macs={PHONE})
    assert os.path.getsize(os.path.join(folder, day_name(T0))) <= 3_000
    assert caplog.text.count("people's records are spent") == 1
    journal.append(folder, flood(0, T0 + DAY, 3) + [ha("susan", T0 + DAY, T0 + DAY + 1, True)])
    assert len(lines(folder, day_name(T0 + DAY))) == 4


def test_a_mapped_device_that_floods_is_bounded_by_the_peoples_share(tmp_path, monkeypatch):
    folder = str(tmp_path)
    monkeypatch.setattr(defaults, "HISTORY_DAY_PEOPLE_BYTES", 500)
    journal.append(folder, [device(PHONE, T0 + i, T0 + i + 0.5) for i in range(100)], people_macs={PHONE})
    journal.append(folder, [device(TV, T0, T0 + 1)])
    assert 400 < os.path.getsize(os.path.join(folder, day_name(T0))) <= 500 + 100
    assert TV in journal.read(folder, T0, T0 + DAY).devices


def test_day_files_dated_after_tomorrow_are_set_aside_not_read_and_later_deleted(tmp_path, caplog):
    folder = str(tmp_path)
    for day in (0, 1, 2, 400):
        journal.append(folder, [device(PHONE, T0 + day * DAY, T0 + day * DAY + 1)])
    assert journal.prune(folder, T0) == []
    names = sorted(os.listdir(folder))
    assert names == [day_name(T0), day_name(T0 + DAY), day_name(T0 + 2 * DAY) + ".future",
                     day_name(T0 + 400 * DAY) + ".future"]
    assert caplog.text.count("set aside 2 day file(s) dated after tomorrow") == 1
    assert journal.read(folder, T0, T0 + 500 * DAY).devices[PHONE].intervals == (
        Interval(T0, T0 + 1), Interval(T0 + DAY, T0 + DAY + 1))
    aside, recent = (os.path.join(folder, day_name(T0 + day * DAY) + ".future") for day in (400, 2))
    os.utime(aside, (T0 - 29 * DAY, T0 - 29 * DAY))
    os.utime(recent, (T0 - 27 * DAY, T0 - 27 * DAY))
    journal.prune(folder, T0)
    assert not os.path.exists(aside) and os.path.exists(recent)


def test_invalid_records_are_left_out_with_one_warning(tmp_path, caplog):
    folder = str(tmp_path)
    journal.append(folder, [device(PHONE, float("nan"), T0), device("nonsense", T0, T0 + 1), ha("Mo!", T0, T0, True),
                            {"kind": "guess", "start": T0, "end": T0}, device(PHONE, T0 + 5, T0), None,
                            device(TV, T0, T0 + 1, hostname="x\n" * 200)])
    assert len(caplog.records) == 1 and "6 record(s) not written, not valid" in caplog.text
    assert lines(folder, day_name(T0)) == [{"device": TV, "start": T0, "end": T0 + 1}]
    assert journal.append(folder, [None]) == 0


def test_prune_removes_whole_days_older_than_kept_and_nothing_else(tmp_path):
    folder = str(tmp_path)
    for day in range(31):
        journal.append(folder, [device(PHONE, MIDNIGHT + day * DAY + 10, MIDNIGHT + day * DAY + 20)])
    os.mkdir(os.path.join(folder, "2026-01-01.jsonl"))
    (tmp_path / "README").write_text("mine")
    now = MIDNIGHT + 30 * DAY + 5  # the day files of days 0 and 1 end before now - 28 days
    assert journal.prune(folder, now) == [day_name(MIDNIGHT), day_name(MIDNIGHT + DAY)]
    assert len([name for name in os.listdir(folder) if name.startswith("20")]) == 30
    assert "README" in os.listdir(folder)
    kept = journal.read(folder, now - 28 * DAY, now).devices[PHONE].intervals
    assert kept[0] == Interval(MIDNIGHT + 2 * DAY + 10, MIDNIGHT + 2 * DAY + 20) and len(kept) == 28
    assert journal.prune(folder, now) == []


@pytest.mark.lab
def test_a_full_disk_is_an_oserror_and_leaves_no_torn_line(tmp_path):
    require(small_fs_unavailable_reason())
    with small_tmpfs(tmp_path / "disk", size="64k") as disk:
        folder = os.path.join(disk, "history")
        journal.append(folder, [device(PHONE, T0, T0 + 1)])
        filler = fill(disk, leave=0)
        batch = [device(PHONE, T0 + i, T0 + i + 0.5) for i in range(2, 200)]
        with pytest.raises(OSError) as caught:
            journal.append(folder, batch)
        assert caught.value.errno == errno.ENOSPC
        os.remove(filler)
        journal.append(folder, [device(PHONE, T0 + 300, T0 + 301)])
        assert journal.read(folder, T0, T0 + DAY).devices[PHONE].intervals == (
            Interval(T0, T0 + 1), Interval(T0 + 300, T0 + 301))


def realistic_day(rng, macs, persons, day_start):
    """A day's closed records as the loop appends them, a few at a time: 10 stretches per device."""
    records = []
    for index, mac in enumerate(macs):
        for start in sorted(rng.uniform(day_start, day_start + DAY - 3600) for _ in range(10)):
            records.append(device(mac, start, start + rng.uniform(60, 3000), hostname=f"host-{index:03d}-livingroom"
                                  if index % 2 else None, personal=index % 4 == 0))
    for person in persons:
        for start in sorted(rng.uniform(day_start, day_start + DAY - 3600) for _ in range(10)):
            records.append(ha(person, start, start + rng.uniform(60, 3000), rng.random() < 0.5))
    records.append(watched(day_start, day_start + DAY - 1))
    records.sort(key=lambda record: record["end"])
    return [records[i:i + 3] for i in range(0, len(records), 3)]


def test_200_devices_over_28_days_take_a_few_mb(tmp_path):
    rng = random.Random(14)
    macs = [":".join(f"{rng.randrange(256) | (2 if i == 0 else 0):02x}" for i in range(6)) for _ in range(200)]
    persons = ["susan", "nick", "mo", "charlie", "tom", "zoe"]
    folder = str(tmp_path)
    for day in range(28):
        for batch in realistic_day(rng, macs, persons, MIDNIGHT + day * DAY):
            journal.append(folder, batch)
    total = sum(os.path.getsize(os.path.join(folder, name)) for name in os.listdir(folder))
    print(f"history of 200 devices x 10 stretches a day, 6 people, 28 days: {total:,} bytes "
          f"({total / 28:,.0f} a day)")
    assert total < 5_000_000
    history = journal.read(folder, MIDNIGHT, MIDNIGHT + 28 * DAY)
    assert len(history.devices) == 200 and len(history.people) == 6


def test_extra_records_join_what_the_files_hold(tmp_path, caplog):
    folder = str(tmp_path)
    journal.append(folder, [device(PHONE, T0, T0 + 100, "phone")])
    extra = [device(PHONE, T0 + 100, T0 + 200, "Susans-iPhone", personal=True), ha("susan", T0 - 50, T0, False),
             watched(T0, T0 + 300), device("not a mac", T0, T0 + 1)]
    history = journal.read(folder, T0 - DAY, T0 + DAY, extra=extra)
    assert history.devices[PHONE] == DeviceHistory(PHONE, (Interval(T0, T0 + 200),),
                                                   frozenset({"phone", "Susans-iPhone"}), True)
    assert history.people["susan"] == PersonHistory("susan", (), (Interval(T0 - 50, T0),))
    assert history.watched == (Interval(T0, T0 + 300),)
    assert "History: 1 record(s) not read, not valid (first: ValueError: not a MAC address)" in caplog.text
    assert journal.read(str(tmp_path / "none"), T0, T0 + DAY, extra=extra[2:3]).watched == (Interval(T0, T0 + 300),)


def test_an_interval_still_open_meets_the_written_one_it_follows(tmp_path):
    # Home Assistant's answer changed at `at`: the closed interval is written to 0.1 s, the open one is exact.
    folder, at = str(tmp_path), T0 + 100.04
    journal.append(folder, [ha("susan", T0, at, True)])
    history = journal.read(folder, T0 - DAY, T0 + DAY, extra=[ha("susan", at, T0 + 200, False)])
    assert history.people["susan"] == PersonHistory("susan", (Interval(T0, T0 + 100),), (Interval(T0, T0 + 200),))
