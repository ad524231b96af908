"""The pure rules of border posts: the inspection gate and what an office expects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tripp.border.arrivals import (
    DWELL_PER_OFFICE,
    next_event,
    office_role,
    scheduled_eta,
    tracked_eta,
)
from tripp.border.gate import inspection_needed
from tripp.corridor.loader import bundled_corridor_path, load_corridor
from tripp.corridor.model import TransportMode
from tripp.movements.declaration import Declaration
from tripp.movements.examples import example_declaration
from tripp.movements.schemas import DeclarationIn
from tripp.risk.model import Lane

CORRIDOR = load_corridor(bundled_corridor_path())
KINDS = st.sets(st.sampled_from(["documentary", "xray", "physical"]))


@given(KINDS)
def test_green_or_unscreened_movements_cross_freely(kinds: set[str]) -> None:
    assert inspection_needed(Lane.GREEN, kinds) is None
    assert inspection_needed(None, kinds) is None


@given(KINDS)
def test_red_needs_the_load_looked_at(kinds: set[str]) -> None:
    needed = inspection_needed(Lane.RED, kinds)
    assert (needed is None) == bool(kinds & {"xray", "physical"})


@given(KINDS)
def test_yellow_needs_any_inspection(kinds: set[str]) -> None:
    assert (inspection_needed(Lane.YELLOW, kinds) is None) == bool(kinds)


def _declaration(name: str) -> Declaration:
    it = next(i for i in CORRIDOR.itineraries if i.name == name)
    return DeclarationIn.model_validate(
        example_declaration(it, "26AZ000000000001A5", "AZ-CARRIER-0001")
    ).to_domain()


def test_crossings_enter_then_leave_armenia_both_ways() -> None:
    west = _declaration("TRIPP-W-ROAD")
    assert office_role(west, "AM000101") == "transit"
    assert next_event(west, CORRIDOR, "AM000101").to_json() == {
        "type": "border_crossing", "direction": "entry"}  # fmt: skip
    assert next_event(west, CORRIDOR, "AM000102").direction == "exit"
    assert next_event(west, CORRIDOR, "AZ000201").to_json() == {"type": "arrival"}
    east = _declaration("TRIPP-E-ROAD")
    assert next_event(east, CORRIDOR, "AM000102").direction == "entry"
    assert next_event(east, CORRIDOR, "AM000101").direction == "exit"
    assert office_role(east, "AZ000201") is None


@given(st.floats(0, 200_000), st.integers(0, 4))
def test_the_schedule_adds_way_and_dwell(distance_m: float, passed: int) -> None:
    t0 = datetime(2026, 11, 23, 8, tzinfo=UTC)
    eta = scheduled_eta(t0, distance_m, TransportMode.ROAD, passed)
    assert eta - t0 >= passed * DWELL_PER_OFFICE
    assert tracked_eta(t0, distance_m, TransportMode.ROAD) <= eta
    # 50 km/h on the road: 50 km take an hour.
    assert scheduled_eta(t0, 50_000, TransportMode.ROAD, 0) == t0 + timedelta(hours=1)
