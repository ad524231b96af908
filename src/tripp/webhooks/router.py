"""HTTP routes for webhook subscriptions and their delivery logs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from tripp.api.auth import Ctx, CurrentActor
from tripp.api.paging import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from tripp.api.problems import responses
from tripp.webhooks import service
from tripp.webhooks.model import MAX_URL_LENGTH, Delivery, Webhook

router = APIRouter(prefix="/api/v1", tags=["webhooks"])

AlertKind = Literal[
    "route_deviation", "unauthorized_stop", "seal_opened", "speeding", "overdue", "tracker_silent"
]
WebhookId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH)]
    kinds: Annotated[list[AlertKind], Field(min_length=1, max_length=20)]
    secret: Annotated[
        str | None,
        Field(
            pattern=r"^[\x21-\x7e]{16,128}$",
            description="HMAC key (16-128 printable ASCII); generated when absent",
        ),
    ] = None


class WebhookOut(BaseModel):
    id: int
    url: str
    kinds: list[str]
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret; shown only in this answer")


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: int = Field(description="Also sent as X-Tripp-Delivery")
    webhook_id: int
    alert_id: int
    event: Literal["raised", "cleared"]
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: datetime
    delivered_at: datetime | None = None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = None


def webhook_view(w: Webhook) -> dict[str, Any]:
    return {"id": w.id, "url": w.url, "kinds": list(w.kinds), "created_at": w.created_at}


def delivery_view(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id, "webhook_id": d.webhook_id, "alert_id": d.alert_id, "event": d.event.value,
        "status": d.status.value, "attempts": d.attempts, "next_attempt_at": d.next_attempt_at,
        "last_status_code": d.last_status_code, "last_error": d.last_error,
        "created_at": d.created_at, "delivered_at": d.delivered_at,
    }  # fmt: skip


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    responses=responses(403, 409, 422),
    summary="Subscribe a URL to alert kinds",
)
def subscribe(ctx: Ctx, actor: CurrentActor, body: Annotated[WebhookIn, Body()]) -> dict[str, Any]:
    hook, secret = service.subscribe(
        ctx.uow, actor, url=body.url, kinds=body.kinds, secret=body.secret, now=ctx.clock()
    )
    return {**webhook_view(hook), "secret": secret}


@router.get("/webhooks", response_model=WebhookList, responses=responses(403))
def list_webhooks(ctx: Ctx, actor: CurrentActor) -> dict[str, Any]:
    return {"items": [webhook_view(w) for w in service.list_for(ctx.uow, actor)]}


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=204,
    response_class=Response,
    responses=responses(403, 404, 422),
    summary="Delete a webhook; what it still owed is not sent",
)
def delete_webhook(ctx: Ctx, actor: CurrentActor, webhook_id: WebhookId) -> Response:
    service.delete(ctx.uow, actor, webhook_id, now=ctx.clock())
    return Response(status_code=204)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=DeliveryPage,
    responses=responses(403, 404, 422),
    summary="The delivery log of a webhook, oldest first",
)
def list_deliveries(
    ctx: Ctx,
    actor: CurrentActor,
    webhook_id: WebhookId,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    found, next_id = service.deliveries(
        ctx.uow, actor, webhook_id, after_id=decode_cursor(cursor), limit=limit
    )
    return {"items": [delivery_view(d) for d in found], "next_cursor": encode_cursor(next_id)}
