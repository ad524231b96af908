"""HTTP routes of transit fees: schedules, a movement's fee, payments, accounts, reports."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from tripp.api.auth import CurrentActor
from tripp.api.problems import responses
from tripp.api.types import ClientId, DecimalText, Mrn, PartyId, QueryDate
from tripp.fees.desk import FeeDesk
from tripp.fees.reconciliation import to_csv, to_json

router = APIRouter(prefix="/api/v1", tags=["transit fees"])
Reference = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9._:/-]+$")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Amount = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=4), *DecimalText]


def _desk(request: Request) -> FeeDesk:
    desk: FeeDesk = request.app.state.fee_desk
    return desk


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: Literal["prepaid", "external"] = Field(
        description="prepaid: from the payer's prepaid account; external: taken at the front "
        "office (cash, card, bank transfer) under its payment reference"
    )
    reference: Reference = Field(
        description="The payment reference (external) or the client's idempotency key; a "
        "repeat answers the first settlement"
    )
    amount: Amount | None = Field(default=None, description="external payments: exactly the fee")
    currency: Currency | None = None


class TopUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Amount
    currency: Currency
    reference: Reference


@router.get("/fees/schedules", responses=responses(404), summary="The fee schedules in force")
def get_schedules(request: Request, actor: CurrentActor) -> dict[str, Any]:
    return _desk(request).schedules(actor)


@router.put(
    "/fees/schedules",
    status_code=201,
    responses=responses(403, 409, 422),
    summary="Publish the fee schedules (each version by its authority only)",
)
def put_schedules(
    request: Request, actor: CurrentActor, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    return _desk(request).publish(actor, body)


@router.get(
    "/movements/{mrn}/fee",
    responses=responses(404, 409, 422),
    summary="A movement's transit fee, its assessment lines and receipt",
)
def get_fee(request: Request, actor: CurrentActor, mrn: Annotated[Mrn, Path()]) -> Any:
    return JSONResponse(jsonable_encoder(_desk(request).fee(actor, mrn)))


@router.post(
    "/movements/{mrn}/fee/payments",
    status_code=201,
    responses={**responses(403, 404, 409, 422), 200: {"description": "The same reference again"}},
    summary="Settle a movement's transit fee",
)
def pay(
    request: Request,
    actor: CurrentActor,
    mrn: Annotated[Mrn, Path()],
    body: Annotated[PaymentIn, Body()],
) -> JSONResponse:
    view, created = _desk(request).pay(
        actor, mrn, method=body.method, reference=body.reference, amount=body.amount,
        currency=body.currency,
    )  # fmt: skip
    return JSONResponse(jsonable_encoder(view), status_code=201 if created else 200)


@router.post(
    "/fees/accounts/{carrier}/top-ups",
    status_code=201,
    responses={**responses(403, 409, 422), 200: {"description": "The same reference again"}},
    summary="Credit a carrier's prepaid account (operator's staff)",
)
def post_top_up(
    request: Request,
    actor: CurrentActor,
    carrier: Annotated[PartyId, Path()],
    body: Annotated[TopUpIn, Body()],
) -> JSONResponse:
    view, created = _desk(request).top_up(actor, carrier, body.amount, body.currency,
                                          body.reference)  # fmt: skip
    return JSONResponse(view, status_code=201 if created else 200)


@router.get(
    "/fees/accounts/{carrier}",
    responses=responses(404, 422),
    summary="What a carrier holds on its prepaid account",
)
def get_account(
    request: Request,
    actor: CurrentActor,
    carrier: Annotated[PartyId, Path()],
    currency: Annotated[Currency, Query()] = "AMD",
) -> dict[str, Any]:
    return _desk(request).account(actor, carrier, currency)


@router.get(
    "/fees/reconciliation",
    responses={
        **responses(403, 422),
        200: {
            "description": "One report per party: JSON, or CSV with format=csv",
            "content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}}},
        },
    },
    summary="Daily reconciliation per party, JSON or CSV",
)
def reconciliation(
    request: Request,
    actor: CurrentActor,
    day: Annotated[QueryDate, Query(description="the schedules' local day, YYYY-MM-DD")],
    party: Annotated[PartyId | None, Query()] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    reports = _desk(request).reconciliation(actor, day, party)
    if format == "csv":
        return PlainTextResponse(
            "".join(to_csv(r) for r in reports), media_type="text/csv; charset=utf-8"
        )
    return JSONResponse(
        {"day": day.isoformat(), "reports": [jsonable_encoder(to_json(r)) for r in reports]}
    )


@router.get(
    "/vehicles/{announcement_id}/fee",
    responses=responses(404, 422),
    summary="An announced vehicle's transit fee and receipt",
)
def get_vehicle_fee(
    request: Request, actor: CurrentActor, announcement_id: Annotated[ClientId, Path()]
) -> Any:
    return JSONResponse(jsonable_encoder(_desk(request).vehicle_fee(actor, announcement_id)))


@router.post(
    "/vehicles/{announcement_id}/fee/payments",
    status_code=201,
    responses={**responses(403, 404, 409, 422), 200: {"description": "The same reference again"}},
    summary="Settle an announced vehicle's transit fee",
)
def pay_vehicle(
    request: Request,
    actor: CurrentActor,
    announcement_id: Annotated[ClientId, Path()],
    body: Annotated[PaymentIn, Body()],
) -> JSONResponse:
    view, created = _desk(request).pay_vehicle(
        actor, announcement_id, method=body.method, reference=body.reference,
        amount=body.amount, currency=body.currency,
    )  # fmt: skip
    return JSONResponse(jsonable_encoder(view), status_code=201 if created else 200)
