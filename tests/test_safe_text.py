"""Printing text from outside: controls, escape sequences and bidi overrides are shown, never obeyed."""

import pytest

from presence.safe_text import safe


@pytest.mark.parametrize("text, shown", [
    ("\x1b[2J\x1b]0;owned\x07", "\\x1b[2J\\x1b]0;owned\\x07"),
    ("evil\n  - name: x", "evil\\x0a  - name: x"),
    ("tab\there\rback", "tab\\x09here\\x0dback"),
    ("\x7f\x85\x9b", "\\x7f\\x85\\x9b"),
    ("user\u202egnp.exe", "user\\u202egnp.exe"),
    ("\u2066isolate\u2069 \u200f", "\\u2066isolate\\u2069 \\u200f"),
    ("line\u2028para\u2029", "line\\u2028para\\u2029"),
    ("\udc80", "\\udc80"),
])
def test_controls_and_bidi_are_escaped_visibly(text, shown):
    assert safe(text) == shown


@pytest.mark.parametrize("text", ["Nick's iPhone", "Ник", "Zoë 👨\u200d👩\u200d👧", "C:\\x1b is typed",
                                  "person.nick"])
def test_printable_text_is_left_alone(text):
    assert safe(text) == text


def test_escaping_twice_changes_nothing_more():
    once = safe("a\x1bb\u202e")
    assert safe(once) == once


def test_anything_is_shown_as_text():
    assert safe(None) == "None" and safe(42) == "42"
