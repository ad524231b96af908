"""The webhook tables, on the shared schema metadata; migration 0003 creates them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table

from tripp.db.tables import metadata
from tripp.db.types import Json, UTCDateTime

_SEQ = Integer().with_variant(BigInteger, "postgresql")

# The subscriber's party, role and country are kept as they were at subscription:
# they decide, per alert, whether the subscriber may receive it.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", _SEQ, primary_key=True, autoincrement=True),
    Column("party_id", String(64), ForeignKey("parties.id"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("country", String(2)),
    Column("url", String(2000), nullable=False),
    Column("kinds", Json, nullable=False),
    # Kept in clear: HMAC signing needs the secret itself, not a hash of it.
    Column("secret", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),
    Index("ix_webhooks_party", "party_id"),
)

# The outbox and the delivery log in one: a row is written in the alert's own
# transaction and updated after each attempt.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", _SEQ, primary_key=True, autoincrement=True),
    Column("webhook_id", _SEQ, ForeignKey("webhooks.id"), nullable=False),
    Column("alert_id", _SEQ, ForeignKey("alerts.id"), nullable=False),
    Column("event", String(8), nullable=False),
    Column("body", Json, nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime),
    Column("last_status_code", Integer),
    Column("last_error", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),
)
