"""Pure value objects describing a land transit corridor (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal
from enum import StrEnum
from typing import Any

from tripp.errors import FieldError, TrippError


class OfficeRole(StrEnum):
    DEPARTURE = "departure"
    TRANSIT = "transit"
    DESTINATION = "destination"


class TransportMode(StrEnum):
    ROAD = "road"
    RAIL = "rail"


class CorridorInvalid(TrippError):
    """A corridor file breaks the format; each error names file, field and rule."""

    status = 422
    title = "Invalid corridor"
    slug = "invalid-corridor"

    def __init__(self, source: str, errors: list[FieldError]) -> None:
        self.source = source
        self.errors = errors
        # Geometry errors carry the GeoJSON file's name (loader.CorridorFieldError).
        lines = [
            f"{getattr(e, 'file', '') or source}: {e.field}: {e.message} [{e.rule}]" for e in errors
        ]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class OpeningHours:
    """Opening period on the given weekdays (0 = Monday), local time of the office.

    ``closes`` may equal ``time(0)`` with ``until_midnight`` to mean 24:00.
    """

    weekdays: frozenset[int]
    opens: time
    closes: time
    until_midnight: bool = False


@dataclass(frozen=True)
class Office:
    """A customs office on the corridor. ``location`` is (lon, lat) in WGS 84."""

    code: str
    name: str
    country: str
    roles: frozenset[OfficeRole]
    location: tuple[float, float]
    modes: frozenset[TransportMode]
    timezone: str
    opening_hours: tuple[OpeningHours, ...]
    estimated: bool = False

    def has_role(self, role: OfficeRole) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class Route:
    """The gazetted route for one mode: (lon, lat) vertices in WGS 84."""

    mode: TransportMode
    name: str
    coordinates: tuple[tuple[float, float], ...]
    estimated: bool = False


@dataclass(frozen=True)
class StopZone:
    """Where a vehicle may stop without an alert: a polygon ring of (lon, lat)."""

    name: str
    ring: tuple[tuple[float, float], ...]
    office: str | None = None


@dataclass(frozen=True)
class TariffRate:
    """Duties and taxes at stake, in percent of the customs value, for an HS prefix.

    ``hs_prefix`` is a chapter (2 digits) or a heading (4 digits).
    """

    hs_prefix: str
    rate_pct: Decimal
    note: str = ""


@dataclass(frozen=True)
class Tariff:
    default_rate_pct: Decimal
    rates: tuple[TariffRate, ...] = ()
    estimated: bool = False

    def rate_for(self, hs_code: str) -> Decimal:
        """The most specific rate: heading beats chapter beats the default."""
        best: TariffRate | None = None
        for rate in self.rates:
            if hs_code.startswith(rate.hs_prefix) and (
                best is None or len(rate.hs_prefix) > len(best.hs_prefix)
            ):
                best = rate
        return best.rate_pct if best else self.default_rate_pct


@dataclass(frozen=True)
class Currencies:
    """Currencies the corridor accepts and their value in ``base`` units.

    ``rates_to_base[c]`` is how many units of ``base`` one unit of ``c`` is worth.
    """

    base: str
    rates_to_base: Mapping[str, Decimal]
    as_of: str = ""  # ISO 8601 date the rates were taken, "" if unknown
    estimated: bool = False

    @property
    def accepted(self) -> frozenset[str]:
        return frozenset(self.rates_to_base)

    def convert(self, amount: Decimal, source: str, target: str) -> Decimal:
        """Convert without rounding; the caller rounds to the target's minor unit."""
        if source == target:
            return amount
        return amount * self.rates_to_base[source] / self.rates_to_base[target]


@dataclass(frozen=True)
class Itinerary:
    """A usual path through the corridor, e.g. TRIPP westbound by road."""

    name: str
    mode: TransportMode
    office_of_departure: str
    offices_of_transit: tuple[str, ...]
    office_of_destination: str


@dataclass(frozen=True)
class Corridor:
    id: str
    name: str
    description: str
    offices: Mapping[str, Office]
    routes: Mapping[TransportMode, Route]
    buffer_m: float
    time_limit_hours: float
    tariff: Tariff
    currencies: Currencies
    stop_zones: tuple[StopZone, ...] = ()
    itineraries: tuple[Itinerary, ...] = ()
    sources: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def office(self, code: str) -> Office | None:
        return self.offices.get(code)

    def routes_geojson(self) -> dict[str, Any]:
        """The routes as a GeoJSON FeatureCollection, one LineString per mode."""
        return {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"mode": r.mode.value, "name": r.name, "estimated": r.estimated},
                    "geometry": {
                        "type": "LineString",
                        "coordinates": [list(c) for c in r.coordinates],
                    },
                }
                for r in self.routes.values()
            ],
        }
