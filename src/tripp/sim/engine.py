"""A fast, exact discrete-event engine for a border post: multi-server FIFO stations in series.

A ``Scenario`` is a post: its ``Station`` stages in the order vehicles meet them (booth,
fee, X-ray, physical...), each visited with a probability (a referral rate) and served
first-come first-served by a number of servers that may change by the hour; arrivals are
a Poisson process with a rate per hour (repeated cyclically, so 24 rates describe a day).
Times are in minutes; the hour is 60 minutes.

Why no event list: at a FIFO multi-server station whose arrival times are known, a customer
starts at max(arrival, earliest free server), and that recursion with a heap of server
free times is exact. In a series network without feedback every station's arrivals are
the previous station's departures, so the post is simulated station by station, each a
tight loop over plain floats. This runs millions of customers per second where an
event-list engine with one Python object per event runs about a hundred thousand.

Staffing changes: at the start of an hour with more servers, the new ones are free at once;
with fewer, the servers that would be free soonest stay on and the others leave when they
finish their current customer (idle servers leave at once). Customers arriving before the
horizon are all served to completion (the post drains), so no record is cut off.

``simulate(scenario, seed)`` returns a ``Run`` of per-customer NumPy arrays. It is
deterministic for a seed: one ``SeedSequence`` per run, spawned into one PCG64 generator for
the arrivals and one per station, so that changing one station's staffing leaves the other
streams, and so the other stations' draws, unchanged (common random numbers).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from tripp.sim.distributions import Distribution, FloatArray

HOUR_MIN = 60.0
NOT_TURNED_AWAY = -1


@dataclass(frozen=True)
class Station:
    """One stage of the post. ``servers`` is a count, or counts per hour repeated cyclically;
    ``queue_capacity`` bounds how many may wait (arrivals beyond it are turned away and
    leave the post); ``visit_probability`` is the share of customers sent to this stage."""

    name: str
    service: Distribution
    servers: int | tuple[int, ...]
    visit_probability: float = 1.0
    queue_capacity: int | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("name='' must not be empty")
        schedule = self.schedule
        if not schedule or any(c < 0 for c in schedule) or max(schedule) < 1:
            raise ValueError(f"servers={self.servers} must be >= 0 with at least one >= 1")
        if not 0 <= self.visit_probability <= 1:
            raise ValueError(f"visit_probability={self.visit_probability} must be in [0, 1]")
        if self.queue_capacity is not None and self.queue_capacity < 0:
            raise ValueError(f"queue_capacity={self.queue_capacity} must be >= 0")

    @property
    def schedule(self) -> tuple[int, ...]:
        """Servers per hour (cyclic); a single entry when constant."""
        return (self.servers,) if isinstance(self.servers, int) else self.servers

    def servers_at_hour(self, hour: int) -> int:
        schedule = self.schedule
        return schedule[hour % len(schedule)]


@dataclass(frozen=True)
class Scenario:
    """A post and its traffic: stations in order, arrivals per hour (cyclic), the horizon
    (minutes; arrivals stop there) and the warm-up (minutes; statistics ignore customers
    arriving before it)."""

    stations: tuple[Station, ...]
    arrivals_per_hour: tuple[float, ...]
    horizon_min: float
    warmup_min: float = 0.0

    def __post_init__(self) -> None:
        if not self.stations:
            raise ValueError("stations=() must hold at least one station")
        names = [s.name for s in self.stations]
        if len(set(names)) != len(names):
            raise ValueError(f"stations={names} must have distinct names")
        rates = self.arrivals_per_hour
        if not rates or any(not (math.isfinite(r) and r >= 0) for r in rates):
            raise ValueError(f"arrivals_per_hour={list(rates)} must be finite numbers >= 0")
        if not (math.isfinite(self.horizon_min) and self.horizon_min > 0):
            raise ValueError(f"horizon_min={self.horizon_min} must be > 0")
        if not 0 <= self.warmup_min < self.horizon_min:
            raise ValueError(
                f"warmup_min={self.warmup_min} must be in [0, horizon_min={self.horizon_min})"
            )

    @property
    def hours(self) -> int:
        """Hours the horizon touches, the last possibly partial."""
        return math.ceil(self.horizon_min / HOUR_MIN)

    def rate_at_hour(self, hour: int) -> float:
        """Arrivals per hour during ``hour``."""
        return self.arrivals_per_hour[hour % len(self.arrivals_per_hour)]


@dataclass(frozen=True, eq=False)
class Run:
    """Per-customer records of one replication, in order of arrival at the post.

    ``arrival[i]`` is customer i's arrival at the post; ``arrive[k, i]``, ``start[k, i]``
    and ``end[k, i]`` its arrival at, start of service at and departure from station k,
    NaN where it did not get service there (not sent, or turned away there or earlier).
    ``turned_away_at[i]`` is the station that turned it away, or -1.
    """

    scenario: Scenario
    arrival: FloatArray
    arrive: FloatArray
    start: FloatArray
    end: FloatArray
    turned_away_at: NDArray[np.int16]
    events: int = field(default=0)

    @property
    def customers(self) -> int:
        return len(self.arrival)


def arrival_times(scenario: Scenario, rng: np.random.Generator) -> FloatArray:
    """A non-homogeneous Poisson process with piecewise-constant hourly rates, exactly.

    A unit-rate Poisson process (cumulated exponentials) is mapped through the inverse of
    the cumulative intensity, which is piecewise linear: no thinning, no sorting.
    """
    hours = scenario.hours
    bounds = np.minimum(np.arange(hours + 1) * HOUR_MIN, scenario.horizon_min)
    rates = np.array([scenario.rate_at_hour(h) / HOUR_MIN for h in range(hours)])
    cumulative = np.concatenate(([0.0], np.cumsum(rates * np.diff(bounds))))
    total = float(cumulative[-1])
    if total == 0:
        return np.empty(0)
    # Draw enough for all but a one-in-a-million shortfall at once, then top up if needed.
    block = int(total + 6 * math.sqrt(total) + 16)
    unit = np.cumsum(rng.standard_exponential(block))
    while unit[-1] <= total:
        more = unit[-1] + np.cumsum(rng.standard_exponential(block))
        unit = np.concatenate((unit, more))
    unit = unit[: np.searchsorted(unit, total, side="left")]
    return np.asarray(np.interp(unit, cumulative, bounds), dtype=np.float64)


def _fifo_starts(arrive: list[float], service: list[float], servers: int) -> list[float]:
    """Start times at a FIFO station with a constant number of servers (the fast path)."""
    heap = [0.0] * servers
    replace = heapq.heapreplace
    starts: list[float] = []
    keep = starts.append
    for t, s in zip(arrive, service, strict=True):
        free = heap[0]
        if t > free:
            free = t
        keep(free)
        replace(heap, free + s)
    return starts


def _fifo_starts_general(
    arrive: list[float], service: list[float], station: Station
) -> list[float]:
    """Start times with hourly staffing and a bounded queue; NaN for the turned away.

    FIFO start times never decrease, so staffing changes can be applied in time order as
    the first customer who would start at or after them is met, and the customers waiting
    at an arrival are exactly the accepted ones whose start lies after it (a deque).
    """
    heap = [0.0] * station.servers_at_hour(0)
    hour, change_at = 1, HOUR_MIN
    if len(station.schedule) == 1:
        change_at = math.inf
    capacity = station.queue_capacity
    waiting: deque[float] = deque()
    starts: list[float] = []
    for t, s in zip(arrive, service, strict=True):
        if capacity is not None:
            while waiting and waiting[0] <= t:
                waiting.popleft()
            if len(waiting) >= capacity:
                starts.append(math.nan)
                continue
        while True:
            begin = max(t, heap[0]) if heap else math.inf
            if begin < change_at:
                break
            heap = _restaff(heap, station.servers_at_hour(hour), change_at)
            hour += 1
            change_at = hour * HOUR_MIN
        heapq.heapreplace(heap, begin + s)
        starts.append(begin)
        if capacity is not None and begin > t:
            waiting.append(begin)
    return starts


def _restaff(heap: list[float], servers: int, at: float) -> list[float]:
    if servers > len(heap):
        return heap + [at] * (servers - len(heap))
    # Those free soonest stay (a sorted list is a heap); the rest leave once done.
    return sorted(heap)[:servers] if servers < len(heap) else heap


def _station_starts(arrive: FloatArray, service: FloatArray, station: Station) -> FloatArray:
    if len(station.schedule) == 1 and station.queue_capacity is None:
        starts = _fifo_starts(arrive.tolist(), service.tolist(), station.schedule[0])
    else:
        starts = _fifo_starts_general(arrive.tolist(), service.tolist(), station)
    return np.array(starts, dtype=np.float64)


def simulate(scenario: Scenario, seed: int | np.random.SeedSequence) -> Run:
    """One replication; the same scenario and seed always give identical arrays."""
    sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    streams = [
        np.random.Generator(np.random.PCG64(s)) for s in sequence.spawn(1 + len(scenario.stations))
    ]
    arrival = arrival_times(scenario, streams[0])
    n, k = len(arrival), len(scenario.stations)
    arrive, start, end = (np.full((k, n), np.nan) for _ in range(3))
    turned_away_at = np.full(n, NOT_TURNED_AWAY, dtype=np.int16)
    now = arrival.copy()  # each customer's time of leaving its last station so far
    present = np.ones(n, dtype=bool)
    events = 0  # an arrival and a departure per station visit, as counted for SimPy/Ciw
    for j, (station, rng) in enumerate(zip(scenario.stations, streams[1:], strict=True)):
        sent = present
        if station.visit_probability < 1:
            sent = present & (rng.random(n) < station.visit_probability)
        who = np.flatnonzero(sent)
        # FIFO in order of arrival here; a stable sort keeps ties in order of arrival at the
        # post. The first station's arrivals are already in order, which is cheap to check.
        if np.any(np.diff(now[who]) < 0):
            who = who[np.argsort(now[who], kind="stable")]
        at = now[who]
        service = station.service.sample(rng, len(who))
        begin = _station_starts(at, service, station)
        served = ~np.isnan(begin)
        arrive[j, who] = at
        start[j, who[served]] = begin[served]
        end[j, who[served]] = begin[served] + service[served]
        now[who[served]] = end[j, who[served]]
        refused = who[~served]
        turned_away_at[refused] = j
        present[refused] = False
        events += len(who) + int(served.sum())
    return Run(scenario, arrival, arrive, start, end, turned_away_at, events)
