"""HTTP routes of traveller passage: vehicle announcements, manifests, officers' decisions."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from tripp.api.auth import CurrentActor
from tripp.api.problems import responses
from tripp.api.types import ClientId, Code, Identifier, LongText, PartyId, UtcTime
from tripp.errors import FieldError, InvalidInput
from tripp.movements.router import request_hash
from tripp.travellers.manifest import traveller_from_fields
from tripp.travellers.passage import Passage

router = APIRouter(prefix="/api/v1", tags=["travellers"])
Short = Annotated[str, Field(max_length=64)]


def _passage(request: Request) -> Passage:
    passage: Passage = request.app.state.passage
    return passage


class TravellerIn(BaseModel):
    """Advance passenger data of one traveller, as in the document (ICAO 9303 codes)."""

    model_config = ConfigDict(extra="forbid")
    document_type: Short
    document_number: Short
    issuing_state: Short
    nationality: Short
    surname: Short
    given_names: Short = ""
    birth_date: Short = Field(default="", description="YYYY-MM-DD")
    sex: Short = Field(description="M, F or X")
    expiry: Short = Field(default="", description="YYYY-MM-DD")
    mrz_line1: Annotated[str, Field(max_length=44)] = ""
    mrz_line2: Annotated[str, Field(max_length=44)] = ""
    mrz_line3: Annotated[str, Field(max_length=44)] = ""


VehicleClass = Literal["bus", "minibus", "car", "van", "truck", "train"]
MAX_MANIFEST_BYTES = 2 * 1024 * 1024  # the manifest parser's own limit


class VehicleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: ClientId = Field(description="Chosen by the client; a repeat answers the first")
    vehicle_id: Identifier
    vehicle_class: VehicleClass
    office: Code = Field(description="The office the vehicle is expected at")
    carrier: PartyId | None = Field(default=None, description="staff only: whose vehicle")
    expected_at: UtcTime | None = None
    travellers: list[TravellerIn] = Field(default_factory=list, max_length=1000)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["admitted", "refused"]
    note: LongText | None = None


@router.post(
    "/vehicles",
    status_code=201,
    responses={**responses(403, 409, 422), 200: {"description": "The same id again"}},
    summary="Announce a vehicle with its travellers' advance passenger data",
)
def announce(request: Request, actor: CurrentActor, body: Annotated[VehicleIn, Body()]) -> Any:
    now = datetime.now(UTC).date()
    people, errors = [], []
    for i, t in enumerate(body.travellers):
        try:
            people.append(
                traveller_from_fields(t.model_dump(), today=now, prefix=f"travellers[{i}].")
            )
        except InvalidInput as exc:
            errors += exc.errors
    if errors:
        raise InvalidInput(errors)
    view, created = _passage(request).announce(
        actor, announcement_id=body.id, vehicle_id=body.vehicle_id,
        vehicle_class=body.vehicle_class, office=body.office, carrier=body.carrier,
        expected_at=body.expected_at, people=people,
        request_hash=request_hash(body.model_dump(mode="json")),
    )  # fmt: skip
    return JSONResponse(jsonable_encoder(view), status_code=201 if created else 200)


@router.post(
    "/vehicles/{announcement_id}/manifest",
    status_code=201,
    responses={**responses(403, 409, 422), 200: {"description": "The same id again"}},
    summary="Announce a vehicle from a CSV passenger manifest (text/csv body)",
    openapi_extra={
        "requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}
    },
)
async def manifest(
    request: Request,
    actor: CurrentActor,
    announcement_id: Annotated[ClientId, Path()],
    vehicle_id: Annotated[Identifier, Query()],
    vehicle_class: Annotated[VehicleClass, Query()],
    office: Annotated[Code, Query()],
) -> Any:
    size = request.headers.get("content-length")
    if size is None or not size.isdigit() or int(size) > MAX_MANIFEST_BYTES:
        raise InvalidInput([FieldError("body", f"a manifest is sent with its Content-Length, "
                                       f"at most {MAX_MANIFEST_BYTES:,} bytes", "max-bytes")])  # fmt: skip
    data = await request.body()
    passage = _passage(request)
    digest = hashlib.sha256(f"{vehicle_id}|{vehicle_class}|{office}|".encode() + data).hexdigest()

    def work() -> tuple[dict[str, Any], bool]:
        # Parsing and screening thousands of rows: off the event loop.
        people = passage.manifest(data, today=datetime.now(UTC).date())
        return passage.announce(
            actor, announcement_id=announcement_id, vehicle_id=vehicle_id,
            vehicle_class=vehicle_class, office=office, carrier=None, expected_at=None,
            people=people, request_hash=digest,
        )  # fmt: skip

    view, created = await run_in_threadpool(work)
    return JSONResponse(jsonable_encoder(view), status_code=201 if created else 200)


@router.get(
    "/vehicles/{announcement_id}",
    responses=responses(404),
    summary="An announced vehicle: identities for border officials, counts for the rest",
)
def vehicle(
    request: Request, actor: CurrentActor, announcement_id: Annotated[ClientId, Path()]
) -> Any:
    return JSONResponse(jsonable_encoder(_passage(request).vehicle(actor, announcement_id)))


@router.post(
    "/travellers/{traveller_id}/decision",
    responses=responses(403, 404, 409, 422),
    summary="A border official's final decision on a traveller",
)
def decide(
    request: Request,
    actor: CurrentActor,
    traveller_id: Annotated[int, Path(ge=1, le=2**62)],
    body: Annotated[DecisionIn, Body()],
) -> Any:
    view = _passage(request).decide(actor, traveller_id, body.outcome, body.note or "")
    return JSONResponse(jsonable_encoder(view))
