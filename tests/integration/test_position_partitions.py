"""Monthly partitions on PostgreSQL and retention on both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, text

from tripp.bootstrap import Wiring
from tripp.db.tables import positions
from tripp.tracking.partitions import ensure_partitions, purge_before


def _row(t: datetime) -> dict[str, object]:
    return {
        "device_id": "D1",
        "time": t,
        "lat": 38.9,
        "lon": 46.3,
        "attributes": {},
        "received_at": t,
    }


def test_partitions_and_retention(wiring: Wiring) -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    with wiring.engine.begin() as conn:
        created = ensure_partitions(conn, now, months_ahead=2)
        again = ensure_partitions(conn, now, months_ahead=2)
        old, recent = now - timedelta(days=90), now
        conn.execute(insert(positions), [_row(old), _row(recent)])
        if conn.dialect.name == "postgresql":
            assert created == ["positions_2026_11", "positions_2026_12", "positions_2027_01"]
            assert again == []
            where = conn.execute(text(
                "SELECT tableoid::regclass::text FROM positions ORDER BY time"
            )).scalars().all()  # fmt: skip
            assert where == ["positions_default", "positions_2026_11"]
        else:
            assert created == []
        removed = purge_before(conn, now - timedelta(days=30))
        assert removed >= 1
        left = conn.execute(select(func.count()).select_from(positions)).scalar()
        assert left == 1
