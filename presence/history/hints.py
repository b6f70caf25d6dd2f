"""What the history says of a vanished device: the unmapped device that most looks like its new address."""

import logging

from presence.config import defaults
from presence.history import journal
from presence.history.suggest import suggest
from presence.state.intervals import open_records

log = logging.getLogger(__name__)


def kept_history(folder, state, now, extra=()):
    """All the history keeps up to `now`: the journal's days, the intervals still open in `state`, and `extra`
    records (Home Assistant's own history)."""
    since = now - defaults.HISTORY_KEEP_DAYS * 86400
    return journal.read(folder, since, now, extra=open_records(state, now) + list(extra))


def new_address_hint(folder, state, config, now, key, held=()):
    """`; 3a:f1:..:9c looks like its new private address (0.94): see 'suggest'`, or "" when none does.
    `held`: closed records not in the journal yet (the writer's batch)."""
    try:
        found = [item for item in suggest(kept_history(folder, state, now, extra=held), config, now)
                 if item.person == key]
    except Exception as error:  # a hint must never cost the warning itself
        log.debug("No hint for %s's vanished device: %s", key, error, exc_info=True)
        return ""
    if not found:
        return ""
    best = found[0]
    return f"; {best.mac} looks like its new private address ({best.confidence:.2f}): see 'suggest'"
