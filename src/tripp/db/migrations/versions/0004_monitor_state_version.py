"""Monitor states get a version, so a tracking worker can keep states in memory.

A worker reuses its parsed copy of a movement's state as long as the stored version is the
one it wrote or read; any other writer (another worker, the time-driven round, an
acknowledgement) stores a new random version, and the next batch reads the state again.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("monitor_states") as batch:
        batch.add_column(sa.Column("version", sa.BigInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("monitor_states") as batch:
        batch.drop_column("version")
