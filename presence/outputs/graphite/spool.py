"""Metric lines that Graphite has not taken yet, kept in order on disk so a restart loses none."""

import errno
import fcntl
import logging
import os
import re

log = logging.getLogger(__name__)

_SUFFIX = ".spool"
_SEGMENT = re.compile(r"(\d{12})\.spool")
_PROBE = ".probe"
# Names tried when another process keeps creating the segment we meant to create.
_NAME_ATTEMPTS = 100


class SpoolInUse(OSError):
    """Another sender holds the folder's lock (at a reload, the one before, still finishing)."""

    def __init__(self, folder):
        super().__init__(errno.EWOULDBLOCK, "in use by another Graphite sender", folder)


class Spool:
    """Append-only segment files in `folder`, oldest first, bounded to `max_bytes` by dropping the oldest.

    One sender per folder: the folder is read and written only under an flock on the folder itself (it needs
    no space, inode or write access), held from the first look into it until `close()`.
    The constructor never raises: a folder that cannot be made, read or locked leaves `error` set, and
    `append` tries it again. Entries of the folder that are not our segments are left alone.
    """

    def __init__(self, folder, max_bytes, segment_messages=120):
        self.folder = folder
        self.max_bytes = max_bytes
        self.segment_messages = segment_messages
        self.dropped_lines = 0
        self.segments = []
        self.sizes = {}
        self.bytes = 0
        self.error = None
        self._ready = False
        self._next_number = 1
        self._ignored = set()
        self._skipped = set()
        self._fd = None
        self._lock_fd = None
        self._open_name = None
        self._open_count = 0
        try:
            self._scan()
        except OSError as error:
            self.error = error

    def __del__(self):
        # A spool dropped without close() lets go of its folder (and its descriptors) all the same.
        if getattr(self, "_lock_fd", None) is not None:
            self._unlock()

    def __len__(self):
        """How many segment files wait (0 when everything was delivered)."""
        return len(self.segments)

    def append(self, message):
        """Add one tick's lines at the end, or raise OSError and leave the files as they were."""
        try:
            if not self._ready:
                self._scan()
            self._write(message)
        except OSError as error:
            self.error = error
            # Look at the folder afresh next time: it may have been replaced or emptied under us.
            self._ready = False
            raise
        self.error = None
        self._bound()

    def check(self):
        """Try the folder again after an error: make it if need be and write to it; raise OSError if it fails."""
        try:
            if not self._ready:
                self._scan()
            probe = self._path(_PROBE)
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, b"\n")
            finally:
                os.close(fd)
                os.remove(probe)
        except OSError as error:
            self.error = error
            raise
        self.error = None

    def read(self, name):
        """Return segment `name`'s complete lines, or None when it is gone or unreadable (it is then skipped)."""
        if name == self._open_name:
            self._seal()
        try:
            with open(self._path(name), "rb") as handle:
                data = handle.read()
        except OSError as error:
            log.warning("Graphite spool: skipping segment %s: %s", name, error)
            self._skipped.add(name)
            self._forget(name)
            return None
        return data[:data.rfind(b"\n") + 1]

    def remove(self, names):
        """Forget the segments `names` (they were delivered)."""
        for name in names:
            if name == self._open_name:
                self._seal()
            try:
                os.remove(self._path(name))
            except FileNotFoundError:
                pass
            except OSError as error:
                log.warning("Graphite spool: cannot remove delivered segment %s (it will be sent again after a "
                            "restart): %s", name, error)
            self._forget(name)

    def close(self):
        """Make what was appended durable and let another sender have the folder; raise OSError when the disk
        refuses."""
        try:
            if self._fd is not None:
                try:
                    os.fsync(self._fd)
                finally:
                    self._seal()
                if self._lock_fd is not None:
                    os.fsync(self._lock_fd)
        finally:
            self._unlock()

    def _scan(self):
        os.makedirs(self.folder, mode=0o700, exist_ok=True)
        self._lock()
        sizes, numbers, ignored = {}, [0], []
        with os.scandir(self.folder) as entries:
            for entry in entries:
                if entry.name == _PROBE or entry.name in self._skipped:
                    continue
                match = _SEGMENT.fullmatch(entry.name)
                if match:
                    numbers.append(int(match[1]))
                try:
                    if match and entry.is_file(follow_symlinks=False):
                        sizes[entry.name] = entry.stat(follow_symlinks=False).st_size
                        continue
                except OSError:
                    pass
                ignored.append(entry.name)
        self._log_ignored(ignored)
        self.sizes = sizes
        self.segments = sorted(sizes)
        self.bytes = sum(sizes.values())
        self._next_number = max(self._next_number, max(numbers) + 1)
        self._ready = True
        self.error = None

    def _lock(self):
        if self._lock_fd is not None:
            try:
                if os.path.samestat(os.fstat(self._lock_fd), os.stat(self.folder)):
                    return
            except OSError:
                pass
            self._unlock()  # the folder was made anew: its lock is another
        fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(fd)
            if error.errno == errno.EWOULDBLOCK:
                raise SpoolInUse(self.folder) from None
            raise
        self._lock_fd = fd

    def _unlock(self):
        self._ready = False
        self._seal()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _log_ignored(self, names):
        new = sorted(set(names) - self._ignored)
        if new:
            log.warning("Graphite spool %s: ignoring %d entr%s that %s not spool segments: %s", self.folder,
                        len(new), "y" if len(new) == 1 else "ies", "is" if len(new) == 1 else "are",
                        ", ".join(new[:5]) + (", ..." if len(new) > 5 else ""))
            self._ignored.update(new)

    def _write(self, message):
        if self._fd is not None and (self._open_name not in self.sizes or self._open_was_removed()):
            self._seal()
        elif self._fd is not None and self._open_count >= self.segment_messages:
            os.fsync(self._fd)
            self._seal()
        if self._fd is None:
            self._start_segment()
        name, start = self._open_name, self.sizes[self._open_name]
        try:
            _write_all(self._fd, message)
        except OSError:
            self._cut_back(start)
            raise
        self.sizes[name] = start + len(message)
        self.bytes += len(message)
        self._open_count += 1

    def _cut_back(self, length):
        # A torn message must not be followed by the next one in the same file.
        try:
            os.ftruncate(self._fd, length)
        except OSError:
            self._seal()

    def _open_was_removed(self):
        if os.fstat(self._fd).st_nlink:
            return False
        log.warning("Graphite spool: segment %s was removed by another process; %d tick(s) in it are lost",
                    self._open_name, self._open_count)
        self._forget(self._open_name)
        return True

    def _start_segment(self):
        for _ in range(_NAME_ATTEMPTS):
            name = f"{self._next_number:012d}{_SUFFIX}"
            self._next_number += 1
            try:
                self._fd = os.open(self._path(name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC,
                                   0o600)
            except FileExistsError:
                continue
            self._open_name, self._open_count = name, 0
            self.segments.append(name)
            self.sizes[name] = 0
            return
        raise FileExistsError(f"no free segment name in {self.folder}")

    def _seal(self):
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd, self._open_name = None, None

    def _forget(self, name):
        if name in self.sizes:
            self.bytes -= self.sizes.pop(name)
            self.segments.remove(name)

    def _bound(self):
        while self.bytes > self.max_bytes and len(self.segments) > 1:
            oldest = self.segments[0]
            data = self.read(oldest)
            self.remove([oldest])
            lines = data.count(b"\n") if data else 0
            self.dropped_lines += lines
            log.warning("Graphite spool over its bound of %d bytes: dropped the oldest %d lines "
                        "(%d dropped in all)", self.max_bytes, lines, self.dropped_lines)

    def _path(self, name):
        return os.path.join(self.folder, name)


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
