"""Sizing hour by hour: the reference's peak case, the stationary (PSA) bound, determinism."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from tripp.cli import app
from tripp.errors import InvalidInput
from tripp.sim import Scenario, Station, deterministic
from tripp.sim.build import model
from tripp.sim.engine import simulate
from tripp.sim.optimize import HourlyStage, parse_target, plan, plans_dict, varies_by_hour
from tripp.sim.queueing import mmc_mean_wait, mmc_wait_quantile, stationary_servers
from tripp.sim.replicate import replicate_waits_by_hour, waits_by_hour
from tripp.sim.scenario import from_dict

BUNDLED = Path(__file__).parents[2] / "src/tripp/sim/data/tripp-meghri.yaml"
PEAK = tuple(range(8, 16))  # 08:00-16:00 carry 1.5x the average rate, the rest 0.75x
MU = 0.1  # 10-minute exponential service


def peak_day(*, days: int = 20, replications: int = 8) -> dict[str, object]:
    """The reference's illustrative post: 2,000 trucks a day, 10-minute exponential service;
    its peak case puts 1.5x the average rate in 8 hours (so 0.75x in the other 16)."""
    hourly = [1.5 if h in PEAK else 0.75 for h in range(24)]
    return {
        "scenario": "peak", "horizon_days": days, "warmup_hours": 24,
        "replications": replications, "seed": 3,
        "classes": {"truck": {"daily": 2000, "hourly": hourly}},
        "posts": [{"id": "P", "stages": [
            {"id": "booth", "service": {"dist": "exponential", "mean_min": 10}, "servers": 1},
        ]}],
    }  # fmt: skip


def _size(raw: dict[str, object], target: str = "p95_wait<=30min") -> HourlyStage:
    s = from_dict(raw)
    [stage] = plan(model(s, s.posts[0]), parse_target(target), replications=s.replications,
                   seed=s.seed, workers=1)  # fmt: skip
    assert isinstance(stage, HourlyStage)
    return stage


def test_the_reference_peak_case_needs_22_booths_at_the_peak_only() -> None:
    """Erlang C per hour: 22 booths at 125 trucks an hour, 12 at 62.5. Sized hour by hour
    the simulated day meets the target in every hour with 22 at the peak, far fewer
    server-hours than 22 all day, and within the PSA's tolerance (see below)."""
    lam_peak, lam_off = 125 / 60, 62.5 / 60
    assert stationary_servers(lam_peak, MU, limit_min=30, p=0.95) == 22
    assert stationary_servers(lam_off, MU, limit_min=30, p=0.95) == 12
    assert mmc_wait_quantile(lam_peak, MU, 21, 0.95) > 150  # 21 give hours at the peak

    stage = _size(peak_day())
    psa = stage.stationary_by_hour
    assert psa == tuple(22 if h in PEAK else 12 for h in range(24))
    assert [stage.servers_by_hour[h] for h in PEAK] == [22] * 8
    for h, wait in enumerate(stage.waits):
        assert wait is not None and wait.mean + wait.half_width <= 30, h
    assert stage.server_hours < 22 * 24  # flat at the peak's level: 528

    # Never below the PSA (the search's floor), and not far above it. PSA ignores the
    # queue the peak leaves behind: about Lq = 13 trucks at 22 booths, i.e. some
    # 13 x 10 / 60 = 2.2 server-hours of work carried into 16:00, so the hour after the
    # peak may need up to ceil(2.2) = 3 more; in total the carry-overs may cost 2 %.
    carried = lam_peak * mmc_mean_wait(lam_peak, MU, 22) * 10 / 60
    assert 2 < carried < 3
    extra = [c - p for c, p in zip(stage.servers_by_hour, psa, strict=True)]
    assert min(extra) >= 0
    assert max(extra) <= math.ceil(carried)
    assert stage.server_hours <= 1.02 * sum(psa)


def test_the_flat_day_answer_misses_the_peak_hours() -> None:
    """The time-of-day profile decides: the 15 booths that suffice on a flat day of the
    same volume leave peak-hour trucks waiting hours."""
    s = from_dict(peak_day(days=5, replications=4))
    flat = model(s, s.posts[0])
    fifteen = replace(flat, stations=(replace(flat.stations[0], servers=15),))
    waits = replicate_waits_by_hour(fifteen, station=0, statistic="p95", replications=4,
                                    seed=3, workers=1)  # fmt: skip
    worst = max(w.mean for w in waits if w is not None)
    assert worst > 120


def test_hourly_sizing_is_deterministic_and_chosen_when_the_day_varies() -> None:
    raw = peak_day(days=3, replications=3)
    s = from_dict(raw)
    m = model(s, s.posts[0])
    assert varies_by_hour(m, 0)
    flat_raw = raw | {"classes": {"truck": {"daily": 2000}}}
    flat_s = from_dict(flat_raw)
    assert not varies_by_hour(model(flat_s, flat_s.posts[0]), 0)
    staffed = raw | {"classes": {"truck": {"daily": 2000}}, "posts": [{"id": "P", "stages": [
        {"id": "booth", "service": {"dist": "exponential", "mean_min": 10},
         "servers": {"default": 12, "hours": {"8-16": 20}}}]}]}  # fmt: skip
    staffed_s = from_dict(staffed)
    assert varies_by_hour(model(staffed_s, staffed_s.posts[0]), 0)
    first = plans_dict([_size(raw)])
    assert first == plans_dict([_size(raw)])
    assert first["booth"]["mode"] == "hourly" and len(first["booth"]["servers_by_hour"]) == 24


def test_confidence_needs_two_replications() -> None:
    s = from_dict(peak_day(days=1, replications=1))
    with pytest.raises(InvalidInput) as caught:
        plan(model(s, s.posts[0]), parse_target("p95_wait<=30min"), replications=1, seed=1)
    assert caught.value.errors[0].field == "replications"


def test_waits_are_grouped_by_the_hour_of_arrival_at_the_stage() -> None:
    # Arrivals in hour 0 only, one 50-minute server: every wait belongs to hour 0.
    scenario = Scenario(
        stations=(Station("booth", deterministic(50.0), 1),),
        arrivals_per_hour=(6.0, *(0.0,) * 23),
        horizon_min=24 * 60 * 3,
    )
    run = simulate(scenario, seed=1)
    by_hour = waits_by_hour(run, 0, "mean")
    hours = np.floor(run.arrive[0] / 60) % 24
    assert set(hours.tolist()) == {0.0}
    assert by_hour[0] == pytest.approx(float(np.mean(run.start[0] - run.arrive[0])))
    assert all(math.isnan(w) for w in by_hour[1:])
    with pytest.raises(ValueError, match="statistic='p90'"):
        waits_by_hour(run, 0, "p90")


def test_stationary_servers_follow_erlang_c_and_allen_cunneen() -> None:
    lam = 2000 / 1440
    assert stationary_servers(lam, MU, limit_min=30, p=0.95) == 15
    assert stationary_servers(0.0, MU, limit_min=30, p=0.95) == 0
    # Deterministic service halves the wait: never more servers than exponential service.
    for p in (None, 0.5, 0.95):
        fixed = stationary_servers(lam, MU, limit_min=5, p=p, cs2=0.0)
        assert fixed <= stationary_servers(lam, MU, limit_min=5, p=p, cs2=1.0)


def test_the_command_prints_the_24_hour_table_and_writes_json(tmp_path: Path) -> None:
    raw = yaml.safe_load(BUNDLED.read_text(encoding="utf-8")) | {"horizon_days": 2,
                                                                 "replications": 3}  # fmt: skip
    scenario = tmp_path / "small.yaml"
    scenario.write_text(yaml.safe_dump(raw), encoding="utf-8")
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(app, ["sim", "optimize", str(scenario), "--target",
                                      "p95_wait<=30min", "--workers", "1", "--json", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "booth: servers by hour" in result.stdout and "23-24" in result.stdout
    document = json.loads(out.read_text())
    booth = document["posts"]["AM000101"]["booth"]
    assert booth["mode"] == "hourly" and len(booth["hours"]) == 24
    assert booth["server_hours"] == sum(booth["servers_by_hour"])
    psa = sum(h["stationary_servers"] for h in booth["hours"])
    assert booth["frontier"][0]["server_hours"] >= psa
    flat = CliRunner().invoke(app, ["sim", "optimize", str(scenario), "--target",
                                    "mean_wait<=10min", "--staffing", "flat", "--workers", "1"])  # fmt: skip
    assert flat.exit_code == 0, flat.output
    assert "all day" in flat.stdout
