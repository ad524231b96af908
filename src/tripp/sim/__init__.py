"""Capacity simulation of border posts (pure: no I/O, no clock; randomness only from seeds).

``engine.simulate`` runs one replication of a ``Scenario`` (stations in series with
referral probabilities, hourly arrival rates and staffing) and returns per-customer
records; ``replicate.replicate`` runs many in parallel and summarises waits, utilisation,
queues and time in the post with 95 % confidence intervals. ``distributions`` holds the
service-time laws, ``queueing`` the analytic formulas (Erlang C, Allen-Cunneen, PSA) that
validate the engine. Times are in minutes.

Errors: bad parameters raise ``ValueError`` naming the parameter and its value.
"""

from __future__ import annotations

from tripp.sim.distributions import (
    Deterministic,
    Distribution,
    Empirical,
    Exponential,
    LogNormal,
    deterministic,
    empirical,
    exponential,
    lognormal,
)
from tripp.sim.engine import Run, Scenario, Station, simulate
from tripp.sim.replicate import Estimate, ReplicationStats, Summary, replicate, replication_stats

__all__ = [
    "Deterministic",
    "Distribution",
    "Empirical",
    "Estimate",
    "Exponential",
    "LogNormal",
    "ReplicationStats",
    "Run",
    "Scenario",
    "Station",
    "Summary",
    "deterministic",
    "empirical",
    "exponential",
    "lognormal",
    "replicate",
    "replication_stats",
    "simulate",
]
