"""``store.store_fixes`` on both stores: positions and each device's latest position,
written by one statement on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from tripp.bootstrap import Wiring
from tripp.db.tables import positions
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
        new = store.store_fixes(conn, batch, [None] * len(batch), T0)
    assert new == {(f.device_id, f.time) for f in batch}
    # Again, with one repeat and one fix older than TRK-A's newest: only the older is new,
    # and it does not become the latest.
    again = [_fix("TRK-A", 5, 38.95), _fix("TRK-A", 20, 38.92), _fix("TRK-B", 15, 39.01)]
    with wiring.context.uow.write() as conn:
        new = store.store_fixes(conn, again, [None] * len(again), T0)
    assert new == {("TRK-A", T0 + timedelta(seconds=5)), ("TRK-B", T0 + timedelta(seconds=15))}
    with wiring.context.uow.read() as conn:
        latest = store.latest_many(conn, ["TRK-A", "TRK-B"])
        stored = conn.execute(select(func.count()).select_from(positions)).scalar_one()
    assert (latest["TRK-A"].time, latest["TRK-A"].lat) == (T0 + timedelta(seconds=20), 38.92)
    assert (latest["TRK-B"].time, latest["TRK-B"].lat) == (T0 + timedelta(seconds=15), 39.01)
    assert stored == 6
