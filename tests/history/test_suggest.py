"""`suggest` on synthetic histories, written in hours from T0: pure, no clock, no network."""

import re
from dataclasses import replace

import pytest

from presence.config import defaults
from presence.config.model import Config, GraphiteConfig, NetworkConfig, Person, WifiConfig
from presence.history.model import DeviceHistory, History, Interval, PersonHistory
from presence.history.suggest import suggest

T0 = 1_800_000_000.0
HOUR = 3600.0
GRACE = 300.0
DAYS = 14
NOW = T0 + DAYS * 24 * HOUR

SUSAN_OLD, SUSAN_NEW = "02:00:00:00:02:01", "3a:f1:00:00:00:9c"
MO_TABLET = "58:00:00:00:05:0a"
NICK_LAPTOP, NICK_PHONE = "02:00:00:00:01:01", "ee:00:00:00:01:9c"
TV, GUEST, ROUTER = "00:11:22:33:44:55", "de:ad:00:00:00:01", "02:00:00:00:ff:ff"


def daily(away, days=DAYS):
    """Home spans (hours) of someone out each day `d` from `away(d)` = (leave, back) hours, or home all day."""
    home, start = [], 0.0
    for day in range(days):
        if out := away(day):
            home.append((start, day * 24 + out[0]))
            start = day * 24 + out[1]
    return home + [(start, days * 24.0)] if start < days * 24 else home


def follow(home, late=0.05, early=0.08, within=(0.0, DAYS * 24.0)):
    """A device that joins `late` hours after its owner comes home and leaves `early` hours before they go."""
    first, last = within
    return [(max(start + late, first), min(end - early, last)) for start, end in home
            if min(end - early, last) > max(start + late, first)]


def device(mac, hours, hostnames=()):
    return DeviceHistory(mac, intervals=_intervals(hours), hostnames=frozenset(hostnames))


def ha_person(key, home, known=((0.0, DAYS * 24.0),)):
    return PersonHistory(key, ha_home=_intervals(home), ha_known=_intervals(known))


def history(*devices, people=(), watched=((0.0, DAYS * 24.0),)):
    return History(devices={item.mac: item for item in devices}, people={item.key: item for item in people},
                   watched=_intervals(watched))


def household(*people, grace=GRACE, ignore=()):
    """A config with `people` as (name, mapped MACs) pairs."""
    persons = tuple(Person(name=name, key=name.lower(), macs=tuple(macs), offline_grace=grace) for name, macs in people)
    return Config(path="test.yaml", network=NetworkConfig(cidrs=()), wifi=WifiConfig(offline_grace=grace),
                  homeassistant=None, graphite=GraphiteConfig(), state_file="state.json", people=persons,
                  ignore_macs=frozenset(ignore), mac_owner={mac: person for person in persons for mac in person.macs})


def _intervals(hours):
    return tuple(Interval(T0 + start * HOUR, T0 + end * HOUR) for start, end in hours)


def scaled(past, config, factor):
    """The same history and config with every time and grace multiplied by `factor`."""
    def times(intervals):
        return tuple(Interval(item.start * factor, item.end * factor) for item in intervals)
    devices = {mac: replace(item, intervals=times(item.intervals)) for mac, item in past.devices.items()}
    people = {key: replace(item, ha_home=times(item.ha_home), ha_known=times(item.ha_known))
              for key, item in past.people.items()}
    persons = tuple(replace(person, offline_grace=person.offline_grace * factor) for person in config.people)
    wifi = replace(config.wifi, offline_grace=config.wifi.offline_grace * factor)
    config = replace(config, people=persons, wifi=wifi,
                     mac_owner={mac: person for person in persons for mac in person.macs})
    return History(devices, people, times(past.watched)), config


def by_mac(found):
    return {item.mac: item for item in found}


SUSAN = daily(lambda day: (8 + day % 3, 17 + day % 2))
MO = daily(lambda day: (10 + day % 2, 14 + day % 4) if day % 7 < 5 else None)
NICK = daily(lambda day: (13, 22) if day % 2 else (6, 11))


def home_history():
    """Susan's phone takes a new private address on day 7; Mo's tablet and Nick's new phone are unmapped;
    a TV, a guest's phone for one evening, an ignored router; the daemon restarted once."""
    devices = [device(SUSAN_OLD, follow(SUSAN, within=(0, 7 * 24)), {"Susans-iPhone"}),
               device(SUSAN_NEW, follow(SUSAN, late=0.04, early=0.1, within=(7 * 24, DAYS * 24))),
               device(MO_TABLET, follow(MO, late=0.1, early=0.03)),
               device(NICK_LAPTOP, follow(NICK, late=0.06, early=0.02)),
               device(NICK_PHONE, follow(NICK, late=0.03, early=0.1)),
               device(TV, [(day * 24 + 4, day * 24 + 27) for day in range(DAYS)]),
               device(GUEST, [(9 * 24 + 19, 9 * 24 + 23)]),
               device(ROUTER, [(0, DAYS * 24)])]
    return history(*devices, people=[ha_person("susan", SUSAN), ha_person("mo", MO)],
                   watched=((0, 100), (100.5, DAYS * 24)))


HOME = household(("Susan", [SUSAN_OLD]), ("Mo", []), ("Nick", [NICK_LAPTOP]), ignore=[ROUTER])


@pytest.fixture(scope="module")
def found():
    return by_mac(suggest(home_history(), HOME, NOW))


def test_only_unmapped_unignored_devices_appear_best_first(found):
    assert set(found) == {SUSAN_NEW, MO_TABLET, NICK_PHONE, TV, GUEST}
    ranked = suggest(home_history(), HOME, NOW)
    assert [item.confidence for item in ranked] == sorted((item.confidence for item in ranked), reverse=True)
    assert ranked[0].person is not None and ranked[-1].person is None


def test_susans_new_randomized_phone_follows_her_home_assistant_person(found):
    item = found[SUSAN_NEW]
    assert (item.person, item.randomized) == ("susan", True)
    assert item.confidence >= 0.9
    assert item.reasons[0] == ("on the LAN 99 % of the 108 h Susan was home (Home Assistant), "
                               "0 % of the 60 h Susan was out")
    assert item.reasons[1] == "arrived within 10 min of Susan 7 of 7 times, left within 10 min of Susan 7 of 7 times"


def test_mos_tablet_follows_mos_home_assistant_person(found):
    item = found[MO_TABLET]
    assert (item.person, item.randomized) == ("mo", False)
    assert item.reasons[0] == "on the LAN 100 % of the 12 d Mo was home (Home Assistant), 0 % of the 50 h Mo was out"
    assert item.reasons[1] == "arrived within 10 min of Mo 10 of 10 times, left within 10 min of Mo 10 of 10 times"


def test_nicks_new_phone_follows_his_mapped_laptop_without_home_assistant(found):
    item = found[NICK_PHONE]
    assert item.person == "nick"
    assert item.reasons[0] == (f"on the LAN 100 % of the 10 d Nick was home ({NICK_LAPTOP}), "
                               "0 % of the 99 h Nick was out")
    assert "arrived within 10 min of Nick 14 of 14 times" in item.reasons[1]


def test_a_tv_always_on_is_nobodys(found):
    item = found[TV]
    assert (item.person, item.confidence) == (None, 0.0)
    assert item.reasons[0].startswith("on the LAN 94 % of the ")
    assert item.reasons[-1] == ("there whatever anyone does: on the LAN 100 % of Susan's time out, 100 % of Mo's "
                                "time out, 100 % of Nick's time out")


def test_a_guest_for_one_evening_is_nobodys(found):
    item = found[GUEST]
    assert (item.person, item.confidence) == (None, 0.0)
    assert item.reasons[-1].startswith("too little evidence: ")
    assert "came or went 0 times between its first and last sighting (4 h), 5 needed" in item.reasons[-1]


def test_two_people_always_home_together_cannot_be_told_apart():
    home = daily(lambda day: (9, 18), days=10)
    past = history(device(SUSAN_NEW, follow(home)), people=[ha_person("ann", home), ha_person("ben", home)],
                   watched=((0, 240),))
    item = suggest(past, household(("Ann", []), ("Ben", [])), T0 + 240 * HOUR)[0]
    assert (item.person, item.candidate) == (None, "ann")
    assert item.confidence == pytest.approx(0.5, abs=0.01)
    assert item.reasons[-1].startswith("Ann and Ben cannot be told apart: home together 100 % of the time either "
                                       "was; of their comings and goings apart it followed Ann 0 times, Ben 0 times")


def test_a_device_of_one_of_two_people_mostly_home_together_is_told_apart():
    ann = daily(lambda day: (9, 18), days=10)
    ben = daily(lambda day: None if day % 3 == 0 else (9, 18), days=10)
    past = history(device(SUSAN_NEW, follow(ann)), people=[ha_person("ann", ann), ha_person("ben", ben)],
                   watched=((0, 240),))
    item = suggest(past, household(("Ann", []), ("Ben", [])), T0 + 240 * HOUR)[0]
    assert item.person == "ann"
    assert item.reasons[1] == "arrived within 10 min of Ann 10 of 10 times, left within 10 min of Ann 10 of 10 times"
    assert item.reasons[2] == ("Ann's, not Ben's (Ben scores 0.89): home together 81 % of the time either was; of "
                               "their comings and goings apart it followed Ann 8 times, Ben 0 times")


def test_a_night_shift_workers_phone():
    home = daily(lambda day: (21, 31), days=10)
    past = history(device(SUSAN_NEW, follow(home)), people=[ha_person("ola", home)], watched=((0, 240),))
    item = suggest(past, household(("Ola", [])), T0 + 240 * HOUR)[0]
    assert item.person == "ola"
    assert item.reasons[1] == "arrived within 10 min of Ola 9 of 9 times, left within 10 min of Ola 10 of 10 times"


def test_a_dozing_phone_and_a_flapping_reference_still_match_arrivals():
    home = daily(lambda day: (8, 18), days=10)
    flapping = [piece for start, end in home for piece in ((start, start + 2), (start + 2.05, end))]
    dozing = [piece for start, end in follow(home) for piece in
              ((start, start + 1), (start + 1.06, start + 3), (start + 3.15, end))]
    past = history(device(SUSAN_NEW, dozing), people=[ha_person("susan", flapping)], watched=((0, 240),))
    item = suggest(past, household(("Susan", [])), T0 + 240 * HOUR)[0]
    assert item.person == "susan"
    assert item.reasons[1] == ("arrived within 10 min of Susan 10 of 10 times, "
                               "left within 10 min of Susan 10 of 10 times")
    assert item.reasons[0].startswith("on the LAN 98 % of the ")


def test_a_device_seen_for_one_hour_only():
    home = daily(lambda day: (8, 18), days=10)
    past = history(device(SUSAN_NEW, [(100, 101)]), people=[ha_person("susan", home)], watched=((0, 240),))
    item = suggest(past, household(("Susan", [])), T0 + 240 * HOUR)[0]
    assert (item.person, item.confidence) == (None, 0.0)
    assert item.reasons[-1] == ("too little evidence: Susan came or went 0 times between its first and last "
                                "sighting (60 min), 5 needed")


def test_a_hostname_of_the_persons_mapped_device_tips_the_balance():
    home = daily(lambda day: (8, 18), days=10)
    # It joins half an hour late on odd stays and leaves half an hour early on even ones: not enough alone.
    patchy = [(start + (0.5 if index % 2 else 0.05), end - (0.05 if index % 2 else 0.5))
              for index, (start, end) in enumerate(home)]
    config = household(("Susan", [SUSAN_OLD]), ("Mo", []))
    people = [ha_person("susan", home), ha_person("mo", daily(lambda day: (12, 13), days=10))]
    old = device(SUSAN_OLD, follow(home, within=(0, 48)), {"Susans-iPhone"})
    without = suggest(history(old, device(SUSAN_NEW, patchy), people=people, watched=((0, 240),)), config,
                      T0 + 240 * HOUR)[0]
    named = suggest(history(old, device(SUSAN_NEW, patchy, {"susans-iphone.local"}), people=people,
                            watched=((0, 240),)), config, T0 + 240 * HOUR)[0]
    assert (without.person, without.candidate) == (None, "susan")
    assert without.reasons[-1].startswith(f"confidence {without.confidence:.2f} is below the threshold 0.80")
    assert (named.person, named.hostname) == ("susan", "susans-iphone.local")
    assert f"hostname 'susans-iphone.local', which Susan's {SUSAN_OLD} used before" in named.reasons
    assert named.confidence == pytest.approx(1 - (1 - without.confidence) * (1 - defaults.SUGGEST_HOSTNAME_WEIGHT))


def test_the_scale_of_time_does_not_matter(found):
    past, config = scaled(home_history(), HOME, 1 / 3600)
    compressed = by_mac(suggest(past, config, NOW / 3600))
    assert set(compressed) == set(found)
    for mac, item in found.items():
        assert (compressed[mac].person, compressed[mac].candidate) == (item.person, item.candidate)
        assert compressed[mac].confidence == pytest.approx(item.confidence, abs=1e-9)
        assert list(map(_timeless, compressed[mac].reasons)) == list(map(_timeless, item.reasons))


def _timeless(reason):
    return re.sub(r"[0-9.]+ (d|h|min|s)\b", "<time>", reason)
