"""Concurrent batches for the same movement: one open alert, no error, nothing lost.

What serialises them: the movement rows locked in MRN order by the monitor (and, for one
device, its latest-position row); on SQLite the single writer."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from tests.conftest import Tokens
from tests.integration.conftest import Api
from tripp.bootstrap import Wiring
from tripp.db.tables import alerts, positions
from tripp.tracking import store
from tripp.tracking.alerts import MonitorState
from tripp.tracking.model import Fix, SealState


def test_parallel_batches_of_one_movement(api: Api, wiring: Wiring, tokens: Tokens) -> None:
    api.call("POST", "/devices", tokens.az_customs, json={"id": "PAR-1", "kind": "eseal"})
    mrn = api.lodge(api.guarantee()["grn"]).json()["mrn"]
    start = datetime.now(UTC)
    r = api.event(
        mrn,
        tokens.az_customs,
        "release",
        api.itinerary.office_of_departure,
        at=start,
        tracker_id="PAR-1",
    )
    assert r.status_code == 201, r.text
    tracking = wiring.tracking
    batches = [
        [
            Fix(
                "PAR-1",
                start + timedelta(seconds=k * 40 + i),
                38.9,
                46.3,
                30.0,
                seal=SealState.OPEN,
            )
            for i in range(40)
        ]
        for k in range(8)
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(tracking.ingest, batches))
    assert sum(r.accepted for r in results) == 320
    with wiring.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(positions)).scalar()
        opened = conn.execute(
            select(func.count()).select_from(alerts).where(alerts.c.kind == "seal_opened")
        ).scalar()
    assert stored == 320 and opened == 1


def test_a_batch_that_waited_for_the_movement_reads_what_the_other_committed(
    api: Api, wiring: Wiring, tokens: Tokens
) -> None:
    """The monitor reads a movement's state and last fix only once it holds the movement's
    lock. Read in the statement that waits for the lock, PostgreSQL would return them as
    they were before the wait: the other batch's state and fixes would be missed."""
    api.call("POST", "/devices", tokens.az_customs, json={"id": "PAR-2", "kind": "tracker"})
    mrn = api.lodge(api.guarantee()["grn"]).json()["mrn"]
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    r = api.event(
        mrn, tokens.az_customs, "release", api.itinerary.office_of_departure,
        at=start, tracker_id="PAR-2",
    )  # fmt: skip
    assert r.status_code == 201, r.text
    uow = wiring.tracking.uow
    fix = Fix("PAR-2", start + timedelta(seconds=60), 38.9, 46.3, 50.0)
    written = MonitorState(watching_since=start + timedelta(seconds=60))
    seen: list[store.Watch] = []

    def second_batch() -> None:
        with uow.write() as conn:
            seen.extend(store.watch(conn, [mrn], {}, set()))

    with uow.write() as conn:
        store.watch(conn, [mrn], {}, set())  # the first batch holds the movement
        store.store_fixes(conn, [fix], [mrn], start)
        store.save_monitor_states(conn, {mrn: written.to_json()}, start)
        waiting = threading.Thread(target=second_batch)
        waiting.start()
        deadline = time.monotonic() + 10
        while uow.dialect == "postgresql" and not _someone_waits_for_a_lock(wiring):
            assert time.monotonic() < deadline, "the second batch never waited"
            time.sleep(0.02)
        time.sleep(0.2)  # SQLite: the second batch is in BEGIN IMMEDIATE's busy wait
    waiting.join(10)
    [row] = seen
    assert row.last is not None and row.last.time == fix.time
    assert row.stored is not None and MonitorState.from_json(row.stored) == written


def _someone_waits_for_a_lock(wiring: Wiring) -> bool:
    with wiring.engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar()
        )
