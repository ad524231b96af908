"""GET /stats: the only resource an observer sees."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from tripp.api.auth import Ctx, CurrentActor
from tripp.api.problems import responses
from tripp.api.types import QueryTime
from tripp.errors import FieldError, InvalidInput
from tripp.stats.service import stats

router = APIRouter(prefix="/api/v1", tags=["stats"])


class SummaryOut(BaseModel):
    count: int
    median: float | None
    p95: float | None


class StatsOut(BaseModel):
    from_: datetime = Field(alias="from")
    to: datetime
    movements: int
    movements_by_state: dict[str, int]
    transit_time_hours: SummaryOut
    border_crossings_by_office: dict[str, int]
    border_post_dwell_minutes: SummaryOut | None
    alerts_per_100_movements: float | None


@router.get(
    "/stats", response_model=StatsOut, response_model_by_alias=True, responses=responses(422)
)
def get_stats(
    ctx: Ctx,
    _actor: CurrentActor,
    from_: Annotated[
        QueryTime | None, Query(alias="from", description="default: 30 days before 'to'")
    ] = None,
    to: Annotated[QueryTime | None, Query(description="default: now")] = None,
) -> dict[str, Any]:
    end = to or ctx.clock()
    start = from_ or end - timedelta(days=30)
    if start >= end:
        raise InvalidInput([FieldError("from", "must be before 'to'", "period")])
    return stats(ctx.uow, start, end)
