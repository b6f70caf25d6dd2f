"""The outputs called alike: a reload replaces only what changed, a close reaches all at once, one's
failure stays its own."""

import threading

from presence.daemon.outputs import Outputs
from tests.fakes import RecordingOutput


def named(name, **kwargs):
    output = RecordingOutput(**kwargs)
    output.name = name
    return output


def test_a_reload_closes_the_replaced_output_before_starting_its_successor_and_reconfigures_the_rest():
    events = []
    keep, old, new, gone = named("keep"), named("MQTT"), named("MQTT"), named("gone")
    old.close = lambda deadline: events.append("old closed")
    new.start = lambda: events.append("new started")
    outputs = Outputs([keep, old, gone])
    outputs.reload({"MQTT": new, "gone": None}, "the new config", deadline=0.0)
    assert events == ["old closed", "new started"]
    assert [output.name for output in outputs] == ["keep", "MQTT"] and outputs.get("MQTT") is new
    assert keep.calls == [("reconfigure", "the new config")] and gone.calls == [("close", 0.0)]


def test_every_output_closes_at_once_so_a_slow_one_takes_no_time_from_the_others():
    first_closing, second_closing = threading.Event(), threading.Event()
    first, second, saw = named("first"), named("second"), []
    first.close = lambda deadline: (first_closing.set(), saw.append(second_closing.wait(5)))
    second.close = lambda deadline: (second_closing.set(), saw.append(first_closing.wait(5)))
    Outputs([first, second]).close(deadline=0.0)
    assert saw == [True, True]  # one after the other, the first would have waited its 5 s in vain


def test_problems_and_deaths_are_each_outputs_and_a_raising_one_is_neither(caplog):
    quiet, troubled, dying = named("quiet"), named("troubled"), named("dying")
    troubled.problem = lambda: "troubled: cannot reach it"
    dying.alive = lambda: False
    broken = named("broken")
    broken.problem = broken.alive = lambda: 1 / 0
    outputs = Outputs([quiet, broken, troubled, dying])
    assert outputs.problems() == ["troubled: cannot reach it"]
    assert outputs.dead() == "the dying output has stopped"
    assert caplog.text.count("The broken output failed (problem): ZeroDivisionError") == 1
