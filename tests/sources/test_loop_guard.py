"""The loop guard never trusts a single read: whether a person's tracker is ours is decided only from a tracker
Home Assistant shows (not absent, unknown or unavailable), and asked again at an interval and on demand."""

import logging
import threading

import pytest

from presence.config import defaults
from presence.config.secrets import Secret
from presence.sources.homeassistant import HomeAssistantSource
from tests.sources.test_homeassistant import TOKEN, ha_config
from testbed.fake_homeassistant import FakeHomeAssistant

T0 = 1_800_000_000.0
OWN = (frozenset({"device_tracker.presence_nick"}), "presence")
RENAMED = "device_tracker.nicks_presence"  # our device_tracker.presence_nick, renamed in Home Assistant
OURS = {"presence_topic": "presence", "source_type": "router", "friendly_name": "Nick",
        "last_seen_device": "02:00:00:00:01:01"}
GPS = "device_tracker.nick_gps"


@pytest.fixture
def ha():
    server = FakeHomeAssistant(TOKEN)
    yield server
    server.close()


def source(ha, entities=("person.nick",)):
    return HomeAssistantSource(ha_config(ha.url), entities, Secret(TOKEN), own=OWN)


def person_follows(ha, state, source_tracker, trackers=(RENAMED,)):
    """person.nick as Home Assistant shows it: its state that of `source_tracker` (None: no tracker has one)."""
    extra = {} if source_tracker is None else {"source": source_tracker}
    ha.set("person.nick", state, editable=False, id="nick", device_trackers=list(trackers), **extra)


def reading(source_, now):
    report = source_.poll(now)
    assert report.ok, report.error
    return {r.entity_id: (r.state, r.home) for r in report.readings}["person.nick"]


def loop_lines(caplog):
    return [r for r in caplog.records if "which this daemon publishes" in r.getMessage()]


def test_a_tracker_unavailable_at_the_first_read_is_recognised_once_it_is_back(ha, caplog):
    # The daemon restarting: its last will made our renamed tracker unavailable, so Home Assistant dropped the
    # marker, and person.nick (following nothing else) is unknown.
    ha.set(RENAMED, "home", **OURS)
    ha.make_unavailable(RENAMED)
    person_follows(ha, "unknown", None)
    guard = source(ha)
    assert reading(guard, T0) == ("unknown", None)
    # Back online: person.nick follows our tracker again, and that is our own verdict read back.
    ha.set(RENAMED, "home", **OURS)
    person_follows(ha, "home", RENAMED)
    assert reading(guard, T0 + 1) == ("home (our own output)", None)
    ha.set(RENAMED, "not_home", **OURS)
    person_follows(ha, "not_home", RENAMED)
    assert reading(guard, T0 + 2) == ("not_home (our own output)", None)
    assert [r.levelno for r in loop_lines(caplog)] == [logging.WARNING]  # said once, not per poll


def test_a_tracker_absent_at_the_first_read_is_recognised_once_it_appears(ha, caplog):
    # Not discovered yet (the broker or Home Assistant still starting): person.nick names an id nobody has.
    person_follows(ha, "not_home", GPS, trackers=(RENAMED, GPS))
    ha.set(GPS, "not_home", source_type="gps")
    guard = source(ha)
    assert reading(guard, T0) == ("not_home", False)
    ha.set(RENAMED, "home", **OURS)
    person_follows(ha, "home", RENAMED, trackers=(RENAMED, GPS))
    assert reading(guard, T0 + 1) == ("home (our own output)", None)
    assert len(loop_lines(caplog)) == 1


def test_an_absent_or_unavailable_tracker_is_asked_again_at_every_poll_and_never_silences_the_others(ha):
    # A person whose state comes from its GPS tracker: a stale or unavailable tracker beside it takes nothing
    # from Home Assistant's answer (a person skips those), so the person is evidence; the tracker is asked again.
    ha.set(GPS, "home", source_type="gps")
    ha.set("device_tracker.old_phone", "home", source_type="router")
    ha.make_unavailable("device_tracker.old_phone")
    person_follows(ha, "home", GPS, trackers=(RENAMED, "device_tracker.old_phone", GPS))
    guard = source(ha)
    for at in (T0, T0 + 1, T0 + 2):
        assert reading(guard, at) == ("home", True)
    assert ha.asked(RENAMED) == 3 and ha.asked("device_tracker.old_phone") == 3
    assert ha.asked(GPS) == 1  # a verdict taken from a tracker shown whole is kept


@pytest.mark.parametrize("tracker", ["unavailable", "no attributes"])
def test_a_person_whose_state_comes_from_an_undecided_tracker_is_no_evidence_of_home(ha, tracker):
    # person.nick read while our tracker was still shown, the tracker an instant later after its last will (or a
    # tracker shown without attributes, which cannot be told from ours): its "home" may be our own verdict.
    ha.set(RENAMED, "home", **OURS)
    if tracker == "unavailable":
        ha.make_unavailable(RENAMED)
    else:
        ha.set(RENAMED, "home")
    person_follows(ha, "home", RENAMED, trackers=(RENAMED, GPS))
    ha.set(GPS, "not_home", source_type="gps")
    guard = source(ha)
    assert reading(guard, T0) == (f"home (from {RENAMED}, not known yet to be ours or not)", None)
    person_follows(ha, "not_home", GPS, trackers=(RENAMED, GPS))
    assert reading(guard, T0 + 1) == ("not_home", False)  # "not home" holds no one home: it counts
    # Without its source said, any undecided tracker may be it.
    ha.set("person.nick", "home", device_trackers=[RENAMED, GPS])
    assert reading(guard, T0 + 2) == (f"home (from {RENAMED}, not known yet to be ours or not)", None)


def test_a_cached_verdict_is_asked_again_after_the_recheck_interval(ha, caplog):
    # At first RENAMED is someone else's tracker (evidence); then the user deletes it and renames ours to its id.
    ha.set(RENAMED, "home", source_type="router")
    person_follows(ha, "home", RENAMED)
    guard = source(ha)
    assert reading(guard, T0) == ("home", True)
    ha.set(RENAMED, "home", **OURS)
    interval = defaults.HA_OWN_RECHECK_INTERVAL
    assert reading(guard, T0 + interval - 1) == ("home", True)
    assert ha.asked(RENAMED) == 1  # within the interval the verdict stands
    assert reading(guard, T0 + interval) == ("home (our own output)", None)
    assert ha.asked(RENAMED) == 2
    assert reading(guard, T0 + interval + 1) == ("home (our own output)", None)
    assert ha.asked(RENAMED) == 2
    assert len(loop_lines(caplog)) == 1


def test_a_clock_that_went_back_asks_again(ha):
    ha.set(RENAMED, "home", source_type="router")
    person_follows(ha, "home", RENAMED)
    guard = source(ha)
    reading(guard, T0)
    reading(guard, T0 - 3600)
    assert ha.asked(RENAMED) == 2


def test_a_verdict_of_ours_stands_while_a_recheck_finds_the_tracker_unavailable(ha):
    ha.set(RENAMED, "home", **OURS)
    ha.set(GPS, "home", source_type="gps")
    person_follows(ha, "home", RENAMED, trackers=(RENAMED, GPS))
    guard = source(ha)
    assert reading(guard, T0) == ("home (our own output)", None)
    ha.make_unavailable(RENAMED)
    person_follows(ha, "home", GPS, trackers=(RENAMED, GPS))
    at = T0 + defaults.HA_OWN_RECHECK_INTERVAL
    assert reading(guard, at) == ("home (our own output)", None)
    assert reading(guard, at + 1) == ("home (our own output)", None)
    assert ha.asked(RENAMED) == 3  # unavailable: asked again at each poll until it shows itself
    ha.set(RENAMED, "not_home", **OURS)
    reading(guard, at + 2)
    reading(guard, at + 3)
    assert ha.asked(RENAMED) == 4


def test_recheck_own_asks_again_at_the_next_poll_from_any_thread(ha):
    ha.set(RENAMED, "home", source_type="router")
    person_follows(ha, "home", RENAMED)
    guard = source(ha)
    assert reading(guard, T0) == ("home", True)
    ha.set(RENAMED, "home", **OURS)
    assert reading(guard, T0 + 1) == ("home", True)
    asked = ha.asked(RENAMED)
    birth = threading.Thread(target=guard.recheck_own)  # as the MQTT thread calls it at Home Assistant's birth
    birth.start()
    birth.join()
    assert ha.asked(RENAMED) == asked  # it only asks the next poll to ask
    assert reading(guard, T0 + 2) == ("home (our own output)", None)
    assert reading(guard, T0 + 3) == ("home (our own output)", None)
    assert ha.asked(RENAMED) == asked + 1  # once, not at every poll from then on


def test_the_end_of_a_loop_is_said_once_and_a_new_one_again(ha, caplog):
    caplog.set_level(logging.INFO, logger="presence.sources.homeassistant")
    ha.set(RENAMED, "home", **OURS)
    ha.set(GPS, "home", source_type="gps")
    person_follows(ha, "home", RENAMED, trackers=(RENAMED, GPS))
    guard = source(ha)
    reading(guard, T0)
    # Unknown for a moment, or its tracker unavailable: not the end of the loop.
    person_follows(ha, "unknown", None, trackers=(RENAMED, GPS))
    reading(guard, T0 + 1)
    ha.remove("person.nick")
    assert reading(guard, T0 + 2) == ("missing", None)
    # The user removed our tracker from the person in Home Assistant.
    person_follows(ha, "home", GPS, trackers=(GPS,))
    assert reading(guard, T0 + 3) == ("home", True)
    assert reading(guard, T0 + 4) == ("home", True)
    person_follows(ha, "home", RENAMED, trackers=(RENAMED, GPS))
    reading(guard, T0 + 5)
    said = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "presence.sources.homeassistant"]
    assert said == [
        (logging.WARNING, f"person.nick follows {RENAMED}, which this daemon publishes over MQTT: it is ignored, "
                          "since it would echo our own verdict; map that person's other trackers in "
                          "homeassistant_entities instead of person.nick, or remove device_tracker.nicks_presence "
                          "from the person in Home Assistant"),
        (logging.INFO, f"person.nick no longer follows {RENAMED}, which this daemon publishes: it counts as "
                       "evidence again"),
        (logging.WARNING, f"person.nick follows {RENAMED}, which this daemon publishes over MQTT: it is ignored, "
                          "since it would echo our own verdict; map that person's other trackers in "
                          "homeassistant_entities instead of person.nick, or remove device_tracker.nicks_presence "
                          "from the person in Home Assistant")]


def test_check_recognises_a_tracker_that_is_back_although_it_was_unavailable_before(ha):
    # `check` (inspect) keeps no verdict across its calls: each asks Home Assistant as it is now.
    ha.make_unavailable(RENAMED)
    person_follows(ha, "unknown", None)
    guard = source(ha)
    assert guard.inspect("person.nick") == ("unknown", None)
    ha.set(RENAMED, "home", **OURS)
    person_follows(ha, "home", RENAMED)
    assert guard.inspect("person.nick") == ("home", RENAMED)
