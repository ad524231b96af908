"""Replications in parallel, and their summary with 95 % confidence intervals.

Replication i always runs on child i of ``SeedSequence(seed).spawn(replications)``, and
results are gathered in replication order, so a summary is the same whatever the number of
workers. Workers are spawned processes (no fork: safe beside threads) that send back only
small per-replication statistics, never the per-customer arrays.

Statistics count the customers who arrive at the post in [warm-up, horizon); time
averages (queue lengths, utilisation, Little's law's L) are taken over that window.
Across replications each figure is the mean with the half-width of its 95 % confidence
interval from Student's t (``Estimate``); with one replication the half-width is NaN.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from functools import partial
from multiprocessing import get_context
from typing import TypeVar

import numpy as np

from tripp.sim.distributions import FloatArray
from tripp.sim.engine import HOUR_MIN, NOT_TURNED_AWAY, Run, Scenario, simulate

# Two-sided 95 % Student t quantiles for 1..30 degrees of freedom; beyond, a Cornish-Fisher
# expansion around the normal quantile is exact to about 1e-6 (no SciPy needed).
_T975 = (
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
    2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
    2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
)  # fmt: skip
_Z975 = 1.959963984540054
_T = TypeVar("_T")
HOURS_PER_DAY = 24
WAIT_STATISTICS = ("mean", "median", "p95", "p99")
_QUANTILE = {"median": 0.5, "p95": 0.95, "p99": 0.99}


def t975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError(f"df={df} must be >= 1")
    if df <= len(_T975):
        return _T975[df - 1]
    z, v = _Z975, float(df)
    return (
        z
        + (z**3 + z) / (4 * v)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
    )


@dataclass(frozen=True)
class Estimate:
    """A mean across replications and the half-width of its 95 % confidence interval."""

    mean: float
    half_width: float


def estimate(values: Sequence[float]) -> Estimate:
    data = np.asarray(values, dtype=np.float64)
    mean = float(data.mean())
    if len(data) < 2:
        return Estimate(mean, math.nan)
    return Estimate(mean, t975(len(data) - 1) * float(data.std(ddof=1)) / math.sqrt(len(data)))


@dataclass(frozen=True)
class StationStats:
    """One station in one replication. Waits in minutes, throughput per hour."""

    name: str
    visits: int
    turned_away: int
    wait_mean: float
    wait_median: float
    wait_p95: float
    wait_p99: float
    utilisation: float
    throughput_per_hour: float
    queue_by_hour: tuple[float, ...]


@dataclass(frozen=True)
class ReplicationStats:
    """One replication: its stations, the end-to-end time in the post (minutes) and the
    terms of Little's law for the whole post (L time-average in post, arrival rate per
    minute, mean time in post W of those accepted)."""

    stations: tuple[StationStats, ...]
    customers: int
    turned_away: int
    time_in_post_mean: float
    time_in_post_p95: float
    in_post_mean: float
    arrival_rate_per_min: float
    littles_law_ratio: float


def _quantiles(values: FloatArray) -> tuple[float, float, float, float]:
    if len(values) == 0:
        return (math.nan,) * 4
    mean = float(values.mean())
    median, p95, p99 = np.quantile(values, (0.5, 0.95, 0.99)).tolist()
    return mean, median, p95, p99


def _area(begin: FloatArray, finish: FloatArray, lo: float, hi: float) -> float:
    """Integral over [lo, hi] of the number of intervals [begin, finish) covering t."""
    return float(np.clip(np.minimum(finish, hi) - np.maximum(begin, lo), 0, None).sum())


def _area_by_hour(begin: FloatArray, finish: FloatArray, bounds: FloatArray) -> FloatArray:
    """Integral of the count of intervals over each [bounds[h], bounds[h+1]], in O(n log n):
    the integral up to x of #(begin <= t) is k x − sum of the k begins before x."""

    def integral(points: FloatArray) -> FloatArray:
        ordered = np.sort(points)
        cumulative = np.concatenate(([0.0], np.cumsum(ordered)))
        k = np.searchsorted(ordered, bounds, side="right")
        return np.asarray(k * bounds - cumulative[k], dtype=np.float64)

    return np.diff(integral(begin) - integral(finish))


def _station_stats(run: Run, j: int, window: np.ndarray, lo: float, hi: float) -> StationStats:
    station = run.scenario.stations[j]
    arrive, start, end = run.arrive[j], run.start[j], run.end[j]
    visited = window & ~np.isnan(arrive)
    served = visited & ~np.isnan(start)
    mean, median, p95, p99 = _quantiles(start[served] - arrive[served])
    hours = run.scenario.hours
    bounds = np.minimum(np.arange(hours + 1) * HOUR_MIN, run.scenario.horizon_min)
    ok = ~np.isnan(start)
    queue = _area_by_hour(arrive[ok], start[ok], bounds) / np.maximum(np.diff(bounds), 1e-12)
    capacity = sum(
        station.servers_at_hour(h) * max(0.0, min(hi, bounds[h + 1]) - max(lo, bounds[h]))
        for h in range(hours)
    )
    busy = _area(start[ok], end[ok], lo, hi)
    return StationStats(
        name=station.name,
        visits=int(visited.sum()),
        turned_away=int((visited & ~served).sum()),
        wait_mean=mean,
        wait_median=median,
        wait_p95=p95,
        wait_p99=p99,
        utilisation=busy / capacity if capacity > 0 else math.nan,
        throughput_per_hour=float(((end >= lo) & (end < hi)).sum()) / (hi - lo) * HOUR_MIN,
        queue_by_hour=tuple(queue.tolist()),
    )


def replication_stats(run: Run) -> ReplicationStats:
    """Summarise one run over [warm-up, horizon)."""
    scenario = run.scenario
    lo, hi = scenario.warmup_min, scenario.horizon_min
    window = (run.arrival >= lo) & (run.arrival < hi)
    accepted = run.turned_away_at == NOT_TURNED_AWAY
    leave = np.nanmax(np.where(np.isnan(run.end), -np.inf, run.end), axis=0)
    leave = np.where(accepted, leave, run.arrival)  # the turned away spend no time
    time_in_post = (leave - run.arrival)[window & accepted]
    mean, _, p95, _ = _quantiles(time_in_post)
    in_post = _area(run.arrival[accepted], leave[accepted], lo, hi) / (hi - lo)
    rate = float((window & accepted).sum()) / (hi - lo)
    return ReplicationStats(
        stations=tuple(
            _station_stats(run, j, window, lo, hi) for j in range(len(scenario.stations))
        ),
        customers=int(window.sum()),
        turned_away=int((window & ~accepted).sum()),
        time_in_post_mean=mean,
        time_in_post_p95=p95,
        in_post_mean=in_post,
        arrival_rate_per_min=rate,
        littles_law_ratio=in_post / (rate * mean) if rate > 0 else math.nan,
    )


def _one(scenario: Scenario, seed: np.random.SeedSequence) -> ReplicationStats:
    return replication_stats(simulate(scenario, seed))


@dataclass(frozen=True)
class StationSummary:
    name: str
    visits: Estimate
    turned_away: Estimate
    wait_mean: Estimate
    wait_median: Estimate
    wait_p95: Estimate
    wait_p99: Estimate
    utilisation: Estimate
    throughput_per_hour: Estimate
    queue_by_hour: tuple[Estimate, ...]


@dataclass(frozen=True)
class Summary:
    """Across replications; ``replications`` keeps each one's statistics."""

    seed: int
    stations: tuple[StationSummary, ...]
    time_in_post_mean: Estimate
    time_in_post_p95: Estimate
    turned_away: Estimate
    replications: tuple[ReplicationStats, ...]

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, so equal summaries give identical bytes."""
        return json.dumps(asdict(self), sort_keys=True, allow_nan=True)


def _summarise_station(stats: Sequence[StationStats]) -> StationSummary:
    hours = len(stats[0].queue_by_hour)
    return StationSummary(
        name=stats[0].name,
        visits=estimate([s.visits for s in stats]),
        turned_away=estimate([s.turned_away for s in stats]),
        wait_mean=estimate([s.wait_mean for s in stats]),
        wait_median=estimate([s.wait_median for s in stats]),
        wait_p95=estimate([s.wait_p95 for s in stats]),
        wait_p99=estimate([s.wait_p99 for s in stats]),
        utilisation=estimate([s.utilisation for s in stats]),
        throughput_per_hour=estimate([s.throughput_per_hour for s in stats]),
        queue_by_hour=tuple(estimate([s.queue_by_hour[h] for s in stats]) for h in range(hours)),
    )


def _each_replication(
    measure: Callable[[Scenario, np.random.SeedSequence], _T],
    scenario: Scenario,
    *,
    replications: int,
    seed: int,
    workers: int | None,
) -> list[_T]:
    """``measure`` of every replication, in replication order, on ``workers`` processes
    (``measure`` must be picklable: a module-level function or a ``partial`` of one)."""
    if replications < 1:
        raise ValueError(f"replications={replications} must be >= 1")
    workers = min(workers or os.cpu_count() or 1, replications)
    if workers < 1:
        raise ValueError(f"workers={workers} must be >= 1")
    seeds = np.random.SeedSequence(seed).spawn(replications)
    if workers == 1:
        return [measure(scenario, s) for s in seeds]
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        return list(pool.map(measure, [scenario] * replications, seeds))


def replicate(
    scenario: Scenario, *, replications: int, seed: int, workers: int | None = None
) -> Summary:
    """Run ``replications`` replications on ``workers`` processes (default: the cores;
    1 runs in this process) and summarise them."""
    results = _each_replication(_one, scenario, replications=replications, seed=seed,
                                workers=workers)  # fmt: skip
    count = len(scenario.stations)
    return Summary(
        seed=seed,
        stations=tuple(_summarise_station([r.stations[j] for r in results]) for j in range(count)),
        time_in_post_mean=estimate([r.time_in_post_mean for r in results]),
        time_in_post_p95=estimate([r.time_in_post_p95 for r in results]),
        turned_away=estimate([r.turned_away for r in results]),
        replications=tuple(results),
    )


# --- waits by hour of the day ---------------------------------------------------------


def waits_by_hour(run: Run, station: int, statistic: str) -> tuple[float, ...]:
    """``statistic`` (``mean``, ``median``, ``p95`` or ``p99``) of the wait in minutes at
    ``station`` of the customers who arrive there in each hour of the day (hour 0 first;
    the simulation's minute 0 is midnight), NaN for an hour nobody arrived in. Like every
    statistic here it counts the customers arriving at the post in [warm-up, horizon) who
    were served at the station."""
    if statistic not in WAIT_STATISTICS:
        raise ValueError(f"statistic={statistic!r} must be one of {WAIT_STATISTICS}")
    lo, hi = run.scenario.warmup_min, run.scenario.horizon_min
    arrive, start = run.arrive[station], run.start[station]
    served = (run.arrival >= lo) & (run.arrival < hi) & ~np.isnan(start)
    hour = (np.floor(arrive[served] / HOUR_MIN) % HOURS_PER_DAY).astype(np.int64)
    waits = (start - arrive)[served]
    order = np.argsort(hour, kind="stable")
    groups = np.split(waits[order], np.cumsum(np.bincount(hour, minlength=HOURS_PER_DAY))[:-1])
    return tuple(_statistic(g, statistic) for g in groups)


def _statistic(waits: FloatArray, statistic: str) -> float:
    if len(waits) == 0:
        return math.nan
    if statistic == "mean":
        return float(waits.mean())
    return float(np.quantile(waits, _QUANTILE[statistic]))


def _waits_by_hour(
    station: int, statistic: str, scenario: Scenario, seed: np.random.SeedSequence
) -> tuple[float, ...]:
    return waits_by_hour(simulate(scenario, seed), station, statistic)


def replicate_waits_by_hour(
    scenario: Scenario,
    *,
    station: int,
    statistic: str,
    replications: int,
    seed: int,
    workers: int | None = None,
) -> tuple[Estimate | None, ...]:
    """``waits_by_hour`` across replications (the same streams as ``replicate``): per hour
    of the day, the mean and 95 % half-width over the replications in which someone
    arrived in that hour, or None when fewer than two had anyone (nothing to be confident
    about)."""
    if not 0 <= station < len(scenario.stations):
        raise ValueError(f"station={station} must be in 0..{len(scenario.stations) - 1}")
    measure = partial(_waits_by_hour, station, statistic)
    rows = _each_replication(measure, scenario, replications=replications, seed=seed,
                             workers=workers)  # fmt: skip
    out: list[Estimate | None] = []
    for h in range(HOURS_PER_DAY):
        values = [r[h] for r in rows if not math.isnan(r[h])]
        out.append(estimate(values) if len(values) >= 2 else None)
    return tuple(out)
