"""Transit fees: schedule versions, fees, and the double-entry ledger.

Balances are kept per (account, currency) beside the postings, updated in the same
transaction, so that a settlement can lock one row instead of summing history; a CHECK
keeps every prepaid account from going below zero (it is a credit balance: <= 0).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from tripp.db.types import Json, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SEQ = sa.Integer().with_variant(sa.BigInteger, "postgresql")


def upgrade() -> None:
    op.create_table(
        "fee_schedule_sets",
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("body", Json, nullable=False),
        sa.Column("published_by", sa.String(64), nullable=False),
        sa.Column("published_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "fees",
        sa.Column("ref", sa.String(64), primary_key=True),
        sa.Column("payer", sa.String(64), nullable=False),
        sa.Column("authority", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("paid_from", sa.String(160), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("schedule_id", sa.String(64), nullable=False),
        sa.Column("assessment", Json, nullable=False),
        sa.Column("assessed_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("namespace", sa.String(24), nullable=False),
        sa.Column("reference", sa.String(160), nullable=False),
        sa.Column("fee", sa.String(64), nullable=False),
        sa.Column("memo", sa.String(500), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("namespace", "reference", name="uq_ledger_reference"),
    )
    op.create_index("ix_ledger_transactions_at", "ledger_transactions", ["at"])
    op.create_table(
        "ledger_postings",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("tx_id", sa.String(200), sa.ForeignKey("ledger_transactions.id"), nullable=False),
        sa.Column("account", sa.String(160), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_ledger_postings_account", "ledger_postings", ["account", "currency"])
    op.create_index("ix_ledger_postings_tx", "ledger_postings", ["tx_id"])
    op.create_table(
        "ledger_balances",
        sa.Column("account", sa.String(160), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("balance_minor", sa.BigInteger, nullable=False),
        sa.CheckConstraint(
            "account NOT LIKE 'carrier:%:prepaid' OR balance_minor <= 0",
            name="ck_prepaid_not_overdrawn",
        ),
    )


def downgrade() -> None:
    for table in (
        "ledger_balances", "ledger_postings", "ledger_transactions", "fees", "fee_schedule_sets"
    ):  # fmt: skip
        op.drop_table(table)
