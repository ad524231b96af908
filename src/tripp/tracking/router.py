"""HTTP routes for devices, position batches, tracks and alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from tripp.api.auth import CurrentActor
from tripp.api.paging import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from tripp.api.problems import responses
from tripp.api.types import Identifier, JsonFloat, JsonInt, LongText, Mrn, QueryTime, UtcTime
from tripp.errors import FieldError, Forbidden, InvalidInput
from tripp.parties.model import Role
from tripp.tracking.model import Device, DeviceKind, Fix, SealState
from tripp.tracking.service import Tracking
from tripp.tracking.views import alert_view, device_view, track_feature

router = APIRouter(prefix="/api/v1", tags=["tracking"])
# Positions come from devices through the operator's gateways; a customs authority that could
# post them could fabricate another country's alerts.
_POSTERS = (Role.ADMIN, Role.OPERATOR)
AlertKind = Literal[
    "route_deviation", "unauthorized_stop", "seal_opened", "speeding", "overdue", "tracker_silent"
]


def _tracking(request: Request) -> Tracking:
    tracking: Tracking = request.app.state.tracking
    return tracking


class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Identifier
    kind: DeviceKind
    imei: Annotated[str, Field(pattern=r"^[0-9]{15}$")] | None = None
    model: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[ -~]+$")] | None = None
    seal_io: Annotated[int, JsonInt, Field(ge=0, le=65535)] | None = Field(
        default=None, description="Teltonika IO id carrying the seal state (0 closed, 1 open)"
    )


class PositionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device_id: Identifier
    time: UtcTime
    lat: Annotated[float, JsonFloat, Field(ge=-90, le=90, allow_inf_nan=False)]
    lon: Annotated[float, JsonFloat, Field(ge=-180, le=180, allow_inf_nan=False)]
    speed_kmh: Annotated[float, JsonFloat, Field(ge=0, le=1000, allow_inf_nan=False)] | None = None
    course: Annotated[float, JsonFloat, Field(ge=0, le=360, allow_inf_nan=False)] | None = None
    seal: SealState | None = None


class BatchResult(BaseModel):
    accepted: int
    duplicates: int
    unknown: int = Field(description="positions of unregistered devices, not stored")


class LatLon(BaseModel):
    time: datetime
    lat: float
    lon: float
    speed_kmh: float | None = None
    course: float | None = None
    seal: str | None = None


class DeviceOut(BaseModel):
    id: str
    kind: str
    imei: str | None = None
    model: str | None = None
    seal_io: int | None = None
    armed_for: str | None = None
    latest_position: LatLon | None = None


class AlertOut(BaseModel):
    id: int
    kind: str
    mrn: str
    device_id: str | None = None
    at: datetime
    cleared_at: datetime | None = None
    location: list[float] | None = Field(default=None, description="[lon, lat]")
    country: str | None = None
    details: dict[str, Any]


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None = None


@router.post(
    "/devices",
    status_code=201,
    response_model=DeviceOut,
    responses=responses(403, 409, 422),
    summary="Register a tracker or e-seal",
)
def register_device(request: Request, actor: CurrentActor, body: DeviceIn) -> dict[str, Any]:
    device = Device(body.id, body.kind, body.imei, body.model, body.seal_io)
    return device_view(_tracking(request).register(actor, device), None, None)


@router.get("/devices/{device_id}", response_model=DeviceOut, responses=responses(403, 404))
def get_device(
    request: Request, actor: CurrentActor, device_id: Annotated[Identifier, Path()]
) -> dict[str, Any]:
    return device_view(*_tracking(request).device(actor, device_id))


@router.post(
    "/positions",
    status_code=202,
    response_model=BatchResult,
    responses=responses(403, 422),
    summary="A batch of positions",
)
def post_positions(
    request: Request,
    actor: CurrentActor,
    batch: Annotated[list[PositionIn], Body(min_length=1, max_length=5000)],
) -> dict[str, int]:
    if actor.role not in _POSTERS:
        raise Forbidden(f"{actor.role} parties do not report positions")
    _no_repeats(batch)
    fixes = [Fix(p.device_id, p.time, p.lat, p.lon, p.speed_kmh, p.course, p.seal) for p in batch]
    result = _tracking(request).ingest(fixes)
    return {"accepted": result.accepted, "duplicates": result.duplicates, "unknown": result.unknown}


def _no_repeats(batch: list[PositionIn]) -> None:
    seen: dict[tuple[str, datetime], int] = {}
    errors = []
    for i, p in enumerate(batch):
        key = (p.device_id, p.time)
        if key in seen and batch[seen[key]] != p:
            errors.append(
                FieldError(
                    f"[{i}].time",
                    f"differs from item {seen[key]} with the same device and time",
                    "position-conflict",
                )
            )
        seen.setdefault(key, i)
    if errors:
        raise InvalidInput(errors)


@router.get(
    "/movements/{mrn}/track",
    responses=responses(403, 404),
    summary="The movement's track as a GeoJSON Feature",
)
def get_track(request: Request, actor: CurrentActor, mrn: Annotated[Mrn, Path()]) -> dict[str, Any]:
    state, fixes = _tracking(request).track(actor, mrn)
    return track_feature(mrn, state, fixes)


@router.get("/alerts", response_model=AlertPage, responses=responses(403, 422))
def list_alerts(
    request: Request,
    actor: CurrentActor,
    mrn: Annotated[Mrn | None, Query()] = None,
    kind: AlertKind | None = None,
    since: Annotated[QueryTime | None, Query(description="raised or cleared at or after")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    rows, next_id = _tracking(request).alerts(
        actor, mrn=mrn, kind=kind, since=since, after_id=decode_cursor(cursor), limit=limit
    )
    return {"items": [alert_view(r) for r in rows], "next_cursor": encode_cursor(next_id)}


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: LongText | None = None


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response_model=AlertOut,
    responses=responses(403, 404, 409, 422),
    summary="Close an alert after looking",
)
def acknowledge_alert(
    request: Request,
    actor: CurrentActor,
    alert_id: Annotated[int, Path(ge=1, le=2**62)],
    body: Annotated[AcknowledgeIn | None, Body()] = None,
) -> dict[str, Any]:
    row = _tracking(request).acknowledge(actor, alert_id, body.note if body else None)
    return alert_view(row)
