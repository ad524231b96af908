"""Transit core: parties, tokens, guarantees, movements, events, idempotency keys.

Revision ID: 0001
Revises:
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from tripp.db.types import Json, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SEQ = sa.Integer().with_variant(sa.BigInteger, "postgresql")

BUILTIN_PARTIES = [
    ("SYSTEM", "admin", None, "tripp system administration"),
    ("AZ-CUSTOMS", "customs", "AZ", "State Customs Committee of Azerbaijan"),
    ("AM-CUSTOMS", "customs", "AM", "State Revenue Committee of Armenia, customs"),
    ("CORRIDOR-OPERATOR", "operator", "AM", "TRIPP corridor operator"),
    ("WORKING-GROUP", "observer", None, "Bilateral working group"),
]


def upgrade() -> None:
    parties = op.create_table(
        "parties",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("country", sa.String(2)),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("party_id", sa.String(64), sa.ForeignKey("parties.id"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime),
    )
    op.create_table(
        "guarantees",
        sa.Column("grn", sa.String(24), primary_key=True),
        sa.Column("holder", sa.String(64), sa.ForeignKey("parties.id"), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reference_minor", sa.BigInteger, nullable=False),
        sa.Column("committed_minor", sa.BigInteger, nullable=False),
        sa.Column("issued_by", sa.String(64), sa.ForeignKey("parties.id"), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.CheckConstraint(
            "committed_minor >= 0 AND committed_minor <= reference_minor",
            name="ck_guarantee_never_over_committed",
        ),
    )
    op.create_table(
        "movements",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("mrn", sa.String(18), nullable=False, unique=True),
        sa.Column("holder", sa.String(64), sa.ForeignKey("parties.id"), nullable=False),
        sa.Column("guarantee_grn", sa.String(24), sa.ForeignKey("guarantees.grn"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("declaration", Json, nullable=False),
        sa.Column("liability_minor", sa.BigInteger, nullable=False),
        sa.Column("liability_currency", sa.String(3), nullable=False),
        sa.Column("accepted_at", UTCDateTime, nullable=False),
        sa.Column("released_at", UTCDateTime),
        sa.Column("time_limit", UTCDateTime),
        sa.Column("arrived_at", UTCDateTime),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("seals", Json, nullable=False),
        sa.Column("tracker_id", sa.String(64)),
    )
    op.create_index("ix_movements_holder", "movements", ["holder"])
    op.create_index("ix_movements_state_time_limit", "movements", ["state", "time_limit"])
    op.create_index("ix_movements_updated_at", "movements", ["updated_at"])
    op.create_table(
        "movement_offices",
        sa.Column("mrn", sa.String(18), sa.ForeignKey("movements.mrn"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("office_code", sa.String(8), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
    )
    op.create_index("ix_movement_offices_office", "movement_offices", ["office_code"])
    op.create_index("ix_movement_offices_country", "movement_offices", ["country", "mrn"])
    op.create_table(
        "events",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("mrn", sa.String(18), sa.ForeignKey("movements.mrn"), nullable=False),
        sa.Column("type", sa.String(24), nullable=False),
        sa.Column("office", sa.String(8)),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.Column("state_before", sa.String(16), nullable=False),
        sa.Column("state_after", sa.String(16), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("mrn", "id", name="uq_events_mrn_id"),
    )
    op.create_index("ix_events_mrn", "events", ["mrn", "seq"])
    op.create_table(
        "idempotency_keys",
        sa.Column("party_id", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("mrn", sa.String(18), sa.ForeignKey("movements.mrn"), nullable=False),
        sa.Column("response", Json, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("mrn", name="uq_idempotency_mrn"),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        parties,
        [
            {"id": i, "role": r, "country": c, "name": n, "created_at": now}
            for i, r, c, n in BUILTIN_PARTIES
        ],
    )


def downgrade() -> None:
    for table in (
        "idempotency_keys",
        "events",
        "movement_offices",
        "movements",
        "guarantees",
        "tokens",
        "parties",
    ):
        op.drop_table(table)
