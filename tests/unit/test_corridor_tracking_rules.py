"""The optional ``tracking`` section of a corridor file: defaults, values, every broken rule."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tripp.corridor.loader import (
    CorridorFieldError,
    bundled_corridor_path,
    corridor_to_dict,
    load_corridor,
)
from tripp.corridor.model import CorridorInvalid, TrackingRules, TransportMode

CORRIDORS = Path(__file__).resolve().parents[1] / "data" / "corridors"
CA_YAML = CORRIDORS / "central-asia-rail.yaml"
ROAD, RAIL = TransportMode.ROAD, TransportMode.RAIL


def with_tracking(folder: Path, tracking: Any) -> Path:
    """The second corridor (no ``tracking`` section) with ``tracking`` set to the given value."""
    doc = yaml.safe_load(CA_YAML.read_text(encoding="utf-8"))
    doc["tracking"] = tracking
    shutil.copy(CORRIDORS / "central-asia-rail.geojson", folder)
    path = folder / "corridor.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def errors_of(path: Path) -> list[CorridorFieldError]:
    with pytest.raises(CorridorInvalid) as caught:
        load_corridor(path)
    return [e for e in caught.value.errors if isinstance(e, CorridorFieldError)]


def test_the_bundled_corridor_states_its_estimates() -> None:
    rules = load_corridor(bundled_corridor_path()).tracking
    assert rules == TrackingRules(estimated=True)  # the defaults, written out and marked


def test_a_corridor_without_the_section_gets_the_defaults() -> None:
    rules = load_corridor(CA_YAML).tracking
    assert rules == TrackingRules()
    assert rules.deviation_min_fixes == 3 and rules.deviation_min_s == 60
    assert rules.clear_min_s == 60 and rules.clear_ratio == 0.8
    assert rules.stop_speed_kmh == 3 and rules.stop_min_s == 300
    assert rules.speed_limit_kmh == {ROAD: 90, RAIL: 80}
    assert rules.speeding_min_s == 30 and rules.silent_after_s == 600
    assert rules.estimated is False


def test_given_values_replace_the_defaults(tmp_path: Path) -> None:
    section = {
        "deviation_min_fixes": 5,
        "deviation_min_s": 0,
        "clear_min_s": "90",
        "clear_ratio": 0.5,
        "stop_speed_kmh": 2.5,
        "stop_min_s": 600,
        "speed_limit_kmh": {"rail": 70},
        "speeding_min_s": 45,
        "silent_after_s": 1200,
        "estimated": True,
        "notes": "operator's figures",
        "x_source": "ignored extension",
    }
    rules = load_corridor(with_tracking(tmp_path, section)).tracking
    assert rules == TrackingRules(
        deviation_min_fixes=5,
        deviation_min_s=0,
        clear_min_s=90,
        clear_ratio=0.5,
        stop_speed_kmh=2.5,
        stop_min_s=600,
        speed_limit_kmh={ROAD: 90, RAIL: 70},  # road keeps its default
        speeding_min_s=45,
        silent_after_s=1200,
        estimated=True,
    )


def test_an_empty_or_null_section_keeps_the_defaults(tmp_path: Path) -> None:
    # A bare `tracking:` is null in YAML: the same as no section.
    assert load_corridor(with_tracking(tmp_path, {})).tracking == TrackingRules()
    assert load_corridor(with_tracking(tmp_path, None)).tracking == TrackingRules()


@pytest.mark.parametrize(
    ("section", "field", "rule", "quoted"),
    [
        ("yes", "tracking", "type", "a string"),
        ({"deviation_min_fixes": 0}, "tracking.deviation_min_fixes", "tracking-fixes", "0"),
        ({"deviation_min_fixes": 2.5}, "tracking.deviation_min_fixes", "tracking-fixes", "2.5"),
        ({"deviation_min_fixes": "many"}, "tracking.deviation_min_fixes", "type", "'many'"),
        ({"deviation_min_fixes": True}, "tracking.deviation_min_fixes", "type", "True"),
        ({"deviation_min_s": -1}, "tracking.deviation_min_s", "tracking-duration", "-1"),
        ({"clear_min_s": -0.5}, "tracking.clear_min_s", "tracking-duration", "-0.5"),
        ({"stop_min_s": -300}, "tracking.stop_min_s", "tracking-duration", "-300"),
        ({"speeding_min_s": -30}, "tracking.speeding_min_s", "tracking-duration", "-30"),
        ({"silent_after_s": 0}, "tracking.silent_after_s", "tracking-duration", "> 0 seconds"),
        ({"silent_after_s": [600]}, "tracking.silent_after_s", "type", "a list"),
        ({"clear_ratio": 0}, "tracking.clear_ratio", "tracking-clear-ratio", "0"),
        ({"clear_ratio": 1.2}, "tracking.clear_ratio", "tracking-clear-ratio", "1.2"),
        ({"stop_speed_kmh": 0}, "tracking.stop_speed_kmh", "tracking-speed", "> 0 km/h"),
        (
            {"speed_limit_kmh": {"road": -90}},
            "tracking.speed_limit_kmh.road",
            "tracking-speed",
            "-90",
        ),
        ({"speed_limit_kmh": {"ship": 20}}, "tracking.speed_limit_kmh.ship", "mode", "'ship'"),
        ({"speed_limit_kmh": 90}, "tracking.speed_limit_kmh", "type", "a number"),
        ({"estimated": "yes"}, "tracking.estimated", "type", "'yes'"),
        ({"deviaton_min_s": 60}, "tracking.deviaton_min_s", "unknown-field", "deviation_min_s"),
    ],
)
def test_each_broken_value_names_its_field_and_rule(
    tmp_path: Path, section: Any, field: str, rule: str, quoted: str
) -> None:
    errors = errors_of(with_tracking(tmp_path, section))
    assert [(e.field, e.rule) for e in errors] == [(field, rule)]
    assert quoted in errors[0].message
    assert errors[0].file == str(tmp_path / "corridor.yaml")


def test_every_broken_value_is_reported_at_once(tmp_path: Path) -> None:
    section = {"clear_ratio": 2, "stop_min_s": -1, "speed_limit_kmh": {"rail": 0, "bus": 1}}
    errors = errors_of(with_tracking(tmp_path, section))
    assert sorted(e.field for e in errors) == [
        "tracking.clear_ratio",
        "tracking.speed_limit_kmh.bus",
        "tracking.speed_limit_kmh.rail",
        "tracking.stop_min_s",
    ]


def test_the_corridor_json_carries_the_rules() -> None:
    body = corridor_to_dict(load_corridor(bundled_corridor_path()))
    assert json.loads(json.dumps(body))["tracking"] == {
        "deviation_min_fixes": 3,
        "deviation_min_s": 60.0,
        "clear_min_s": 60.0,
        "clear_ratio": 0.8,
        "stop_speed_kmh": 3.0,
        "stop_min_s": 300.0,
        "speed_limit_kmh": {"road": 90.0, "rail": 80.0},
        "speeding_min_s": 30.0,
        "silent_after_s": 600.0,
        "estimated": True,
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"deviation_min_fixes": 0}, "deviation_min_fixes=0 must be >= 1"),
        ({"stop_min_s": -1.0}, "stop_min_s=-1.0 must be >= 0 seconds"),
        ({"silent_after_s": 0.0}, "silent_after_s=0.0 must be > 0 seconds"),
        ({"clear_ratio": 1.5}, "clear_ratio=1.5 must be within"),
        ({"stop_speed_kmh": 0.0}, "stop_speed_kmh=0.0 must be > 0"),
        ({"speed_limit_kmh": {ROAD: -1.0}}, "speed_limit_kmh[road]=-1.0 must be > 0"),
    ],
)
def test_rules_built_in_python_are_checked(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        TrackingRules(**changes)
