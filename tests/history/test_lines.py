"""The journal's lines, without files: a record checked, encoded as one compact line (the device's hostname and
`personal` said once per file), and parsed back; the bounds on times, keys and length."""

import json

import pytest

from presence.config import defaults
from presence.history.lines import checked, encode, parse, unpacked

T0 = 1_800_000_000.0
PHONE = "3a:f1:00:00:00:9c"


def device(start=T0, end=T0 + 60, mac=PHONE, **details):
    return {"kind": "device", "mac": mac, "start": start, "end": end, **details}


def ha(person="susan", home=True, start=T0, end=T0 + 60):
    return {"kind": "ha", "person": person, "start": start, "end": end, "home": home}


def line_of(**item):
    return json.dumps(item).encode()


@pytest.mark.parametrize("record", [
    device(hostname="Susans-iPhone", personal=True), device(), ha(home=False),
    {"kind": "watched", "start": T0, "end": T0 + 86399.96}])
def test_an_encoded_record_parses_back_as_unpacked_gives_it(record):
    record = checked(record)
    line = encode(record, {})
    assert line.endswith("\n") and line.count("\n") == 1
    assert parse(line.encode()) == unpacked(record)


def test_checked_normalises_the_mac_and_keeps_only_what_a_line_can_say():
    record = checked({"kind": "device", "mac": "3A-F1-00-00-00-9C", "start": 1_800_000_000, "end": T0 + 1,
                      "hostname": "tab\there", "personal": "yes", "ip": "198.51.100.9"})
    assert record == {"kind": "device", "mac": PHONE, "start": T0, "end": T0 + 1, "hostname": None,
                      "personal": False}
    assert isinstance(record["start"], float)


@pytest.mark.parametrize("record, message", [
    (device(start=T0 + 1, end=T0), "it ends before it starts"),
    (device(mac="not a mac"), "not a MAC address"),
    (device(start=True), "a time that is not a number"),
    (device(start=float("nan")), "a time outside 1970 to 2100"),
    (device(end=defaults.MAX_STATE_TIME + 1), "a time outside 1970 to 2100"),
    (ha(person="Susan Smith"), "not a person's key"),
    (ha(person="s" * (defaults.MAX_STATE_TEXT + 1)), "not a person's key"),
    (ha(home=None), "home is not true or false"),
    ({"kind": "guess", "start": T0, "end": T0}, "unknown kind 'guess'"),
])
def test_checked_refuses_a_record_and_says_why(record, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        checked(record)


def test_a_missing_field_is_a_key_error_for_the_journal_to_count():
    with pytest.raises(KeyError):
        checked({"kind": "device", "start": T0, "end": T0})


def test_the_first_line_of_a_device_in_a_file_says_its_hostname_and_personal_later_ones_only_a_change():
    told = {}
    first = encode(checked(device(hostname="Susans-iPhone", personal=True)), told)
    again = encode(checked(device(T0 + 100, T0 + 160, hostname="Susans-iPhone", personal=True)), told)
    renamed = encode(checked(device(T0 + 200, T0 + 260, hostname="susans-phone")), told)
    assert json.loads(first) == {"device": PHONE, "start": 1800000000, "end": 1800000060,
                                 "hostname": "Susans-iPhone", "personal": True}
    assert json.loads(again) == {"device": PHONE, "start": 1800000100, "end": 1800000160}
    assert json.loads(renamed) == {"device": PHONE, "start": 1800000200, "end": 1800000260, "hostname": "susans-phone"}
    assert told == {PHONE: ("susans-phone", True)}


def test_times_are_written_to_a_tenth_of_a_second_as_integers_when_whole():
    line = encode(checked(ha(start=T0 + 0.04, end=T0 + 7200.56)), {})
    assert line == '{"ha":"susan","home":true,"start":1800000000,"end":1800007200.6}\n'
    assert unpacked(checked(ha(start=T0 + 0.04, end=T0 + 7200.56)))[2:4] == (T0, T0 + 7200.6)


def test_a_hostname_outside_ascii_is_written_as_is_not_escaped():
    line = encode(checked(device(hostname="Zoës-iPad")), {})
    assert '"hostname":"Zoës-iPad"' in line


def test_parse_gives_the_subject_times_and_details_of_each_kind():
    assert parse(b'{"device":"3A:F1:00:00:00:9C","start":1800000000,"end":1800000060,"personal":true}') == (
        "device", PHONE, T0, T0 + 60, (None, True))
    assert parse(b'{"ha":"susan","home":false,"start":1800000000,"end":1800000060}') == (
        "ha", "susan", T0, T0 + 60, False)
    assert parse(b'{"watched":true,"start":1800000000,"end":1800000060}') == ("watched", None, T0, T0 + 60, None)


@pytest.mark.parametrize("line, message", [
    (b"{not json", "not JSON"),
    (b"[" * 2000 + b"]" * 2000, "not JSON"),
    (b'"device"', "not a record"),
    (line_of(device=PHONE, ha="susan", start=T0, end=T0), "not a record"),
    (line_of(watched="yes", start=T0, end=T0), "not a record"),
    (line_of(device=PHONE, start=T0 + 1, end=T0), "ends before it starts"),
    (line_of(device=PHONE, start=T0), "a time that is not a number"),
    (line_of(ha="susan", start=T0, end=T0), "home is not true or false"),
    (line_of(device="nonsense", start=T0, end=T0), "not a MAC address"),
])
def test_a_corrupt_line_is_a_value_error_saying_what_is_wrong(line, message):
    with pytest.raises(ValueError, match=message):
        parse(line)


def test_a_line_is_refused_just_past_its_length_bound_and_read_at_it():
    head = b'{"watched":true,"start":1800000000,"end":1800000060,"pad":"'
    fits = head + b"x" * (defaults.MAX_HISTORY_LINE - len(head) - 2) + b'"}'
    assert len(fits) == defaults.MAX_HISTORY_LINE
    assert parse(fits)[0] == "watched"
    with pytest.raises(ValueError, match=f"longer than {defaults.MAX_HISTORY_LINE} bytes"):
        parse(fits[:-2] + b'x"}')


def test_a_hostname_that_is_not_printable_or_too_long_is_dropped_not_the_line():
    long = "h" * (defaults.MAX_STATE_TEXT + 1)
    for hostname in ("a\u001bb", long, "", 42):
        assert parse(line_of(device=PHONE, start=T0, end=T0, hostname=hostname))[4] == (None, False)
