"""Devices, positions, latest positions, monitor states and alerts in the database."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tripp.db.tables import alerts, devices, latest_positions, monitor_states, positions
from tripp.tracking.model import Device, DeviceKind, Fix, SealState


def _insert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


# --- devices ---------------------------------------------------------------------


def insert_device(conn: Connection, d: Device, *, by: str, at: datetime) -> None:
    conn.execute(
        insert(devices),
        [{"id": d.id, "kind": d.kind.value, "imei": d.imei, "model": d.model,
          "seal_io": d.seal_io, "registered_by": by, "created_at": at}],
    )  # fmt: skip


def _device(row: Row[Any]) -> Device:
    return Device(row.id, DeviceKind(row.kind), row.imei, row.model, row.seal_io)


def get_device(
    conn: Connection, device_id: str
) -> tuple[Device, str | None, datetime | None] | None:
    """The device, the MRN it is armed for (if any) and since when."""
    row = conn.execute(select(devices).where(devices.c.id == device_id)).first()
    if row is None:
        return None
    return _device(row), row.armed_mrn, _utc(row.armed_at) if row.armed_at else None


def device_by_imei(conn: Connection, imei: str) -> Device | None:
    row = conn.execute(select(devices).where(devices.c.imei == imei)).first()
    return _device(row) if row else None


def arm(conn: Connection, device_id: str, mrn: str, at: datetime) -> bool:
    """Arm the device for ``mrn``; False when it is unknown or armed for another movement."""
    result = conn.execute(
        update(devices)
        .where(devices.c.id == device_id, devices.c.armed_mrn.is_(None))
        .values(armed_mrn=mrn, armed_at=at)
    )
    return result.rowcount == 1


def disarm(conn: Connection, mrn: str) -> None:
    conn.execute(
        update(devices).where(devices.c.armed_mrn == mrn).values(armed_mrn=None, armed_at=None)
    )


def registered(
    conn: Connection, device_ids: Sequence[str]
) -> dict[str, tuple[str, datetime] | None]:
    """Registered devices among ``device_ids``: id → (MRN, armed at) when armed, else None."""
    rows = conn.execute(
        select(devices.c.id, devices.c.armed_mrn, devices.c.armed_at).where(
            devices.c.id.in_(list(device_ids))
        )
    )
    return {
        r.id: (r.armed_mrn, _utc(r.armed_at)) if r.armed_mrn is not None else None for r in rows
    }


# --- positions -------------------------------------------------------------------


def _position_row(f: Fix, mrn: str | None, received_at: datetime) -> dict[str, Any]:
    return {
        "device_id": f.device_id, "time": f.time, "lat": f.lat, "lon": f.lon,
        "speed_kmh": f.speed_kmh, "course": f.course,
        "seal": f.seal.value if f.seal else None, "attributes": _finite(f.attributes),
        "mrn": mrn, "received_at": received_at,
    }  # fmt: skip


# One fixed statement whatever the batch size: PostgreSQL takes each column as an array, so
# the driver parses and plans it once (a multi-row VALUES with RETURNING is parsed anew on
# every call and cost 7x a plain executemany).
_PG_INSERT_POSITIONS = """
INSERT INTO positions
    (device_id, time, lat, lon, speed_kmh, course, seal, attributes, mrn, received_at)
SELECT d, t, la, lo, sp, co, se, at::jsonb, m, %(received)s
FROM unnest(%(d)s::varchar[], %(t)s::timestamptz[], %(la)s::float8[], %(lo)s::float8[],
            %(sp)s::float8[], %(co)s::float8[], %(se)s::varchar[], %(at)s::text[],
            %(m)s::varchar[]) AS u(d, t, la, lo, sp, co, se, at, m)
ON CONFLICT (device_id, time) DO NOTHING
RETURNING device_id, time
"""


def insert_positions(
    conn: Connection, fixes: Sequence[Fix], mrns: Sequence[str | None], received_at: datetime
) -> set[tuple[str, datetime]]:
    """Store fixes not stored before, ``mrns[i]`` the movement fix i belongs to (None for
    none); returns the (device, time) keys that were new."""
    if not fixes:
        return set()
    if conn.dialect.name == "postgresql":
        return _insert_positions_pg(conn, fixes, mrns, received_at)
    statement = (
        _insert(conn, positions)
        .on_conflict_do_nothing(index_elements=["device_id", "time"])
        .returning(positions.c.device_id, positions.c.time)
    )
    rows = conn.execute(
        statement,
        [_position_row(f, mrn, received_at) for f, mrn in zip(fixes, mrns, strict=True)],
    )
    return {(r.device_id, _utc(r.time)) for r in rows}


def _finite(attributes: Any) -> dict[str, Any]:
    """Attributes as JSON can hold them: PostgreSQL's jsonb has no NaN or infinity."""
    return {
        k: None if isinstance(v, float) and not math.isfinite(v) else v
        for k, v in dict(attributes).items()
    }


def _insert_positions_pg(
    conn: Connection, fixes: Sequence[Fix], mrns: Sequence[str | None], received_at: datetime
) -> set[tuple[str, datetime]]:
    columns: dict[str, Any] = {
        "d": [f.device_id for f in fixes],
        "t": [f.time for f in fixes],
        "la": [f.lat for f in fixes],
        "lo": [f.lon for f in fixes],
        "sp": [f.speed_kmh for f in fixes],
        "co": [f.course for f in fixes],
        "se": [f.seal.value if f.seal else None for f in fixes],
        "at": [json.dumps(_finite(f.attributes)) for f in fixes],
        "m": list(mrns),
        "received": received_at,
    }
    rows = conn.exec_driver_sql(_PG_INSERT_POSITIONS, columns)
    return {(r[0], _utc(r[1])) for r in rows}


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def upsert_latest(conn: Connection, newest: Sequence[Fix]) -> None:
    """Keep the newest fix per device; an older fix arriving late never replaces it."""
    if not newest:
        return
    statement = _insert(conn, latest_positions)
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=["device_id"],
        set_={c: excluded[c] for c in ("time", "lat", "lon", "speed_kmh", "course", "seal")},
        where=latest_positions.c.time < excluded.time,
    )
    conn.execute(
        statement,
        [{"device_id": f.device_id, "time": f.time, "lat": f.lat, "lon": f.lon,
          "speed_kmh": f.speed_kmh, "course": f.course,
          "seal": f.seal.value if f.seal else None} for f in newest],
    )  # fmt: skip


def latest(conn: Connection, device_id: str) -> Fix | None:
    row = conn.execute(
        select(latest_positions).where(latest_positions.c.device_id == device_id)
    ).first()
    return _fix(row) if row else None


def _fix(row: Row[Any]) -> Fix:
    return Fix(
        device_id=row.device_id, time=_utc(row.time), lat=row.lat, lon=row.lon,
        speed_kmh=row.speed_kmh, course=row.course,
        seal=SealState(row.seal) if row.seal else None,
    )  # fmt: skip


def movement_fixes(conn: Connection, mrn: str, *, since: datetime | None = None) -> list[Fix]:
    """The fixes recorded for a movement, in time order."""
    query = select(positions).where(positions.c.mrn == mrn)
    if since is not None:
        query = query.where(positions.c.time >= since)
    return [_fix(r) for r in conn.execute(query.order_by(positions.c.time, positions.c.device_id))]


# --- monitor state and alerts ----------------------------------------------------


def monitor_state(conn: Connection, mrn: str, *, lock: bool = False) -> dict[str, Any] | None:
    query = select(monitor_states.c.state).where(monitor_states.c.mrn == mrn)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return dict(row.state) if row else None


def monitor_states_for(conn: Connection, mrns: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored states of ``mrns``, locked (in MRN order) until the transaction ends."""
    query = (
        select(monitor_states.c.mrn, monitor_states.c.state)
        .where(monitor_states.c.mrn.in_(list(mrns)))
        .order_by(monitor_states.c.mrn)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {r.mrn: dict(r.state) for r in conn.execute(query)}


def save_monitor_states(conn: Connection, states: dict[str, dict[str, Any]], at: datetime) -> None:
    if not states:
        return
    statement = _insert(conn, monitor_states)
    statement = statement.on_conflict_do_update(
        index_elements=["mrn"],
        set_={"state": statement.excluded.state, "updated_at": statement.excluded.updated_at},
    )
    conn.execute(
        statement, [{"mrn": m, "state": s, "updated_at": at} for m, s in sorted(states.items())]
    )


def save_monitor_state(conn: Connection, mrn: str, state: dict[str, Any], at: datetime) -> None:
    save_monitor_states(conn, {mrn: state}, at)


def list_alerts(
    conn: Connection,
    *,
    mrn: str | None,
    kind: str | None,
    since: datetime | None,
    scope: Any,
    after_id: int,
    limit: int,
) -> tuple[list[Row[Any]], int | None]:
    query = select(alerts).where(alerts.c.id > after_id)
    if mrn is not None:
        query = query.where(alerts.c.mrn == mrn)
    if kind is not None:
        query = query.where(alerts.c.kind == kind)
    if since is not None:
        query = query.where(or_(alerts.c.raised_at >= since, alerts.c.cleared_at >= since))
    if scope is not None:
        query = query.where(scope)
    rows = list(conn.execute(query.order_by(alerts.c.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)
