"""The history on disk: one append-only JSON-lines file per UTC day (`2026-11-27.jsonl`) in a folder
beside the state file. Each line is one closed interval; the key that names its kind holds its subject:

    {"device":"3a:f1:22:33:44:9c","start":1800000000.5,"end":1800003600,"hostname":"Susans-iPhone","personal":true}
    {"ha":"susan","home":false,"start":1800000000,"end":1800007200.5}
    {"watched":true,"start":1800000000,"end":1800086400}

A call's records go to the file of the UTC day of their latest `end`, so no file holds a record that
ends after its day: a read skips the days before its window, and whole old days are pruned. Times are
kept to 0.1 s (sweeps are at least 0.5 s apart). A device's hostname and `personal` go with its first
record in the day's file (and again when they change), not with each of its records.

Appends are not fsynced unless asked: the history is evidence, not accounts. The daemon appends in
batches (presence.outputs.history.writer), so a crash loses what the last batch held and what the kernel had not
written yet; a torn last line is skipped on read and cut off by the next append.
"""

import datetime
import errno
import logging
import os
import re
import stat

from presence.config import defaults
from presence.history import lines, reading

log = logging.getLogger(__name__)

_DAY_FILE = re.compile(r"\d{4}-\d{2}-\d{2}\.jsonl")
# Per folder, the day file last written (_Day): its size, bytes per share, and what it already says about each
# device ({mac: (hostname, personal)}).
_described = {}


def append(folder, records, fsync=False, people_macs=frozenset()):
    """Append `records` (dicts as presence.state.intervals makes them), one write per day file; return the
    bytes written.

    Each day file has a budget per share: the devices nobody is mapped to (MAX_HISTORY_DAY_BYTES), and
    people's records (HISTORY_DAY_PEOPLE_BYTES: Home Assistant's, the watched LAN's and the devices in
    `people_macs`), so a flood of unknown devices never pushes out a person's records. A record over its
    share's budget is left out, counted, and said once a day per share. An invalid record is left out with
    one warning. Raises OSError when the folder or a day's file cannot be written; nothing is half-written then.
    """
    valid = _valid(records)
    days = {}
    for record in valid:
        days.setdefault(_day(record["end"]) + ".jsonl", []).append(record)
    if days:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    return sum(_append_day(folder, name, group, fsync, people_macs) for name, group in sorted(days.items()))


def _append_day(folder, name, records, fsync, people_macs):
    path = os.path.join(folder, name)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        size = _cut_torn_tail(fd, path)
        day = _described.get(folder)
        if day is None or day.name != name or day.size != size:
            day = _Day(name, size, _used(fd, size, people_macs) if size else {})
        told, used = dict(day.told), dict(day.used)
        data, left_out = [], {}
        for record in records:
            share = _share(record, people_macs)
            trial = _told_of(told, record)
            line = lines.encode(record, trial).encode()
            if used.get(share, 0) + len(line) > _budget(share):
                left_out[share] = left_out.get(share, 0) + 1
                continue  # the file does not say what this line would have said of its device
            told.update(trial)
            used[share] = used.get(share, 0) + len(line)
            data.append(line)
        data = b"".join(data)
        try:
            _write_all(fd, data)
            if fsync:
                os.fsync(fd)
        except OSError:
            os.ftruncate(fd, size)  # the next append must not continue a torn record
            raise
    finally:
        os.close(fd)
    if fsync and not size:
        _fsync_folder(folder)
    _described[folder] = _Day(name, size + len(data), used, told, day.said | _say_left_out(path, left_out, day.said))
    return len(data)


class _Day:
    """What this process knows of the day file it last wrote in a folder."""

    def __init__(self, name, size, used, told=None, said=frozenset()):
        self.name, self.size, self.used, self.told, self.said = name, size, used, told or {}, said


PEOPLE, OTHERS = "people's records", "devices nobody is mapped to"


def _budget(share):
    """A day file's bytes for `share`."""
    return defaults.HISTORY_DAY_PEOPLE_BYTES if share == PEOPLE else defaults.MAX_HISTORY_DAY_BYTES


def _told_of(told, record):
    """What the file says of the record's device, apart, for encode to update if the line is written."""
    mac = record.get("mac")
    return {mac: told[mac]} if mac in told else {}


def _share(record, people_macs):
    return OTHERS if record["kind"] == "device" and record["mac"] not in people_macs else PEOPLE


def _used(fd, size, people_macs):
    """Bytes per share in a day file this process has not written yet (after a restart)."""
    used = {}
    for line in _read_fd(fd, size).splitlines(keepends=True):
        mac = line[11:28].decode("ascii", "replace") if line.startswith(b'{"device":"') else None
        share = OTHERS if mac is not None and mac not in people_macs else PEOPLE
        used[share] = used.get(share, 0) + len(line)
    return used


def _read_fd(fd, size):
    chunks, offset = [], 0
    while offset < size and (chunk := os.pread(fd, min(defaults.HTTP_READ_CHUNK, size - offset), offset)):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _say_left_out(path, left_out, said):
    """Say once per day file and share that its budget is spent; the shares said now."""
    new = frozenset(share for share in left_out if share not in said)
    for share in sorted(new):
        log.warning("History %s: the day's %s bytes for %s are spent; %d record(s) of theirs left out, and more "
                    "until the day ends (said once); %s are still written", path, f"{_budget(share):,}", share,
                    left_out[share], PEOPLE if share == OTHERS else "the others")
    return new


def read(folder, since, until, extra=()):
    """Everything in `folder` that overlaps [since, until], clipped to it, with the `extra` records (as for
    `append`: the intervals still open, Home Assistant's own history); an empty History when there is none.

    Raises OSError only when the folder exists but cannot be listed. A bad file or line is skipped and
    counted, and each read says so in one log line.
    """
    found, problems = reading.Found(since, until), reading.Problems(folder)
    first = _day(since)
    try:
        names = sorted(name for name in os.listdir(folder) if _DAY_FILE.fullmatch(name) and name[:10] >= first)
    except FileNotFoundError:
        names = []
    for name in names:
        data = reading.read_day(os.path.join(folder, name), name, problems)
        if data is None:
            continue
        rows = data.split(b"\n")
        if rows[-1]:
            problems.torn.append(name)
        for number, line in enumerate(rows[:-1], 1):
            try:
                found.add(lines.parse(line))
            except ValueError as error:
                problems.bad_line(name, number, str(error))
    problems.report()
    for record in _valid(extra, "read"):
        found.add(lines.unpacked(record))
    return found.history()


def prune(folder, now, keep_days=defaults.HISTORY_KEEP_DAYS):
    """Delete the day files whose every record ended more than `keep_days` ago; return their names.

    A day file dated after tomorrow (written while the clock was wrong) is set aside as
    `<day>.jsonl.future`, which no read takes, and deleted `keep_days` after it was last written. Entries
    that are neither are left alone. Raises the first OSError once every file was tried.
    """
    cutoff, tomorrow = _day(now - keep_days * 86400), _day(now + 86400)
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except FileNotFoundError:
        return []
    removed, set_aside, failure = [], [], None
    for entry in entries:
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if _DAY_FILE.fullmatch(entry.name) and entry.name[:10] < cutoff:
                os.remove(entry.path)
                removed.append(entry.name)
            elif _DAY_FILE.fullmatch(entry.name) and entry.name[:10] > tomorrow:
                os.replace(entry.path, entry.path + defaults.HISTORY_FUTURE_SUFFIX)
                set_aside.append(entry.name)
            elif entry.name.endswith(".jsonl" + defaults.HISTORY_FUTURE_SUFFIX) and \
                    entry.stat(follow_symlinks=False).st_mtime < now - keep_days * 86400:
                os.remove(entry.path)
        except FileNotFoundError:
            pass
        except OSError as error:
            failure = failure or error
    if removed:
        log.info("History: removed %d day file(s) older than %d days, up to %s", len(removed), keep_days,
                 removed[-1])
    if set_aside:
        log.warning("History in %s: set aside %d day file(s) dated after tomorrow, written while the clock was "
                    "wrong (%s): renamed to %s, not read, deleted in %d days", folder, len(set_aside),
                    ", ".join(set_aside[:3]) + (", ..." if len(set_aside) > 3 else ""),
                    f"<day>.jsonl{defaults.HISTORY_FUTURE_SUFFIX}", keep_days)
    if failure:
        raise failure
    return removed


def _day(at):
    return datetime.datetime.fromtimestamp(at, datetime.timezone.utc).strftime("%Y-%m-%d")


def _valid(records, done="written"):
    valid, refused = [], []
    for record in records:
        try:
            valid.append(lines.checked(record))
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            refused.append(f"{type(error).__name__}: {error}"[:defaults.QUOTED_ANSWER_LENGTH])
    if refused:
        log.warning("History: %d record(s) not %s, not valid (first: %s)", len(refused), done, refused[0])
    return valid


def _cut_torn_tail(fd, path):
    """The file's size once a torn last line (a crash while writing) is cut off."""
    size = os.fstat(fd).st_size
    if not size or os.pread(fd, 1, size - 1) == b"\n":
        return size
    keep, end = 0, size
    while end > 0:
        start = max(0, end - defaults.MAX_HISTORY_LINE)
        newline = os.pread(fd, end - start, start).rfind(b"\n")
        if newline >= 0:
            keep = start + newline + 1
            break
        end = start
    os.ftruncate(fd, keep)
    log.info("History %s: cut a torn last line of %d bytes (a crash while writing)", path, size - keep)
    return keep


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fsync_folder(folder):
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
