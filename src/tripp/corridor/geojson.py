"""The GeoJSON file a corridor names: one route per transport mode, and stop zones.

Routes are LineString features with a ``mode`` property; stop zones are
Polygon features with ``kind: stop_zone``. Errors are recorded against the
GeoJSON file, except a missing file, which is the YAML's ``geometry`` field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from shapely.geometry import Polygon
from shapely.validation import explain_validity

from tripp.corridor.fields import (
    WHOLE_FILE,
    LonLat,
    Node,
    Sink,
    kind_of,
    lonlat,
    transport_mode,
)
from tripp.corridor.model import Route, StopZone, TransportMode


@dataclass
class Geometry:
    """The valid routes and stop zones of the GeoJSON file."""

    routes: dict[TransportMode, Route]
    # with each zone its properties, to report a bad office reference once offices are read
    stop_zones: list[tuple[Node, StopZone]]
    # Counted valid or not, so that a broken route is reported once, not again as missing.
    line_features: int = 0
    declared_modes: set[TransportMode] = field(default_factory=set)


def read_geometry(yaml_path: Path, root: Node) -> Geometry | None:
    """Routes and stop zones from the GeoJSON file the YAML names; None if unreadable."""
    ref = root.text("geometry")
    if ref is None:
        return None
    geo_path = yaml_path.parent / ref  # relative to the YAML file, not to the working directory
    sink = Sink(str(geo_path), root.sink.errors)
    doc = _read_json(geo_path, root, sink)
    return None if doc is None else _features(Node(sink, "", doc))


def _read_json(path: Path, root: Node, sink: Sink) -> object | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        root.error("geometry", f"GeoJSON file {str(path)!r} not found", "geometry-file")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        sink.add(WHOLE_FILE, f"cannot read the GeoJSON file: {exc}", "geometry-file")
        return None
    try:
        doc: object = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        sink.add(WHOLE_FILE, f"not valid JSON: {where}: {exc.msg}", "json-syntax")
        return None
    if not isinstance(doc, dict):
        sink.add(WHOLE_FILE, "must hold a GeoJSON FeatureCollection object", "geojson")
        return None
    return doc


def _features(top: Node) -> Geometry:
    # No finish() on GeoJSON objects: RFC 7946 allows foreign members and free properties.
    if top.is_mapping and top.get("type") != "FeatureCollection":
        top.error("type", "must be 'FeatureCollection'", "geojson")
    out = Geometry({}, [])
    route_paths: dict[TransportMode, str] = {}
    for i, raw in enumerate(top.items("features") or []):
        _feature(Node(top.sink, f"features[{i}]", raw), out, route_paths)
    if top.is_mapping and out.line_features == 0:
        top.error("features", "must hold at least one route (LineString, property mode)", "route")
    return out


def _feature(node: Node, out: Geometry, route_paths: dict[TransportMode, str]) -> None:
    geometry = node.child("geometry")
    props = node.child("properties")
    kind = geometry.get("type") if geometry is not None else None
    if geometry is None or props is None:
        return
    if kind == "LineString":
        out.line_features += 1
        route = _route(geometry, props, out.declared_modes)
        if route is not None and route.mode in route_paths:
            message = f"a second {route.mode.value} route; {route_paths[route.mode]} is the first"
            props.error("mode", message, "route-unique")
        elif route is not None:
            out.routes[route.mode] = route
            route_paths[route.mode] = node.path
    elif kind == "Polygon":
        zone = _stop_zone(geometry, props)
        if zone is not None:
            out.stop_zones.append((props, zone))
    elif kind is not None:
        message = f"must be LineString (a route) or Polygon (a stop zone), got {kind!r}"
        geometry.error("type", message, "geojson")


def _positions(sink: Sink, where: str, value: object) -> list[LonLat] | None:
    if not isinstance(value, list):
        sink.add(where, f"must be a list of [lon, lat] positions, got {kind_of(value)}", "type")
        return None
    points = [lonlat(sink, f"{where}[{i}]", p) for i, p in enumerate(value)]
    valid = [p for p in points if p is not None]
    return valid if len(valid) == len(points) else None


def _route(geometry: Node, props: Node, declared: set[TransportMode]) -> Route | None:
    mode = transport_mode(props, "mode")
    if mode is not None:
        declared.add(mode)
    name = props.text("name", required=False)
    estimated = props.flag("estimated")
    coords = _positions(geometry.sink, geometry.at("coordinates"), geometry.get("coordinates"))
    if coords is not None and len(set(coords)) < 2:
        message = f"a route needs at least 2 distinct vertices, got {len(set(coords))}"
        geometry.error("coordinates", message, "route-vertices")
        return None
    if mode is None or coords is None:
        return None
    return Route(mode, name or f"{mode.value} route", tuple(coords), estimated)


def _stop_zone(geometry: Node, props: Node) -> StopZone | None:
    kind = props.text("kind")
    if kind is not None and kind != "stop_zone":
        props.error("kind", f"a Polygon must have kind 'stop_zone', got {kind!r}", "geojson")
    name = props.text("name")
    office = props.text("office", required=False)
    props.flag("estimated")
    ring = _ring(geometry)
    if kind != "stop_zone" or name is None or ring is None:
        return None
    return StopZone(name, tuple(ring), office)


def _ring(geometry: Node) -> list[LonLat] | None:
    """The one exterior ring of a stop zone: closed, at least 4 positions, a valid polygon."""
    rings = geometry.items("coordinates")
    if rings is None:
        return None
    if len(rings) != 1:
        message = f"a stop zone is one exterior ring without holes, got {len(rings)} rings"
        geometry.error("coordinates", message, "stop-zone")
        return None
    where = geometry.at("coordinates") + "[0]"
    ring = _positions(geometry.sink, where, rings[0])
    if ring is None:
        return None
    if len(ring) < 4 or ring[0] != ring[-1]:
        message = f"must be a closed ring (first = last) of at least 4 positions, got {len(ring)}"
        geometry.sink.add(where, message, "stop-zone")
        return None
    polygon = Polygon(ring)
    if not polygon.is_valid:
        geometry.sink.add(where, f"not a valid polygon: {explain_validity(polygon)}", "stop-zone")
        return None
    return ring
