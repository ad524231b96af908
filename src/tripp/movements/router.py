"""HTTP routes for movements and their events."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import JSONResponse

from tripp.api.auth import Ctx, CurrentActor
from tripp.api.batching import LodgeBatcher
from tripp.api.paging import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from tripp.api.problems import responses
from tripp.movements import policy, service
from tripp.movements.lodging import LodgeRequest
from tripp.movements.model import EventType, MovementEvent, MovementState
from tripp.movements.schemas import (
    DeclarationIn,
    EventIn,
    EventRecorded,
    MovementOut,
    MovementPage,
    Timeline,
)
from tripp.movements.store import MovementFilter
from tripp.movements.views import event_view, movement_view, recorded_view

router = APIRouter(prefix="/api/v1/movements", tags=["movements"])


def request_hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@router.post(
    "",
    status_code=201,
    response_model=MovementOut,
    responses=responses(403, 409, 422),
    summary="Lodge a transit declaration",
)
def lodge(
    request: Request,
    ctx: Ctx,
    actor: CurrentActor,
    declaration: Annotated[DeclarationIn, Body()],
    idempotency_key: Annotated[
        str | None, Header(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> JSONResponse:
    batcher: LodgeBatcher = request.app.state.lodge_batcher
    lodged = batcher.submit(
        LodgeRequest(
            actor=actor,
            declaration=declaration.to_domain(),
            idempotency_key=idempotency_key,
            request_hash=request_hash(declaration.model_dump(mode="json")),
        )
    )
    body = lodged.response
    location = str(request.url_for("get_movement", mrn=body["mrn"]).path)
    return JSONResponse(body, status_code=201, headers={"Location": location})


@router.get("", response_model=MovementPage, responses=responses(403, 422))
def list_movements(
    ctx: Ctx,
    actor: CurrentActor,
    state: MovementState | None = None,
    office: Annotated[str | None, Query(max_length=16)] = None,
    holder: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = Query(default=None, description="changed at or after (RFC 3339)"),
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    found, next_seq = service.search(
        ctx,
        actor,
        MovementFilter(
            state=state,
            office=office,
            holder=holder,
            since=_aware(since),
            after_seq=decode_cursor(cursor),
            limit=limit,
        ),
    )
    commercial = policy.sees_commercial_data(actor)
    return {
        "items": [movement_view(m, commercial=commercial) for m in found],
        "next_cursor": encode_cursor(next_seq),
    }


def _aware(value: datetime | None) -> datetime | None:
    from datetime import UTC

    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # RFC 3339 is UTC unless it says otherwise
    return value


@router.get(
    "/{mrn}", response_model=MovementOut, responses=responses(403, 404), name="get_movement"
)
def get_movement(ctx: Ctx, actor: CurrentActor, mrn: str) -> dict[str, Any]:
    movement = service.get(ctx, actor, mrn)
    return movement_view(movement, commercial=policy.sees_commercial_data(actor))


@router.post(
    "/{mrn}/events",
    status_code=201,
    response_model=EventRecorded,
    responses={
        **responses(403, 404, 409, 422),
        200: {"model": EventRecorded, "description": "The same event id again: the first answer"},
    },
    summary="Record an event on a movement",
)
def record_event(
    ctx: Ctx, actor: CurrentActor, mrn: str, event: Annotated[EventIn, Body()]
) -> JSONResponse:
    raw = event.model_dump(mode="json", exclude_none=True)
    payload = event.model_dump(exclude={"id", "type", "office", "at"}, exclude_none=True)
    domain_event = MovementEvent(
        id=event.id,
        type=EventType(event.type),
        office=event.office,
        at=event.at,
        recorded_by=actor.party,
        payload=payload,
    )
    recorded = service.record(ctx, actor, mrn, domain_event, request_hash(raw))
    return JSONResponse(
        recorded_view(recorded.stored), status_code=201 if recorded.created else 200
    )


@router.get("/{mrn}/events", response_model=Timeline, responses=responses(403, 404))
def timeline(ctx: Ctx, actor: CurrentActor, mrn: str) -> dict[str, Any]:
    return {"mrn": mrn, "items": [event_view(s) for s in service.timeline(ctx, actor, mrn)]}
