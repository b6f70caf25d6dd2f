"""The state file's folder, made safe to use before the daemon starts: one daemon, a usable path."""

import errno
import fcntl
import logging
import os
import tempfile

from presence.state.file import TEMP_NAME

log = logging.getLogger(__name__)



# Write failures that pass by themselves (space freed, a remount): the daemon starts and runs through them.
_PASSING = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO})


class StateDirError(Exception):
    """The state path cannot be used; the message names where it came from and what to do."""


def check_state_path(path, where, config_path=None):
    """Refuse a state path that is a folder, not a regular file, the config file, or in a folder we
    cannot write; create the folder when it is missing. `where` names the setting (`--state` or `state_file`)."""
    if os.path.isdir(path):
        raise StateDirError(f"{where}: {path} is a directory; name a file in it, e.g. {os.path.join(path, 'state.json')}")
    if os.path.lexists(path) and not os.path.isfile(path):
        raise StateDirError(f"{where}: {path} exists and is not a regular file")
    if config_path and os.path.exists(path) and os.path.exists(config_path) and os.path.samefile(path, config_path):
        raise StateDirError(f"{where}: {path} is the configuration file; the state needs a file of its own")
    if not path.endswith(".json") and not _looks_like_json(path):
        # A damaged state file is set aside at start; a file that never was one must not be.
        raise StateDirError(f"{where}: {path} is not a state file written by presence (not JSON); name a new "
                            "file, e.g. state.json")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.lexists(folder) and not os.path.isdir(folder):
        raise StateDirError(f"{where}: {folder} is not a folder; choose another state file")
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        if error.errno in _PASSING and os.path.isdir(folder):
            # A full or read-only disk is no reason to stop the live numbers: the daemon runs on and says
            # what cannot be written; everything is written once it can be.
            log.warning("%s: cannot write in %s now (%s); starting anyway: the state, the spool and the history "
                        "are kept in memory until it can be written", where, folder, error.strerror)
            return
        raise StateDirError(f"{where}: cannot write in {folder}: {error.strerror or error}; make it writable for "
                            "this user, or choose another state file") from None


def _looks_like_json(path):
    try:
        with open(path, "rb") as handle:
            start = handle.read(64).lstrip()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return start == b"" or start.startswith(b"{")


class StateLocked(StateDirError):
    """Another daemon holds the state file."""


class StateLock:
    """An exclusive lock on the state file's folder, so two daemons never share one state (or spool).

    The lock is an flock on the folder itself, which needs no free space, inode or write access; the
    pid in `<state>.lock` beside it is only for the message a second daemon gives, written when it can be."""

    def __init__(self, state_path):
        self.path = f"{os.path.abspath(state_path)}.lock"
        self.folder = os.path.dirname(self.path)
        self._fd = None
        self._pid_written = False

    def acquire(self):
        """Take the lock or raise StateDirError naming the process that holds it."""
        try:
            fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as error:
            raise StateDirError(f"cannot open {self.folder} to lock it: {error.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(fd)
            if error.errno in (errno.EAGAIN, errno.EACCES):
                raise StateLocked(f"another presence daemon (pid {self._holder()}) is using {self.path[:-5]}; "
                                  "stop it first, or give this one a --state in another folder") from None
            raise StateDirError(f"cannot lock {self.folder}: {error.strerror}") from None
        self._fd = fd
        self._write_pid()
        return self

    def heal(self):
        """After a write worked again: write the pid if it could not be, and lock the folder anew if it was
        removed and made again while the daemon ran (the old lock held a folder nobody sees)."""
        if self._fd is None:
            return
        try:
            same = os.path.samestat(os.fstat(self._fd), os.stat(self.folder))
        except OSError:
            return
        if not same:
            try:
                fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                log.error("The state folder %s was made anew and cannot be locked (%s): is another daemon "
                          "using it?", self.folder, error.strerror)
                return
            os.close(self._fd)
            self._fd, self._pid_written = fd, False
            log.info("Locked the state folder %s again (it had been removed)", self.folder)
        if not self._pid_written:
            self._write_pid()

    def _write_pid(self):
        try:
            with open(self.path, "w", encoding="ascii") as handle:
                handle.write(f"{os.getpid()}\n")
            self._pid_written = True
        except OSError as error:  # a full or read-only disk: the flock alone keeps the daemon single
            log.debug("Cannot write the pid to %s yet: %s", self.path, error.strerror)

    def _holder(self):
        try:
            with open(self.path, encoding="ascii", errors="replace") as handle:
                return handle.read(20).strip() or "unknown"
        except OSError:
            return "unknown"

    def release(self):
        """Let the lock go (closing its file); releasing twice is harmless."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def remove_stale_temp_files(state_path):
    """Delete the temp files a killed save left beside the state file; return how many."""
    folder = os.path.dirname(os.path.abspath(state_path))
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError as error:
        log.warning("Cannot look for stale temp files in %s: %s", folder, error.strerror)
        return 0
    for entry in entries:
        # Left behind when a save was killed between writing the temp file and renaming it.
        if not TEMP_NAME.fullmatch(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
        path = entry.path
        try:
            os.unlink(path)
            removed += 1
        except OSError as error:
            log.warning("Cannot remove the stale temp file %s: %s", path, error.strerror)
    if removed:
        log.info("Removed %d temp file(s) left by an interrupted save in %s", removed, folder)
    return removed
