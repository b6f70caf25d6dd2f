"""Logging to stderr in a form journald reads well."""

import logging
import os
import sys

from presence.config import defaults

# syslog priorities, which journald reads from a `<N>` line prefix.
_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class _JournalFormatter(logging.Formatter):
    def format(self, record):
        return f"<{_PRIORITY.get(record.levelno, 6)}>{super().format(record)}"


def setup_logging(level=defaults.DEFAULT_LOG_LEVEL, environ=os.environ):
    """Log to stderr: with priorities and no timestamps under journald, with timestamps elsewhere."""
    handler = logging.StreamHandler(sys.stderr)
    if environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("scapy").setLevel(logging.ERROR)


def error_once(logger, previous, error, message, *args):
    """Log an OSError at ERROR (`message` % (*args, its reason)) unless its reason is `previous`: a failure
    that repeats every tick is said once per kind. Return the reason."""
    reason = error.strerror or str(error)
    if reason != previous:
        logger.error(message, *args, reason)
    return reason
