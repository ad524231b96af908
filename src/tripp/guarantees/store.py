"""Guarantees in the database, as integer minor units."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

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


# Built once: these run for every declaration, and building a statement costs
# more than executing a cached one.
_LOCK_MANY = (
    select(guarantees)
    .where(guarantees.c.grn.in_(bindparam("grns", expanding=True)))
    .order_by(guarantees.c.grn)
)
_SAVE = (
    update(guarantees)
    .where(guarantees.c.grn == bindparam("b_grn"))
    .values(committed_minor=bindparam("b_committed"), updated_at=bindparam("b_at"))
)


def lock_guarantees(conn: Connection, grns: list[str]) -> dict[str, Guarantee]:
    """Load and lock the guarantees, in GRN order so concurrent batches never deadlock."""
    query = _LOCK_MANY.with_for_update() if conn.dialect.name != "sqlite" else _LOCK_MANY
    return {row.grn: _guarantee(row) for row in conn.execute(query, {"grns": grns})}


def save_committed_many(conn: Connection, items: list[Guarantee], at: Any) -> None:
    if items:
        conn.execute(
            _SAVE,
            [
                {"b_grn": g.grn, "b_committed": to_minor(g.committed, g.currency), "b_at": at}
                for g in items
            ],
        )
