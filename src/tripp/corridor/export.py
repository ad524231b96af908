"""A corridor as JSON: the body of GET /corridor (API.md)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from tripp.corridor.model import (
    Corridor,
    Currencies,
    Itinerary,
    Office,
    OfficeRole,
    OpeningHours,
    StopZone,
    Tariff,
    TrackingRules,
    TransportMode,
)
from tripp.corridor.offices import WEEKDAYS

E = TypeVar("E", bound=StrEnum)


def corridor_to_dict(c: Corridor) -> dict[str, Any]:
    """The body of GET /corridor (API.md): plain JSON types, decimals as strings."""
    return {
        "id": c.id,
        "name": c.name,
        "description": c.description,
        "offices": [_office_json(o) for o in c.offices.values()],
        "routes": c.routes_geojson(),
        "time_limit_hours": c.time_limit_hours,
        "buffer_m": c.buffer_m,
        "stop_zones": _stop_zones_geojson(c.stop_zones),
        "tariff": _tariff_json(c.tariff),
        "currencies": _currencies_json(c.currencies),
        "itineraries": [_itinerary_json(i) for i in c.itineraries],
        "sources": list(c.sources),
        "tracking": _tracking_json(c.tracking),
    }


def _dec(value: Decimal) -> str:
    return format(value, "f")  # never exponent notation: Decimal("1E+2") -> "100"


def _ordered(values: Iterable[E], enum: type[E]) -> list[str]:
    chosen = set(values)
    return [e.value for e in enum if e in chosen]


def _office_json(o: Office) -> dict[str, Any]:
    return {
        "code": o.code,
        "name": o.name,
        "country": o.country,
        "roles": _ordered(o.roles, OfficeRole),
        "location": [o.location[0], o.location[1]],
        "modes": _ordered(o.modes, TransportMode),
        "timezone": o.timezone,
        "opening_hours": [_period_json(p) for p in o.opening_hours],
        "estimated": o.estimated,
    }


def _period_json(p: OpeningHours) -> dict[str, Any]:
    return {
        "days": [WEEKDAYS[d] for d in sorted(p.weekdays)],
        "opens": f"{p.opens:%H:%M}",
        "closes": "24:00" if p.until_midnight else f"{p.closes:%H:%M}",
    }


def _stop_zones_geojson(zones: Iterable[StopZone]) -> dict[str, Any]:
    features = [
        {
            "type": "Feature",
            "properties": {"kind": "stop_zone", "name": z.name, "office": z.office},
            "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in z.ring]]},
        }
        for z in zones
    ]
    return {"type": "FeatureCollection", "features": features}


def _tariff_json(t: Tariff) -> dict[str, Any]:
    rates = [
        {"hs_prefix": r.hs_prefix, "rate_pct": _dec(r.rate_pct), "note": r.note} for r in t.rates
    ]
    return {"default_rate_pct": _dec(t.default_rate_pct), "rates": rates, "estimated": t.estimated}


def _currencies_json(c: Currencies) -> dict[str, Any]:
    return {
        "base": c.base,
        "rates_to_base": {code: _dec(rate) for code, rate in c.rates_to_base.items()},
        "as_of": c.as_of or None,
        "estimated": c.estimated,
    }


def _itinerary_json(i: Itinerary) -> dict[str, Any]:
    return {
        "name": i.name,
        "mode": i.mode.value,
        "office_of_departure": i.office_of_departure,
        "offices_of_transit": list(i.offices_of_transit),
        "office_of_destination": i.office_of_destination,
    }


def _tracking_json(t: TrackingRules) -> dict[str, Any]:
    return {
        "deviation_min_fixes": t.deviation_min_fixes,
        "deviation_min_s": t.deviation_min_s,
        "clear_min_s": t.clear_min_s,
        "clear_ratio": t.clear_ratio,
        "stop_speed_kmh": t.stop_speed_kmh,
        "stop_min_s": t.stop_min_s,
        "speed_limit_kmh": {
            m.value: t.speed_limit_kmh[m] for m in TransportMode if m in t.speed_limit_kmh
        },
        "speeding_min_s": t.speeding_min_s,
        "silent_after_s": t.silent_after_s,
        "estimated": t.estimated,
    }
