"""The journal's lines (presence.history.journal): a record checked, written as one line, and read back.

Pure: no files here. A record is a dict as presence.state.intervals makes it ({"kind": "device", "mac", "start",
"end", "hostname", "personal"}, {"kind": "ha", "person", "start", "end", "home"}, {"kind": "watched", "start",
"end"}); its line names its kind by the key that holds its subject, and leaves out what the day's file
already said about the device.
"""

import json
import re

from presence.config import defaults
from presence.macs import normalise_mac

_PERSON_KEY = re.compile(r"[a-z0-9_-]+")
_KINDS = ("device", "ha", "watched")


def checked(record):
    """`record` with its values checked and its subject normalised, or ValueError."""
    kind = record["kind"]
    result = {"kind": kind, "start": _time(record["start"]), "end": _time(record["end"])}
    if result["start"] > result["end"]:
        raise ValueError("it ends before it starts")
    if kind == "device":
        result["mac"] = _mac(record["mac"])
        result["hostname"] = _hostname(record.get("hostname"))
        result["personal"] = record.get("personal") is True
    elif kind == "ha":
        result["person"] = _person(record["person"])
        result["home"] = _flag(record["home"])
    elif kind != "watched":
        raise ValueError(f"unknown kind {kind!r}")
    return result


def unpacked(record):
    """A checked record as `parse` gives its line: (kind, subject, start, end, details).

    Its times too are as written (to 0.1 s): an interval still open starts where the one it follows was
    written to end, not a few hundredths away (a gap there would cut off the last arrival or departure)."""
    kind, start, end = record["kind"], float(_rounded(record["start"])), float(_rounded(record["end"]))
    if kind == "device":
        return kind, record["mac"], start, end, (record["hostname"], record["personal"])
    if kind == "ha":
        return kind, record["person"], start, end, record["home"]
    return kind, None, start, end, None


def encode(record, told):
    """The record's line; `told` (what the file says of each device) is updated."""
    kind = record["kind"]
    if kind == "device":
        line = {"device": record["mac"]}
    elif kind == "ha":
        line = {"ha": record["person"], "home": record["home"]}
    else:
        line = {"watched": True}
    line["start"], line["end"] = _rounded(record["start"]), _rounded(record["end"])
    if kind == "device":
        hostname, personal = told.get(record["mac"], (None, False))
        if record["hostname"] and record["hostname"] != hostname:
            line["hostname"] = hostname = record["hostname"]
        if record["personal"] and not personal:
            line["personal"] = personal = True
        told[record["mac"]] = (hostname, personal)
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False) + "\n"


def _rounded(at):
    value = round(at, 1)
    return int(value) if value.is_integer() else value


def parse(line):
    """(kind, subject, start, end, details) of a line, or ValueError saying what is wrong with it."""
    if len(line) > defaults.MAX_HISTORY_LINE:
        raise ValueError(f"longer than {defaults.MAX_HISTORY_LINE} bytes")
    try:
        item = json.loads(line)
    except (ValueError, RecursionError):
        raise ValueError("not JSON") from None
    kinds = [kind for kind in _KINDS if kind in item] if isinstance(item, dict) else []
    if len(kinds) != 1:
        raise ValueError("not a record")
    kind, start, end = kinds[0], _time(item.get("start")), _time(item.get("end"))
    if start > end:
        raise ValueError("ends before it starts")
    if kind == "device":
        return kind, _mac(item["device"]), start, end, (_hostname(item.get("hostname")), item.get("personal") is True)
    if kind == "ha":
        return kind, _person(item["ha"]), start, end, _flag(item.get("home"))
    if item["watched"] is not True:
        raise ValueError("not a record")
    return kind, None, start, end, None


def _time(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("a time that is not a number")
    if not 0 <= value <= defaults.MAX_STATE_TIME:  # also false for NaN
        raise ValueError("a time outside 1970 to 2100")
    return float(value)


def _mac(value):
    if not isinstance(value, str) or normalise_mac(value) is None:
        raise ValueError("not a MAC address")
    return normalise_mac(value)


def _person(value):
    if not isinstance(value, str) or len(value) > defaults.MAX_STATE_TEXT or not _PERSON_KEY.fullmatch(value):
        raise ValueError("not a person's key")
    return value


def _flag(value):
    if not isinstance(value, bool):
        raise ValueError("home is not true or false")
    return value


def _hostname(value):
    """A hostname as kept (printable, 1 to 255 characters), or None for one that is missing or is not."""
    if isinstance(value, str) and 0 < len(value) <= defaults.MAX_STATE_TEXT and value.isprintable():
        return value
    return None
