"""The map's layers as one GeoJSON FeatureCollection, built once (pure but for reading the
shipped region file).

Layers (``properties.layer``): ``route`` (the corridor's route per mode), ``office``
(every office of the corridor, a Point), ``border`` (country outlines from
``corridor/data/region.geojson``), ``river`` (the Araz). ``bbox`` spans them all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from tripp.corridor.model import Corridor
from tripp.tracking.territory import REGION_FILE

# Natural Earth names in the shipped file → ISO 3166-1 alpha-2.
_CODES = {"Armenia": "AM", "Azerbaijan": "AZ", "Georgia": "GE", "Iran": "IR", "Turkey": "TR"}
_ROLE_ORDER = ("departure", "transit", "destination")


def _route_features(corridor: Corridor) -> Iterator[dict[str, Any]]:
    for mode, route in sorted(corridor.routes.items()):
        yield {
            "type": "Feature",
            "id": f"route-{mode.value}",
            "geometry": {"type": "LineString", "coordinates": [list(c) for c in route.coordinates]},
            "properties": {"layer": "route", "id": f"route-{mode.value}", "mode": mode.value,
                           "name": route.name, "estimated": route.estimated},
        }  # fmt: skip


def _office_features(corridor: Corridor) -> Iterator[dict[str, Any]]:
    for code, office in sorted(corridor.offices.items()):
        roles = [r for r in _ROLE_ORDER if r in {x.value for x in office.roles}]
        yield {
            "type": "Feature",
            "id": f"office-{code}",
            "geometry": {"type": "Point", "coordinates": list(office.location)},
            "properties": {
                "layer": "office", "code": code, "name": office.name,
                # One word for a label; "roles" has them all.
                "role": roles[0] if len(roles) == 1 else "/".join(roles),
                "roles": roles, "country": office.country,
                "modes": sorted(m.value for m in office.modes),
            },
        }  # fmt: skip


def _region_features(region: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for i, f in enumerate(region.get("features", [])):
        props = f.get("properties", {})
        name = props.get("name", "")
        if props.get("kind") == "country":
            layer, extra = "border", {"country": _CODES.get(name)}
        elif props.get("kind") == "river_border":
            layer, extra = "river", {}
        else:
            continue
        yield {
            "type": "Feature",
            "id": f"{layer}-{i}",
            "geometry": f["geometry"],
            "properties": {"layer": layer, "name": name, **extra},
        }


def _positions(geometry: Any) -> Iterator[tuple[float, float]]:
    coords = geometry["coordinates"]
    depth = {"Point": 0, "LineString": 1, "Polygon": 2, "MultiPolygon": 3}[geometry["type"]]
    stack = [(coords, depth)]
    while stack:
        value, d = stack.pop()
        if d == 0:
            yield float(value[0]), float(value[1])
        else:
            stack.extend((v, d - 1) for v in value)


def bbox(features: list[dict[str, Any]]) -> list[float]:
    """[min lon, min lat, max lon, max lat] over every position of ``features``."""
    points = [p for f in features for p in _positions(f["geometry"])]
    if not points:
        raise ValueError("no positions to bound")
    lons, lats = zip(*points, strict=True)
    return [min(lons), min(lats), max(lons), max(lats)]


def layers(corridor: Corridor, region: Mapping[str, Any]) -> dict[str, Any]:
    """The FeatureCollection with its ``bbox``."""
    features = [
        *_route_features(corridor),
        *_region_features(region),
        *_office_features(corridor),
    ]
    return {"type": "FeatureCollection", "bbox": bbox(features), "features": features}


def bundled_region(path: Path = REGION_FILE) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def rendered(doc: Mapping[str, Any]) -> tuple[bytes, str]:
    """The JSON bytes and their strong ETag (quoted, as the header carries it)."""
    body = orjson.dumps(doc)
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
