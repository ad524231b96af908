"""From a planner's scenario (``scenario``) to the engine's model of one post (``engine``).

The engine has one arrival stream per post; classes are merged into it hour by hour, and a
stage that serves only some classes is visited by their share of the traffic (over the
whole horizon) times the stage's own share. That keeps each stage's load exact on average;
within an hour where the class mix differs from the average, a class-specific stage sees a
little more or less than its own classes would bring (per-class routing is the engine's next
step).
"""

from __future__ import annotations

from tripp.sim import distributions as d
from tripp.sim.engine import Scenario as Model
from tripp.sim.engine import Station
from tripp.sim.scenario import Post, Scenario, Service

HOUR_MIN = 60.0


def service(s: Service) -> d.Distribution:
    p = s.params
    if s.dist == "exponential":
        return d.exponential(p["mean_min"])
    if s.dist == "lognormal":
        return d.lognormal(p["mean_min"], p["sd_min"])
    if s.dist == "deterministic":
        return d.deterministic(p["value_min"])
    return d.empirical(p["samples_min"])


def hourly_rates(scenario: Scenario) -> tuple[float, ...]:
    """Arrivals per hour of every class together, hour by hour over warm-up and horizon."""
    hours = scenario.warmup_hours + scenario.horizon_days * 24
    return tuple(
        sum(c.rate_per_hour((h // 24) % 7, h % 24, scenario.year)
            for c in scenario.classes.values())
        for h in range(hours)
    )  # fmt: skip


def model(scenario: Scenario, post: Post) -> Model:
    rates = hourly_rates(scenario)
    hours = len(rates)
    volume = {
        name: sum(c.rate_per_hour((h // 24) % 7, h % 24, scenario.year) for h in range(hours))
        for name, c in scenario.classes.items()
    }
    total = sum(volume.values()) or 1.0
    stations = []
    for i, stage in enumerate(post.stages):
        served = sum(volume[c] for c in stage.classes) / total
        stations.append(Station(
            name=stage.id, service=service(stage.service), servers=stage.servers_by_hour,
            visit_probability=min(1.0, served * stage.share),
            # The holding area sits before the first stage: beyond it, vehicles turn back.
            queue_capacity=post.holding_capacity if i == 0 else None,
        ))  # fmt: skip
    return Model(
        stations=tuple(stations),
        arrivals_per_hour=rates,
        horizon_min=hours * HOUR_MIN,
        warmup_min=scenario.warmup_hours * HOUR_MIN,
    )
