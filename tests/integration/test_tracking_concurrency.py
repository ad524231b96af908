"""Concurrent batches for the same movement: one open alert, no error, nothing lost.

What serialises them: the movement rows locked in MRN order by the monitor (and, for one
device, its latest-position row); on SQLite the single writer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from tests.conftest import Tokens
from tests.integration.conftest import Api
from tripp.bootstrap import Wiring
from tripp.db.tables import alerts, positions
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
