"""The tracking worker's cache of monitor states: bounded, newest use kept."""

from __future__ import annotations

import pytest

from tripp.corridor.model import TransportMode
from tripp.tracking.alerts import MonitorState
from tripp.tracking.state_cache import StateCache


def test_copies_are_what_was_applied() -> None:
    cache = StateCache(limit=10)
    state = MonitorState()
    cache.apply({"A": (7, state)})
    assert cache.copies(["A", "B"]) == {"A": (7, state)}
    cache.apply({"A": (9, state)})
    assert cache.copies(["A"])["A"][0] == 9


def test_the_least_recently_written_go_first() -> None:
    cache = StateCache(limit=3)
    for i, mrn in enumerate("ABC"):
        cache.apply({mrn: (i + 1, MonitorState())})
    cache.apply({"A": (10, MonitorState())})  # A is now the newest
    cache.apply({"D": (11, MonitorState())})
    assert sorted(cache.copies("ABCD")) == ["A", "C", "D"]
    assert len(cache) == 3


def test_modes_are_bounded_too() -> None:
    cache = StateCache(limit=2)
    for mrn in "ABC":
        cache.remember_mode(mrn, TransportMode.ROAD)
    assert len(cache.known_modes(list("ABC"))) == 2
    assert cache.known_modes(["C"]) == {"C": TransportMode.ROAD}


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="limit=0"):
        StateCache(limit=0)
