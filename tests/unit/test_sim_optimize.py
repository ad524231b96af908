"""The optimiser against Erlang C on the reference's illustrative sizing."""

from __future__ import annotations

import pytest

from tripp.errors import InvalidInput
from tripp.sim.build import model
from tripp.sim.optimize import optimize, parse_target
from tripp.sim.queueing import mmc_wait_quantile
from tripp.sim.scenario import from_dict

FLAT_DAY = {
    # At 93 % utilisation a few days are too short for the 95th percentile to settle:
    # 60 days in 8 replications put it within a few minutes (about a million trucks).
    "scenario": "illustrative", "horizon_days": 60, "warmup_hours": 12, "replications": 8,
    "seed": 3,
    "classes": {"truck": {"daily": 2000}},
    "posts": [{"id": "P", "stages": [
        {"id": "booth", "service": {"dist": "exponential", "mean_min": 10}, "servers": 1},
    ]}],
}  # fmt: skip


def test_the_illustrative_sizing_agrees_with_erlang_c() -> None:
    """2,000 trucks a day, 10 minutes each, at most 5 % waiting over 30 minutes: Erlang C
    says 15 booths on a flat day (14 give a 95th percentile of hours)."""
    lam, mu = 2000 / 1440, 0.1
    exact = next(c for c in range(14, 40) if mmc_wait_quantile(lam, mu, c, 0.95) <= 30)
    assert exact == 15
    s = from_dict(FLAT_DAY)
    chosen, frontier = optimize(model(s, s.posts[0]), parse_target("p95_wait<=30min"),
                                replications=s.replications, seed=s.seed, workers=1)  # fmt: skip
    assert chosen == {"booth": exact}
    assert [(p.servers, p.met) for p in frontier] == [(14, False), (15, True)]
    assert frontier[-1].upper_min <= 30


def test_targets_are_parsed_or_named_as_wrong() -> None:
    assert parse_target("p95_wait<=30min").limit_min == 30
    assert parse_target(" mean_wait <= 1.5h ").limit_min == 90
    with pytest.raises(InvalidInput) as caught:
        parse_target("p95<30")
    assert caught.value.errors[0].field == "target"
