"""The fewest servers per stage that meet a waiting-time target with stated confidence.

A target reads ``p95_wait<=30min`` (also ``mean_``, ``median_``, ``p99_wait``; ``min`` or
``h``). A staffing is accepted when the upper end of the 95 % confidence interval of the
statistic, across replications, is within the limit: "met" means met with confidence, not
on average. Stages are sized in their order through the post, each with the ones before it
already sized (a stage's arrivals are what the stages before it let through).

Flat staffing (``optimize``, or ``plan`` for a stage whose traffic and staffing are the
same every hour): the same count all day, starting from the fewest servers that keep up
with the stage's average load and adding one at a time; each count tried is a point of the
frontier (servers against the wait they give). The statistic is over the whole day.

Hourly staffing (``plan`` for a stage whose arrivals or scenario staffing vary by hour):
24 counts, one per hour of the day, with the fewest server-hours such that the statistic
of the customers *arriving in each hour* meets the target, hour by hour. The search:

1. Start from the pointwise stationary approximation: in each hour the fewest servers
   whose steady state (Erlang C; Allen-Cunneen's correction for non-exponential service)
   meets the target at that hour's arrival rate, or at its lagged rate (part of the
   previous hour's traffic is still in service), whichever needs more.
2. Simulate; add a server in every hour that misses the target (and in the hour before
   it too when the hour missed it after a server was already added: the backlog formed
   earlier). Repeat until every hour meets it.
3. Take servers away one hour at a time, the hours with most room first, keeping each
   removal that leaves every hour meeting the target; repeat while one is kept.

Hours are never staffed below their stationary count: a removal below it would rely on
the queue of the simulated day's hour before being small, a saving a planner cannot bank
on when the real day runs a little differently. Every simulation uses the same seed, so
the staffings compared see the same vehicles and service times (common random numbers)
and the search is deterministic; it stops after ``max_simulations`` simulations per
stage. Each simulated staffing is a point of the hourly frontier (server-hours against the
worst hour's wait).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from tripp.errors import FieldError, InvalidInput
from tripp.sim.engine import HOUR_MIN
from tripp.sim.engine import Scenario as Model
from tripp.sim.queueing import stationary_servers
from tripp.sim.replicate import (
    HOURS_PER_DAY,
    Estimate,
    Summary,
    replicate,
    replicate_waits_by_hour,
)

_TARGET = re.compile(r"^\s*(mean|median|p95|p99)_wait\s*<=\s*(\d+(?:\.\d+)?)\s*(min|h)\s*$")
_FIELDS = {"mean": "wait_mean", "median": "wait_median", "p95": "wait_p95", "p99": "wait_p99"}
_QUANTILES = {"mean": None, "median": 0.5, "p95": 0.95, "p99": 0.99}


@dataclass(frozen=True)
class Target:
    statistic: str  # mean, median, p95, p99
    limit_min: float

    def __str__(self) -> str:
        return f"{self.statistic}_wait<={self.limit_min:g}min"

    def met_by(self, estimate: Estimate | None) -> bool:
        """Met with confidence: the upper end of the 95 % interval within the limit. An hour
        nobody arrived in (None) meets it; an estimate without an interval does not."""
        return estimate is None or _upper(estimate) <= self.limit_min


@dataclass(frozen=True)
class Point:
    stage: str
    servers: int
    wait_min: float  # the statistic's mean across replications
    upper_min: float  # the upper end of its 95 % confidence interval
    met: bool


def parse_target(text: str) -> Target:
    found = _TARGET.match(text)
    if found is None:
        raise InvalidInput([FieldError("target", f"{text!r} is not like p95_wait<=30min "
                                       "(mean, median, p95 or p99; min or h)", "target")])  # fmt: skip
    value = float(found.group(2)) * (60 if found.group(3) == "h" else 1)
    return Target(found.group(1), value)


def optimize(
    model: Model,
    target: Target,
    *,
    replications: int,
    seed: int,
    workers: int | None = None,
    max_servers: int = 500,
    progress: Callable[[Point], None] | None = None,
) -> tuple[dict[str, int], list[Point]]:
    """Servers per stage (flat) meeting ``target`` at every stage, and the frontier."""
    frontier: list[Point] = []
    chosen: dict[str, int] = {}
    for j in range(len(model.stations)):
        flat = _size_flat(model, j, target, replications=replications, seed=seed,
                          workers=workers, max_servers=max_servers, progress=progress)  # fmt: skip
        frontier += flat.frontier
        chosen[flat.stage] = flat.servers
        model = _with_servers(model, j, flat.servers)
    return chosen, frontier


def _size_flat(
    model: Model,
    j: int,
    target: Target,
    *,
    replications: int,
    seed: int,
    workers: int | None,
    max_servers: int,
    progress: Callable[[Point], None] | None,
) -> FlatStage:
    station = model.stations[j]
    frontier: list[Point] = []
    servers = _least_stable(model, j)
    while True:
        trial = _with_servers(model, j, servers)
        summary = replicate(trial, replications=replications, seed=seed, workers=workers)
        point = _point(summary, j, servers, target)
        frontier.append(point)
        if progress is not None:
            progress(point)
        if point.met:
            return FlatStage(station.name, servers, tuple(frontier))
        if servers >= max_servers:
            raise InvalidInput([FieldError("target", f"{station.name} misses {target} "
                                           f"even with {max_servers} servers", "reachable")])  # fmt: skip
        servers += 1


def _least_stable(model: Model, j: int) -> int:
    """The fewest servers that keep up with the stage's average load (utilisation < 1)."""
    rates = model.arrivals_per_hour
    per_min = sum(rates) / len(rates) / 60 * model.stations[j].visit_probability
    load = per_min * model.stations[j].service.mean
    return max(1, math.floor(load) + 1)


def _with_servers(model: Model, j: int, servers: int | tuple[int, ...]) -> Model:
    stations = list(model.stations)
    stations[j] = replace(stations[j], servers=servers)
    return replace(model, stations=tuple(stations))


def _upper(estimate: Estimate) -> float:
    upper = estimate.mean + estimate.half_width
    return upper if math.isfinite(upper) else math.inf


def _point(summary: Summary, j: int, servers: int, target: Target) -> Point:
    station = summary.stations[j]
    estimate = getattr(station, _FIELDS[target.statistic])
    upper = estimate.mean + estimate.half_width
    wait = estimate.mean
    met = math.isfinite(upper) and upper <= target.limit_min
    return Point(station.name, servers, wait, upper, met)


# --- hour by hour ---------------------------------------------------------------------


@dataclass(frozen=True)
class FlatStage:
    """A stage staffed the same all day; ``frontier`` is every count tried."""

    stage: str
    servers: int
    frontier: tuple[Point, ...]

    @property
    def servers_by_hour(self) -> tuple[int, ...]:
        return (self.servers,) * HOURS_PER_DAY

    @property
    def server_hours(self) -> int:
        """Server-hours a day."""
        return self.servers * HOURS_PER_DAY


@dataclass(frozen=True)
class Step:
    """One simulated hourly staffing: its server-hours a day, its worst hour (the one with
    the highest upper end of the statistic's 95 % interval), and what changed."""

    step: int
    server_hours: int
    worst_hour: int
    wait_min: float  # the worst hour's statistic, mean across replications
    upper_min: float  # the upper end of its 95 % interval
    met: bool  # in every hour
    kept: bool  # the search went on from this staffing
    change: str


@dataclass(frozen=True)
class HourlyStage:
    """A stage staffed hour by hour. Per hour of the day (hour 0 first): the arrivals per
    hour at the stage, the stationary (PSA) count, the chosen count, and the statistic of
    the customers arriving in that hour under it (None: nobody arrived in two replications
    or more). ``frontier`` is every staffing simulated; ``exhausted`` says the search
    stopped at its budget of simulations before it could take more servers away."""

    stage: str
    servers_by_hour: tuple[int, ...]
    stationary_by_hour: tuple[int, ...]
    arrivals_per_hour: tuple[float, ...]
    waits: tuple[Estimate | None, ...]
    frontier: tuple[Step, ...]
    exhausted: bool

    @property
    def server_hours(self) -> int:
        """Server-hours a day."""
        return sum(self.servers_by_hour)


StagePlan = FlatStage | HourlyStage


def varies_by_hour(model: Model, j: int) -> bool:
    """Whether stage ``j`` should be sized hour by hour: its arrivals differ between hours
    of the day, or its staffing in the scenario does."""
    rates = stage_rates_by_hour(model, j)
    return max(rates) - min(rates) > 1e-9 * max(rates) or len(set(model.stations[j].schedule)) > 1


def stage_rates_by_hour(model: Model, j: int) -> tuple[float, ...]:
    """Arrivals per hour at stage ``j`` in each hour of the day, averaged over the days
    after the warm-up (the post's arrivals times the stage's visit probability)."""
    first = math.ceil(model.warmup_min / HOUR_MIN)
    totals, counts = [0.0] * HOURS_PER_DAY, [0] * HOURS_PER_DAY
    for h in range(first, max(first + 1, math.floor(model.horizon_min / HOUR_MIN))):
        totals[h % HOURS_PER_DAY] += model.rate_at_hour(h)
        counts[h % HOURS_PER_DAY] += 1
    share = model.stations[j].visit_probability
    return tuple(t / n * share if n else 0.0 for t, n in zip(totals, counts, strict=True))


def plan(
    model: Model,
    target: Target,
    *,
    replications: int,
    seed: int,
    hourly: Sequence[bool] | None = None,
    workers: int | None = None,
    max_servers: int = 500,
    max_simulations: int = 150,
    progress: Callable[[], None] | None = None,
) -> list[StagePlan]:
    """Each stage sized in turn, hour by hour where ``hourly[j]`` (default:
    ``varies_by_hour``), else flat. ``InvalidInput`` when the target cannot be met."""
    if replications < 2:
        why = f"{replications} is too few: a 95 % confidence interval needs at least 2"
        raise InvalidInput([FieldError("replications", why, "range")])
    plans: list[StagePlan] = []
    for j in range(len(model.stations)):
        stage: StagePlan
        if varies_by_hour(model, j) if hourly is None else hourly[j]:
            search = _HourlySearch(model, j, target, replications=replications, seed=seed,
                                   workers=workers, max_servers=max_servers,
                                   max_simulations=max_simulations, progress=progress)  # fmt: skip
            stage = search.run()
        else:
            tick = None if progress is None else (lambda _p: progress())
            stage = _size_flat(model, j, target, replications=replications, seed=seed,
                               workers=workers, max_servers=max_servers, progress=tick)  # fmt: skip
        plans.append(stage)
        model = _with_servers(model, j, stage.servers_by_hour)
    return plans


class _HourlySearch:
    """The add-then-remove search of the module docstring for one stage."""

    def __init__(
        self,
        model: Model,
        j: int,
        target: Target,
        *,
        replications: int,
        seed: int,
        workers: int | None,
        max_servers: int,
        max_simulations: int,
        progress: Callable[[], None] | None,
    ) -> None:
        self.model, self.j, self.target = model, j, target
        self.replications, self.seed, self.workers = replications, seed, workers
        self.max_servers, self.budget, self.progress = max_servers, max_simulations, progress
        self.name = model.stations[j].name
        self.rates = stage_rates_by_hour(model, j)
        self.stationary = tuple(self._stationary(r) for r in self.rates)
        self.frontier: list[Step] = []
        self.missed: set[tuple[int, ...]] = set()  # staffings known to miss the target

    def run(self) -> HourlyStage:
        schedule = self._start()
        waits = self._simulate(schedule, "steady-state start")
        if self._missed(waits):
            self.missed.add(schedule)
        schedule, waits = self._add(schedule, waits)
        schedule, waits, exhausted = self._remove(schedule, waits)
        return HourlyStage(self.name, schedule, self.stationary, self.rates, waits,
                           tuple(self.frontier), exhausted)  # fmt: skip

    # -- the phases

    def _start(self) -> tuple[int, ...]:
        service = self.model.stations[self.j].service
        # The share of an hour's service load carried over from the hour before: the mean
        # residual service time E[S^2] / (2 E[S]) = E[S] (1 + scv) / 2, over the hour.
        carried = min(1.0, service.mean * (1 + service.scv) / 2 / HOUR_MIN)
        start = []
        for h, count in enumerate(self.stationary):
            lagged = (1 - carried) * self.rates[h] + carried * self.rates[h - 1]
            start.append(max(count, self._stationary(lagged)))
        if max(start) == 0:  # nobody comes: one server in one hour keeps the model valid
            start[0] = 1
        return tuple(start)

    def _add(
        self, schedule: tuple[int, ...], waits: tuple[Estimate | None, ...]
    ) -> tuple[tuple[int, ...], tuple[Estimate | None, ...]]:
        raised: set[int] = set()
        while missed := self._missed(waits):
            counts = list(schedule)
            for h in missed:
                counts[h] += 1
                if h in raised:  # still missing after a server more: the backlog came earlier
                    counts[h - 1] += 1
            if max(counts) > self.max_servers:
                raise self._unreachable(f"even with {self.max_servers} servers in an hour")
            if len(self.frontier) >= self.budget:
                raise self._unreachable(f"within {self.budget} simulations")
            raised = set(missed)
            if self._missed(waits):
                self.missed.add(schedule)
            schedule = tuple(counts)
            waits = self._simulate(schedule, f"+1 at {_hours(missed)}")
        return schedule, waits

    def _remove(
        self, schedule: tuple[int, ...], waits: tuple[Estimate | None, ...]
    ) -> tuple[tuple[int, ...], tuple[Estimate | None, ...], bool]:
        refused: set[int] = set()  # taking a server away elsewhere never gives them room
        kept_one = True
        while kept_one:
            kept_one = False
            for h in self._roomiest(schedule, waits):
                trial = tuple(c - (i == h) for i, c in enumerate(schedule))
                if h in refused or trial in self.missed or max(trial) == 0:
                    continue
                if len(self.frontier) >= self.budget:
                    return schedule, waits, True
                trial_waits = self._simulate(trial, f"-1 at {h:02d}")
                if self._missed(trial_waits):
                    refused.add(h)
                    self.missed.add(trial)
                else:
                    schedule, waits, kept_one = trial, trial_waits, True
                    self._keep()
        return schedule, waits, False

    # -- helpers

    def _stationary(self, per_hour: float) -> int:
        service = self.model.stations[self.j].service
        try:
            return stationary_servers(per_hour / HOUR_MIN, 1 / service.mean,
                                      limit_min=self.target.limit_min,
                                      p=_QUANTILES[self.target.statistic], cs2=service.scv,
                                      max_servers=self.max_servers)  # fmt: skip
        except ValueError as exc:
            raise self._unreachable(f"even with {self.max_servers} servers in an hour") from exc

    def _roomiest(self, schedule: tuple[int, ...], waits: tuple[Estimate | None, ...]) -> list[int]:
        """Hours that may lose a server, the most room under the limit first."""
        hours = [h for h in range(HOURS_PER_DAY) if schedule[h] > self.stationary[h]]
        room = [-math.inf if w is None else _upper(w) for w in waits]
        return sorted(hours, key=lambda h: (room[h], h))

    def _missed(self, waits: tuple[Estimate | None, ...]) -> list[int]:
        return [h for h, w in enumerate(waits) if not self.target.met_by(w)]

    def _simulate(self, schedule: tuple[int, ...], change: str) -> tuple[Estimate | None, ...]:
        trial = _with_servers(self.model, self.j, schedule)
        waits = replicate_waits_by_hour(trial, station=self.j, statistic=self.target.statistic,
                                        replications=self.replications, seed=self.seed,
                                        workers=self.workers)  # fmt: skip
        uppers = [-math.inf if w is None else _upper(w) for w in waits]
        worst = max(range(HOURS_PER_DAY), key=lambda h: (uppers[h], -h))
        estimate = waits[worst]
        self.frontier.append(Step(
            step=len(self.frontier), server_hours=sum(schedule), worst_hour=worst,
            wait_min=math.nan if estimate is None else estimate.mean,
            upper_min=math.nan if estimate is None else estimate.mean + estimate.half_width,
            met=not self._missed(waits), kept=not change.startswith("-"), change=change,
        ))  # fmt: skip
        if self.progress is not None:
            self.progress()
        return waits

    def _keep(self) -> None:
        self.frontier[-1] = replace(self.frontier[-1], kept=True)

    def _unreachable(self, why: str) -> InvalidInput:
        return InvalidInput([FieldError("target", f"{self.name} misses {self.target} hour by "
                                        f"hour {why}", "reachable")])  # fmt: skip


def _hours(hours: Sequence[int]) -> str:
    return ", ".join(f"{h:02d}" for h in hours)


def plans_dict(plans: Sequence[StagePlan]) -> dict[str, Any]:
    """Plain data for JSON: per stage its mode, servers by hour, server-hours and frontier
    (and, hour by hour, the arrivals, stationary need and statistic per hour)."""
    out: dict[str, Any] = {}
    for p in plans:
        common = {"servers_by_hour": list(p.servers_by_hour), "server_hours": p.server_hours}
        if isinstance(p, FlatStage):
            out[p.stage] = common | {"mode": "flat", "servers": p.servers,
                                     "frontier": [asdict(pt) for pt in p.frontier]}  # fmt: skip
            continue
        out[p.stage] = common | {
            "mode": "hourly",
            "exhausted": p.exhausted,
            "hours": [
                {"hour": h, "arrivals_per_hour": p.arrivals_per_hour[h],
                 "stationary_servers": p.stationary_by_hour[h], "servers": p.servers_by_hour[h],
                 "wait_min": None if w is None else w.mean,
                 "upper_min": None if w is None else w.mean + w.half_width}
                for h, w in enumerate(p.waits)
            ],
            "frontier": [asdict(st) for st in p.frontier],
        }  # fmt: skip
    finite: dict[str, Any] = _finite(out)
    return finite


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as None: strict JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
