"""Tracking: devices, position history (partitioned by month on PostgreSQL), latest
positions, per-movement monitor state, alerts.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from tripp.db.types import Json, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SEQ = sa.Integer().with_variant(sa.BigInteger, "postgresql")
_OPEN = sa.text("cleared_at IS NULL")

_PG_POSITIONS = """
CREATE TABLE positions (
    device_id varchar(64) NOT NULL,
    time timestamptz NOT NULL,
    lat double precision NOT NULL,
    lon double precision NOT NULL,
    speed_kmh double precision,
    course double precision,
    seal varchar(16),
    attributes jsonb NOT NULL,
    mrn varchar(18),
    received_at timestamptz NOT NULL,
    PRIMARY KEY (device_id, time)
) PARTITION BY RANGE (time)
"""


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("imei", sa.String(15), unique=True),
        sa.Column("model", sa.String(100)),
        sa.Column("seal_io", sa.Integer),
        sa.Column("registered_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("armed_mrn", sa.String(18), sa.ForeignKey("movements.mrn")),
        sa.Column("armed_at", UTCDateTime),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_POSITIONS)
        # Rows outside every monthly partition land here rather than failing;
        # tripp.tracking.partitions creates the months ahead of time.
        op.execute("CREATE TABLE positions_default PARTITION OF positions DEFAULT")
    else:
        op.create_table(
            "positions",
            sa.Column("device_id", sa.String(64), primary_key=True),
            sa.Column("time", UTCDateTime, primary_key=True),
            sa.Column("lat", sa.Float, nullable=False),
            sa.Column("lon", sa.Float, nullable=False),
            sa.Column("speed_kmh", sa.Float),
            sa.Column("course", sa.Float),
            sa.Column("seal", sa.String(16)),
            sa.Column("attributes", Json, nullable=False),
            sa.Column("mrn", sa.String(18)),
            sa.Column("received_at", UTCDateTime, nullable=False),
        )
    op.create_index("ix_positions_mrn_time", "positions", ["mrn", "time"])
    op.create_table(
        "latest_positions",
        sa.Column("device_id", sa.String(64), primary_key=True),
        sa.Column("time", UTCDateTime, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("speed_kmh", sa.Float),
        sa.Column("course", sa.Float),
        sa.Column("seal", sa.String(16)),
    )
    op.create_table(
        "monitor_states",
        sa.Column("mrn", sa.String(18), sa.ForeignKey("movements.mrn"), primary_key=True),
        sa.Column("state", Json, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("id", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("mrn", sa.String(18), sa.ForeignKey("movements.mrn"), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("device_id", sa.String(64)),
        sa.Column("raised_at", UTCDateTime, nullable=False),
        sa.Column("cleared_at", UTCDateTime),
        sa.Column("lon", sa.Float),
        sa.Column("lat", sa.Float),
        sa.Column("country", sa.String(2)),
        sa.Column("details", Json, nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_alerts_mrn_kind", "alerts", ["mrn", "kind"])
    op.create_index("ix_alerts_raised_at", "alerts", ["raised_at"])
    op.create_index(
        "uq_alerts_open", "alerts", ["mrn", "kind"], unique=True,
        postgresql_where=_OPEN, sqlite_where=_OPEN,
    )  # fmt: skip


def downgrade() -> None:
    for table in ("alerts", "monitor_states", "latest_positions", "positions", "devices"):
        op.drop_table(table)
