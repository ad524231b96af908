"""Guarantees in the database, as integer minor units."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from tripp.codes.currency import from_minor, to_minor
from tripp.db.tables import guarantees
from tripp.guarantees.model import Guarantee


def insert_guarantee(conn: Connection, g: Guarantee) -> None:
    conn.execute(
        insert(guarantees),
        [
            {
                "grn": g.grn,
                "holder": g.holder,
                "currency": g.currency,
                "reference_minor": to_minor(g.reference_amount, g.currency),
                "committed_minor": to_minor(g.committed, g.currency),
                "issued_by": g.issued_by,
                "created_at": g.created_at,
                "updated_at": g.created_at,
            }
        ],
    )


def _guarantee(row: Row[Any]) -> Guarantee:
    return Guarantee(
        grn=row.grn,
        holder=row.holder,
        reference_amount=from_minor(row.reference_minor, row.currency),
        committed=from_minor(row.committed_minor, row.currency),
        currency=row.currency,
        issued_by=row.issued_by,
        created_at=row.created_at,
    )


def get_guarantee(conn: Connection, grn: str, *, for_update: bool = False) -> Guarantee | None:
    query = select(guarantees).where(guarantees.c.grn == grn)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return _guarantee(row) if row else None


def save_committed(conn: Connection, g: Guarantee, at: Any) -> None:
    conn.execute(
        update(guarantees)
        .where(guarantees.c.grn == g.grn)
        .values(committed_minor=to_minor(g.committed, g.currency), updated_at=at)
    )


def list_guarantees(
    conn: Connection, *, holder: str | None = None, issued_by: str | None = None
) -> list[Guarantee]:
    query = select(guarantees)
    if holder is not None:
        query = query.where(guarantees.c.holder == holder)
    if issued_by is not None:
        query = query.where(guarantees.c.issued_by == issued_by)
    return [_guarantee(r) for r in conn.execute(query.order_by(guarantees.c.created_at))]
