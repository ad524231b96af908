"""Which country a point lies in, from the shipped region outlines.

Armenian customs see the alerts raised on Armenian territory; the alert keeps
the country of its location, decided once, when it is raised.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape

REGION_FILE = Path(__file__).parents[1] / "corridor" / "data" / "region.geojson"
# Natural Earth names in the shipped file → ISO 3166-1 alpha-2.
_CODES = {"Armenia": "AM", "Azerbaijan": "AZ", "Georgia": "GE", "Iran": "IR", "Turkey": "TR"}


class CountryLocator:
    def __init__(self, outlines: dict[str, Any]) -> None:
        self._codes = list(outlines)
        self._shapes = [outlines[c] for c in self._codes]
        for geometry in self._shapes:
            shapely.prepare(geometry)

    @classmethod
    def from_geojson(cls, doc: dict[str, Any]) -> CountryLocator:
        outlines = {
            _CODES[f["properties"]["name"]]: shape(f["geometry"])
            for f in doc.get("features", [])
            if f.get("properties", {}).get("kind") == "country"
            and f["properties"].get("name") in _CODES
        }
        return cls(outlines)

    @classmethod
    def bundled(cls) -> CountryLocator:
        return cls.from_geojson(json.loads(REGION_FILE.read_text(encoding="utf-8")))

    def country(self, lon: float, lat: float) -> str | None:
        """ISO alpha-2 of the country containing (lon, lat), or None outside the outlines."""
        for code, geometry in zip(self._codes, self._shapes, strict=True):
            if shapely.contains_xy(geometry, lon, lat):
                return code
        return None
