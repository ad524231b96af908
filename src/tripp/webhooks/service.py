"""Use cases of webhooks: subscribe, list, delete, read the log; and the outbox hook
``enqueue_alert`` that alert writers call inside their own transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from tripp.db.uow import UnitOfWork
from tripp.errors import Conflict, Forbidden, NotFound
from tripp.parties.model import Actor, Role

# The module, not the function: tracking may import this module while its own
# service module is still loading (monitor → webhooks → tracking.service).
from tripp.tracking import service as tracking
from tripp.webhooks import store
from tripp.webhooks.model import (
    AlertEvent,
    Delivery,
    DeliveryStatus,
    Subscription,
    Webhook,
    alert_payload,
    new_secret,
)

SUBSCRIBERS = (Role.ADMIN, Role.CUSTOMS, Role.OPERATOR, Role.CARRIER)
MAX_WEBHOOKS_PER_PARTY = 20


def _require_subscriber(actor: Actor) -> None:
    if actor.role not in SUBSCRIBERS:
        raise Forbidden(f"{actor.role} parties do not subscribe to alerts")


def subscribe(
    uow: UnitOfWork,
    actor: Actor,
    *,
    url: str,
    kinds: Sequence[str],
    secret: str | None = None,
    now: datetime,
) -> tuple[Webhook, str]:
    """Subscribe ``url`` to alert ``kinds`` for the caller; returns the webhook and
    its signing secret (generated unless given), which is shown only this once."""
    _require_subscriber(actor)
    wanted = Subscription(url, tuple(kinds), secret or new_secret())
    unique_kinds = tuple(dict.fromkeys(wanted.kinds))
    with uow.write() as conn:
        if store.count_active(conn, actor.party) >= MAX_WEBHOOKS_PER_PARTY:
            raise Conflict(f"{actor.party} has {MAX_WEBHOOKS_PER_PARTY} webhooks; delete one first")
        row = {
            "party_id": actor.party, "role": actor.role.value, "country": actor.country,
            "url": wanted.url, "kinds": list(unique_kinds), "secret": wanted.secret,
            "created_at": now,
        }  # fmt: skip
        webhook_id = store.insert_webhook(conn, row)
    hook = Webhook(
        webhook_id, actor.party, actor.role, actor.country, wanted.url, unique_kinds, now
    )
    return hook, wanted.secret


def list_for(uow: UnitOfWork, actor: Actor) -> list[Webhook]:
    """The caller's own webhooks (not another party's, whatever the role)."""
    _require_subscriber(actor)
    with uow.read() as conn:
        return store.active_webhooks(conn, actor.party)


def _owned(conn: Connection, actor: Actor, webhook_id: int) -> Webhook:
    hook = store.get_active(conn, webhook_id)
    if hook is None or hook.party != actor.party:
        raise NotFound(f"no webhook {webhook_id}")
    return hook


def delete(uow: UnitOfWork, actor: Actor, webhook_id: int, *, now: datetime) -> None:
    """Stop the webhook: nothing more is queued for it, and what it still owed is
    failed. A POST already in flight may still arrive."""
    _require_subscriber(actor)
    with uow.write() as conn:
        store.disable(conn, _owned(conn, actor, webhook_id).id, now)


def deliveries(
    uow: UnitOfWork, actor: Actor, webhook_id: int, *, after_id: int, limit: int
) -> tuple[list[Delivery], int | None]:
    """The delivery log of one of the caller's webhooks, oldest first."""
    _require_subscriber(actor)
    with uow.read() as conn:
        _owned(conn, actor, webhook_id)
        return store.list_deliveries(conn, webhook_id, after_id=after_id, limit=limit)


def enqueue_alert(conn: Connection, alert: Mapping[str, Any], event: str, now: datetime) -> int:
    """Queue ``event`` ('raised' or 'cleared') on ``alert`` for every webhook that
    wants its kind and whose subscriber may see it; returns how many were queued.

    Call it on the connection of the transaction that opened or cleared the
    alert: the deliveries then commit (or roll back) with the alert itself.
    ``alert`` is the alert's API view (``tripp.tracking.views.alert_view``); an
    ``event`` other than 'raised' or 'cleared' is a bug and raises ValueError.
    """
    kind, alert_id = str(alert["kind"]), int(alert["id"])
    body = alert_payload(alert, AlertEvent(event), now)
    visible: dict[Actor, bool] = {}
    rows = []
    # Subscriptions are few (a handful per party): filtering them here keeps the
    # kinds a plain JSON list on both stores, and checks each subscriber once.
    for hook in store.active_webhooks(conn):
        if not hook.wants(kind):
            continue
        who = hook.subscriber
        if who not in visible:
            visible[who] = tracking.alert_visible(conn, who, alert_id)
        if visible[who]:
            rows.append(_pending(hook.id, alert_id, event, body, now))
    store.insert_deliveries(conn, rows)
    return len(rows)


def alert_listener(conn: Connection, alert: dict[str, Any], event: str, now: datetime) -> None:
    """``enqueue_alert`` in the shape of ``tripp.tracking.monitor.AlertListener``."""
    enqueue_alert(conn, alert, event, now)


def _pending(
    webhook_id: int, alert_id: int, event: str, body: dict[str, Any], now: datetime
) -> dict[str, Any]:
    return {
        "webhook_id": webhook_id, "alert_id": alert_id, "event": event, "body": body,
        "status": DeliveryStatus.PENDING.value, "attempts": 0, "next_attempt_at": now,
        "created_at": now,
    }  # fmt: skip
