"""CorridorGeometry: inside/outside the route buffer, metres off the route, stop zones."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely.geometry import Polygon

from tests.factories import small_corridor
from tripp.corridor.loader import bundled_corridor_path, load_corridor
from tripp.corridor.model import Corridor, TrackingRules, TransportMode
from tripp.tracking.geometry import OUTER_RATIO, CorridorGeometry, utm_epsg
from tripp.tracking.model import Fix

ROAD = TransportMode.ROAD
RAIL = TransportMode.RAIL
LonLats = tuple[np.ndarray, np.ndarray]


@pytest.fixture(scope="module")
def tripp() -> Corridor:
    return load_corridor(bundled_corridor_path())


@pytest.fixture(scope="module")
def geometry(tripp: Corridor) -> CorridorGeometry:
    return CorridorGeometry.from_corridor(tripp)


@pytest.fixture(scope="module")
def to_lonlat(geometry: CorridorGeometry) -> Callable[[np.ndarray, np.ndarray], LonLats]:
    back = Transformer.from_crs(f"EPSG:{geometry.epsg}", "EPSG:4326", always_xy=True)

    def convert(x: np.ndarray, y: np.ndarray) -> LonLats:
        lon, lat = back.transform(x, y)
        return np.asarray(lon), np.asarray(lat)

    return convert


def offset_points(
    line: shapely.LineString, along_m: float, offsets_m: Sequence[float]
) -> np.ndarray:
    """Points ``offsets_m`` metres left of the line at ``along_m``, along its local normal."""
    a = np.array(line.interpolate(along_m).coords[0])
    b = np.array(line.interpolate(along_m + 1.0).coords[0])
    tangent = (b - a) / np.linalg.norm(b - a)
    normal = np.array([-tangent[1], tangent[0]])
    return np.array([a + normal * d for d in offsets_m])


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [(46.3, 38.9, 32638), (-58.4, -34.6, 32721), (0.0, 0.0, 32631), (180.0, 10.0, 32660)],
)
def test_utm_zone_from_a_position(lon: float, lat: float, epsg: int) -> None:
    assert utm_epsg(lon, lat) == epsg


def test_tripp_is_projected_to_utm_38n(geometry: CorridorGeometry) -> None:
    assert geometry.epsg == 32638
    assert geometry.buffer_m == 500 and geometry.clear_m == pytest.approx(400)
    assert geometry.modes == {ROAD, RAIL}
    # 51.2 km of modelled road: metres, not degrees
    assert geometry.route_m(ROAD).length == pytest.approx(51_199, abs=5)


def test_route_vertices_are_well_inside(tripp: Corridor, geometry: CorridorGeometry) -> None:
    lons, lats = np.array(tripp.routes[ROAD].coordinates).T
    result = geometry.assess(ROAD, lons, lats)
    assert result.inside.all() and result.inside_clear.all()
    assert np.isnan(result.distance_m).all()  # deep inside: no exact distance computed


def test_offsets_across_a_straight_stretch(
    geometry: CorridorGeometry, to_lonlat: Callable[[np.ndarray, np.ndarray], LonLats]
) -> None:
    # 8.1-16.2 km along the road is one straight 8 km segment (Nrnadzor to Meghri valley)
    offsets = [0, 100, 350, 450, 499, 501, 700, 740, 2000, -450, -600]
    xy = offset_points(geometry.route_m(ROAD), 12_000, offsets)
    result = geometry.assess(ROAD, *to_lonlat(xy[:, 0], xy[:, 1]))
    expected_inside = [abs(d) <= 500 for d in offsets]
    expected_clear = [abs(d) <= 400 for d in offsets]
    assert result.inside.tolist() == expected_inside
    assert result.inside_clear.tolist() == expected_clear
    for d, measured in zip(offsets, result.distance_m, strict=True):
        if 400 < abs(d) <= 500 * OUTER_RATIO - 10:
            assert measured == pytest.approx(abs(d), abs=0.5)  # projection round trip
        elif abs(d) < 350 or abs(d) > 500 * OUTER_RATIO:
            assert np.isnan(measured)


def test_assess_agrees_with_exact_distances(
    geometry: CorridorGeometry, to_lonlat: Callable[[np.ndarray, np.ndarray], LonLats]
) -> None:
    rng = np.random.default_rng(7)
    line = geometry.route_m(ROAD)
    n = 20_000
    base = shapely.get_coordinates(
        shapely.line_interpolate_point(line, rng.uniform(0, line.length, n))
    )
    xy = base + rng.uniform(-1_200, 1_200, (n, 2))
    lons, lats = to_lonlat(xy[:, 0], xy[:, 1])
    result = geometry.assess(ROAD, lons, lats)
    exact = geometry.distance_m(ROAD, lons, lats)
    assert (result.inside == (exact <= 500)).all()
    assert (result.inside_clear == (exact <= 400)).all()
    computed = ~np.isnan(result.distance_m)
    assert np.allclose(result.distance_m[computed], exact[computed])
    # NaN only where plainly decided: well inside, or beyond the outer buffer (chord error < 1 %)
    assert ((exact[~computed] <= 400) | (exact[~computed] > 500 * OUTER_RATIO * 0.99)).all()
    assert computed.any() and (~computed).any()


@settings(max_examples=50, deadline=None)
@given(
    along=st.floats(min_value=0, max_value=1),
    angle=st.floats(min_value=0, max_value=2 * np.pi),
    radius_m=st.floats(min_value=0, max_value=490),
)
def test_anything_within_the_buffer_of_a_route_point_is_inside(
    geometry: CorridorGeometry,
    to_lonlat: Callable[[np.ndarray, np.ndarray], LonLats],
    along: float,
    angle: float,
    radius_m: float,
) -> None:
    line = geometry.route_m(ROAD)
    x0, y0 = line.interpolate(along * line.length).coords[0]
    x = np.array([x0 + radius_m * np.cos(angle)])
    y = np.array([y0 + radius_m * np.sin(angle)])
    assert geometry.assess(ROAD, *to_lonlat(x, y)).inside[0]


def test_stop_zones(tripp: Corridor, geometry: CorridorGeometry) -> None:
    centroids = [Polygon(z.ring).centroid for z in tripp.stop_zones]
    lons = [c.x for c in centroids] + [46.39393]  # and a point on the open road
    lats = [c.y for c in centroids] + [38.92598]
    result = geometry.assess(ROAD, lons, lats)
    assert result.in_stop_zone.tolist() == [True] * len(centroids) + [False]


def test_a_corridor_without_stop_zones() -> None:
    geometry = CorridorGeometry.from_corridor(small_corridor())
    result = geometry.assess(ROAD, [46.2], [38.9])
    assert result.inside.tolist() == [True] and result.in_stop_zone.tolist() == [False]


def test_the_clear_radius_follows_the_corridor_rules() -> None:
    corridor = dataclasses.replace(small_corridor(), tracking=TrackingRules(clear_ratio=1.0))
    geometry = CorridorGeometry.from_corridor(corridor)
    assert geometry.clear_m == geometry.buffer_m == 500


def test_a_mode_without_a_route_is_refused() -> None:
    geometry = CorridorGeometry.from_corridor(small_corridor())
    with pytest.raises(ValueError, match="mode='rail' has no route in this corridor"):
        geometry.assess(RAIL, [46.2], [38.9])


def test_arrays_must_match() -> None:
    geometry = CorridorGeometry.from_corridor(small_corridor())
    with pytest.raises(ValueError, match="must be equal and 1-D"):
        geometry.assess(ROAD, [46.2, 46.3], [38.9])
    with pytest.raises(ValueError, match="must be equal and 1-D"):
        geometry.assess(ROAD, [[46.2]], [[38.9]])


def test_no_positions_no_rows(geometry: CorridorGeometry) -> None:
    result = geometry.assess(ROAD, [], [])
    assert len(result) == 0 and result.distance_m.dtype == np.float64


def test_assess_fixes_keeps_their_order(geometry: CorridorGeometry) -> None:
    at = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    fixes = [Fix("T", at, 38.92598, 46.39393), Fix("T", at, 39.5, 46.39393)]
    result = geometry.assess_fixes(ROAD, fixes)
    assert result.inside.tolist() == [True, False]


def test_distance_m_is_exact_everywhere(geometry: CorridorGeometry) -> None:
    lon, lat = 46.39393, 38.92598  # a road vertex
    far = geometry.distance_m(ROAD, [lon, lon], [lat, lat + 0.05])
    assert far[0] == pytest.approx(0, abs=0.01)
    assert 4_000 < far[1] < 5_600  # 0.05 degrees of latitude is 5.55 km, the line slants


def test_throughput_is_reported(
    geometry: CorridorGeometry,
    to_lonlat: Callable[[np.ndarray, np.ndarray], LonLats],
    record_property: Callable[[str, object], None],
) -> None:
    """Information only (speed belongs in a benchmark): about 3 million points/s here."""
    rng = np.random.default_rng(3)
    line = geometry.route_m(ROAD)
    n = 1_000_000
    base = shapely.get_coordinates(
        shapely.line_interpolate_point(line, rng.uniform(0, line.length, n))
    )
    xy = base + rng.uniform(-300, 300, (n, 2))
    lons, lats = to_lonlat(xy[:, 0], xy[:, 1])
    started = time.perf_counter()
    result = geometry.assess(ROAD, lons, lats)
    rate = n / (time.perf_counter() - started)
    record_property("assess_points_per_s", round(rate))
    print(f"assess: {rate / 1e6:.1f} million points/s")
    assert len(result) == n and result.inside.all()
