"""The state's place on disk: written when the save policy says, failing softly, healing by itself."""

import logging
import math
import time

from presence.state.file import save_state
from presence.state.save_policy import save_reason

log = logging.getLogger(__name__)


class StateStore:
    """Writes the state file; a failed write keeps the state in memory and is retried every tick.

    Each kind of failure is said once, with what it means, and again when it clears. `lock` (a StateLock)
    gets its pid written and its folder re-locked once writing works again."""

    def __init__(self, path, state, lock=None):
        self.path = path
        self.lock = lock
        # What is on disk: the state as loaded (None when there was no file) and when it was written.
        self._saved = state if state.saved_at is not None else None
        self._saved_when = state.saved_at if state.saved_at is not None else -math.inf
        self.error = None

    def save(self, state, config, now, force=False):
        """Write the state when it is due (always with `force`); return whether the file on disk will do."""
        reason = "asked" if force else save_reason(self._saved, state, config, now, self._saved_when)
        if reason is None:
            return True
        if force and self._saved is state:
            return True
        try:
            save_state(self.path, state, now)
        except OSError as error:
            self._failed(error)
            return False
        log.debug("State saved to %s (%s)", self.path, reason)
        if self.error:
            log.info("State saved to %s again", self.path)
            self.error = None
        self._saved, self._saved_when = state, now
        if self.lock is not None:
            self.lock.heal()
        return True

    def problem(self):
        """`state not saved: ...` for the status line, or None."""
        if not self.error:
            return None
        return f"state not saved: {self.error} ({self._restart_means()})"

    def _failed(self, error):
        reason = error.strerror or str(error)
        if reason != self.error:
            log.error("State not saved to %s: %s; it is kept in memory and retried every tick; %s", self.path,
                      reason, self._restart_means())
        self.error = reason

    def _restart_means(self):
        if self._saved is None:
            return "a restart now starts fresh"
        return f"a restart now goes back to the state of {time.strftime('%H:%M:%S', time.localtime(self._saved_when))}"
