import logging

from presence.logs import setup_logging


def emit(capsys, environ):
    setup_logging("INFO", environ)
    logging.getLogger("presence.daemon.loop").warning("Graphite down")
    logging.getLogger("presence.daemon.loop").debug("per-tick detail")
    return capsys.readouterr().err


def test_under_journald_lines_carry_priority_and_no_timestamp(capsys):
    assert emit(capsys, {"JOURNAL_STREAM": "8:12345"}) == "<4>presence.daemon.loop: Graphite down\n"


def test_elsewhere_lines_carry_time_and_level(capsys):
    line = emit(capsys, {})
    assert line.endswith(" WARNING presence.daemon.loop: Graphite down\n") and line[:4].isdigit()
