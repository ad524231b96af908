"""HTTP routes for guarantees."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict

from tripp.api.auth import Ctx, CurrentActor
from tripp.api.problems import responses
from tripp.api.types import Amount, Code, Money, PartyId, Reference
from tripp.codes.currency import money_str
from tripp.guarantees import service
from tripp.guarantees.model import Guarantee

router = APIRouter(prefix="/api/v1/guarantees", tags=["guarantees"])


class GuaranteeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    holder: PartyId
    reference_amount: Amount
    currency: Code


class GuaranteeOut(BaseModel):
    grn: str
    holder: str
    reference_amount: Money
    committed: Money
    available: Money
    currency: str
    issued_by: str


def guarantee_view(g: Guarantee) -> dict[str, Any]:
    return {
        "grn": g.grn,
        "holder": g.holder,
        "reference_amount": money_str(g.reference_amount, g.currency),
        "committed": money_str(g.committed, g.currency),
        "available": money_str(g.available, g.currency),
        "currency": g.currency,
        "issued_by": g.issued_by,
    }


@router.post(
    "",
    status_code=201,
    response_model=GuaranteeOut,
    responses=responses(403, 422),
    summary="Register a guarantee (customs)",
)
def register(ctx: Ctx, actor: CurrentActor, body: GuaranteeIn) -> dict[str, Any]:
    g = service.register(
        ctx.uow,
        ctx.corridor,
        actor,
        holder=body.holder,
        reference_amount=body.reference_amount,
        currency=body.currency,
        now=ctx.clock(),
    )
    return guarantee_view(g)


@router.get("/{grn}", response_model=GuaranteeOut, responses=responses(403, 404))
def get(ctx: Ctx, actor: CurrentActor, grn: Annotated[Reference, Path()]) -> dict[str, Any]:
    return guarantee_view(service.get(ctx.uow, actor, grn))
