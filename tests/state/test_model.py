"""What a decision is made of: a transition's log line, and a snapshot's head count."""

from presence.state.model import PersonStatus, Snapshot, Transition


def status(key, is_home):
    return PersonStatus(key, is_home, from_wifi=is_home, from_homeassistant=False, devices_present=int(is_home))


def test_a_transition_is_logged_as_key_change_and_reason():
    assert Transition("nick", True, 100.0, "wifi").message == "nick: away -> home (wifi)"
    assert Transition("susan", False, 100.0, "unseen for 300 s").message == "susan: home -> away (unseen for 300 s)"


def test_a_snapshot_counts_the_people_home():
    snapshot = Snapshot(at=0.0, people=(status("nick", True), status("susan", False), status("tom", True)),
                        devices_present_count=5)
    assert snapshot.count_home == 2 and snapshot.anyone_home


def test_an_empty_home_has_nobody_and_no_one_home():
    snapshot = Snapshot(at=0.0, people=(status("nick", False), status("susan", False)), devices_present_count=1)
    assert snapshot.count_home == 0 and not snapshot.anyone_home
    assert not Snapshot(at=0.0, people=(), devices_present_count=0).anyone_home
