"""The audit log's hash chain and its head row; signing keys and event signatures.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from tripp.db.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("party", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_log_subject", "audit_log", ["subject", "seq"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])
    op.create_table(
        "party_keys",
        sa.Column("key_id", sa.String(16), primary_key=True),
        sa.Column("party", sa.String(64), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("signature", sa.String(128)))
        batch.add_column(sa.Column("key_id", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("key_id")
        batch.drop_column("signature")
    op.drop_table("party_keys")
    op.drop_table("audit_head")
    op.drop_index("ix_audit_log_subject", table_name="audit_log")
    op.drop_table("audit_log")
