"""The failed-authentication throttle: a burst, then one try per refill interval."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tripp.api.throttle import FailureThrottle


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_burst_then_refused_then_one_more_per_interval() -> None:
    clock = Clock()
    throttle = FailureThrottle(burst=5, refill_s=3.0, monotonic=clock)
    for _ in range(5):
        assert throttle.retry_after("1.2.3.4") is None
        throttle.failed("1.2.3.4")
    assert throttle.retry_after("1.2.3.4") == 3
    assert throttle.retry_after("5.6.7.8") is None  # another client is not affected
    clock.t += 3.0
    assert throttle.retry_after("1.2.3.4") is None
    throttle.failed("1.2.3.4")
    assert throttle.retry_after("1.2.3.4") == 3


@given(failures=st.integers(0, 200), burst=st.integers(1, 50), waited=st.floats(0, 1000))
def test_never_more_than_burst_plus_refills(failures: int, burst: int, waited: float) -> None:
    clock = Clock()
    throttle = FailureThrottle(burst=burst, refill_s=2.0, monotonic=clock)
    admitted = 0
    for _ in range(failures):
        if throttle.retry_after("c") is None:
            throttle.failed("c")
            admitted += 1
    assert admitted == min(failures, burst)
    clock.t += waited
    more = 0
    while throttle.retry_after("c") is None and more <= burst + 1:
        throttle.failed("c")
        more += 1
    assert more <= min(burst, burst - admitted + int(waited / 2.0) + 1)


def test_the_client_table_is_bounded() -> None:
    throttle = FailureThrottle(burst=1, max_clients=10, monotonic=Clock())
    for i in range(100):
        throttle.failed(f"10.0.0.{i}")
    assert len(throttle._debt) == 10
