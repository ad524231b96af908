"""JSON views of devices, fixes, tracks and alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tripp.tracking.model import Device, Fix


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def fix_view(f: Fix) -> dict[str, Any]:
    return {"time": _time(f.time), "lat": f.lat, "lon": f.lon, "speed_kmh": f.speed_kmh,
            "course": f.course, "seal": f.seal.value if f.seal else None}  # fmt: skip


def device_view(d: Device, armed_for: str | None, latest: Fix | None) -> dict[str, Any]:
    return {
        "id": d.id, "kind": d.kind.value, "imei": d.imei, "model": d.model,
        "seal_io": d.seal_io, "armed_for": armed_for,
        "latest_position": fix_view(latest) if latest else None,
    }  # fmt: skip


def track_feature(mrn: str, state: str, fixes: list[Fix]) -> dict[str, Any]:
    """A GeoJSON Feature: a LineString of the fixes (a Point for one, null for none)."""
    coordinates = [[f.lon, f.lat] for f in fixes]
    geometry: dict[str, Any] | None = None
    if len(coordinates) >= 2:
        geometry = {"type": "LineString", "coordinates": coordinates}
    elif coordinates:
        geometry = {"type": "Point", "coordinates": coordinates[0]}
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "mrn": mrn, "state": state, "fixes": len(fixes),
            "times": [_time(f.time) for f in fixes],
            "speeds_kmh": [f.speed_kmh for f in fixes],
            "devices": sorted({f.device_id for f in fixes}),
        },
    }  # fmt: skip


def alert_view(row: Any) -> dict[str, Any]:
    location = [row.lon, row.lat] if row.lon is not None and row.lat is not None else None
    return {
        "id": row.id, "kind": row.kind, "mrn": row.mrn, "device_id": row.device_id,
        "at": _time(row.raised_at), "cleared_at": _time(row.cleared_at),
        "location": location, "country": row.country, "details": row.details,
    }  # fmt: skip
