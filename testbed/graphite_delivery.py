"""Waiting, from a test or a script, until a Graphite sender's server has confirmed all it was handed."""

import time

# Real seconds between two looks at the sender.
_POLL = 0.01


def confirmed(sender, timeout=10.0):
    """Wait up to `timeout` s of real time until `sender.all_confirmed()`; return whether it is.

    The sender asks for a confirmation on its own schedule (its confirm_period, and at once after a
    failure): build it with a short confirm_period for this to end soon."""
    deadline = time.monotonic() + timeout
    while not sender.all_confirmed():
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL)
    return True
