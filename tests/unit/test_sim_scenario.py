"""Capacity scenarios as data: the bundled one reads, broken ones name every bad field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tripp.errors import InvalidInput
from tripp.sim.scenario import ArrivalClass, from_dict

BUNDLED = Path(__file__).parents[2] / "src/tripp/sim/data/tripp-meghri.yaml"


def _bundled() -> dict[str, Any]:
    return dict(yaml.safe_load(BUNDLED.read_text(encoding="utf-8")))


def test_the_bundled_scenario_reads() -> None:
    s = from_dict(_bundled())
    assert s.name == "tripp-meghri-entry" and s.replications == 10
    post = s.posts[0]
    booth = post.stages[0]
    assert booth.servers_by_hour[5] == 2 and booth.servers_by_hour[6] == 4
    assert booth.servers_by_hour[19] == 4 and booth.servers_by_hour[20] == 2
    xray = next(st for st in post.stages if st.id == "xray")
    assert xray.classes == ("truck",) and xray.share == 0.05
    assert xray.service.mean_min == 1.2
    assert set(next(st for st in post.stages if st.id == "booth").classes) == {"bus", "truck"}


def _errors(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        from_dict(raw)
    return {e.field: e.rule for e in caught.value.errors}


def test_every_broken_field_is_named_at_once() -> None:
    raw = _bundled()
    raw["replications"] = 0
    raw["classes"]["truck"]["hourly"] = [1, 2]
    raw["posts"][0]["stages"][0]["service"] = {"dist": "gamma", "mean_min": 3}
    raw["posts"][0]["stages"][1]["servers"] = {"default": 1, "hours": {"20-6": 3}}
    raw["posts"][0]["stages"][2]["classes"] = ["tractor"]
    raw["posts"][0]["stages"][3]["service"]["sd_min"] = -1
    raw["colour"] = "blue"
    errors = _errors(raw)
    assert errors == {
        "replications": "range",
        "classes.truck.hourly": "weights",
        "posts[0].stages[0].service.dist": "enum",
        # An unknown distribution: its parameters cannot be checked, so they are not read.
        "posts[0].stages[0].service.mean_min": "unknown-field",
        "posts[0].stages[1].servers.hours.20-6": "hours",
        "posts[0].stages[2].classes": "class-ref",
        "posts[0].stages[3].service.sd_min": "range",
        "colour": "unknown-field",
    }


def test_a_stage_never_staffed_is_refused() -> None:
    raw = _bundled()
    raw["posts"][0]["stages"][0]["servers"] = {"default": 0}
    assert _errors(raw)["posts[0].stages[0].servers"] == "staffed"


@given(
    st.floats(1, 5000),
    st.lists(st.floats(0.01, 10), min_size=7, max_size=7),
    st.lists(st.floats(0.01, 10), min_size=24, max_size=24),
)
def test_profiles_keep_the_daily_volume_on_average(
    daily: float, weekday: list[float], hourly: list[float]
) -> None:
    c = ArrivalClass("truck", daily, 0.0, tuple(weekday), tuple(hourly))
    week = sum(c.rate_per_hour(d, h) for d in range(7) for h in range(24))
    assert week == pytest.approx(daily * 7, rel=1e-9)
