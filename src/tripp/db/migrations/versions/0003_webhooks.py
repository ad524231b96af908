"""Webhooks: subscriptions and the delivery outbox/log.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from tripp.db.types import Json, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SEQ = sa.Integer().with_variant(sa.BigInteger, "postgresql")


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("party_id", sa.String(64), sa.ForeignKey("parties.id"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("country", sa.String(2)),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("kinds", Json, nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("disabled_at", UTCDateTime),
    )
    op.create_index("ix_webhooks_party", "webhooks", ["party_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("webhook_id", _SEQ, sa.ForeignKey("webhooks.id"), nullable=False),
        sa.Column("alert_id", _SEQ, sa.ForeignKey("alerts.id"), nullable=False),
        sa.Column("event", sa.String(8), nullable=False),
        sa.Column("body", Json, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime),
        sa.Column("last_status_code", sa.Integer),
        sa.Column("last_error", sa.String(200)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("delivered_at", UTCDateTime),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index("ix_webhook_deliveries_webhook", "webhook_deliveries", ["webhook_id", "id"])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
