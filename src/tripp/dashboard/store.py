"""The dashboard's reads: vehicles under way, what changed since a time, KPI inputs.

Who sees what is the rest of the API's: a movement by ``movements.policy.can_see`` (admin
and operator all, a carrier its own, customs those whose itinerary has an office of its
country), an alert by the rule of ``GET /alerts`` (``tracking.service``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, exists, false, func, select

from tripp.dashboard.kpi import KpiInputs
from tripp.db.tables import (
    alerts,
    devices,
    events,
    latest_positions,
    movement_offices,
    movements,
    positions,
    screenings,
)
from tripp.movements.model import UNDER_WAY
from tripp.parties.model import Actor, Role
from tripp.tracking.service import alert_scope

UNDER_WAY_STATES = sorted(s.value for s in UNDER_WAY)


def mrn_scope(actor: Actor, mrn: Any) -> ColumnElement[bool] | None:
    """The condition on an MRN column for the movements ``actor`` sees; None for all."""
    if actor.role in (Role.ADMIN, Role.OPERATOR):
        return None
    if actor.role is Role.CARRIER:
        # An alias: the MRN column may be the movements table's own, in the outer query.
        own = movements.alias("own_movement")
        return exists().where(own.c.mrn == mrn, own.c.holder == actor.party)
    if actor.role is Role.CUSTOMS:
        return exists().where(
            movement_offices.c.mrn == mrn, movement_offices.c.country == actor.country
        )
    return false()


def _scoped(query: Any, condition: ColumnElement[bool] | None) -> Any:
    return query if condition is None else query.where(condition)


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- the snapshot --------------------------------------------------------------------


def vehicles(conn: Connection, actor: Actor) -> list[Row[Any]]:
    """The latest fix of each movement under way that ``actor`` sees, from the device armed
    for it (a fix older than the arming is the previous trip's and is left out)."""
    m, d, lp = movements.c, devices.c, latest_positions.c
    plate = m.declaration["transport"]["vehicle_id"].as_string()
    query = (
        select(m.mrn, m.state, m.holder, plate.label("plate"), d.id.label("device_id"),
               lp.lon, lp.lat, lp.time, lp.speed_kmh)
        .select_from(
            movements.join(devices, d.id == m.tracker_id)
            .join(latest_positions, lp.device_id == d.id)
        )
        .where(m.state.in_(UNDER_WAY_STATES), d.armed_mrn == m.mrn, lp.time >= d.armed_at)
        .order_by(m.mrn)
    )  # fmt: skip
    return list(conn.execute(_scoped(query, mrn_scope(actor, m.mrn))))


def open_alert_kinds(conn: Connection, actor: Actor) -> dict[str, list[str]]:
    """MRN → the kinds of its open alerts ``actor`` sees, sorted."""
    query = select(alerts.c.mrn, alerts.c.kind).where(alerts.c.cleared_at.is_(None))
    out: dict[str, list[str]] = {}
    for mrn, kind in conn.execute(_scoped(query, alert_scope(actor))):
        out.setdefault(mrn, []).append(kind)
    return {mrn: sorted(kinds) for mrn, kinds in out.items()}


# --- what changed since --------------------------------------------------------------


def positions_since(conn: Connection, actor: Actor, since: datetime, limit: int) -> list[Row[Any]]:
    """Fixes stored after ``since`` for movements ``actor`` sees, oldest stored first."""
    p = positions.c
    query = (
        select(p.mrn, p.device_id, p.time, p.lon, p.lat, p.speed_kmh, p.received_at)
        .where(p.received_at > since, p.mrn.is_not(None))
        .order_by(p.received_at)
        .limit(limit)
    )
    return list(conn.execute(_scoped(query, mrn_scope(actor, p.mrn))))


def movements_since(conn: Connection, actor: Actor, since: datetime, limit: int) -> list[Row[Any]]:
    """Movements changed after ``since`` that ``actor`` sees, oldest change first."""
    m = movements.c
    query = (
        select(m.mrn, m.state, m.updated_at)
        .where(m.updated_at > since)
        .order_by(m.updated_at)
        .limit(limit)
    )
    return list(conn.execute(_scoped(query, mrn_scope(actor, m.mrn))))


def _alert_columns() -> Sequence[Any]:
    a = alerts.c
    return (a.id, a.mrn, a.kind, a.raised_at, a.cleared_at, a.recorded_at, a.details)


def alerts_since(conn: Connection, actor: Actor, since: datetime, limit: int) -> list[Row[Any]]:
    """Alerts recorded after ``since`` that ``actor`` sees, oldest first."""
    query = (
        select(*_alert_columns())
        .where(alerts.c.recorded_at > since)
        .order_by(alerts.c.recorded_at)
        .limit(limit)
    )
    return list(conn.execute(_scoped(query, alert_scope(actor))))


def open_alert_ids(conn: Connection, actor: Actor) -> set[int]:
    query = select(alerts.c.id).where(alerts.c.cleared_at.is_(None))
    return {r[0] for r in conn.execute(_scoped(query, alert_scope(actor)))}


def alerts_by_id(conn: Connection, ids: Collection[int]) -> list[Row[Any]]:
    if not ids:
        return []
    query = select(*_alert_columns()).where(alerts.c.id.in_(sorted(ids))).order_by(alerts.c.id)
    return list(conn.execute(query))


def alerts_closed_since(
    conn: Connection, actor: Actor, since: datetime, limit: int
) -> list[Row[Any]]:
    """Alerts closed at or after ``since`` (the time of the clearing fix, or of the
    acknowledgement) that ``actor`` sees."""
    query = (
        select(*_alert_columns())
        .where(alerts.c.cleared_at >= since)
        .order_by(alerts.c.cleared_at)
        .limit(limit)
    )
    return list(conn.execute(_scoped(query, alert_scope(actor))))


def alert_state(row: Any) -> str:
    """open, acknowledged (closed by a person) or closed."""
    if row.cleared_at is None:
        return "open"
    return "acknowledged" if "acknowledged" in (row.details or {}) else "closed"


# --- KPIs ----------------------------------------------------------------------------


def _touches(mrn: Any, office: str | None) -> ColumnElement[bool] | None:
    if office is None:
        return None
    return exists().where(movement_offices.c.mrn == mrn, movement_offices.c.office_code == office)


def kpi_inputs(conn: Connection, start: datetime, end: datetime, office: str | None) -> KpiInputs:
    """What ``kpi.kpis`` needs for [start, end), for movements touching ``office`` if given."""
    m, e, a = movements.c, events.c, alerts.c
    accepted = select(func.count()).where(m.accepted_at >= start, m.accepted_at < end)
    count = int(conn.execute(_scoped(accepted, _touches(m.mrn, office))).scalar_one())
    trips = select(m.released_at, m.arrived_at).where(
        m.arrived_at >= start, m.arrived_at < end, m.released_at.is_not(None)
    )
    hours = [
        (utc(arr) - utc(rel)).total_seconds() / 3600
        for rel, arr in conn.execute(_scoped(trips, _touches(m.mrn, office)))
    ]
    crossing = select(e.at, e.office).where(
        e.type == "border_crossing", e.at >= start, e.at < end, e.office.is_not(None)
    )
    if office is not None:
        crossing = crossing.where(e.office == office)
    crossings = [(utc(at), str(off)) for at, off in conn.execute(crossing)]
    kinds = select(a.kind, func.count()).where(a.raised_at >= start, a.raised_at < end)
    by_kind = dict(conn.execute(_scoped(kinds, _touches(a.mrn, office)).group_by(a.kind)).all())
    return KpiInputs(count, hours, crossings, _dwell(conn, start, end, office), by_kind)


def _dwell(
    conn: Connection, start: datetime, end: datetime, office: str | None
) -> list[tuple[str, float]]:
    """(office, minutes) from a movement's first screening at an office to the crossing or
    arrival recorded there, for those recorded in [start, end)."""
    e, s = events.c, screenings.c
    first = (
        select(func.min(s.at))
        .where(s.mrn == e.mrn, s.office == e.office, s.at <= e.at)
        .scalar_subquery()
    )
    query = select(e.office, e.at, first.label("screened_at")).where(
        e.type.in_(["border_crossing", "arrival"]), e.at >= start, e.at < end,
        e.office.is_not(None),
    )  # fmt: skip
    if office is not None:
        query = query.where(e.office == office)
    return [
        (str(off), (utc(at) - utc(screened)).total_seconds() / 60)
        for off, at, screened in conn.execute(query)
        if screened is not None
    ]
