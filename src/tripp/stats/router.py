"""GET /stats: the only resource an observer sees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from tripp.api.auth import Ctx, CurrentActor
from tripp.api.problems import responses
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


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@router.get(
    "/stats", response_model=StatsOut, response_model_by_alias=True, responses=responses(422)
)
def get_stats(
    ctx: Ctx,
    _actor: CurrentActor,
    from_: Annotated[
        datetime | None, Query(alias="from", description="default: 30 days ago")
    ] = None,
    to: Annotated[datetime | None, Query(description="default: now")] = None,
) -> dict[str, Any]:
    try:
        end = _utc(to) if to else ctx.clock()
        start = _utc(from_) if from_ else end - timedelta(days=30)
    except OverflowError as exc:
        raise InvalidInput([FieldError("from", "out of range", "period")]) from exc
    if start >= end:
        raise InvalidInput([FieldError("from", "must be before 'to'", "period")])
    return stats(ctx.uow, start, end)
