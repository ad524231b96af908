"""``store.store_fixes`` on both stores: positions, each device's latest position and each
movement's newest fix, written by one statement on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, inspect, select, text

from tests.integration.conftest import Api
from tripp.bootstrap import Wiring
from tripp.db import migrate
from tripp.db.tables import devices, positions
from tripp.tracking import store
from tripp.tracking.model import Device, DeviceKind, Fix

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def _fix(device: str, seconds: int, lat: float, base: datetime = T0) -> Fix:
    return Fix(device, base + timedelta(seconds=seconds), lat, 46.0, 50.0)


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


def _released(api: Api, tracker: str) -> tuple[str, datetime]:
    """A movement released now with ``tracker``, and when (the arming's time)."""
    mrn = str(api.lodge(api.guarantee()["grn"]).json()["mrn"])
    at = datetime.now(UTC)
    r = api.event(mrn, api.tokens.az_customs, "release", api.itinerary.office_of_departure,
                  at=at, seals=["S1"], tracker_id=tracker)  # fmt: skip
    assert r.status_code == 201, r.text
    return mrn, at


def _stored(wiring: Wiring, mrn: str | None, *batch: Fix) -> set[int]:
    with wiring.context.uow.write() as conn:
        return store.store_fixes(conn, sorted(batch, key=lambda f: (f.device_id, f.time)),
                                 [mrn] * len(batch), T0)  # fmt: skip


def test_a_movements_newest_fix_is_its_trackers_latest_since_the_arming(
    wiring: Wiring, api: Api
) -> None:
    for device in ("TRK-A", "TRK-B"):
        with wiring.context.uow.write() as conn:
            store.insert_device(conn, Device(device, DeviceKind.TRACKER), by="test", at=T0)
    mrn, t0 = _released(api, "TRK-A")
    # A fix of the previous trip, before the arming: not this movement's.
    _stored(wiring, None, _fix("TRK-A", -60, 38.70, t0))
    assert _newest(wiring, mrn) is None
    _stored(wiring, mrn, _fix("TRK-A", 10, 38.90, t0), _fix("TRK-A", 20, 38.91, t0))
    _stored(wiring, None, _fix("TRK-B", 30, 39.00, t0))  # another device's: changes nothing
    newest = ("TRK-A", t0 + timedelta(seconds=20), 38.91, 46.0, 50.0)
    assert _newest(wiring, mrn) == newest
    # A late fix and a repeat leave it.
    assert _stored(wiring, mrn, _fix("TRK-A", 5, 38.80, t0), _fix("TRK-A", 20, 1.0, t0)) == {1}
    assert _newest(wiring, mrn) == newest
    _stored(wiring, mrn, _fix("TRK-A", 30, 38.95, t0))
    assert _newest(wiring, mrn) == ("TRK-A", t0 + timedelta(seconds=30), 38.95, 46.0, 50.0)
    # Disarmed at arrival: the movement has no tracker, and its fixes stay in its track.
    r = api.event(mrn, api.tokens.az_customs, "arrival", api.itinerary.office_of_destination)
    assert r.status_code == 201, r.text
    assert _newest(wiring, mrn) is None
    with wiring.context.uow.read() as conn:
        assert len(store.movement_fixes(conn, mrn)) == 4

    # Migration 0013 drops the table 0011 made; its downgrade fills it again as 0011 did.
    migrate.downgrade(wiring.engine, "0012")
    with wiring.context.uow.read() as conn:
        rows = conn.execute(text("SELECT mrn, device_id, lat FROM movement_last_fixes")).all()
    assert [tuple(r) for r in rows] == [(mrn, "TRK-A", 38.95)]
    migrate.upgrade(wiring.engine)
    with wiring.context.uow.read() as conn:
        assert not inspect(conn).has_table("movement_last_fixes")


def test_identifiers_compare_byte_by_byte_on_both_stores(wiring: Wiring, api: Api) -> None:
    # "trk-a" sorts before "TRK-B" in a linguistic collation, after it byte by byte.
    for device in ("trk-a", "TRK-B"):
        with wiring.context.uow.write() as conn:
            store.insert_device(conn, Device(device, DeviceKind.TRACKER), by="test", at=T0)
    with wiring.context.uow.read() as conn:
        ids = conn.execute(select(devices.c.id).order_by(devices.c.id)).scalars().all()
    assert ids == ["TRK-B", "trk-a"]
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
        ("monitor_states", "mrn"), ("alerts", "mrn"), ("alerts", "device_id"),
    }  # fmt: skip
    assert set(collations().values()) == {"C"}
    migrate.downgrade(wiring.engine, "0011")
    assert set(collations().values()) == {None}  # the database's own
    migrate.upgrade(wiring.engine)
    assert set(collations().values()) == {"C"}


_IDENTIFIER_COLUMNS = """
SELECT table_name, column_name, collation_name FROM information_schema.columns
WHERE table_schema = current_schema() AND (
    column_name IN ('mrn', 'armed_mrn', 'device_id', 'tracker_id')
    OR (table_name = 'devices' AND column_name = 'id'))
"""
