"""A person's device gone for good: unseen for wifi.vanished_after while another source saw the person home."""

from presence.config.load import parse_config
from presence.state.model import State
from tests.conftest import make_config
from tests.state.test_machine import T0, ha, wifi
from tests.state.test_intervals import run


def test_a_phone_unseen_for_days_while_home_assistant_says_home_is_vanished_and_a_new_mapping_is_not():
    from presence.state.vanished import describe, vanished_devices

    raw = make_config(homeassistant={"url": "http://ha:8123", "poll_interval": 60}, wifi={"vanished_after": 172800})
    raw["people"][1]["homeassistant_entities"] = ["person.susan"]
    config = parse_config(raw)
    old_phone, laptop = "02:00:00:00:02:01", "02:00:00:00:02:02"
    state = run(State(), config, wifi(T0, old_phone, laptop), T0)
    later = T0 + 3 * 86400
    state = run(state, config, wifi(later - 60, laptop), ha(later, person__susan="home"), later)
    (item,) = vanished_devices(state, config, later)
    assert (item.key, item.mac, item.by) == ("susan", old_phone, "Home Assistant")
    assert describe(item) == f"susan: {old_phone} not seen for 3 days while Susan was home (Home Assistant)"
    # Nick's phone: unseen as long, but nothing says Nick was home meanwhile; Tom's never seen at all.
    assert [v.mac for v in vanished_devices(state, config, later)] == [old_phone]


def test_another_device_of_the_person_is_evidence_too():
    from presence.state.vanished import vanished_devices

    old_phone, laptop = "02:00:00:00:02:01", "02:00:00:00:02:02"
    quick = parse_config(make_config(wifi={"scan_interval": 30, "offline_grace": 300, "vanished_after": 3600}))
    state = run(State(), quick, wifi(T0, old_phone, laptop), T0, wifi(T0 + 7200, laptop), T0 + 7200)
    assert [(v.mac, v.by) for v in vanished_devices(state, quick, T0 + 7200)] == [(old_phone, laptop)]
    assert vanished_devices(state, quick, T0 + 3000) == []
