"""Graphite's plaintext protocol: `name value timestamp` lines, validated so that Graphite never misreads one.

Delivering them is the sink's (presence.outputs.graphite.sender).
"""

import math
import re

_NAME = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")


def build_line(name, value, timestamp):
    """Return one `name value timestamp\\n` line; raise ValueError for anything Graphite would misread."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"invalid metric name {name!r}")
    if isinstance(value, bool):
        value = int(value)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"invalid value {value!r} for {name}")
    return f"{name} {value} {int(timestamp)}\n"


def build_message(prefix, values, timestamp):
    """Return the bytes of one tick: every `(name, value)` under `prefix`, one line each."""
    return "".join(build_line(f"{prefix}.{name}", value, timestamp) for name, value in values).encode("ascii")
