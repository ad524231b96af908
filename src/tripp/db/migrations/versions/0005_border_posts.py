"""Border posts: risk rulesets per country and version, trusted traders, screenings.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from tripp.db.types import Json, UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_rulesets",
        sa.Column("country", sa.String(2), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("body", Json, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "trusted_traders",
        sa.Column("country", sa.String(2), primary_key=True),
        sa.Column("holder", sa.String(64), primary_key=True),
        sa.Column("granted_by", sa.String(64), nullable=False),
        sa.Column("granted_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "screenings",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("mrn", sa.String(18), sa.ForeignKey("movements.mrn"), nullable=False),
        sa.Column("office", sa.String(8), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("lane", sa.String(8), nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("reasons", Json, nullable=False),
        sa.Column("ruleset_country", sa.String(2), nullable=False),
        sa.Column("ruleset_version", sa.Integer, nullable=False),
        sa.Column("draw", sa.Float, nullable=False),
        sa.Column("subject", Json, nullable=False),
        sa.Column("screened_by", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_screenings_mrn_office", "screenings", ["mrn", "office", "at"])


def downgrade() -> None:
    op.drop_index("ix_screenings_mrn_office", "screenings")
    for table in ("screenings", "trusted_traders", "risk_rulesets"):
        op.drop_table(table)
