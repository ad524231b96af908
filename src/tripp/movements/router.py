"""HTTP routes for movements and their events."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from tripp.api.auth import Ctx, CurrentActor
from tripp.api.batching import LodgeBatcher
from tripp.api.paging import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from tripp.api.problems import responses
from tripp.api.types import Code, Mrn, PartyId, QueryTime
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
    office: Annotated[Code | None, Query()] = None,
    holder: Annotated[PartyId | None, Query()] = None,
    since: Annotated[QueryTime | None, Query(description="changed at or after (RFC 3339)")] = None,
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
            since=since,
            after_seq=decode_cursor(cursor),
            limit=limit,
        ),
    )
    commercial = policy.sees_commercial_data(actor)
    return {
        "items": [movement_view(m, commercial=commercial) for m in found],
        "next_cursor": encode_cursor(next_seq),
    }


@router.get(
    "/{mrn}", response_model=MovementOut, responses=responses(403, 404), name="get_movement"
)
def get_movement(ctx: Ctx, actor: CurrentActor, mrn: Annotated[Mrn, Path()]) -> dict[str, Any]:
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
    ctx: Ctx, actor: CurrentActor, mrn: Annotated[Mrn, Path()], event: Annotated[EventIn, Body()]
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
def timeline(ctx: Ctx, actor: CurrentActor, mrn: Annotated[Mrn, Path()]) -> dict[str, Any]:
    return {"mrn": mrn, "items": [event_view(s) for s in service.timeline(ctx, actor, mrn)]}
