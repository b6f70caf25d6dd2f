"""SystemClock: the real time, and waits that an event or a new item cuts short (never a long real wait)."""

import queue
import threading
import time

from presence.clock import SystemClock

# Long enough that a wait which was not cut short would fail the test by far; never actually waited.
NEVER = 30.0
# What a wait that ends at once may take on a busy machine.
PROMPT = 2.0


def timed(call, *args):
    started = time.monotonic()
    result = call(*args)
    return result, time.monotonic() - started


def test_now_is_the_wall_clock_in_epoch_seconds():
    before = time.time()
    now = SystemClock().now()
    after = time.time()
    assert isinstance(now, float) and before <= now <= after


def test_monotonic_is_time_monotonic_and_never_goes_back():
    clock = SystemClock()
    before = time.monotonic()
    first = clock.monotonic()
    second = clock.monotonic()
    after = time.monotonic()
    assert before <= first <= second <= after


def test_wait_on_a_set_event_returns_true_at_once():
    event = threading.Event()
    event.set()
    result, took = timed(SystemClock().wait, event, NEVER)
    assert result is True and took < PROMPT


def test_wait_returns_as_soon_as_another_thread_sets_the_event():
    event = threading.Event()
    setter = threading.Timer(0.03, event.set)
    setter.start()
    try:
        result, took = timed(SystemClock().wait, event, NEVER)
    finally:
        setter.cancel()
    assert result is True and took < PROMPT


def test_wait_runs_out_and_says_the_event_is_not_set():
    result, took = timed(SystemClock().wait, threading.Event(), 0.01)
    assert result is False and 0.005 <= took < PROMPT


def test_a_negative_wait_is_no_wait():
    result, took = timed(SystemClock().wait, threading.Event(), -5.0)
    assert result is False and took < PROMPT


def test_get_returns_an_item_already_there_without_waiting():
    items = queue.Queue()
    items.put("report")
    result, took = timed(SystemClock().get, items, NEVER)
    assert result == "report" and took < PROMPT and items.empty()


def test_get_returns_as_soon_as_another_thread_puts_an_item():
    items = queue.Queue()
    putter = threading.Timer(0.03, items.put, args=("late report",))
    putter.start()
    try:
        result, took = timed(SystemClock().get, items, NEVER)
    finally:
        putter.cancel()
    assert result == "late report" and took < PROMPT


def test_get_gives_none_when_nothing_came_and_a_negative_time_is_no_wait():
    # queue.Queue.get itself refuses a negative timeout with ValueError.
    clock = SystemClock()
    assert timed(clock.get, queue.Queue(), 0.01)[0] is None
    result, took = timed(clock.get, queue.Queue(), -1.0)
    assert result is None and took < PROMPT
