"""Aggregates over a period, read from the movement store."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from tripp.db.tables import events, movements
from tripp.db.uow import UnitOfWork
from tripp.stats.model import summarise


def stats(uow: UnitOfWork, start: datetime, end: datetime) -> dict[str, Any]:
    """Figures for movements accepted (states) or arrived (transit times) in [start, end)."""
    m = movements.c
    with uow.read() as conn:
        by_state: dict[str, int] = dict(
            conn.execute(
                select(m.state, func.count())
                .where(m.accepted_at >= start, m.accepted_at < end)
                .group_by(m.state)
            ).all()
        )
        trips = conn.execute(
            select(m.released_at, m.arrived_at).where(
                m.arrived_at >= start, m.arrived_at < end, m.released_at.is_not(None)
            )
        ).all()
        crossings: dict[str, int] = dict(
            conn.execute(
                select(events.c.office, func.count())
                .where(events.c.type == "border_crossing", events.c.at >= start, events.c.at < end)
                .group_by(events.c.office)
            ).all()
        )
    hours = [(a - r).total_seconds() / 3600 for r, a in trips]
    summary = asdict(summarise(hours))
    return {
        "from": start,
        "to": end,
        "movements": sum(by_state.values()),
        "movements_by_state": by_state,
        "transit_time_hours": summary,
        "border_crossings_by_office": crossings,
        # Filled by the border-post and tracking capabilities; null until they exist.
        "border_post_dwell_minutes": None,
        "alerts_per_100_movements": None,
    }
