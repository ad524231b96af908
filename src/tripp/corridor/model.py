"""Pure value objects describing a land transit corridor (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tripp.errors import FieldError, TrippError

if TYPE_CHECKING:
    from tripp.fees.schedule import ScheduleSet


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
class TrackingRules:
    """Thresholds of the tracking alerts (``tripp.tracking.alerts``); defaults are rules of thumb.

    Durations are seconds, speeds km/h. A deviation is raised after at least
    ``deviation_min_fixes`` consecutive fixes outside ``buffer_m`` spanning at least
    ``deviation_min_s``; it clears after fixes back within ``buffer_m * clear_ratio``
    for ``clear_min_s`` (hysteresis against GPS jitter at the edge). A stop is a speed
    below ``stop_speed_kmh`` for ``stop_min_s`` outside the stop zones; speeding is above
    ``speed_limit_kmh[mode]`` for ``speeding_min_s``; a tracker is silent after
    ``silent_after_s`` without a fix. Modes missing from ``speed_limit_kmh`` are not checked.
    """

    deviation_min_fixes: int = 3
    deviation_min_s: float = 60.0
    clear_min_s: float = 60.0
    clear_ratio: float = 0.8
    stop_speed_kmh: float = 3.0
    stop_min_s: float = 300.0
    speed_limit_kmh: Mapping[TransportMode, float] = field(
        default_factory=lambda: {TransportMode.ROAD: 90.0, TransportMode.RAIL: 80.0}
    )
    speeding_min_s: float = 30.0
    silent_after_s: float = 600.0
    estimated: bool = False

    def __post_init__(self) -> None:
        # The corridor reader reports these with field and rule; this guards Python callers.
        if self.deviation_min_fixes < 1:
            raise ValueError(f"deviation_min_fixes={self.deviation_min_fixes} must be >= 1")
        for name in ("deviation_min_s", "clear_min_s", "stop_min_s", "speeding_min_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 0 seconds")
        if self.silent_after_s <= 0:
            raise ValueError(f"silent_after_s={self.silent_after_s} must be > 0 seconds")
        if not 0 < self.clear_ratio <= 1:
            raise ValueError(f"clear_ratio={self.clear_ratio} must be within (0, 1]")
        if self.stop_speed_kmh <= 0:
            raise ValueError(f"stop_speed_kmh={self.stop_speed_kmh} must be > 0")
        for mode, limit in self.speed_limit_kmh.items():
            if limit <= 0:
                raise ValueError(f"speed_limit_kmh[{mode}]={limit} must be > 0")


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
    tracking: TrackingRules = field(default_factory=TrackingRules)
    # The transit-fee schedules it starts with (``tripp.fees``); None: no fee is charged.
    fees: ScheduleSet | None = None

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
