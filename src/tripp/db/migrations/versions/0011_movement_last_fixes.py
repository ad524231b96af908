"""Each movement's newest stored fix, in a table of its own.

Tracking ingest needs the newest fix of every movement a batch touches (it is the last fix
the monitor evaluated). Read from ``positions`` it was a backward probe of
``ix_positions_mrn_time`` that, in PostgreSQL 15, reads every entry of the movement on the
index page it lands on: about 7 µs of the server's CPU per movement and batch, a third of
its work per fix. Kept here by the statement that stores the fixes, it is one
primary-key probe.

Filled from the positions already stored: per movement, the newest fix, and of fixes at
the same time the one of the lowest device id (as ingest keeps it).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from tripp.db.types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "movement_last_fixes",
        sa.Column("mrn", sa.String(18), sa.ForeignKey("movements.mrn"), primary_key=True),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("time", UTCDateTime, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("speed_kmh", sa.Float),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Rewritten with every batch, like monitor_states and latest_positions (0010).
        op.execute("ALTER TABLE movement_last_fixes SET (fillfactor = 50)")
    op.execute(
        "INSERT INTO movement_last_fixes (mrn, device_id, time, lat, lon, speed_kmh)"
        " SELECT mrn, device_id, time, lat, lon, speed_kmh FROM ("
        "  SELECT mrn, device_id, time, lat, lon, speed_kmh, row_number() OVER"
        "   (PARTITION BY mrn ORDER BY time DESC, device_id) AS r"
        "  FROM positions WHERE mrn IS NOT NULL) AS ranked"
        " WHERE r = 1"
    )


def downgrade() -> None:
    op.drop_table("movement_last_fixes")
