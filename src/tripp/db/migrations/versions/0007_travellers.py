"""Traveller passage: announced vehicles, their travellers' advance data and decisions, and
the watchlist.

Identity columns of ``travellers`` are nullable: the purge job empties them after the
retention period and keeps the decision, its reason codes and the watchlist entries hit.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from tripp.db.types import Json, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_SEQ = sa.Integer().with_variant(sa.BigInteger, "postgresql")


def upgrade() -> None:
    op.create_table(
        "vehicle_announcements",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("vehicle_id", sa.String(64), nullable=False),
        sa.Column("vehicle_class", sa.String(24), nullable=False),
        sa.Column("office", sa.String(8), nullable=False),
        sa.Column("carrier", sa.String(64), nullable=False),
        sa.Column("expected_at", UTCDateTime),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "travellers",
        sa.Column("id", _SEQ, primary_key=True, autoincrement=True),
        sa.Column(
            "announcement_id",
            sa.String(64),
            sa.ForeignKey("vehicle_announcements.id"),
            nullable=False,
        ),
        sa.Column("row_no", sa.Integer, nullable=False),
        sa.Column("identity", Json),  # document and person: emptied by the purge
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("reasons", Json, nullable=False),
        sa.Column("matches", Json, nullable=False),
        sa.Column("final_outcome", sa.String(12)),
        sa.Column("officer", sa.String(64)),
        sa.Column("note", sa.String(2000)),
        sa.Column("decided_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("purged_at", UTCDateTime),
    )
    op.create_index("ix_travellers_announcement", "travellers", ["announcement_id", "row_no"])
    op.create_index("ix_travellers_created", "travellers", ["created_at"])
    op.create_table(
        "watchlist_entries",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("entry_id", sa.String(64), nullable=False, unique=True),
        sa.Column("surname", sa.String(100), nullable=False),
        sa.Column("given_names", sa.String(200), nullable=False),
        sa.Column("birth_date", sa.Date),
        sa.Column("nationality", sa.String(3)),
        sa.Column("list_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("added_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("watchlist_entries", "travellers", "vehicle_announcements"):
        op.drop_table(table)
