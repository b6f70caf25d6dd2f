"""Reading the journal back (presence.history.journal.read): one day file's bytes, bounded; the records
found within the read's window, merged into a History; and what the read skipped, said in one log line.
"""

import errno
import logging
import os
import stat

from presence.config import defaults
from presence.history.model import DeviceHistory, History, Interval, PersonHistory

log = logging.getLogger(__name__)


def read_day(path, name, problems):
    """The file's bytes (at most a day's budgets, cut at a line's end), or None when it cannot be read."""
    limit = defaults.MAX_HISTORY_DAY_BYTES + defaults.HISTORY_DAY_PEOPLE_BYTES
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        problems.unreadable(name, "a symbolic link" if error.errno == errno.ELOOP else error.strerror or str(error))
        return None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            problems.unreadable(name, "a directory" if stat.S_ISDIR(mode) else "not a regular file")
            return None
        chunks, size = [], 0
        while size <= limit and (chunk := os.read(fd, min(defaults.HTTP_READ_CHUNK, limit + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        problems.unreadable(name, error.strerror or str(error))
        return None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if size > limit:
        problems.unreadable(name, f"over {limit:,} bytes, read in part")
        data = data[:data.rfind(b"\n", 0, limit) + 1]
    return data


class Found:
    """What a read found within its window, per device and person, merged at the end."""

    def __init__(self, since, until):
        self.since, self.until = since, until
        self.devices, self.people, self.watched = {}, {}, []

    def add(self, parsed):
        """Take one parsed line, if it overlaps the window."""
        kind, subject, start, end, details = parsed
        if end < self.since or start > self.until:
            return
        if kind == "device":
            spans, hostnames, personal = self.devices.setdefault(subject, ([], set(), [False]))
            spans.append((start, end))
            if details[0]:
                hostnames.add(details[0])
            personal[0] = personal[0] or details[1]
        elif kind == "ha":
            home, known = self.people.setdefault(subject, ([], []))
            known.append((start, end))
            if details:
                home.append((start, end))
        else:
            self.watched.append((start, end))

    def history(self):
        """Everything added, as a History: each subject's spans clipped and merged."""
        devices = {mac: DeviceHistory(mac, self._merged(spans), frozenset(hostnames), personal[0])
                   for mac, (spans, hostnames, personal) in sorted(self.devices.items())}
        people = {key: PersonHistory(key, self._merged(home), self._merged(known))
                  for key, (home, known) in sorted(self.people.items())}
        return History(devices=devices, people=people, watched=self._merged(self.watched))

    def _merged(self, spans):
        """The spans clipped to the window, those that touch or overlap joined, oldest first."""
        merged = []
        for start, end in sorted(spans):
            start, end = max(start, self.since), min(end, self.until)
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return tuple(Interval(start, end) for start, end in merged)


class Problems:
    """What one read had to skip, said in one log line at the end."""

    def __init__(self, folder):
        self.folder = folder
        self.torn, self.files, self.lines = [], [], {}

    def unreadable(self, name, why):
        """Count a day file that could not be read, and why."""
        self.files.append(f"{name} ({why})")

    def bad_line(self, name, number, why):
        """Count a bad line of a day file, keeping the first one's number and reason."""
        counted = self.lines.setdefault(name, [0, f"{number}: {why}"])
        counted[0] += 1

    def report(self):
        """Log what was skipped: the torn last lines at INFO, the rest in one WARNING."""
        if self.torn:
            log.info("History in %s: skipped the torn last line of %s (a crash while writing)", self.folder,
                     ", ".join(self.torn))
        if not (self.files or self.lines):
            return
        parts = ([f"skipped {', '.join(self.files)}"] if self.files else []) + [
            f"{name}: skipped {count} bad line(s) (line {first})" for name, (count, first) in self.lines.items()]
        shown = "; ".join(parts[:5]) + ("; ..." if len(parts) > 5 else "")
        log.warning("History in %s: %s", self.folder, shown)
