from presence.metrics import metric_values, tick_time
from presence.state.model import PersonStatus, Snapshot


def test_four_per_person_then_three_aggregates():
    snapshot = Snapshot(at=0, devices_present_count=4, people=(
        PersonStatus("nick", True, True, False, 2),
        PersonStatus("susan", False, False, False, 0),
        PersonStatus("tom", True, False, True, 0),
    ))
    assert metric_values(snapshot) == [
        ("nick.is_home", 1), ("nick.from_wifi", 1), ("nick.from_homeassistant", 0), ("nick.devices_present", 2),
        ("susan.is_home", 0), ("susan.from_wifi", 0), ("susan.from_homeassistant", 0),
        ("susan.devices_present", 0),
        ("tom.is_home", 1), ("tom.from_wifi", 0), ("tom.from_homeassistant", 1), ("tom.devices_present", 0),
        ("count_home", 2), ("anyone_home", 1), ("wifi.devices_present_count", 4),
    ]


def test_tick_time_aligns_down_to_the_interval():
    assert tick_time(1_800_000_004.9, 5) == 1_800_000_000
    assert tick_time(1_800_000_005.0, 5) == 1_800_000_005
    assert tick_time(1_800_000_059.0, 60) == 1_800_000_000


def test_opt_in_metrics_follow_the_fixed_set():
    snapshot = Snapshot(at=0, devices_present_count=3, guest_devices=1, people=(
        PersonStatus("nick", True, True, False, 1, seconds_since_seen=12.4),
        PersonStatus("susan", False, False, False, 0, seconds_since_seen=None),
    ))
    values = metric_values(snapshot)
    assert values[:11][-3:] == [("count_home", 1), ("anyone_home", 1), ("wifi.devices_present_count", 3)]
    assert values[11:] == [("wifi.guest_devices_count", 1), ("nick.seconds_since_seen", 12)]


def test_transitions_become_sparse_event_lines():
    from presence.metrics import event_values
    from presence.state.model import Transition

    transitions = [Transition("susan", True, 0, "wifi x"), Transition("tom", False, 0, "gone"),
                   Transition("susan", False, 1, "gone"), Transition("susan", True, 2, "wifi x")]
    assert event_values(transitions) == [("events.susan.arrival", 1), ("events.tom.departure", 1),
                                         ("events.susan.departure", 1)]
    assert event_values([]) == []
