"""Reading the journal back, piece by piece: one day file's bytes within their bound, the records kept for a
time window (clipped and merged per subject), and the one log line saying what a read skipped."""

import errno
import logging
import os

import pytest

from presence.config import defaults
from presence.history.model import DeviceHistory, Interval, PersonHistory
from presence.history.reading import Found, Problems, read_day

T0 = 1_800_000_000.0
NAME = "2027-01-15.jsonl"
PHONE, TV = "3a:f1:00:00:00:9c", "02:aa:00:00:00:02"


@pytest.fixture
def small_days(monkeypatch):
    """A day file may hold 100 bytes: 60 for the devices nobody is mapped to, 40 for people's records."""
    monkeypatch.setattr(defaults, "MAX_HISTORY_DAY_BYTES", 60)
    monkeypatch.setattr(defaults, "HISTORY_DAY_PEOPLE_BYTES", 40)
    return 100


def day_file(tmp_path, data):
    path = tmp_path / NAME
    path.write_bytes(data)
    return str(path)


def test_a_day_file_is_read_whole_across_many_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(defaults, "HTTP_READ_CHUNK", 16)
    data = b"".join(b'{"watched":true,"start":%d,"end":%d}\n' % (int(T0) + i, int(T0) + i + 1) for i in range(50))
    problems = Problems(str(tmp_path))
    assert read_day(day_file(tmp_path, data), NAME, problems) == data
    assert problems.files == []


def test_a_day_file_of_exactly_its_bound_is_read_whole(tmp_path, small_days):
    data = (b"x" * 9 + b"\n") * (small_days // 10)
    problems = Problems(str(tmp_path))
    assert read_day(day_file(tmp_path, data), NAME, problems) == data
    assert problems.files == []


def test_a_day_file_over_its_bound_is_read_in_part_up_to_the_last_whole_line(tmp_path, small_days):
    data = (b"x" * 6 + b"\n") * 30
    problems = Problems(str(tmp_path))
    kept = read_day(day_file(tmp_path, data), NAME, problems)
    assert kept == (b"x" * 6 + b"\n") * (small_days // 7)
    assert problems.files == [f"{NAME} (over {small_days} bytes, read in part)"]


def test_a_day_file_over_its_bound_without_a_lines_end_in_it_gives_nothing(tmp_path, small_days):
    problems = Problems(str(tmp_path))
    assert read_day(day_file(tmp_path, b"y" * 500 + b"\n"), NAME, problems) == b""
    assert problems.files == [f"{NAME} (over {small_days} bytes, read in part)"]


def test_a_missing_day_file_is_none_and_counted_with_the_systems_reason(tmp_path):
    problems = Problems(str(tmp_path))
    assert read_day(str(tmp_path / NAME), NAME, problems) is None
    assert problems.files == [f"{NAME} ({os.strerror(errno.ENOENT)})"]


def device(start, end, mac=PHONE, hostname=None, personal=False):
    return "device", mac, start, end, (hostname, personal)


def test_only_records_that_overlap_the_window_are_kept_clipped_to_it():
    found = Found(T0, T0 + 1000)
    for parsed in (device(T0 - 500, T0 - 1), device(T0 - 100, T0 + 50), device(T0 + 400, T0 + 500),
                   device(T0 + 900, T0 + 2000), device(T0 + 1001, T0 + 1100)):
        found.add(parsed)
    assert found.history().devices[PHONE].intervals == (Interval(T0, T0 + 50), Interval(T0 + 400, T0 + 500),
                                                        Interval(T0 + 900, T0 + 1000))


def test_spans_that_touch_or_overlap_merge_in_any_order_of_adding():
    found = Found(T0, T0 + 1000)
    for parsed in (device(T0 + 300, T0 + 400), device(T0 + 100, T0 + 200), device(T0 + 200, T0 + 250),
                   device(T0 + 120, T0 + 150), device(T0 + 390, T0 + 450)):
        found.add(parsed)
    assert found.history().devices[PHONE].intervals == (Interval(T0 + 100, T0 + 250), Interval(T0 + 300, T0 + 450))


def test_a_device_keeps_every_hostname_it_had_and_is_personal_once_any_line_says_so():
    found = Found(T0, T0 + 1000)
    found.add(device(T0, T0 + 10, hostname="susans-phone", personal=True))
    found.add(device(T0 + 20, T0 + 30))
    found.add(device(T0 + 40, T0 + 50, hostname="Susans-iPhone"))
    found.add(device(T0 + 60, T0 + 70, mac=TV))
    devices = found.history().devices
    assert list(devices) == [TV, PHONE]
    assert devices[PHONE] == DeviceHistory(PHONE, (Interval(T0, T0 + 10), Interval(T0 + 20, T0 + 30),
                                                   Interval(T0 + 40, T0 + 50)),
                                           frozenset({"susans-phone", "Susans-iPhone"}), True)
    assert devices[TV] == DeviceHistory(TV, (Interval(T0 + 60, T0 + 70),), frozenset(), False)


def test_home_assistants_answers_are_known_whatever_they_said_and_home_only_when_home():
    found = Found(T0, T0 + 1000)
    found.add(("ha", "susan", T0, T0 + 100, True))
    found.add(("ha", "susan", T0 + 100, T0 + 300, False))
    found.add(("ha", "susan", T0 + 300, T0 + 400, True))
    found.add(("watched", None, T0 - 50, T0 + 200, None))
    found.add(("watched", None, T0 + 150, T0 + 5000, None))
    history = found.history()
    assert history.people == {"susan": PersonHistory("susan", (Interval(T0, T0 + 100), Interval(T0 + 300, T0 + 400)),
                                                     (Interval(T0, T0 + 400),))}
    assert history.watched == (Interval(T0, T0 + 1000),)
    assert history.devices == {}


def test_nothing_found_is_an_empty_history():
    history = Found(T0, T0 + 1000).history()
    assert (history.devices, history.people, history.watched) == ({}, {}, ())


def test_a_read_that_skipped_nothing_says_nothing(caplog):
    caplog.set_level(logging.DEBUG)
    Problems("/var/lib/presence/history").report()
    assert caplog.records == []


def test_torn_last_lines_are_said_at_info_in_one_line(caplog):
    caplog.set_level(logging.INFO)
    problems = Problems("/h")
    problems.torn += ["2027-01-14.jsonl", NAME]
    problems.report()
    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        ("INFO", "History in /h: skipped the torn last line of 2027-01-14.jsonl, 2027-01-15.jsonl "
                 "(a crash while writing)")]


def test_unreadable_files_and_bad_lines_are_one_warning_with_each_files_first_bad_line(caplog):
    problems = Problems("/h")
    problems.unreadable("2027-01-13.jsonl", "a directory")
    problems.bad_line(NAME, 3, "not JSON")
    problems.bad_line(NAME, 7, "not a MAC address")
    problems.bad_line("2027-01-16.jsonl", 1, "not a record")
    problems.report()
    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        ("WARNING", "History in /h: skipped 2027-01-13.jsonl (a directory); "
                    "2027-01-15.jsonl: skipped 2 bad line(s) (line 3: not JSON); "
                    "2027-01-16.jsonl: skipped 1 bad line(s) (line 1: not a record)")]


def test_the_warning_names_five_problems_at_most(caplog):
    problems = Problems("/h")
    for day in range(1, 9):
        problems.bad_line(f"2027-01-{day:02d}.jsonl", 1, "not JSON")
    problems.report()
    message = caplog.records[0].getMessage()
    assert message.count("bad line(s)") == 5 and message.endswith("2027-01-05.jsonl: skipped 1 bad line(s) "
                                                                  "(line 1: not JSON); ...")
