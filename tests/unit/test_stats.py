from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tripp.stats.model import percentile, summarise

values = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=50)


def test_known_values() -> None:
    assert percentile([1.0, 2.0, 3.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([0.0, 10.0], 95) == pytest.approx(9.5)
    s = summarise([5.0, 1.0, 3.0])
    assert (s.count, s.median) == (3, 3.0)
    assert summarise([]).median is None


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="q=101"):
        percentile([1.0], 101)


@given(values, st.floats(0, 100), st.floats(0, 100))
def test_percentile_is_monotonic_and_bounded(xs: list[float], q1: float, q2: float) -> None:
    ordered = sorted(xs)
    lo, hi = sorted((q1, q2))
    assert ordered[0] <= percentile(ordered, lo) <= percentile(ordered, hi) + 1e-6
    assert percentile(ordered, hi) <= ordered[-1] + 1e-6
