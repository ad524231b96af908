"""The dashboard's live stream: indexes to find what was stored since a time.

``positions.received_at`` and ``alerts.recorded_at`` are the server's clock at the write;
the stream looks for rows after its watermark every half second, which without these
indexes is a scan of the whole history.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # On PostgreSQL the index on the partitioned parent is created on every partition.
    op.create_index("ix_positions_received_at", "positions", ["received_at"])
    op.create_index("ix_alerts_recorded_at", "alerts", ["recorded_at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_recorded_at", table_name="alerts")
    op.drop_index("ix_positions_received_at", table_name="positions")
