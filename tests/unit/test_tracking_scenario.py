"""A truck along the bundled TRIPP road, westbound: exactly the alerts its trip deserves.

Fixes every 10 s at about 50 km/h, interpolated along the route in UTM metres, with +-30 m of
GPS jitter everywhere, and an e-seal reporting every minute without speed. On the way: a
10-minute stop in the Nrnadzor border post's stop zone (allowed), a 1.5 km deviation for
3 minutes, a 10-minute stop on the open road, the seal opened once, and 15 minutes without
any fix.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from pyproj import Transformer
from shapely.geometry import Point, Polygon

from tripp.corridor.loader import bundled_corridor_path, load_corridor
from tripp.corridor.model import Corridor, TransportMode
from tripp.tracking.alerts import (
    AlertChange,
    AlertContext,
    AlertKind,
    Change,
    MonitorState,
    check_time,
    evaluate,
)
from tripp.tracking.geometry import CorridorGeometry
from tripp.tracking.model import Fix, SealState

ROAD = TransportMode.ROAD
T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
FIX_PERIOD_S = 10
SPEED_KMH = 50.0
STEP_M = SPEED_KMH / 3.6 * FIX_PERIOD_S
JITTER_M = 30.0
MRN = "26AZ000101T0000017"
TIME_LIMIT = T0 + timedelta(hours=24)
CONTEXT = AlertContext(MRN, ROAD, TIME_LIMIT, armed=True)


@pytest.fixture(scope="module")
def tripp() -> Corridor:
    return load_corridor(bundled_corridor_path())


@pytest.fixture(scope="module")
def geometry(tripp: Corridor) -> CorridorGeometry:
    return CorridorGeometry.from_corridor(tripp)


@dataclass
class Trip:
    """Writes the fixes of one trip: a tracker every 10 s, an e-seal every 60 s.

    ``along_m`` is the distance along the road route; ``t`` the time of the next fix.
    """

    geometry: CorridorGeometry
    seed: int = 2026
    t: datetime = T0
    along_m: float = 0.0
    fixes: list[Fix] = field(default_factory=list)
    seal: SealState = SealState.CLOSED

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.line = self.geometry.route_m(ROAD)
        self.to_lonlat = Transformer.from_crs(
            f"EPSG:{self.geometry.epsg}", "EPSG:4326", always_xy=True
        )

    def drive_to(self, along_m: float, *, offset_m: float = 0.0) -> None:
        while self.along_m < along_m:
            self._emit(self._point(offset_m), SPEED_KMH + self.rng.uniform(-3, 3))
            self.along_m += STEP_M

    def drive_for(self, seconds: int, *, offset_m: float = 0.0) -> None:
        for _ in range(seconds // FIX_PERIOD_S):
            self._emit(self._point(offset_m), SPEED_KMH + self.rng.uniform(-3, 3))
            self.along_m += STEP_M

    def stop_for(self, seconds: int, *, at_xy: tuple[float, float] | None = None) -> None:
        where = self._point(0.0) if at_xy is None else np.array(at_xy)
        for _ in range(seconds // FIX_PERIOD_S):
            self._emit(where, 0.0)

    def go_silent(self, seconds: int) -> None:
        """No fix from any device for ``seconds`` after the last one; the truck drives on."""
        self.t += timedelta(seconds=seconds - FIX_PERIOD_S)
        self.along_m += SPEED_KMH / 3.6 * seconds

    def open_seal_once(self) -> datetime:
        """The e-seal's next report (on the minute) says open; it reports closed after."""
        while (self.t - T0).total_seconds() % 60:
            self.drive_for(FIX_PERIOD_S)
        self.seal = SealState.OPEN
        opened = self.t
        self.drive_for(FIX_PERIOD_S)
        self.seal = SealState.CLOSED
        return opened

    def _point(self, offset_m: float) -> np.ndarray:
        a = np.array(self.line.interpolate(self.along_m).coords[0])
        b = np.array(self.line.interpolate(self.along_m + 1.0).coords[0])
        tangent = (b - a) / np.linalg.norm(b - a)
        return a + np.array([-tangent[1], tangent[0]]) * offset_m

    def _emit(self, xy: np.ndarray, speed_kmh: float) -> None:
        for device, speed in (("TRK-1", speed_kmh), ("ESEAL-1", None)):
            if device == "ESEAL-1" and (self.t - T0).total_seconds() % 60:
                continue
            x, y = xy + self.rng.uniform(-JITTER_M, JITTER_M, 2)
            lon, lat = self.to_lonlat.transform(x, y)
            seal = self.seal if device == "ESEAL-1" else None
            self.fixes.append(Fix(device, self.t, lat, lon, speed_kmh=speed, seal=seal))
        self.t += timedelta(seconds=FIX_PERIOD_S)

    @property
    def last_t(self) -> datetime:
        return self.t - timedelta(seconds=FIX_PERIOD_S)


def evaluate_all(
    geometry: CorridorGeometry, fixes: Sequence[Fix], batch: int = 50
) -> tuple[MonitorState, list[AlertChange]]:
    """As the lead's ingest does: batches in time order, each assessed in one call."""
    state, changes = MonitorState(), []
    for i in range(0, len(fixes), batch):
        part = fixes[i : i + batch]
        state, new = evaluate(state, CONTEXT, part, geometry.assess_fixes(ROAD, part))
        changes += new
    return state, changes


def evaluate_with_clock(
    geometry: CorridorGeometry, fixes: Sequence[Fix]
) -> tuple[MonitorState, list[AlertChange]]:
    """Fixes by the minute they arrive in, and ``check_time`` at the end of every minute."""
    state, changes = MonitorState(), []
    minute = T0
    while minute <= fixes[-1].time:
        end = minute + timedelta(minutes=1)
        part = [f for f in fixes if minute <= f.time < end]
        if part:
            state, new = evaluate(state, CONTEXT, part, geometry.assess_fixes(ROAD, part))
            changes += new
        state, new = check_time(state, CONTEXT, end)
        changes += new
        minute = end
    return state, changes


@dataclass(frozen=True)
class Expected:
    kind: AlertKind
    change: Change
    at: datetime


def assert_exactly(changes: Sequence[AlertChange], expected: Sequence[Expected]) -> None:
    counts = Counter((c.kind, c.change) for c in changes)
    assert counts == Counter((e.kind, e.change) for e in expected), [
        (c.kind.value, c.change.value, c.at.isoformat()) for c in changes
    ]
    for e in expected:
        (change,) = [c for c in changes if (c.kind, c.change) == (e.kind, e.change)]
        assert abs((change.at - e.at).total_seconds()) <= FIX_PERIOD_S, (e, change.at)


@pytest.fixture(scope="module")
def eventful(tripp: Corridor, geometry: CorridorGeometry) -> tuple[Trip, list[Expected]]:
    trip = Trip(geometry)
    line = geometry.route_m(ROAD)
    post = next(z for z in tripp.stop_zones if z.office == "AM000101")  # Nrnadzor
    post_xy = geometry_xy(geometry, Polygon(post.ring).centroid)
    trip.drive_to(line.project(Point(post_xy)))
    trip.stop_for(600, at_xy=post_xy)  # border formalities in the post's stop zone: allowed

    trip.drive_to(9_500)  # on the straight 8 km stretch past Nrnadzor
    deviation = trip.t
    trip.drive_for(180, offset_m=1_500)
    back = trip.t

    trip.drive_to(20_000)
    stop = trip.t
    trip.stop_for(600)
    moving = trip.t

    trip.drive_to(24_000)
    opened = trip.open_seal_once()

    trip.drive_to(33_000)
    silent_from = trip.last_t
    trip.go_silent(900)
    heard_again = trip.t
    trip.drive_to(line.length)

    rules = CONTEXT.rules
    expected = [
        Expected(
            AlertKind.ROUTE_DEVIATION, Change.RAISED, deviation + seconds(rules.deviation_min_s)
        ),
        Expected(AlertKind.ROUTE_DEVIATION, Change.CLEARED, back + seconds(rules.clear_min_s)),
        Expected(AlertKind.UNAUTHORIZED_STOP, Change.RAISED, stop + seconds(rules.stop_min_s)),
        Expected(AlertKind.UNAUTHORIZED_STOP, Change.CLEARED, moving + seconds(rules.clear_min_s)),
        Expected(AlertKind.SEAL_OPENED, Change.RAISED, opened),
        Expected(
            AlertKind.TRACKER_SILENT, Change.RAISED, silent_from + seconds(rules.silent_after_s)
        ),
        Expected(AlertKind.TRACKER_SILENT, Change.CLEARED, heard_again),
    ]
    return trip, expected


def seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


def geometry_xy(geometry: CorridorGeometry, point: Point) -> tuple[float, float]:
    to_metres = Transformer.from_crs("EPSG:4326", f"EPSG:{geometry.epsg}", always_xy=True)
    x, y = to_metres.transform(point.x, point.y)
    return (float(x), float(y))


def test_the_scenario_is_what_it_claims(
    eventful: tuple[Trip, list[Expected]], geometry: CorridorGeometry
) -> None:
    trip, expected = eventful
    fixes = trip.fixes
    assessment = geometry.assess_fixes(ROAD, fixes)
    exact = geometry.distance_m(ROAD, [f.lon for f in fixes], [f.lat for f in fixes])
    deviation_at = expected[0].at - seconds(60)
    off_route = [i for i, f in enumerate(fixes) if not assessment.inside[i]]
    assert len(off_route) == 18 + 3  # 3 minutes of the tracker, 3 e-seal reports
    assert {fixes[i].time for i in off_route} <= {
        deviation_at + seconds(s) for s in range(0, 180, 10)
    }
    assert all(1_400 < exact[i] < 1_600 for i in off_route)
    assert exact[assessment.inside].max() < 200  # jitter and the post's yard only
    stopped = [i for i, f in enumerate(fixes) if f.speed_kmh == 0]
    assert len(stopped) == 120  # two 10-minute stops
    assert assessment.in_stop_zone[stopped[:60]].all()  # at Nrnadzor
    assert not assessment.in_stop_zone[stopped[60:]].any()  # on the open road
    gaps = np.diff([f.time.timestamp() for f in fixes])
    assert gaps.max() == 900 and sorted(gaps)[-2] <= 10
    assert trip.fixes[-1].time - T0 < timedelta(hours=2)


def test_exactly_the_expected_alerts(
    eventful: tuple[Trip, list[Expected]], geometry: CorridorGeometry
) -> None:
    trip, expected = eventful
    state, changes = evaluate_all(geometry, trip.fixes)
    assert_exactly(changes, expected)
    assert set(state.open_alerts) == {AlertKind.SEAL_OPENED}  # until a human acknowledges
    deviation = next(c for c in changes if c.kind is AlertKind.ROUTE_DEVIATION)
    assert len(deviation.evidence) == 7 + 1  # six tracker fixes and the e-seal's, then the 7th
    assert all(e.distance_m is None or e.distance_m > 500 for e in deviation.evidence)
    seal = next(c for c in changes if c.kind is AlertKind.SEAL_OPENED)
    assert seal.device_id == "ESEAL-1" and seal.location is not None


def test_the_periodic_clock_gives_the_same_alerts(
    eventful: tuple[Trip, list[Expected]], geometry: CorridorGeometry
) -> None:
    trip, expected = eventful
    _, changes = evaluate_with_clock(geometry, trip.fixes)
    assert_exactly(changes, expected)


def test_resent_fixes_change_nothing(
    eventful: tuple[Trip, list[Expected]], geometry: CorridorGeometry
) -> None:
    trip, expected = eventful
    resent = sorted(trip.fixes + trip.fixes[::7], key=lambda f: (f.time, f.device_id))
    _, changes = evaluate_all(geometry, resent, batch=37)
    assert_exactly(changes, expected)


def test_overdue_when_the_trip_outlasts_its_time_limit(
    eventful: tuple[Trip, list[Expected]], geometry: CorridorGeometry
) -> None:
    trip, _ = eventful
    state, _ = evaluate_all(geometry, trip.fixes)
    end = trip.fixes[-1].time
    _, changes = check_time(state, CONTEXT, TIME_LIMIT + seconds(1))
    kinds = [(c.kind, c.change) for c in changes]
    assert kinds == [
        (AlertKind.OVERDUE, Change.RAISED),
        (AlertKind.TRACKER_SILENT, Change.RAISED),
    ]
    assert changes[1].at == end + seconds(CONTEXT.rules.silent_after_s)


def test_jitter_alone_raises_nothing(geometry: CorridorGeometry) -> None:
    for seed in (1, 2, 3):
        trip = Trip(geometry, seed=seed)
        trip.drive_to(geometry.route_m(ROAD).length)
        assert len(trip.fixes) > 400
        state, changes = evaluate_all(geometry, trip.fixes)
        assert changes == [] and not state.open_alerts


def test_a_stop_in_a_stop_zone_raises_nothing(tripp: Corridor, geometry: CorridorGeometry) -> None:
    trip = Trip(geometry)
    line = geometry.route_m(ROAD)
    for office in ("AM000101", "AM000201", "AM000102"):  # both border posts and Meghri
        zone = next(z for z in tripp.stop_zones if z.office == office)
        xy = geometry_xy(geometry, Polygon(zone.ring).centroid)
        trip.drive_to(line.project(Point(xy)))
        trip.stop_for(1_800, at_xy=xy)
    trip.drive_to(line.length)
    _, changes = evaluate_all(geometry, trip.fixes)
    assert changes == []
