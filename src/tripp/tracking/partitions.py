"""Position history housekeeping: monthly partitions on PostgreSQL, retention everywhere.

History grows by the fix; dropping a month's partition is instant where a
DELETE would bloat the table, so PostgreSQL keeps one partition per month,
created ahead of time (rows outside them land in ``positions_default``).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, text
from sqlalchemy.exc import DBAPIError

from tripp.db.tables import positions

log = logging.getLogger("tripp.tracking.partitions")
_NAME = re.compile(r"^positions_(\d{4})_(\d{2})$")


def month_start(year: int, month: int) -> datetime:
    return datetime(year + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=UTC)


def ensure_partitions(conn: Connection, now: datetime, months_ahead: int = 2) -> list[str]:
    """Create the monthly partitions from this month to ``months_ahead`` months on."""
    if conn.dialect.name != "postgresql":
        return []
    created = []
    for k in range(months_ahead + 1):
        start = month_start(now.year, now.month + k)
        end = month_start(start.year, start.month + 1)
        name = f"positions_{start:%Y_%m}"
        if _exists(conn, name):
            continue
        try:
            with conn.begin_nested():
                conn.execute(text(
                    f'CREATE TABLE "{name}" PARTITION OF positions '
                    f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
                ))  # fmt: skip
            created.append(name)
        except DBAPIError as exc:  # rows for that month already sit in the default partition
            log.warning("partition %s not created: %s", name, exc.orig)
    return created


def _exists(conn: Connection, name: str) -> bool:
    return conn.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar() is not None


def purge_before(conn: Connection, cutoff: datetime) -> int:
    """Remove history older than ``cutoff``; returns the partitions dropped plus rows deleted."""
    removed = 0
    if conn.dialect.name == "postgresql":
        for name in _partitions(conn):
            match = _NAME.match(name)
            assert match is not None
            end = month_start(int(match[1]), int(match[2]) + 1)
            if end <= cutoff:
                conn.execute(text(f'DROP TABLE "{name}"'))
                removed += 1
    result = conn.execute(delete(positions).where(positions.c.time < cutoff))
    return removed + max(result.rowcount, 0)


def _partitions(conn: Connection) -> list[str]:
    rows = conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'positions'"
    ))  # fmt: skip
    return sorted(r[0] for r in rows if _NAME.match(r[0]))
