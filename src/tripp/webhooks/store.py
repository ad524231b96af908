"""Webhooks and their deliveries in the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError

from tripp.parties.model import Role
from tripp.webhooks.model import AlertEvent, Delivery, DeliveryStatus, Settlement, Webhook
from tripp.webhooks.tables import webhook_deliveries as deliveries
from tripp.webhooks.tables import webhooks

_PENDING = DeliveryStatus.PENDING.value

# --- webhooks --------------------------------------------------------------------


def insert_webhook(conn: Connection, row: dict[str, Any]) -> int:
    try:
        key = conn.execute(insert(webhooks).values(**row)).inserted_primary_key
    except DBAPIError as exc:
        # The statement's parameters hold the secret: keep them out of any log of this error.
        exc.hide_parameters = True
        raise
    assert key is not None
    return int(key[0])


def _webhook(row: Row[Any]) -> Webhook:
    return Webhook(
        id=row.id,
        party=row.party_id,
        role=Role(row.role),
        country=row.country,
        url=row.url,
        kinds=tuple(row.kinds),
        created_at=row.created_at,
        disabled_at=row.disabled_at,
    )


def active_webhooks(conn: Connection, party: str | None = None) -> list[Webhook]:
    """Subscriptions not deleted, oldest first; all parties' unless ``party`` is given."""
    query = select(webhooks).where(webhooks.c.disabled_at.is_(None))
    if party is not None:
        query = query.where(webhooks.c.party_id == party)
    return [_webhook(r) for r in conn.execute(query.order_by(webhooks.c.id))]


def get_active(conn: Connection, webhook_id: int) -> Webhook | None:
    query = select(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.disabled_at.is_(None))
    row = conn.execute(query).first()
    return _webhook(row) if row else None


def count_active(conn: Connection, party: str) -> int:
    query = select(func.count()).where(
        webhooks.c.party_id == party, webhooks.c.disabled_at.is_(None)
    )
    return int(conn.execute(query).scalar_one())


def disable(conn: Connection, webhook_id: int, at: datetime) -> None:
    """Delete softly (the log stays) and give up what it still owed."""
    conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(disabled_at=at))
    conn.execute(
        update(deliveries)
        .where(deliveries.c.webhook_id == webhook_id, deliveries.c.status == _PENDING)
        .values(
            status=DeliveryStatus.FAILED.value,
            next_attempt_at=None,
            last_error="webhook deleted",
        )
    )


# --- the delivery log ------------------------------------------------------------


def insert_deliveries(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(deliveries), list(rows))


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        webhook_id=row.webhook_id,
        alert_id=row.alert_id,
        event=AlertEvent(row.event),
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


def list_deliveries(
    conn: Connection, webhook_id: int, *, after_id: int, limit: int
) -> tuple[list[Delivery], int | None]:
    """One page, oldest first, and the id to continue after (None on the last page)."""
    query = (
        select(deliveries)
        .where(deliveries.c.webhook_id == webhook_id, deliveries.c.id > after_id)
        .order_by(deliveries.c.id)
        .limit(limit + 1)
    )
    rows = list(conn.execute(query))
    page = [_delivery(r) for r in rows[:limit]]
    return page, (page[-1].id if len(rows) > limit else None)


# --- dispatching -----------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A delivery taken for one attempt; ``attempts`` already counts it."""

    id: int
    attempts: int
    body: dict[str, Any]
    url: str
    secret: str


def fail_exhausted(conn: Connection, now: datetime, max_attempts: int) -> None:
    """Fail deliveries whose last allowed attempt was claimed but never recorded
    (the process died mid-send) once that claim has lapsed."""
    conn.execute(
        update(deliveries)
        .where(
            deliveries.c.status == _PENDING,
            deliveries.c.attempts >= max_attempts,
            deliveries.c.next_attempt_at <= now,
        )
        .values(status=DeliveryStatus.FAILED.value, next_attempt_at=None)
    )


def claim_due(
    conn: Connection, *, now: datetime, lease_until: datetime, limit: int, max_attempts: int
) -> list[Claimed]:
    """Take up to ``limit`` due deliveries for one attempt each, until ``lease_until``.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets several dispatchers claim
    disjoint rows. SQLite renders no FOR UPDATE; its write transactions
    (BEGIN IMMEDIATE) already admit one writer at a time. Either way the
    claim moves ``next_attempt_at`` to the lease's end, so a dispatcher that
    dies mid-send leaves the delivery due again once the lease lapses.
    """
    query = (
        select(
            deliveries.c.id, deliveries.c.attempts, deliveries.c.body, webhooks.c.url,
            webhooks.c.secret,
        )
        .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
        .where(
            deliveries.c.status == _PENDING,
            # Never tried: due at once, whatever clock stamped it (a fix's time may be ahead).
            or_(deliveries.c.next_attempt_at <= now, deliveries.c.attempts == 0),
            deliveries.c.attempts < max_attempts,
            webhooks.c.disabled_at.is_(None),
        )
        .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=deliveries)
    )  # fmt: skip
    rows = list(conn.execute(query))
    if not rows:
        return []
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id.in_([r.id for r in rows]))
        .values(attempts=deliveries.c.attempts + 1, next_attempt_at=lease_until)
    )
    return [Claimed(r.id, r.attempts + 1, dict(r.body), r.url, r.secret) for r in rows]


_RECORD = (
    update(deliveries)
    .where(
        and_(
            deliveries.c.id == bindparam("b_id"),
            deliveries.c.attempts == bindparam("b_attempts"),
            deliveries.c.status == _PENDING,
        )
    )
    .values(
        status=bindparam("b_status"),
        next_attempt_at=bindparam("b_next", type_=deliveries.c.next_attempt_at.type),
        delivered_at=bindparam("b_delivered", type_=deliveries.c.delivered_at.type),
        last_status_code=bindparam("b_code"),
        last_error=bindparam("b_error"),
    )
)


@dataclass(frozen=True)
class Recorded:
    claimed: Claimed
    status_code: int | None
    error: str | None
    settlement: Settlement


def record(conn: Connection, results: Sequence[Recorded]) -> None:
    """Write each attempt's outcome, unless the delivery moved on meanwhile (deleted
    webhook, or a lapsed claim taken by another dispatcher): theirs is the newer word."""
    if not results:
        return
    conn.execute(
        _RECORD,
        [
            {
                "b_id": r.claimed.id,
                "b_attempts": r.claimed.attempts,
                "b_status": r.settlement.status.value,
                "b_next": r.settlement.next_attempt_at,
                "b_delivered": r.settlement.delivered_at,
                "b_code": r.status_code,
                "b_error": r.error[:200] if r.error else None,
            }
            for r in results
        ],
    )
