"""The history's hint for a vanished device: the journal kept on disk, the state's open intervals and the
writer's batch, read together; the unmapped device that follows the person named, or nothing."""

import logging
import re

import pytest

from presence.config import defaults
from presence.config.load import parse_config
from presence.history import journal
from presence.history.hints import kept_history, new_address_hint
from presence.history.model import Interval
from presence.state.model import DeviceRecord, PersonRecord, State
from tests.conftest import make_config

T0 = 1_800_000_000.0
HOUR, DAY = 3600.0, 86400.0
DAYS = 14
NOW = T0 + DAYS * DAY
NEW_PHONE = "3a:f1:00:00:00:9c"
HINT = re.compile(r"; 3a:f1:00:00:00:9c looks like its new private address \((0\.[89]\d|1\.00)\): see 'suggest'")


@pytest.fixture
def config():
    return parse_config(make_config(), "test.yaml")


def susans_days():
    """(home spans, out spans) in epoch seconds: Susan is out each day from 8-10 h to 17-18 h."""
    home, out, start = [], [], T0
    for day in range(DAYS):
        leave, back = T0 + day * DAY + (8 + day % 3) * HOUR, T0 + day * DAY + (17 + day % 2) * HOUR
        home.append((start, leave))
        out.append((leave, back))
        start = back
    return home + [(start, NOW)], out


def susans_home_assistant():
    home, out = susans_days()
    return sorted([{"kind": "ha", "person": "susan", "start": start, "end": end, "home": True} for start, end in home]
                  + [{"kind": "ha", "person": "susan", "start": start, "end": end, "home": False}
                     for start, end in out], key=lambda record: record["start"])


def phone_following_susan():
    """Her new phone: on the LAN from 3 min after she comes home to 5 min before she goes."""
    home, _ = susans_days()
    return [{"kind": "device", "mac": NEW_PHONE, "start": start + 180, "end": end - 300, "personal": True}
            for start, end in home]


def watched():
    return [{"kind": "watched", "start": T0, "end": NOW}]


def test_an_unmapped_phone_that_follows_susan_is_named_for_her_vanished_device(tmp_path, config):
    folder = str(tmp_path / "history")
    journal.append(folder, susans_home_assistant() + phone_following_susan() + watched())
    hint = new_address_hint(folder, State(), config, NOW, "susan")
    assert HINT.fullmatch(hint), hint


def test_a_device_that_follows_someone_else_is_no_hint_for_another_person(tmp_path, config):
    folder = str(tmp_path / "history")
    journal.append(folder, susans_home_assistant() + phone_following_susan() + watched())
    assert new_address_hint(folder, State(), config, NOW, "nick") == ""


def test_the_writers_batch_not_yet_in_the_journal_counts(tmp_path, config):
    folder = str(tmp_path / "history")
    journal.append(folder, susans_home_assistant() + watched())
    assert new_address_hint(folder, State(), config, NOW, "susan") == ""
    assert HINT.fullmatch(new_address_hint(folder, State(), config, NOW, "susan", held=phone_following_susan()))


def test_a_history_that_cannot_be_read_costs_the_hint_not_the_warning(tmp_path, config, caplog):
    caplog.set_level(logging.DEBUG, logger="presence.history.hints")
    (tmp_path / "history").write_text("a file, not a folder")
    assert new_address_hint(str(tmp_path / "history"), State(), config, NOW, "susan") == ""
    assert "No hint for susan's vanished device" in caplog.text


def test_kept_history_is_the_last_days_kept_with_the_states_open_intervals_and_the_extra_records(tmp_path):
    folder, since = str(tmp_path), NOW - defaults.HISTORY_KEEP_DAYS * DAY
    old_tv, tv = "02:aa:00:00:00:01", "02:aa:00:00:00:02"
    journal.append(folder, [{"kind": "device", "mac": old_tv, "start": since - 200, "end": since - 100},
                            {"kind": "device", "mac": tv, "start": NOW - 500, "end": NOW - 400}])
    state = State(devices={NEW_PHONE: DeviceRecord("198.51.100.9", NOW - 900, NOW - 30, hostname="Susans-iPhone",
                                                   personal=True, present_since=NOW - 600),
                           "02:aa:00:00:00:03": DeviceRecord("198.51.100.10", NOW - 9000, NOW - 8000)},
                  people={"susan": PersonRecord(ha_home=True, ha_since=NOW - 700)},
                  watched=(NOW - 1000, NOW - 30))
    extra = [{"kind": "ha", "person": "mo", "start": NOW - 2000, "end": NOW - 1500, "home": True}]
    history = kept_history(folder, state, NOW, extra=extra)
    assert set(history.devices) == {tv, NEW_PHONE}
    phone = history.devices[NEW_PHONE]
    assert phone.intervals == (Interval(NOW - 600, NOW - 30),)
    assert phone.hostnames == {"Susans-iPhone"} and phone.personal
    assert history.people["susan"].ha_home == (Interval(NOW - 700, NOW),)
    assert history.people["mo"].ha_home == (Interval(NOW - 2000, NOW - 1500),)
    assert history.watched == (Interval(NOW - 1000, NOW - 30),)


def test_kept_history_reads_nothing_after_now(tmp_path):
    folder = str(tmp_path)
    journal.append(folder, [{"kind": "watched", "start": NOW - 100, "end": NOW + 100}])
    assert kept_history(folder, State(), NOW).watched == (Interval(NOW - 100, NOW),)
