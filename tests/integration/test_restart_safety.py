"""SIGKILL the server during a stream of declarations: after restart, every declaration
answered 201 is there whole, and nothing half-written exists."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text

from tests.conftest import Tokens
from tests.integration.conftest import declaration_body, road_itinerary
from tests.integration.live import LiveServer
from tripp.bootstrap import Wiring
from tripp.codes.currency import from_minor
from tripp.db.tables import guarantees, movement_offices, movements

pytestmark = pytest.mark.slow


def _stream(
    url: str, token: str, body: dict[str, object], answered: list[str], stop: threading.Event
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url + "/api/v1", timeout=10) as http:
        while not stop.is_set():
            try:
                r = http.post("/movements", headers=headers, json=body)
            except httpx.HTTPError:
                return  # the server died under us: the request's fate is unknown, not acknowledged
            if r.status_code == 201:
                answered.append(r.json()["mrn"])


def test_sigkill_loses_no_acknowledged_declaration(
    wiring: Wiring, database_url: str, tokens: Tokens, tmp_path: Path
) -> None:
    server = LiveServer(database_url, tmp_path / "server.log")
    server.start()
    customs = {"Authorization": f"Bearer {tokens.az_customs}"}
    g = httpx.post(
        server.url + "/api/v1/guarantees",
        headers=customs,
        json={"holder": "AZ-CARRIER-0001", "reference_amount": "999999999.00", "currency": "USD"},
    ).json()
    body = declaration_body(road_itinerary(wiring.corridor), g["grn"])
    answered: list[str] = []
    stop = threading.Event()
    writers = [
        threading.Thread(target=_stream, args=(server.url, tokens.carrier, body, answered, stop))
        for _ in range(4)
    ]
    for w in writers:
        w.start()
    deadline = time.monotonic() + 20
    while len(answered) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()
    stop.set()
    for w in writers:
        w.join(15)
    assert len(answered) >= 40, "the stream was too slow to exercise the crash"

    server.start()  # the restart runs migrations and recovery on the same store
    try:
        carrier = {"Authorization": f"Bearer {tokens.carrier}"}
        with httpx.Client(base_url=server.url + "/api/v1", timeout=10) as http:
            for mrn in answered:
                r = http.get(f"/movements/{mrn}", headers=carrier)
                assert r.status_code == 200, mrn
                m = r.json()
                assert m["state"] == "accepted" and len(m["goods"]) == 1
                assert m["offices_of_transit"] == body["offices_of_transit"]
    finally:
        server.stop()

    with wiring.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        stored = conn.execute(select(func.count()).select_from(movements)).scalar()
        assert stored is not None and stored >= len(answered)
        offices_per = len(body["offices_of_transit"]) + 2  # type: ignore[arg-type]
        incomplete = conn.execute(
            select(movements.c.mrn)
            .outerjoin(movement_offices, movement_offices.c.mrn == movements.c.mrn)
            .group_by(movements.c.mrn)
            .having(func.count(movement_offices.c.mrn) != offices_per)
        ).all()
        assert incomplete == []
        # The guarantee's committed amount is exactly the sum of the stored liabilities.
        liabilities = conn.execute(select(func.sum(movements.c.liability_minor))).scalar()
        committed = conn.execute(
            select(guarantees.c.committed_minor).where(guarantees.c.grn == g["grn"])
        ).scalar()
        assert committed == liabilities
        assert from_minor(int(committed or 0), "USD") > Decimal(0)
