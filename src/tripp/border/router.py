"""HTTP routes of border posts: pre-arrival lists, screenings, risk rulesets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tripp.api.auth import CurrentActor
from tripp.api.paging import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from tripp.api.problems import responses
from tripp.api.types import ClientId, Code, Identifier, Mrn, PartyId, UtcTime
from tripp.border.service import Border, Target
from tripp.movements.router import request_hash

router = APIRouter(prefix="/api/v1", tags=["border posts"])
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
Container = Annotated[str, Field(pattern=r"^[A-Z]{3}[UJZ][0-9]{7}$")]


def _border(request: Request) -> Border:
    border: Border = request.app.state.border
    return border


class ScreeningIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: ClientId | None = Field(
        default=None, description="Chosen by the client; a repeated id answers the stored decision"
    )
    mrn: Mrn | None = None
    vehicle_id: Identifier | None = None
    container: Container | None = None
    at: UtcTime | None = Field(
        default=None,
        description="When it was screened (a post node syncing offline work); default now",
    )

    @model_validator(mode="after")
    def _one_target(self) -> ScreeningIn:
        given = [n for n in ("mrn", "vehicle_id", "container") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of mrn, vehicle_id, container (got {given or 'none'})"
            )
        return self


class ReasonOut(BaseModel):
    rule: str
    kind: str
    points: int
    lane: Literal["green", "yellow", "red"] | None = None
    detail: str


class RulesetRef(BaseModel):
    country: str
    version: int


class ScreeningOut(BaseModel):
    id: str
    mrn: str
    office: str
    at: datetime
    lane: Literal["green", "yellow", "red"]
    score: int
    reasons: list[ReasonOut]
    ruleset: RulesetRef
    draw: float = Field(description="The random-selection draw, recomputable from MRN and ruleset")
    inspection_required: bool
    inspection_needed: str | None = None
    subject: dict[str, Any] | None = Field(
        default=None,
        description="What was screened (goods, mass, holder history, alerts, trust); customs "
        "and admin only. With the ruleset version and the draw it recomputes the decision.",
    )


class ExpectedItem(BaseModel):
    mrn: str
    state: str
    holder: str
    mode: str
    vehicle_id: str
    containers: list[str]
    seals: list[str]
    tracker_id: str | None = None
    office_role: Literal["transit", "destination"] | None = None
    next_event: dict[str, str]
    released_at: datetime | None = None
    eta: datetime
    eta_source: Literal["tracking", "schedule"]
    lane: Literal["green", "yellow", "red"]
    reasons: list[ReasonOut]
    ruleset: RulesetRef
    screening: ScreeningOut | None = None
    inspection_required: bool
    inspection_needed: str | None = Field(
        default=None, description="what the strictest screening here still needs recorded"
    )
    open_alerts: list[str]
    goods: list[dict[str, str]] | None = Field(
        default=None, description="hs_code and gross_mass_kg; customs and admin only"
    )
    subject: dict[str, Any] | None = Field(
        default=None,
        description="What the precomputed lane was decided on; customs and admin only",
    )


class ExpectedPage(BaseModel):
    office: str
    items: list[ExpectedItem]
    next_cursor: str | None = None


class ScreeningList(BaseModel):
    mrn: str
    items: list[ScreeningOut]


@router.get(
    "/offices/{code}/expected",
    response_model=ExpectedPage,
    responses=responses(403, 404),
    summary="Movements expected at an office, soonest first",
)
def expected(
    request: Request,
    actor: CurrentActor,
    code: Annotated[Code, Path()],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    start = decode_cursor(cursor) if cursor else 0
    page, total = _border(request).expected(actor, code, start, limit)
    more = start + limit < total
    return {
        "office": code,
        "items": page,
        "next_cursor": encode_cursor(start + limit) if more else None,
    }


@router.post(
    "/offices/{code}/screenings",
    status_code=201,
    response_model=ScreeningOut,
    responses={
        **responses(403, 404, 409, 422),
        200: {"model": ScreeningOut, "description": "The same id again: the stored decision"},
    },
    summary="Screen a movement at an office: green, yellow or red, with every reason",
)
def post_screening(
    request: Request,
    actor: CurrentActor,
    code: Annotated[Code, Path()],
    body: Annotated[ScreeningIn, Body()],
) -> JSONResponse:
    raw = body.model_dump(mode="json", exclude_none=True)
    view, created = _border(request).screen(
        actor,
        code,
        Target(body.mrn, body.vehicle_id, body.container),
        body.id,
        request_hash({**raw, "office": code}),
        body.at,
    )
    return JSONResponse(jsonable_encoder(view), status_code=201 if created else 200)


@router.get(
    "/movements/{mrn}/screenings",
    response_model=ScreeningList,
    responses=responses(403, 404),
    summary="A movement's screenings at every office",
)
def list_screenings(
    request: Request, actor: CurrentActor, mrn: Annotated[Mrn, Path()]
) -> dict[str, Any]:
    return {"mrn": mrn, "items": _border(request).screenings(actor, mrn)}


@router.get(
    "/risk/rulesets/{country}",
    responses=responses(403, 422),
    summary="A country's current risk ruleset",
)
def get_ruleset(
    request: Request, actor: CurrentActor, country: Annotated[Country, Path()]
) -> dict[str, Any]:
    return _border(request).ruleset(actor, country)


@router.get(
    "/risk/rulesets/{country}/versions/{version}",
    responses=responses(403, 404, 422),
    summary="One version of a country's risk ruleset",
)
def get_ruleset_version(
    request: Request,
    actor: CurrentActor,
    country: Annotated[Country, Path()],
    version: Annotated[int, Path(ge=1, le=10**6)],
) -> dict[str, Any]:
    return _border(request).ruleset(actor, country, version)


@router.put(
    "/risk/rulesets/{country}",
    status_code=201,
    responses=responses(403, 422),
    summary="Publish the next version of a country's risk ruleset (its own customs only)",
)
def put_ruleset(
    request: Request,
    actor: CurrentActor,
    country: Annotated[Country, Path()],
    body: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    return _border(request).publish_ruleset(actor, country, body)


@router.put(
    "/risk/trusted/{country}/{holder}",
    status_code=204,
    responses=responses(403, 422),
    summary="Grant trusted-trader status (the country's customs)",
)
def grant_trust(
    request: Request,
    actor: CurrentActor,
    country: Annotated[Country, Path()],
    holder: Annotated[PartyId, Path()],
) -> None:
    _border(request).set_trust(actor, country, holder, True)


@router.delete(
    "/risk/trusted/{country}/{holder}",
    status_code=204,
    responses=responses(403, 422),
    summary="Withdraw trusted-trader status",
)
def revoke_trust(
    request: Request,
    actor: CurrentActor,
    country: Annotated[Country, Path()],
    holder: Annotated[PartyId, Path()],
) -> None:
    _border(request).set_trust(actor, country, holder, False)
