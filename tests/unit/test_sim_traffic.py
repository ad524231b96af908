"""The live-traffic planner of ``tripp sim drive`` (pure): determinism, geometry, order."""

from __future__ import annotations

import itertools
import math
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tripp.corridor.export import corridor_to_dict
from tripp.corridor.loader import bundled_corridor_path, load_corridor
from tripp.sim.drive import Parties
from tripp.sim.traffic import (
    Anomaly,
    CorridorInfo,
    RouteLine,
    StepKind,
    TrafficConfig,
    VehiclePlan,
    hourly_profile,
    plan_traffic,
)

HOLDERS: dict[str, str | None] = {"AZ-CARRIER-0001": "AZ", "AM-CARRIER-0001": "AM"}


@cache
def corridor() -> CorridorInfo:
    return CorridorInfo.from_json(corridor_to_dict(load_corridor(bundled_corridor_path())))


def plans(config: TrafficConfig, n: int) -> list[VehiclePlan]:
    return list(itertools.islice(plan_traffic(corridor(), config, HOLDERS), n))


def test_the_same_seed_plans_the_same_traffic() -> None:
    config = TrafficConfig(seed=7, speedup=300)
    assert plans(config, 40) == plans(config, 40)
    assert plans(config, 40) != plans(TrafficConfig(seed=8, speedup=300), 40)


def test_vehicles_leave_in_time_order_and_the_first_at_once() -> None:
    starts = [p.start_s for p in plans(TrafficConfig(seed=3), 100)]
    assert starts[0] == 0.0
    assert starts == sorted(starts)


def test_daily_volume_is_kept_on_average() -> None:
    config = TrafficConfig(seed=5, vehicles_per_day=240, speedup=86_400)  # a day per second
    day_s = 86_400 / config.speedup
    departures = [p.start_s for p in plans(config, 2_400)]
    per_day = len(departures) / (departures[-1] / day_s)
    assert per_day == pytest.approx(240, rel=0.08)


def test_the_hourly_profile_shapes_the_day() -> None:
    night_quiet = tuple(0.0 if h < 6 else 1.0 for h in range(24))
    config = TrafficConfig(seed=2, hourly=night_quiet, start_hour=0.0, speedup=3_600)
    for p in plans(config, 300)[1:]:  # the first leaves at once, whatever the hour
        assert (p.start_s % 24) >= 6  # one wall second is one simulated hour


def _check_order(p: VehiclePlan) -> None:
    kinds = [s.kind for s in p.steps]
    times = [s.at_s for s in p.steps]
    assert times == sorted(times)
    assert kinds[:3] == [StepKind.LODGE, StepKind.RELEASE, StepKind.PAY_FEE]
    assert kinds[-2:] == [StepKind.ARRIVE, StepKind.CONTROL]
    assert StepKind.POSITION not in kinds[:3]
    crossings = [s for s in p.steps if s.kind is StepKind.CROSS]
    assert [s.office for s in crossings] == list(p.itinerary.offices_of_transit)
    offices = {o.code: o for o in corridor().offices.values()}
    before = [p.itinerary.office_of_departure, *p.itinerary.offices_of_transit]
    for crossing, previous in zip(crossings, before, strict=False):
        assert crossing.office is not None
        entering = offices[previous].country != offices[crossing.office].country
        assert crossing.detail == ("entry" if entering else "exit")
        screened = [s for s in p.steps if s.kind is StepKind.SCREEN and s.office == crossing.office]
        assert bool(screened) == entering
        assert all(s.at_s <= crossing.at_s for s in screened)
    assert p.steps[0].office == p.itinerary.office_of_departure
    assert p.steps[-1].office == p.itinerary.office_of_destination


def _fixes(p: VehiclePlan) -> list[tuple[float, float, float, float, str]]:
    """(at_s, lon, lat, speed_kmh, seal) of each position."""
    return [
        (s.at_s, s.fix.lon, s.fix.lat, s.fix.speed_kmh, s.fix.seal)
        for s in p.steps
        if s.fix is not None
    ]


def _check_geometry(p: VehiclePlan) -> None:
    c = corridor()
    line = RouteLine(c.routes[p.itinerary.mode])
    off = [f for f in _fixes(p) if line.distance_m((f[1], f[2])) > c.buffer_m]
    if p.anomaly is Anomaly.DEVIATION:
        # Enough fixes, far enough out, for long enough for the server's rule to raise it.
        assert len(off) >= c.rules.deviation_min_fixes
        assert off[-1][0] - off[0][0] >= c.rules.deviation_min_s
        assert all(line.distance_m((f[1], f[2])) >= 2 * c.buffer_m for f in off)
    else:
        assert off == []
    seal_open = [f for f in _fixes(p) if f[4] != "closed"]
    assert bool(seal_open) == (p.anomaly is Anomaly.SEAL)
    assert all(f[3] <= c.rules.speed_limit_kmh[p.itinerary.mode] for f in _fixes(p))


def _longest_stop_s(p: VehiclePlan) -> float:
    """The longest run of standing fixes away from every office (what the server judges)."""
    c = corridor()
    line = RouteLine(c.routes[p.itinerary.mode])
    offices = [line.to_xy(o.location) for o in c.offices.values()]
    longest, since = 0.0, None
    for at_s, lon, lat, speed, _ in _fixes(p):
        away = min(math.dist(line.to_xy((lon, lat)), o) for o in offices) > 1_000
        if speed < c.rules.stop_speed_kmh and away:
            since = at_s if since is None else since
            longest = max(longest, at_s - since)
        else:
            since = None
    return longest


@pytest.mark.parametrize("speedup", [10.0, 120.0, 600.0])
def test_every_trip_is_in_order_on_the_route_and_anomalies_are_judgeable(speedup: float) -> None:
    config = TrafficConfig(seed=11, speedup=speedup, deviation_rate=0.2, stop_rate=0.2,
                           seal_rate=0.2, rail_share=0.3)  # fmt: skip
    trips = plans(config, 60)
    assert {p.anomaly for p in trips} == {None, *Anomaly}
    assert {p.itinerary.mode for p in trips} == {"road", "rail"}
    for p in trips:
        _check_order(p)
        _check_geometry(p)
        stop_s = _longest_stop_s(p)
        if p.anomaly is Anomaly.STOP:
            assert stop_s >= corridor().rules.stop_min_s
        else:
            assert stop_s < corridor().rules.stop_min_s


def test_the_first_vehicle_breaks_its_seal_soon_after_release() -> None:
    first = plans(TrafficConfig(seed=4, speedup=60), 1)[0]
    release = next(s.at_s for s in first.steps if s.kind is StepKind.RELEASE)
    opened = next(s.at_s for s in first.steps if s.fix is not None and s.fix.seal == "open")
    assert first.anomaly is Anomaly.SEAL
    assert opened - release < 15
    incident = next(s for s in first.steps if s.kind is StepKind.INCIDENT)
    assert incident.detail == "seal_broken" and incident.at_s >= opened


def test_carriers_depart_from_their_own_country() -> None:
    offices = corridor().offices
    for p in plans(TrafficConfig(seed=9), 80):
        assert offices[p.itinerary.office_of_departure].country == HOLDERS[p.holder]


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    speedup=st.floats(5, 2_000),
    fix_interval_s=st.floats(0.5, 10),
)
def test_plans_hold_their_invariants_for_any_seed(
    seed: int, speedup: float, fix_interval_s: float
) -> None:
    config = TrafficConfig(seed=seed, speedup=speedup, fix_interval_s=fix_interval_s,
                           deviation_rate=0.3, stop_rate=0.3, seal_rate=0.3)  # fmt: skip
    for p in plans(config, 4):
        _check_order(p)
        _check_geometry(p)


@given(d=st.floats(0, 1))
def test_a_point_along_the_route_projects_back_to_its_distance(d: float) -> None:
    line = RouteLine(corridor().routes["road"])
    xy, _ = line.at(d * line.length_m)
    along, off = line.project(xy)
    assert off < 0.01
    assert along == pytest.approx(d * line.length_m, abs=0.01)


def test_bad_parameters_are_refused_naming_the_value() -> None:
    with pytest.raises(ValueError, match="speedup=0"):
        TrafficConfig(speedup=0)
    with pytest.raises(ValueError, match="hourly="):
        TrafficConfig(hourly=(1.0,) * 23)
    with pytest.raises(ValueError, match="seal_rate=2"):
        TrafficConfig(seal_rate=2)
    with pytest.raises(ValueError, match="no itinerary"):
        next(plan_traffic(corridor(), TrafficConfig(), {"XX-CARRIER-1": "XX"}))


def test_hourly_profile_weighs_classes_by_their_daily_volume() -> None:
    flat = [1.0] * 24
    peak = [0.0] * 23 + [1.0]
    profile = hourly_profile({"truck": {"daily": 240, "hourly": flat},
                              "bus": {"daily": 24, "hourly": peak}})  # fmt: skip
    assert profile[0] == pytest.approx(10)
    assert profile[23] == pytest.approx(34)


def test_parties_are_read_from_the_token_ids() -> None:
    parties = Parties.from_tokens({"SYSTEM": "a", "AZ-CUSTOMS": "b", "AM-CUSTOMS": "c",
                                   "CORRIDOR-OPERATOR": "d", "WORKING-GROUP": "e",
                                   "AZ-CARRIER-0001": "f"})  # fmt: skip
    assert parties.customs == {"AZ": "AZ-CUSTOMS", "AM": "AM-CUSTOMS"}
    assert parties.carriers == {"AZ-CARRIER-0001": "AZ"}
    assert parties.staff() == "CORRIDOR-OPERATOR"
    assert Parties.from_tokens({"SYSTEM": "a"}).customs_of("AM") == "SYSTEM"
