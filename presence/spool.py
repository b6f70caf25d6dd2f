"""Metric lines that Graphite has not taken yet, kept in order on disk so a restart loses none."""

import logging
import os

log = logging.getLogger(__name__)

_SUFFIX = ".spool"


class Spool:
    """Append-only segment files in `folder`, oldest first, bounded to `max_bytes` by dropping the oldest."""

    def __init__(self, folder, max_bytes, segment_messages=120):
        self.folder = folder
        self.max_bytes = max_bytes
        self.segment_messages = segment_messages
        self.dropped_lines = 0
        os.makedirs(folder, mode=0o700, exist_ok=True)
        self.segments = sorted(name for name in os.listdir(folder) if name.endswith(_SUFFIX))
        self.bytes = sum(os.path.getsize(self._path(name)) for name in self.segments)
        self._open = None
        self._open_count = 0

    def __len__(self):
        """How many segment files wait (0 when everything was delivered)."""
        return len(self.segments)

    def append(self, message):
        """Add one tick's lines at the end; drop the oldest segments beyond the bound."""
        if self._open is None or self._open_count >= self.segment_messages:
            self._start_segment()
        self._open.write(message)
        self._open.flush()
        self._open_count += 1
        self.bytes += len(message)
        while self.bytes > self.max_bytes and len(self.segments) > 1:
            lines = self._drop_oldest()
            self.dropped_lines += lines
            log.warning("Graphite spool over its bound of %d bytes: dropped the oldest %d lines "
                        "(%d dropped in all)", self.max_bytes, lines, self.dropped_lines)

    def oldest(self):
        """Return the oldest segment's complete lines (a torn last line from a crash is cut off)."""
        if not self.segments:
            return None
        if self._open is not None and self.segments[0] == os.path.basename(self._open.name):
            self._close_open()
        with open(self._path(self.segments[0]), "rb") as handle:
            data = handle.read()
        return data[:data.rfind(b"\n") + 1]

    def remove_oldest(self):
        """Forget the oldest segment (it was delivered)."""
        name = self.segments.pop(0)
        self.bytes -= os.path.getsize(self._path(name))
        os.remove(self._path(name))

    def close(self):
        """Make what was appended durable."""
        if self._open is not None:
            os.fsync(self._open.fileno())
            self._close_open()

    def _start_segment(self):
        self._close_open()
        number = int(self.segments[-1][:-len(_SUFFIX)]) + 1 if self.segments else 1
        name = f"{number:012d}{_SUFFIX}"
        self._open = open(self._path(name), "ab")
        self._open_count = 0
        self.segments.append(name)

    def _close_open(self):
        if self._open is not None:
            self._open.close()
            self._open = None

    def _drop_oldest(self):
        data = self.oldest()
        self.remove_oldest()
        return data.count(b"\n")

    def _path(self, name):
        return os.path.join(self.folder, name)
