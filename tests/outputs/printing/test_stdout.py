"""The dry run's Graphite sink: each tick's lines printed as they are, flushed at once."""

import io

from graphite_helper import build_message
from presence.outputs.printing.stdout import StdoutSink


class FlushCounting(io.StringIO):
    """A stream that notes how much had been written at each flush."""

    def __init__(self):
        super().__init__()
        self.flushed_at = []

    def flush(self):
        self.flushed_at.append(len(self.getvalue()))
        super().flush()


def test_each_tick_is_printed_to_stdout_exactly_as_its_lines_in_order(capsys):
    sink = StdoutSink()
    first = build_message("home.presence", [("count_home", 2), ("anyone_home", 1)], 1_800_000_000)
    second = build_message("home.presence", [("count_home", 1)], 1_800_000_005)
    sink.send(first)
    sink.send(second)
    assert capsys.readouterr().out == ("home.presence.count_home 2 1800000000\n"
                                       "home.presence.anyone_home 1 1800000000\n"
                                       "home.presence.count_home 1 1800000005\n")


def test_the_lines_are_printed_with_nothing_added_or_taken_away(capsys):
    sink = StdoutSink()
    sink.send(b"p.x 1 0\np.y 2 0\n")
    sink.send(b"")
    assert capsys.readouterr().out == "p.x 1 0\np.y 2 0\n"


def test_the_stream_given_is_used_instead_of_stdout(capsys):
    stream = io.StringIO()
    StdoutSink(stream).send(b"p.x 1 0\n")
    assert stream.getvalue() == "p.x 1 0\n" and capsys.readouterr().out == ""


def test_each_tick_is_flushed_so_a_pipe_sees_it_at_once():
    stream = FlushCounting()
    sink = StdoutSink(stream)
    sink.send(b"p.x 1 0\n")
    sink.send(b"p.x 2 5\n")
    assert stream.flushed_at == [8, 16]


def test_close_flushes_and_leaves_the_stream_open(capsys):
    stream = FlushCounting()
    sink = StdoutSink(stream)
    sink.close(timeout=1.0)
    assert stream.flushed_at == [0] and not stream.closed
    sink.send(b"p.x 1 0\n")
    assert stream.getvalue() == "p.x 1 0\n"
    StdoutSink().close()
    assert not capsys.readouterr().out


def test_printing_never_fails_so_it_is_always_alive_with_no_problem(capsys):
    sink = StdoutSink()
    sink.send(b"p.x 1 0\n")
    assert capsys.readouterr().out == "p.x 1 0\n"
    assert sink.alive() and sink.problem() is None
