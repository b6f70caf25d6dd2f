"""Text from outside (Home Assistant, Graphite, the LAN, the state file) made safe to print."""

import re

# C0 and C1 controls (escape sequences, newlines, NEL), DEL, the line and paragraph separators
# (YAML reads them as line breaks), bidi marks, embeddings, overrides and isolates (they reorder
# what a terminal shows), and lone surrogates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match):
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text):
    """`text` with every control or bidi character shown as an escape (`\\x1b`, `\\u202e`)."""
    return _UNSAFE.sub(_escape, str(text))
