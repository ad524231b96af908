"""Each movement's newest fix is its tracker's latest position: ``movement_last_fixes`` goes.

A movement has one device, the tracker named at release, armed from release to arrival, so
the newest fix stored for the movement is the tracker's latest position, when that is no
older than the arming. ``latest_positions`` keeps it already; keeping the same fix a second
time, per movement, cost PostgreSQL about 5 µs per stored fix (an upsert and a sort in the
statement that stores a batch), a sixth of its work per fix in the bench's MQTT ingest.

The downgrade makes the table again and fills it as 0011 did.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

from tripp.db.types import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("movement_last_fixes")


def downgrade() -> None:
    # 0011's table and fill, copied rather than imported: a migration must not change when
    # another does, and here the columns are collated "C" as 0012 left them.
    mrn = sa.String(18).with_variant(sa.String(18, collation="C"), "postgresql")
    device_id = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")
    op.create_table(
        "movement_last_fixes",
        sa.Column("mrn", mrn, sa.ForeignKey("movements.mrn"), primary_key=True),
        sa.Column("device_id", device_id, nullable=False),
        sa.Column("time", UTCDateTime, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("speed_kmh", sa.Float),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE movement_last_fixes SET (fillfactor = 50)")
    op.execute(
        "INSERT INTO movement_last_fixes (mrn, device_id, time, lat, lon, speed_kmh)"
        " SELECT mrn, device_id, time, lat, lon, speed_kmh FROM ("
        "  SELECT mrn, device_id, time, lat, lon, speed_kmh, row_number() OVER"
        "   (PARTITION BY mrn ORDER BY time DESC, device_id) AS r"
        "  FROM positions WHERE mrn IS NOT NULL) AS ranked"
        " WHERE r = 1"
    )
