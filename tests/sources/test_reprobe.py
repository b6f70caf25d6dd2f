"""Which devices of unknown address get a whole-range search in a sweep: the bound per sweep (or the caller's),
who goes first, and the gaps counted in sweeps. Pure: no network."""

from presence.config import defaults
from presence.sources.reprobe import SearchBackoff

T0 = 1_800_000_000.0


def test_by_default_one_device_a_sweep_is_searched_then_after_two_sweeps():
    backoff = SearchBackoff()
    assert (backoff.first_gap, backoff.max_gap, backoff.per_sweep) == (
        defaults.SEARCH_FIRST_GAP, defaults.SEARCH_MAX_GAP, defaults.SEARCHES_PER_SWEEP)
    assert [backoff.choose(["a", "b"], T0 + i) for i in range(4)] == [["a"], ["b"], ["a"], ["b"]]


def test_the_bound_per_sweep_holds_and_the_devices_held_back_go_first_next_time():
    backoff = SearchBackoff(first_gap=4, max_gap=3600, per_sweep=2)
    assert backoff.choose(["a", "b", "c", "d", "e"], T0) == ["a", "b"]
    assert backoff.choose(["a", "b", "c", "d", "e"], T0 + 30) == ["c", "d"]
    assert backoff.choose(["a", "b", "c", "d", "e"], T0 + 60) == ["e"]
    assert backoff.choose(["a", "b", "c", "d", "e"], T0 + 90) == []
    assert backoff.choose(["a", "b", "c", "d", "e"], T0 + 120) == ["a", "b"]


def test_the_callers_limit_replaces_the_bound_for_that_sweep_only():
    backoff = SearchBackoff(first_gap=2, max_gap=3600, per_sweep=1)
    assert backoff.choose(["a", "b", "c", "d"], T0, limit=3) == ["a", "b", "c"]
    assert backoff.choose(["a", "b", "c", "d"], T0 + 30) == ["d"]
    assert backoff.choose(["a", "b", "c", "d"], T0 + 60, limit=0) == []


def test_a_device_never_searched_goes_before_those_due_again():
    backoff = SearchBackoff(first_gap=1, max_gap=3600, per_sweep=1)
    assert backoff.choose(["a"], T0) == ["a"]
    assert backoff.choose(["a", "new"], T0 + 30) == ["new"]
    assert backoff.choose(["a", "new"], T0 + 60) == ["a"]


def test_the_device_due_longest_goes_first():
    backoff = SearchBackoff(first_gap=1, max_gap=3600, per_sweep=1)
    backoff.choose(["a", "b"], T0)
    backoff.choose(["a", "b"], T0 + 30)  # "a" was due at sweep 2, "b" now due at sweep 3
    assert backoff.choose(["b", "a"], T0 + 60) == ["a"]
    assert backoff.choose(["b", "a"], T0 + 90) == ["b"]


def test_sweeps_in_which_a_device_is_not_asked_about_still_count_but_forget_it():
    backoff = SearchBackoff(first_gap=2, max_gap=3600, per_sweep=1)
    assert backoff.choose(["a", "b"], T0) == ["a"]
    assert backoff.choose(["b"], T0 + 30) == ["b"]
    assert set(backoff.plans) == {"b"}
    assert backoff.choose(["b"], T0 + 60) == []
    assert backoff.choose(["b"], T0 + 90) == ["b"]  # due at sweep 2 + 2 = 4: the gaps are counted in sweeps


def test_the_longest_gap_brings_a_device_back_in_any_sweep_after_it():
    backoff = SearchBackoff(first_gap=64, max_gap=600, per_sweep=1)
    assert backoff.choose(["a"], T0) == ["a"]
    assert backoff.choose(["a"], T0 + 599) == []
    assert backoff.choose(["a"], T0 + 600) == ["a"]
    assert backoff.plans["a"] == (3 + 128, 256, T0 + 600)
