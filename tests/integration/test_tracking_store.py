"""``store.store_fixes`` on both stores: positions, each device's latest position and each
movement's newest fix, written by one statement on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from tests.integration.conftest import Api
from tripp.bootstrap import Wiring
from tripp.db import migrate
from tripp.db.tables import movement_last_fixes, positions
from tripp.tracking import store
from tripp.tracking.model import Device, DeviceKind, Fix

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def _fix(device: str, seconds: int, lat: float) -> Fix:
    return Fix(device, T0 + timedelta(seconds=seconds), lat, 46.0, 50.0)


def test_the_latest_position_is_the_newest_fix_stored_whatever_the_order(wiring: Wiring) -> None:
    for device in ("TRK-A", "TRK-B"):
        with wiring.context.uow.write() as conn:
            store.insert_device(conn, Device(device, DeviceKind.TRACKER), by="test", at=T0)
    batch = [_fix("TRK-A", 0, 38.90), _fix("TRK-A", 10, 38.91), _fix("TRK-A", 20, 38.92),
             _fix("TRK-B", 5, 39.00)]  # fmt: skip
    with wiring.context.uow.write() as conn:
        repeats = store.store_fixes(conn, batch, [None] * len(batch), T0)
    assert repeats == set()
    # Again, with one repeat and one fix older than TRK-A's newest: only the older is new,
    # and it does not become the latest.
    again = [_fix("TRK-A", 5, 38.95), _fix("TRK-A", 20, 38.92), _fix("TRK-B", 15, 39.01)]
    with wiring.context.uow.write() as conn:
        repeats = store.store_fixes(conn, again, [None] * len(again), T0)
    assert repeats == {1}  # TRK-A at 20 s
    with wiring.context.uow.read() as conn:
        latest = store.latest_many(conn, ["TRK-A", "TRK-B"])
        stored = conn.execute(select(func.count()).select_from(positions)).scalar_one()
    assert (latest["TRK-A"].time, latest["TRK-A"].lat) == (T0 + timedelta(seconds=20), 38.92)
    assert (latest["TRK-B"].time, latest["TRK-B"].lat) == (T0 + timedelta(seconds=15), 39.01)
    assert stored == 6


def _newest(wiring: Wiring, mrn: str) -> tuple[str, datetime, float, float, float | None] | None:
    with wiring.context.uow.write() as conn:  # watch locks the movement
        [load] = store.watch(conn, [mrn], {}, set())
    return load.newest


def test_a_movements_newest_fix_is_kept_as_its_fixes_are_stored(wiring: Wiring, api: Api) -> None:
    mrn = api.lodge(api.guarantee()["grn"]).json()["mrn"]
    for device in ("TRK-0", "TRK-A", "TRK-B"):
        with wiring.context.uow.write() as conn:
            store.insert_device(conn, Device(device, DeviceKind.TRACKER), by="test", at=T0)

    def stored(*batch: Fix) -> None:
        with wiring.context.uow.write() as conn:
            store.store_fixes(conn, sorted(batch, key=lambda f: (f.device_id, f.time)),
                              [mrn] * len(batch), T0)  # fmt: skip

    assert _newest(wiring, mrn) is None
    stored(_fix("TRK-A", 10, 38.90), _fix("TRK-A", 20, 38.91), _fix("TRK-B", 15, 39.00))
    assert _newest(wiring, mrn) == ("TRK-A", T0 + timedelta(seconds=20), 38.91, 46.0, 50.0)
    # A late fix and a fix of another device at the same time leave it: the lower id wins.
    stored(_fix("TRK-A", 5, 38.80), _fix("TRK-B", 20, 39.10))
    assert _newest(wiring, mrn) == ("TRK-A", T0 + timedelta(seconds=20), 38.91, 46.0, 50.0)
    stored(_fix("TRK-0", 20, 38.50))
    assert _newest(wiring, mrn) == ("TRK-0", T0 + timedelta(seconds=20), 38.50, 46.0, 50.0)
    stored(_fix("TRK-B", 30, 39.20))
    assert _newest(wiring, mrn) == ("TRK-B", T0 + timedelta(seconds=30), 39.20, 46.0, 50.0)
    stored(_fix("TRK-0", 30, 38.60))  # in a batch of its own, the same rule
    newest = ("TRK-0", T0 + timedelta(seconds=30), 38.60, 46.0, 50.0)
    assert _newest(wiring, mrn) == newest
    # Fixes of no movement, and repeats, change nothing.
    with wiring.context.uow.write() as conn:
        store.store_fixes(conn, [_fix("TRK-A", 40, 38.0), _fix("TRK-B", 30, 1.0)], [None, mrn], T0)
    assert _newest(wiring, mrn) == newest

    # Migration 0011 fills the table from the positions already stored, to the same row.
    migrate.downgrade(wiring.engine, "0010")
    migrate.upgrade(wiring.engine)
    assert _newest(wiring, mrn) == newest
    with wiring.context.uow.read() as conn:
        assert conn.execute(select(func.count()).select_from(movement_last_fixes)).scalar_one() == 1


def test_identifiers_compare_byte_by_byte_on_both_stores(wiring: Wiring, api: Api) -> None:
    mrn = api.lodge(api.guarantee()["grn"]).json()["mrn"]
    # "trk-a" sorts before "TRK-B" in a linguistic collation, after it byte by byte.
    for device in ("trk-a", "TRK-B"):
        with wiring.context.uow.write() as conn:
            store.insert_device(conn, Device(device, DeviceKind.TRACKER), by="test", at=T0)
    with wiring.context.uow.write() as conn:
        batch = sorted([_fix("trk-a", 10, 38.0), _fix("TRK-B", 10, 39.0)],
                       key=lambda f: (f.device_id, f.time))  # fmt: skip
        store.store_fixes(conn, batch, [mrn, mrn], T0)
    newest = ("TRK-B", T0 + timedelta(seconds=10), 39.0, 46.0, 50.0)
    assert _newest(wiring, mrn) == newest
    if wiring.engine.dialect.name != "postgresql":
        return

    def collations() -> dict[tuple[str, str], str | None]:
        with wiring.context.uow.read() as conn:
            rows = conn.execute(text(_IDENTIFIER_COLUMNS)).all()
        return {(r.table_name, r.column_name): r.collation_name for r in rows}

    # Migration 0012 collates every MRN and device-id column "C" (partitions inherit it);
    # a column missed would make a foreign key join two collations.
    assert set(collations()) >= {
        ("movements", "mrn"), ("movements", "tracker_id"), ("movement_offices", "mrn"),
        ("events", "mrn"), ("idempotency_keys", "mrn"), ("screenings", "mrn"),
        ("devices", "id"), ("devices", "armed_mrn"), ("positions", "device_id"),
        ("positions", "mrn"), ("positions_default", "mrn"), ("latest_positions", "device_id"),
        ("movement_last_fixes", "mrn"), ("movement_last_fixes", "device_id"),
        ("monitor_states", "mrn"), ("alerts", "mrn"), ("alerts", "device_id"),
    }  # fmt: skip
    assert set(collations().values()) == {"C"}
    migrate.downgrade(wiring.engine, "0011")
    assert set(collations().values()) == {None}  # the database's own
    migrate.upgrade(wiring.engine)
    assert set(collations().values()) == {"C"}
    assert _newest(wiring, mrn) == newest


_IDENTIFIER_COLUMNS = """
SELECT table_name, column_name, collation_name FROM information_schema.columns
WHERE table_schema = current_schema() AND (
    column_name IN ('mrn', 'armed_mrn', 'device_id', 'tracker_id')
    OR (table_name = 'devices' AND column_name = 'id'))
"""
