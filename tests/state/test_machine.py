"""The state machine, driven with explicit times: no clock, no sleeping."""

from dataclasses import replace

from presence.config.load import parse_config
from presence.observations import DeviceSighting, EntityReading, NetworkHealth, SourceReport
from presence.state.machine import evaluate, ingest, lan_outages_now, reprobe_targets
from presence.state.model import State
from tests.conftest import make_config

T0 = 1_800_000_000.0
NICK_PHONE, SUSAN_PHONE, SUSAN_LAPTOP = "02:00:00:00:01:01", "02:00:00:00:02:01", "02:00:00:00:02:02"
STRANGER, ROUTER = "da:a1:19:00:00:01", "02:00:00:00:ff:ff"


def wifi(at, *macs, ok=True, personal=()):
    sightings = tuple(DeviceSighting(mac=mac, ip=f"198.51.100.{i + 10}", at=at, personal=mac in personal)
                      for i, mac in enumerate(macs))
    return SourceReport(source="wifi", at=at, ok=ok, sightings=sightings, error=None if ok else "boom")


def ha(at, ok=True, **states):
    readings = tuple(EntityReading(entity_id=e.replace("__", "."), state=s, home={"home": True, "not_home": False,
                                   "Work": False}.get(s), at=at) for e, s in states.items())
    return SourceReport(source="homeassistant", at=at, ok=ok, readings=readings,
                        error=None if ok else "cannot reach http://ha:8123: ConnectionError")


def feed(state, config, *reports):
    events = []
    for report in reports:
        state, new_events = ingest(state, report, config)
        events += new_events
    return state, events


def status(snapshot, key):
    return next(p for p in snapshot.people if p.key == key)


def ha_config():
    raw = make_config(homeassistant={"url": "http://ha:8123", "poll_interval": 60})
    raw["people"][2]["homeassistant_entities"] = ["person.charlie", "device_tracker.charlie_gps"]
    return parse_config(raw)


def test_arrival_counts_at_once(config):
    state, _ = feed(State(), config, wifi(T0, SUSAN_PHONE))
    state, snap, transitions, _ = evaluate(state, config, T0)
    susan = status(snap, "susan")
    assert (susan.is_home, susan.from_wifi, susan.from_homeassistant, susan.devices_present) == (True, True, False, 1)
    assert [t.message for t in transitions] == ["susan: away -> home (wifi 02:00:00:00:02:01)"]
    assert snap.count_home == 1 and snap.anyone_home


def test_departure_exactly_at_the_grace_boundary(config):
    state, _ = feed(State(), config, wifi(T0, SUSAN_PHONE))
    state, _, _, _ = evaluate(state, config, T0)
    state, snap, transitions, _ = evaluate(state, config, T0 + 299.999)
    assert status(snap, "susan").is_home and not transitions
    state, snap, transitions, _ = evaluate(state, config, T0 + 300)
    assert not status(snap, "susan").is_home
    assert transitions[0].message.startswith("susan: home -> away (last seen 300 s ago by wifi 02:00:00:00:02:01")


def test_per_person_grace_override(config):
    state, _ = feed(State(), config, wifi(T0, NICK_PHONE, SUSAN_PHONE))
    state, snap, _, _ = evaluate(state, config, T0 + 450)
    assert status(snap, "nick").is_home and not status(snap, "susan").is_home
    state, snap, _, _ = evaluate(state, config, T0 + 600)
    assert not status(snap, "nick").is_home


def test_a_sighting_renews_the_grace(config):
    state, _ = feed(State(), config, wifi(T0, SUSAN_PHONE), wifi(T0 + 250, SUSAN_PHONE))
    state, snap, transitions, _ = evaluate(state, config, T0 + 500)
    assert status(snap, "susan").is_home and transitions[0].is_home


def test_two_devices_count_separately(config):
    state, _ = feed(State(), config, wifi(T0, SUSAN_PHONE, SUSAN_LAPTOP), wifi(T0 + 200, SUSAN_PHONE))
    _, snap, _, _ = evaluate(state, config, T0 + 301)
    assert status(snap, "susan").devices_present == 1
    _, snap, _, _ = evaluate(state, config, T0 + 100)
    assert status(snap, "susan").devices_present == 2


def test_unknown_and_ignored_devices(config):
    state, _ = feed(State(), config, wifi(T0, STRANGER, ROUTER, NICK_PHONE))
    state, snap, _, _ = evaluate(state, config, T0 + 1)
    assert snap.devices_present_count == 2
    assert ROUTER not in state.devices
    assert snap.count_home == 1
    _, snap, _, _ = evaluate(state, config, T0 + 301)
    assert snap.devices_present_count == 1


def test_forgotten_unknown_devices_are_pruned_but_people_kept(config):
    state, _ = feed(State(), config, wifi(T0, STRANGER, NICK_PHONE))
    state, _, _, _ = evaluate(state, config, T0 + 31 * 24 * 3600)
    assert STRANGER not in state.devices and NICK_PHONE in state.devices


def test_count_home_is_always_the_sum_of_is_home(config):
    state, _ = feed(State(), config, wifi(T0, NICK_PHONE, SUSAN_PHONE, "02:00:00:00:06:01"))
    for offset in range(0, 900, 7):
        if offset % 140 == 0:
            state, _ = feed(state, config, wifi(T0 + offset, "02:00:00:00:03:01"))
        state, snap, _, _ = evaluate(state, config, T0 + offset)
        assert snap.count_home == sum(p.is_home for p in snap.people)
        assert snap.anyone_home == (snap.count_home > 0)


def test_failed_wifi_scan_logs_once_and_is_no_evidence_of_absence(config):
    state, _ = feed(State(), config, wifi(T0, SUSAN_PHONE))
    state, events = feed(state, config, wifi(T0 + 30, ok=False), wifi(T0 + 60, ok=False))
    assert [e.level for e in events] == ["warning"]
    assert events[0].message.startswith("wifi: boom; holding")
    _, snap, _, _ = evaluate(state, config, T0 + 3600)
    assert status(snap, "susan").is_home
    state, events = feed(state, config, wifi(T0 + 3600, NICK_PHONE))
    assert [e.message for e in events] == ["wifi: working again",
                                           "wifi: the LAN 198.51.100.0/24 answers again after 3570 s; "
                                           "grace periods run on from now"]
    # The grace clock stood still during the failure: 300 s - 30 s of it are left from now.
    _, snap, _, _ = evaluate(state, config, T0 + 3600 + 269)
    assert status(snap, "susan").is_home
    _, snap, _, _ = evaluate(state, config, T0 + 3600 + 270)
    assert not status(snap, "susan").is_home


def test_homeassistant_home_and_away():
    config = ha_config()
    state, _ = feed(State(), config, ha(T0, person__charlie="home", device_tracker__charlie_gps="not_home"))
    state, snap, transitions, _ = evaluate(state, config, T0)
    charlie = status(snap, "charlie")
    assert (charlie.is_home, charlie.from_wifi, charlie.from_homeassistant) == (True, False, True)
    assert transitions[0].message == "charlie: away -> home (homeassistant person.charlie)"
    state, _ = feed(state, config, ha(T0 + 60, person__charlie="Work", device_tracker__charlie_gps="not_home"))
    state, snap, transitions, _ = evaluate(state, config, T0 + 60)
    assert not status(snap, "charlie").is_home and not transitions[0].is_home


def test_homeassistant_unavailable_is_no_evidence_and_logged_once():
    config = ha_config()
    state, _ = feed(State(), config, ha(T0, person__charlie="home"))
    state, events = feed(state, config, ha(T0 + 60, person__charlie="unavailable"),
                         ha(T0 + 120, person__charlie="unavailable"))
    assert len(events) == 1 and "person.charlie is unavailable" in events[0].message
    _, snap, _, _ = evaluate(state, config, T0 + 120)
    assert not status(snap, "charlie").from_homeassistant


def test_an_echo_of_our_own_output_is_no_evidence_and_not_said_at_each_of_its_changes():
    config = ha_config()
    echo = [SourceReport(source="homeassistant", at=at, ok=True, readings=(EntityReading(
        entity_id="person.charlie", state=f"{shown} (our own output)", home=None, at=at, echo=True),))
        for at, shown in ((T0, "home"), (T0 + 60, "not_home"), (T0 + 120, "home"))]
    state, events = feed(State(), config, *echo)
    assert events == []  # the source says the loop once; the machine adds nothing per change
    _, snap, _, _ = evaluate(state, config, T0 + 120)
    assert not status(snap, "charlie").from_homeassistant


def test_homeassistant_answer_ages_out_when_it_stops_answering():
    config = ha_config()
    state, _ = feed(State(), config, ha(T0, person__charlie="home"))
    state, _, _, _ = evaluate(state, config, T0)
    state, events = feed(state, config, ha(T0 + 60, ok=False), ha(T0 + 120, ok=False))
    assert len(events) == 1 and events[0].level == "warning"
    state, snap, _, events = evaluate(state, config, T0 + 179)
    assert status(snap, "charlie").from_homeassistant and not events
    state, snap, transitions, events = evaluate(state, config, T0 + 180)
    assert not status(snap, "charlie").from_homeassistant and not status(snap, "charlie").is_home
    assert len(events) == 1 and "no successful poll for 180 s" in events[0].message
    _, _, _, events = evaluate(state, config, T0 + 185)
    assert not events


def test_is_home_is_wifi_or_homeassistant():
    config = ha_config()
    state, _ = feed(State(), config, wifi(T0, "02:00:00:00:03:01"), ha(T0, person__charlie="not_home"))
    _, snap, _, _ = evaluate(state, config, T0 + 10)
    charlie = status(snap, "charlie")
    assert (charlie.is_home, charlie.from_wifi, charlie.from_homeassistant) == (True, True, False)


def test_an_older_sighting_never_moves_last_seen_back(config):
    state, _ = feed(State(), config, wifi(T0 + 100, SUSAN_PHONE), wifi(T0, SUSAN_PHONE))
    assert state.devices[SUSAN_PHONE].last_seen == T0 + 100
    assert state.devices[SUSAN_PHONE].first_seen == T0 + 100


def test_a_sighting_without_ip_keeps_the_last_ip_and_hostname(config):
    state, _ = feed(State(), config, wifi(T0, SUSAN_PHONE))
    passive = SourceReport(source="wifi-listen", at=T0 + 5, ok=True,
                           sightings=(DeviceSighting(SUSAN_PHONE, None, T0 + 5, "dhcp", "Susans-Pixel"),))
    quiet = SourceReport(source="wifi-listen", at=T0 + 9, ok=True,
                         sightings=(DeviceSighting(SUSAN_PHONE, None, T0 + 9, "arp"),))
    state, _ = feed(state, config, passive, quiet)
    device = state.devices[SUSAN_PHONE]
    assert (device.ip, device.hostname, device.last_seen, device.how) == ("198.51.100.10", "Susans-Pixel", T0 + 9, "arp")


def test_silence_gaps_are_recorded_only_while_the_person_is_home(config):
    state, _ = feed(State(), config, wifi(T0, SUSAN_PHONE, STRANGER))
    state, _ = feed(state, config, wifi(T0 + 30, SUSAN_PHONE))  # susan not decided home yet
    assert state.gaps == {}
    state, _, _, _ = evaluate(state, config, T0 + 30)
    state, _ = feed(state, config, wifi(T0 + 90, SUSAN_PHONE, STRANGER), wifi(T0 + 90.5, SUSAN_PHONE),
                    wifi(T0 + 210, SUSAN_PHONE))
    assert state.gaps == {SUSAN_PHONE: (60.0, 119.5)}


def test_gaps_kept_are_bounded(config):
    state, _ = feed(State(), config, wifi(T0, SUSAN_PHONE))
    state, _, _, _ = evaluate(state, config, T0)
    for i in range(1, 600):
        state, _ = feed(state, config, wifi(T0 + 2 * i, SUSAN_PHONE))
    assert len(state.gaps[SUSAN_PHONE]) == 500


def test_opt_in_guest_count_and_seconds_since_seen():
    raw = make_config(metrics={"guest_devices": True, "seconds_since_seen": True})
    config = parse_config(raw)
    apple, printer = "3c:22:fb:00:00:01", "00:1b:a9:00:00:01"
    # As the sources judge them (tests/sources/test_vendors.py): every MAC but the printer's looks personal.
    state, _ = feed(State(), config, wifi(T0, SUSAN_PHONE, STRANGER, apple, printer,
                                          personal={SUSAN_PHONE, STRANGER, apple}))
    _, snap, _, _ = evaluate(state, config, T0 + 42)
    assert snap.guest_devices == 2  # the randomized MAC and the Apple one; not the printer, not susan
    assert status(snap, "susan").seconds_since_seen == 42
    assert status(snap, "nick").seconds_since_seen is None


def test_opt_in_metrics_are_off_by_default(config):
    state, _ = feed(State(), config, wifi(T0, SUSAN_PHONE, STRANGER))
    _, snap, _, _ = evaluate(state, config, T0)
    assert snap.guest_devices is None and status(snap, "susan").seconds_since_seen is None


def sweep(at, *macs, up=True, reason=None):
    report = wifi(at, *macs)
    return replace(report, networks=(NetworkHealth("198.51.100.0/24", up, reason),))


def test_an_unreachable_lan_is_no_evidence_of_absence_even_past_the_grace(config):
    state, _ = feed(State(), config, sweep(T0, SUSAN_PHONE, NICK_PHONE))
    state, _, _, _ = evaluate(state, config, T0)
    state, events = feed(state, config, sweep(T0 + 30, up=False, reason="eth0 has no carrier"),
                         sweep(T0 + 60, up=False, reason="eth0 has no carrier"))
    assert [e.message for e in events] == ["wifi: the LAN 198.51.100.0/24 cannot be reached (eth0 has no carrier); "
                                           "holding the presence of its devices until it answers again"]
    assert lan_outages_now(state) == {"198.51.100.0/24": (T0 + 30, "eth0 has no carrier")}
    state, snap, transitions, _ = evaluate(state, config, T0 + 7200)
    assert transitions == [] and snap.count_home == 2 and snap.devices_present_count == 2
    # Back after two hours: Nick's phone is there, Susan's is not (she left during the outage).
    state, events = feed(state, config, sweep(T0 + 7200, NICK_PHONE))
    assert lan_outages_now(state) == {}
    assert events[-1].message.startswith("wifi: the LAN 198.51.100.0/24 answers again after 7170 s")
    state, snap, transitions, _ = evaluate(state, config, T0 + 7200 + 269)
    assert transitions == [] and status(snap, "susan").is_home
    # Susan's grace runs on from the LAN's return: 300 s less the 30 s before the outage.
    state, snap, transitions, _ = evaluate(state, config, T0 + 7200 + 270)
    assert [t.key for t in transitions] == ["susan"] and status(snap, "nick").is_home


def test_a_device_that_leaves_while_the_lan_answers_is_a_real_departure(config):
    state, _ = feed(State(), config, sweep(T0, SUSAN_PHONE, NICK_PHONE))
    state, _, _, _ = evaluate(state, config, T0)
    for at in range(30, 330, 30):
        state, _ = feed(state, config, sweep(T0 + at, NICK_PHONE))
    state, snap, transitions, _ = evaluate(state, config, T0 + 300)
    assert [t.message.split(" (")[0] for t in transitions] == ["susan: home -> away"]
    assert lan_outages_now(state) == {}


def test_a_short_outage_pauses_the_grace_only_for_its_length(config):
    state, _ = feed(State(), config, sweep(T0, SUSAN_PHONE))
    state, _, _, _ = evaluate(state, config, T0)
    state, _ = feed(state, config, sweep(T0 + 100, up=False, reason="nothing answered"),
                    sweep(T0 + 160, NICK_PHONE))
    _, snap, _, _ = evaluate(state, config, T0 + 359)
    assert status(snap, "susan").is_home
    _, snap, _, _ = evaluate(state, config, T0 + 360)
    assert not status(snap, "susan").is_home


def test_a_flood_of_made_up_macs_heard_passively_never_counts(config):
    flood = tuple(DeviceSighting(mac=f"06:00:00:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}",
                                 ip="198.51.100.77", at=T0, how="arp") for i in range(5000))
    heard = SourceReport(source="wifi-listen", at=T0, ok=True,
                         sightings=flood + (DeviceSighting(NICK_PHONE, "198.51.100.11", T0),))
    state, events = feed(State(), config, heard)
    state, snap, _, _ = evaluate(state, config, T0)
    assert snap.devices_present_count == 1 and status(snap, "nick").is_home
    assert len(state.devices) == 1 and len(state.heard) <= 256 and events == []
    # A device heard first and then answering a sweep counts, with what was heard of it.
    state, _ = feed(state, config, SourceReport(source="wifi-listen", at=T0 + 1, ok=True, sightings=(
        DeviceSighting("da:a1:19:00:00:07", "198.51.100.70", T0 + 1, how="dhcp", hostname="tv"),)))
    state, _ = feed(state, config, wifi(T0 + 5, "da:a1:19:00:00:07"))
    assert state.devices["da:a1:19:00:00:07"].hostname == "tv"
    assert state.devices["da:a1:19:00:00:07"].first_seen == T0 + 1


def test_unknown_devices_answering_sweeps_are_bounded_and_logged_once(config):
    many = [f"06:00:00:00:{i >> 8:02x}:{i & 255:02x}" for i in range(1500)]
    state, events = feed(State(), config, wifi(T0, NICK_PHONE, *many[:1200]), wifi(T0 + 30, *many[1200:]))
    assert len(state.devices) == 1001 and NICK_PHONE in state.devices
    assert [e.level for e in events] == ["warning"] and "more than 1000 unknown devices" in events[0].message
    assert all(mac in state.devices for mac in many[1200:])  # the longest unseen went first


def test_only_people_who_are_home_get_their_devices_reprobed(config):
    state, _ = feed(State(), config, sweep(T0, SUSAN_PHONE))
    state, _, _, _ = evaluate(state, config, T0)
    assert reprobe_targets(state, config) == {SUSAN_PHONE: "198.51.100.10", SUSAN_LAPTOP: None}
    state, _, _, _ = evaluate(state, config, T0 + 300)
    assert reprobe_targets(state, config) == {}
