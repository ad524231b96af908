"""Where positions lie relative to the corridor: inside the route buffer, metres off it, stop zones.

Pure and vectorised. ``CorridorGeometry.from_corridor`` projects the routes and stop zones
once to a metric CRS (the UTM zone of the centre of the routes' bounding box), buffers each
route and prepares the polygons; ``assess`` then classifies arrays of WGS 84 positions with
``shapely.contains_xy`` (about 10 million points/s on a prepared polygon).

Exact distances to the line are slow (about 0.3 million points/s), so ``assess`` computes them
only for points near the edge of the buffer, in the band between the clear radius
(``buffer_m * clear_ratio``) and ``1.5 * buffer_m``. There the distance decides both whether a
point is inside and whether it is back on the route for clearing a deviation; elsewhere the
buffers decide alone.

UTM keeps planar distances within 0.1 % of the geodesic ones inside its 6-degree zone and
within about 1 % up to 6 degrees beyond it; a corridor much wider than that needs another
projection. The zone exceptions of Norway and Svalbard are ignored. Instances are immutable
and safe to share between threads (pyproj >= 3.1 transformers are thread-safe).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Polygon

from tripp.corridor.model import Corridor, TransportMode
from tripp.tracking.model import Fix

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

# Beyond 1.5 x buffer_m a point is plainly outside: no exact distance is needed to say so,
# and the margin keeps the buffer polygons' chord error (< 0.5 % of the radius) irrelevant.
OUTER_RATIO = 1.5


@dataclass(frozen=True)
class Assessment:
    """Where each of n positions lies; arrays of length n in the order given.

    - ``inside``: within ``buffer_m`` of the route line (exact).
    - ``inside_clear``: within ``buffer_m * clear_ratio`` of the line, the radius a deviating
      vehicle must come back within before its deviation clears (exact).
    - ``distance_m``: metres from the line, computed only for points in the band from
      ``buffer_m * clear_ratio`` to ``1.5 * buffer_m``; NaN elsewhere, meaning either well
      inside (``inside_clear`` is True) or far outside (``inside`` is False, so the distance
      exceeds ``1.5 * buffer_m``). ``CorridorGeometry.distance_m`` gives every distance.
    - ``in_stop_zone``: inside one of the corridor's stop zones.
    """

    inside: BoolArray
    inside_clear: BoolArray
    distance_m: FloatArray
    in_stop_zone: BoolArray

    def __len__(self) -> int:
        return len(self.inside)


@dataclass(frozen=True)
class _RouteAreas:
    """One mode's route in metres and its prepared buffers."""

    line: Any  # shapely LineString, metres
    clear_area: Any  # buffer of buffer_m * clear_ratio, prepared
    outer_area: Any  # buffer of buffer_m * OUTER_RATIO, prepared


def utm_epsg(lon: float, lat: float) -> int:
    """The EPSG code of the WGS 84 UTM zone holding (lon, lat): 326zz north, 327zz south."""
    zone = min(int((lon + 180) // 6) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


class CorridorGeometry:
    """A corridor's routes and stop zones in metres, ready for bulk point checks."""

    def __init__(
        self,
        *,
        epsg: int,
        buffer_m: float,
        clear_m: float,
        routes: Mapping[TransportMode, _RouteAreas],
        stop_area: Any | None,
    ) -> None:
        self.epsg = epsg
        self.buffer_m = buffer_m
        self.clear_m = clear_m
        self._routes = dict(routes)
        self._stop_area = stop_area
        self._to_metres = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)

    @classmethod
    def from_corridor(cls, corridor: Corridor) -> CorridorGeometry:
        """Project, buffer and prepare once; ``assess`` reuses the result for every batch."""
        lines = [LineString(r.coordinates) for r in corridor.routes.values()]
        west, south, east, north = shapely.total_bounds(lines)
        epsg = utm_epsg((west + east) / 2, (south + north) / 2)
        to_metres = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
        clear_m = corridor.buffer_m * corridor.tracking.clear_ratio
        routes = {
            mode: _route_areas(_project(to_metres, line), corridor.buffer_m, clear_m)
            for mode, line in zip(corridor.routes, lines, strict=True)
        }
        zones = [_project(to_metres, Polygon(z.ring)) for z in corridor.stop_zones]
        stop_area = shapely.union_all(zones) if zones else None
        if stop_area is not None:
            shapely.prepare(stop_area)
        return cls(
            epsg=epsg,
            buffer_m=corridor.buffer_m,
            clear_m=clear_m,
            routes=routes,
            stop_area=stop_area,
        )

    @property
    def modes(self) -> frozenset[TransportMode]:
        return frozenset(self._routes)

    def route_m(self, mode: TransportMode) -> Any:
        """The route of ``mode`` as a shapely LineString in metres (this geometry's UTM zone)."""
        return self._route(mode).line

    def assess(self, mode: TransportMode, lons: npt.ArrayLike, lats: npt.ArrayLike) -> Assessment:
        """Classify positions (WGS 84 degrees, 1-D arrays of equal length) against ``mode``'s route.

        Raises ValueError for a mode without a route or arrays of different shapes.
        """
        route = self._route(mode)
        x, y = self._project(lons, lats)
        inside_clear: BoolArray = shapely.contains_xy(route.clear_area, x, y)
        distance_m = np.full(x.shape, np.nan)
        rest = np.flatnonzero(~inside_clear)
        near = rest[shapely.contains_xy(route.outer_area, x[rest], y[rest])]
        distance_m[near] = shapely.distance(route.line, shapely.points(x[near], y[near]))
        inside = inside_clear.copy()
        inside[near] = distance_m[near] <= self.buffer_m
        # The buffer polygons are inscribed in the true buffers: near the clear radius the
        # exact distance, not the polygon, decides.
        inside_clear[near] = distance_m[near] <= self.clear_m
        return Assessment(inside, inside_clear, distance_m, self._in_stop_zone(x, y))

    def assess_fixes(self, mode: TransportMode, fixes: Sequence[Fix]) -> Assessment:
        """``assess`` for fixes, in their order."""
        return self.assess(mode, [f.lon for f in fixes], [f.lat for f in fixes])

    def distance_m(
        self, mode: TransportMode, lons: npt.ArrayLike, lats: npt.ArrayLike
    ) -> FloatArray:
        """Exact metres from each position to ``mode``'s route; slow, for evidence and reports."""
        route = self._route(mode)
        x, y = self._project(lons, lats)
        result: FloatArray = shapely.distance(route.line, shapely.points(x, y))
        return result

    def chainage_m(
        self, mode: TransportMode, lons: npt.ArrayLike, lats: npt.ArrayLike
    ) -> FloatArray:
        """Metres along ``mode``'s route to where each position projects onto it (the
        distance between two chainages is the way between them along the route)."""
        route = self._route(mode)
        x, y = self._project(lons, lats)
        result: FloatArray = np.asarray(
            shapely.line_locate_point(route.line, shapely.points(x, y)), dtype=np.float64
        )
        return result

    def _route(self, mode: TransportMode) -> _RouteAreas:
        route = self._routes.get(mode)
        if route is None:
            modes = ", ".join(sorted(m.value for m in self._routes))
            raise ValueError(f"mode={mode.value!r} has no route in this corridor (has: {modes})")
        return route

    def _project(self, lons: npt.ArrayLike, lats: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        lon_array = np.asarray(lons, dtype=np.float64)
        lat_array = np.asarray(lats, dtype=np.float64)
        if lon_array.ndim != 1 or lon_array.shape != lat_array.shape:
            raise ValueError(
                f"lons shape {lon_array.shape} and lats shape {lat_array.shape} "
                "must be equal and 1-D"
            )
        x, y = self._to_metres.transform(lon_array, lat_array)
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def _in_stop_zone(self, x: FloatArray, y: FloatArray) -> BoolArray:
        if self._stop_area is None:
            return np.zeros(x.shape, dtype=np.bool_)
        result: BoolArray = shapely.contains_xy(self._stop_area, x, y)
        return result


def _project(to_metres: Transformer, geometry: Any) -> Any:
    """``geometry`` (WGS 84 lon, lat) in the metric CRS of ``to_metres``."""

    def transform(xy: FloatArray) -> FloatArray:
        x, y = to_metres.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geometry, transform)


def _route_areas(line: Any, buffer_m: float, clear_m: float) -> _RouteAreas:
    clear_area = shapely.buffer(line, clear_m)
    outer_area = shapely.buffer(line, buffer_m * OUTER_RATIO)
    shapely.prepare(clear_area)
    shapely.prepare(outer_area)
    return _RouteAreas(line, clear_area, outer_area)
