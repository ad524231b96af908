"""The fewest servers per stage that meet a waiting-time target with stated confidence.

A target reads ``p95_wait<=30min`` (also ``mean_``, ``median_``, ``p99_wait``; ``min`` or
``h``). A stage count is accepted when the upper end of the 95 % confidence interval of the
statistic, across replications, is within the limit: "met" means met with confidence, not
on average. Stages are sized in their order through the post, each with the ones before it
already sized (a stage's arrivals are what the stages before it let through), starting
from the fewest servers that can keep up with the stage's average load and adding one at
a time; each count tried is a point of the frontier (servers against the wait they give).
Staffing here is flat over the day; sizing each hour separately is the next step.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from tripp.errors import FieldError, InvalidInput
from tripp.sim.engine import Scenario as Model
from tripp.sim.replicate import Summary, replicate

_TARGET = re.compile(r"^\s*(mean|median|p95|p99)_wait\s*<=\s*(\d+(?:\.\d+)?)\s*(min|h)\s*$")
_FIELDS = {"mean": "wait_mean", "median": "wait_median", "p95": "wait_p95", "p99": "wait_p99"}


@dataclass(frozen=True)
class Target:
    statistic: str  # mean, median, p95, p99
    limit_min: float

    def __str__(self) -> str:
        return f"{self.statistic}_wait<={self.limit_min:g}min"


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
    for j, station in enumerate(model.stations):
        servers = _least_stable(model, j)
        while True:
            trial = _with_servers(model, j, servers)
            summary = replicate(trial, replications=replications, seed=seed, workers=workers)
            point = _point(summary, j, servers, target)
            frontier.append(point)
            if progress is not None:
                progress(point)
            if point.met:
                break
            if servers >= max_servers:
                raise InvalidInput([FieldError("target", f"{station.name} misses {target} "
                                               f"even with {max_servers} servers", "reachable")])  # fmt: skip
            servers += 1
        chosen[station.name] = servers
        model = _with_servers(model, j, servers)
    return chosen, frontier


def _least_stable(model: Model, j: int) -> int:
    """The fewest servers that keep up with the stage's average load (utilisation < 1)."""
    rates = model.arrivals_per_hour
    per_min = sum(rates) / len(rates) / 60 * model.stations[j].visit_probability
    load = per_min * model.stations[j].service.mean
    return max(1, math.floor(load) + 1)


def _with_servers(model: Model, j: int, servers: int) -> Model:
    stations = list(model.stations)
    stations[j] = replace(stations[j], servers=servers)
    return replace(model, stations=tuple(stations))


def _point(summary: Summary, j: int, servers: int, target: Target) -> Point:
    station = summary.stations[j]
    estimate = getattr(station, _FIELDS[target.statistic])
    upper = estimate.mean + estimate.half_width
    wait = estimate.mean
    met = math.isfinite(upper) and upper <= target.limit_min
    return Point(station.name, servers, wait, upper, met)
