"""The state file's folder, made safe to use before the daemon starts: one daemon, a usable path."""

import errno
import fcntl
import logging
import os
import tempfile

from presence.state.file import TEMP_NAME

log = logging.getLogger(__name__)



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
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
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
    """An exclusive lock beside the state file, so two daemons never share one state (or spool)."""

    def __init__(self, state_path):
        self.path = f"{os.path.abspath(state_path)}.lock"
        self._handle = None

    def acquire(self):
        """Take the lock or raise StateDirError naming the process that holds it."""
        handle = open(self.path, "a+", encoding="ascii")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            handle.seek(0)
            holder = handle.read().strip()[:20] or "unknown"
            handle.close()
            if error.errno in (errno.EAGAIN, errno.EACCES):
                raise StateLocked(f"another presence daemon (pid {holder}) is using {self.path[:-5]}; "
                                    "stop it first, or give this one another --state") from None
            raise StateDirError(f"cannot lock {self.path}: {error.strerror}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return self

    def release(self):
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def remove_stale_temp_files(state_path):
    """Delete the temp files a killed save left beside the state file; return how many."""
    folder = os.path.dirname(os.path.abspath(state_path))
    removed = 0
    for entry in os.scandir(folder):
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
