"""Devices, positions, latest positions, monitor states and alerts in the database."""

from __future__ import annotations

import math
import random
from collections.abc import Container, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, Row, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tripp.db.engine import BINARY_RESULTS
from tripp.db.pg_arrays import (
    bool_array,
    float8_array,
    int8_array,
    text_array,
    timestamptz_array,
)
from tripp.db.tables import (
    alerts,
    devices,
    latest_positions,
    monitor_states,
    movements,
    positions,
)
from tripp.tracking.model import Device, DeviceKind, Fix, SealState

_new_tuple = tuple.__new__


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


# A probe of the primary key per device, in a LATERAL subquery that OFFSET 0 keeps from
# being merged into a plain join: as a join, the planner read and hashed the whole table
# for every batch (``= ANY`` scanned it too), a cost that grew with the fleet, not the
# batch. The lock and the load of ``watch`` are written the same way, for the same reason.
_PG_REGISTERED = """
SELECT d.id, d.armed_mrn, d.armed_at
FROM unnest(%(d)b::varchar[]) AS u(id)
CROSS JOIN LATERAL (SELECT * FROM devices d WHERE d.id = u.id OFFSET 0) d
"""


def registered(
    conn: Connection, device_ids: Sequence[str]
) -> dict[str, tuple[str, datetime] | None]:
    """Registered devices among ``device_ids``: id → (MRN, armed at) when armed, else None."""
    if conn.dialect.name == "postgresql":
        # One array parameter: the statement text, and so its plan, is the same whatever the
        # batch (an expanding IN list is compiled anew for every length).
        rows: Any = _rows(conn, _PG_REGISTERED, {"d": text_array(device_ids)})
    else:
        rows = conn.execute(
            select(devices.c.id, devices.c.armed_mrn, devices.c.armed_at).where(
                devices.c.id.in_(list(device_ids))
            )
        )
    return {r[0]: (r[1], _utc(r[2])) if r[1] is not None else None for r in rows}


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
# every call and cost 7x a plain executemany). The arrays go in binary, encoded a column at a
# time (``pg_arrays``).
#
# The same statement keeps the latest position per device from the rows it inserted, so the
# fixes cross the wire once, not twice. DISTINCT ON gives one row per device (an upsert may
# not touch a row twice) in key order, the order every batch locks those rows in; and it
# sorts all the inserted rows before the upsert, so positions are written first.
#
# It answers with the fixes that were stored already (their places in the batch), which are
# usually none: a row back for every new fix cost the worker more than the insert's own
# Python side.
_PG_STORE_FIXES = """
WITH u AS (
    SELECT * FROM unnest(%(d)b::varchar[], %(t)b::timestamptz[], %(la)b::float8[],
                         %(lo)b::float8[], %(sp)b::float8[], %(co)b::float8[],
                         %(se)b::varchar[], %(at)b::text[], %(m)b::varchar[])
        WITH ORDINALITY AS u(d, t, la, lo, sp, co, se, at, m, i)
), new AS (
    INSERT INTO positions
        (device_id, time, lat, lon, speed_kmh, course, seal, attributes, mrn, received_at)
    SELECT d, t, la, lo, sp, co, se, at::jsonb, m, %(received)s FROM u
    ON CONFLICT (device_id, time) DO NOTHING
    RETURNING device_id, time, lat, lon, speed_kmh, course, seal
), newest AS (
    SELECT DISTINCT ON (device_id) device_id, time, lat, lon, speed_kmh, course, seal
    FROM new ORDER BY device_id, time DESC
), latest AS (
    INSERT INTO latest_positions AS l (device_id, time, lat, lon, speed_kmh, course, seal)
    SELECT * FROM newest ORDER BY device_id
    ON CONFLICT (device_id) DO UPDATE SET
        time = excluded.time, lat = excluded.lat, lon = excluded.lon,
        speed_kmh = excluded.speed_kmh, course = excluded.course, seal = excluded.seal
    WHERE l.time < excluded.time
)
SELECT u.i - 1 FROM u
WHERE NOT EXISTS (SELECT FROM new WHERE new.device_id = u.d AND new.time = u.t)
"""


def store_fixes(
    conn: Connection, fixes: Sequence[Fix], mrns: Sequence[str | None], received_at: datetime
) -> set[int]:
    """Store the fixes not stored before, ``mrns[i]`` the movement fix i belongs to (None
    for none), and keep each device's newest as its latest position (an older fix arriving
    late never replaces it); returns the places in ``fixes`` of those stored before.

    ``fixes`` in (device, time) order, each (device, time) once: concurrent batches then
    lock rows in one order.
    """
    if not fixes:
        return set()
    if conn.dialect.name == "postgresql":
        return _store_fixes_pg(conn, fixes, mrns, received_at)
    statement = (
        _insert(conn, positions)
        .on_conflict_do_nothing(index_elements=["device_id", "time"])
        .returning(positions.c.device_id, positions.c.time)
    )
    rows = conn.execute(
        statement,
        [_position_row(f, mrn, received_at) for f, mrn in zip(fixes, mrns, strict=True)],
    )
    new = {(r.device_id, _utc(r.time)) for r in rows}
    newest: dict[str, Fix] = {}
    repeats: set[int] = set()
    for i, f in enumerate(fixes):
        if (f.device_id, f.time) not in new:
            repeats.add(i)
            continue
        newest[f.device_id] = f  # time order within a device: the last one is newest
    _upsert_latest_sqlite(conn, list(newest.values()))
    return repeats


def _finite(attributes: Any) -> dict[str, Any]:
    """Attributes as JSON can hold them: PostgreSQL's jsonb has no NaN or infinity."""
    return {
        k: None if isinstance(v, float) and not math.isfinite(v) else v
        for k, v in dict(attributes).items()
    }


def _store_fixes_pg(
    conn: Connection, fixes: Sequence[Fix], mrns: Sequence[str | None], received_at: datetime
) -> set[int]:
    columns: dict[str, Any] = {
        "d": text_array([f.device_id for f in fixes]),
        "t": timestamptz_array([f.time for f in fixes]),
        "la": float8_array([f.lat for f in fixes]),
        "lo": float8_array([f.lon for f in fixes]),
        "sp": float8_array([f.speed_kmh for f in fixes]),
        "co": float8_array([f.course for f in fixes]),
        "se": text_array([f.seal.value if f.seal else None for f in fixes]),
        "at": text_array(
            [orjson.dumps(_finite(f.attributes)).decode() if f.attributes else "{}" for f in fixes]
        ),
        "m": text_array(mrns),
        "received": received_at,
    }
    return {r[0] for r in _rows(conn, _PG_STORE_FIXES, columns)}


def _rows(conn: Connection, statement: str, parameters: Mapping[str, Any]) -> Sequence[Any]:
    """The rows of a hot statement as the driver's tuples.

    Executed through SQLAlchemy, so that its errors are translated as every other
    statement's; read straight off the driver's cursor, which holds the whole result by
    then: a ``Row`` per row cost about half a microsecond, on hundreds of rows a batch.
    The rows come in binary (``BINARY_RESULTS``).
    """
    result = conn.exec_driver_sql(statement, parameters, execution_options={BINARY_RESULTS: True})
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _utc(value: datetime) -> datetime:
    if value.tzinfo is UTC:
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _upsert_latest_sqlite(conn: Connection, newest: Sequence[Fix]) -> None:
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


def latest_many(conn: Connection, device_ids: Sequence[str]) -> dict[str, Fix]:
    """The latest fix of each device that has one; one query per 500 devices."""
    out: dict[str, Fix] = {}
    for i in range(0, len(device_ids), 500):
        chunk = sorted(set(device_ids[i : i + 500]))
        query = select(latest_positions).where(latest_positions.c.device_id.in_(chunk))
        out.update((r.device_id, _fix(r)) for r in conn.execute(query))
    return out


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


class Watch(NamedTuple):
    """A movement as the monitor loads it for a batch of fixes, before the batch is stored.

    ``mode`` is None where the caller said it knows it already; ``stored`` (the state as
    ``MonitorState.to_json`` wrote it) is None when there is none, or when its ``version``
    is the one the caller holds a copy of; ``newest`` is the newest fix stored for the
    movement as (device_id, time, lat, lon, speed_kmh), or None. Every fix stored for a
    movement was evaluated for it in the same transaction, so that is the last fix its
    monitor saw: the monitor keeps it there rather than rewriting the movement's state for
    every fix.

    A movement has one device, its tracker, armed from release to arrival: its newest fix
    is the tracker's latest position if that is no older than the arming (an older one is
    a previous trip's). So it costs the store nothing beyond the latest position it keeps
    anyway (a table of each movement's newest fix, kept by the same statement, cost
    PostgreSQL about 5 µs per fix).

    A tuple, not a dataclass, and the newest fix a ``Fix`` only on demand: a batch loads
    one per movement, and for most of them nothing but the newest fix's time is looked at.
    """

    mrn: str
    state: str
    time_limit: datetime | None
    mode: str | None
    version: int | None
    stored: dict[str, Any] | None
    newest: tuple[str, datetime, float, float, float | None] | None

    @property
    def last_at(self) -> datetime | None:
        return None if self.newest is None else self.newest[1]

    @property
    def last(self) -> Fix | None:
        return None if self.newest is None else Fix(*self.newest)


# The lock, and what the movement row holds: a row that a locking statement waited for is
# returned as the waited-for transaction left it (PostgreSQL reads it again), so these
# columns (the tracker's id too, for ``_PG_WATCH``) are current. The declaration's mode
# only where the caller does not know it.
# Rows are locked one primary-key probe at a time, in the order of the array (MRN order,
# the same in every caller; see ``_PG_REGISTERED`` for why LATERAL).
_PG_LOCK_MOVEMENTS = """
SELECT m.mrn, m.state, m.time_limit, m.mode, m.tracker_id
FROM unnest(%(m)b::varchar[], %(n)b::bool[]) WITH ORDINALITY AS u(mrn, need_mode, i)
CROSS JOIN LATERAL (
    SELECT mv.mrn, mv.state, mv.time_limit,
           CASE WHEN u.need_mode THEN mv.declaration -> 'transport' ->> 'mode' END AS mode,
           mv.tracker_id
    FROM movements mv WHERE mv.mrn = u.mrn
    FOR UPDATE
) m
ORDER BY u.i
"""

# After the lock, in a statement of its own: a statement that waits for a row lock returns
# the other tables' rows as its snapshot saw them before the wait, so a state or newest fix
# read in the locking statement could predate the batch it waited for. One row per MRN
# given, in the order given; the newest fix is the tracker's latest position while it is
# armed for the movement, from the arming on (see ``Watch``).
_PG_WATCH = """
SELECT s.version,
       CASE WHEN s.version IS DISTINCT FROM u.cached THEN s.state::text END,
       l.device_id, l.time, l.lat, l.lon, l.speed_kmh
FROM unnest(%(m)b::varchar[], %(c)b::bigint[], %(d)b::varchar[])
    WITH ORDINALITY AS u(mrn, cached, tracker, i)
LEFT JOIN LATERAL (SELECT * FROM monitor_states s WHERE s.mrn = u.mrn OFFSET 0) s ON true
LEFT JOIN LATERAL (
    SELECT l.* FROM devices d JOIN latest_positions l ON l.device_id = d.id
    WHERE d.id = u.tracker AND d.armed_mrn = u.mrn AND l.time >= d.armed_at OFFSET 0
) l ON true
ORDER BY u.i
"""


def watch(
    conn: Connection,
    mrns: Sequence[str],
    cached: Mapping[str, int],
    known_modes: Container[str],
) -> list[Watch]:
    """Lock ``mrns`` (in MRN order, so concurrent batches cannot deadlock) until the
    transaction ends and load what the monitor needs of each existing one.

    ``cached``: the state versions the caller holds parsed copies of (their stored state is
    not sent again); ``known_modes``: MRNs whose transport mode the caller knows (a
    declaration never changes, and reading it out of the stored JSON is the costly part).
    """
    if not mrns:
        return []
    if conn.dialect.name == "postgresql":
        locked = _rows(
            conn,
            _PG_LOCK_MOVEMENTS,
            {"m": text_array(mrns), "n": bool_array([m not in known_modes for m in mrns])},
        )
        if not locked:
            return []
        held = [r[0] for r in locked]
        rows = _rows(
            conn,
            _PG_WATCH,
            {"m": text_array(held), "c": int8_array([cached.get(m) for m in held]),
             "d": text_array([r[4] for r in locked])},
        )  # fmt: skip
        # tuple.__new__: a named tuple's own constructor is a Python function, a tenth of
        # what loading a movement costs here.
        return [
            _new_tuple(Watch, (m[0], m[1], _utc(m[2]) if m[2] else None, m[3], r[0],
                               orjson.loads(r[1]) if r[1] is not None else None,
                               None if r[2] is None else (r[2], _utc(r[3]), r[4], r[5], r[6])))
            for m, r in zip(locked, rows, strict=True)
        ]  # fmt: skip
    mode = movements.c.declaration["transport"]["mode"].as_string()
    last = latest_positions.c
    query = (
        select(
            movements.c.mrn, movements.c.state, movements.c.time_limit, mode.label("mode"),
            monitor_states.c.version, monitor_states.c.state.label("stored"),
            last.device_id, last.time, last.lat, last.lon, last.speed_kmh,
        )
        .select_from(
            movements.outerjoin(monitor_states, monitor_states.c.mrn == movements.c.mrn)
            .outerjoin(devices, (devices.c.id == movements.c.tracker_id)
                       & (devices.c.armed_mrn == movements.c.mrn))
            .outerjoin(latest_positions, (last.device_id == devices.c.id)
                       & (last.time >= devices.c.armed_at))
        )
        .where(movements.c.mrn.in_(list(mrns)))
        .order_by(movements.c.mrn)
    )  # fmt: skip
    out = []
    # SQLite: the write transaction already excludes other writers, no lock needed.
    for r in conn.execute(query):
        hit = r.version is not None and cached.get(r.mrn) == r.version
        stored = None if hit or r.stored is None else dict(r.stored)
        newest = None if r.device_id is None else (
            r.device_id, _utc(r.time), r.lat, r.lon, r.speed_kmh
        )  # fmt: skip
        out.append(Watch(r.mrn, r.state, r.time_limit, r.mode, r.version, stored, newest))
    return out


_PG_SAVE_STATES = """
INSERT INTO monitor_states AS s (mrn, state, updated_at, version)
SELECT m, st::jsonb, %(at)s, v
FROM unnest(%(m)b::varchar[], %(s)b::text[], %(v)b::bigint[]) AS u(m, st, v)
ON CONFLICT (mrn) DO UPDATE SET
    state = excluded.state, updated_at = excluded.updated_at, version = excluded.version
"""


def save_monitor_states(
    conn: Connection, states: Mapping[str, dict[str, Any]], at: datetime
) -> dict[str, int]:
    """Store ``states`` (MRN → ``MonitorState.to_json()``); returns each one's new version.

    Versions are random rather than counted: a copy cached from a transaction that then
    rolled back can never match a version another writer commits later.
    """
    if not states:
        return {}
    mrns = sorted(states)
    versions = {m: _new_version() for m in mrns}
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            _PG_SAVE_STATES,
            {
                "m": text_array(mrns),
                "s": text_array([orjson.dumps(states[m]).decode() for m in mrns]),
                "v": int8_array([versions[m] for m in mrns]),
                "at": at,
            },
        )
        return versions
    statement = _insert(conn, monitor_states)
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=["mrn"],
        set_={"state": excluded.state, "updated_at": excluded.updated_at,
              "version": excluded.version},
    )  # fmt: skip
    conn.execute(
        statement,
        [{"mrn": m, "state": states[m], "updated_at": at, "version": versions[m]} for m in mrns],
    )
    return versions


def _new_version() -> int:
    # 63 bits, never 0 (the version of states stored before versions existed).
    return random.getrandbits(63) | 1


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
