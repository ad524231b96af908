"""A full disk under the SQLite store: writes refused with a clear error, nothing corrupted.

The first test runs a real server whose database lives on a small tmpfs, lodges
declarations and posts position batches until the disk is full, then checks: every refusal
is a 507 problem+json naming the full store (never a 500) and the server stays up; every
acknowledged record is still there, whole, and no refused one left anything behind;
SQLite's integrity check and the audit chain hold; and once the tmpfs grows, the same
server (no restart) takes writes again, the refused ones included.

Mounting needs root: without it the test fails in CI and skips elsewhere. The second test
runs everywhere: SQLite capped by ``PRAGMA max_page_count`` gives the same SQLITE_FULL, and
the service layer must raise ``StoreFull`` and leave the store intact. The last one checks
the unit of work's translation of PostgreSQL's disk_full (SQLSTATE 53100) without a server.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg.errors
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.exc import OperationalError

from tests.conftest import IN_CI, Tokens, mint_tokens
from tests.integration.conftest import declaration_body, road_itinerary
from tests.integration.live import LiveServer
from tests.resilience.conftest import Report
from tripp.api.app import create_app
from tripp.audit import store as audit_store
from tripp.audit.chain import verify
from tripp.bootstrap import Wiring, wire
from tripp.config import Settings
from tripp.db.tables import guarantees, movement_offices, movements
from tripp.db.tables import positions as positions_table
from tripp.db.uow import UnitOfWork, translated_errors
from tripp.errors import StoreFull, StoreUnavailable
from tripp.tracking.model import Fix

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PROBLEM = "application/problem+json"
T0 = datetime(2026, 1, 1, 8, tzinfo=UTC)
DEVICES = 10
BATCH = 100
CONCURRENT = 8
Key = tuple[str, str]  # (device id, time) of one fix


# -- helpers shared by both tests ---------------------------------------------------------


def _wiring(database_url: str) -> Wiring:
    w = wire(Settings(database_url=database_url, fees_enforced=False))
    w.upgrade()
    return w


def _batch(b: int) -> list[dict[str, Any]]:
    """Position batch ``b``: BATCH fixes, none shared with another batch."""
    return [
        {
            "device_id": f"TRK-{i % DEVICES:03d}",
            "time": (T0 + timedelta(seconds=b * BATCH + i)).isoformat(),
            "lat": 38.9 + i / 10_000,
            "lon": 46.2,
            "speed_kmh": 40,
        }
        for i in range(BATCH)
    ]


def _keys(batch: list[dict[str, Any]]) -> set[Key]:
    return {(p["device_id"], datetime.fromisoformat(p["time"]).isoformat()) for p in batch}


def _stored_positions(engine: Engine) -> set[Key]:
    with engine.connect() as conn:
        rows = conn.execute(select(positions_table.c.device_id, positions_table.c.time))
        return {(r.device_id, r.time.astimezone(UTC).isoformat()) for r in rows}


def _assert_store_full_problem(r: httpx.Response) -> None:
    assert r.status_code == 507, (r.status_code, r.text)
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    assert r.headers.get("retry-after"), r.headers
    problem = r.json()
    assert problem["type"] == "urn:tripp:problem:store-full", problem
    assert problem["title"] == "Store full" and problem["status"] == 507, problem
    assert "full" in problem["detail"] and "nothing was recorded" in problem["detail"], problem


def _store_facts(engine: Engine, grn: str) -> dict[str, Any]:
    """What must hold after any failure: pages sound, declarations whole, guarantee balanced,
    audit chain unbroken."""
    with engine.connect() as conn:
        integrity = conn.execute(text("PRAGMA integrity_check")).scalar()
        stored = conn.execute(select(func.count()).select_from(movements)).scalar() or 0
        offices = (
            conn.execute(
                select(func.count(movement_offices.c.mrn))
                .join(movements, movements.c.mrn == movement_offices.c.mrn)
                .group_by(movements.c.mrn)
            )
            .scalars()
            .all()
        )
        liabilities = conn.execute(select(func.sum(movements.c.liability_minor))).scalar() or 0
        committed = conn.execute(
            select(guarantees.c.committed_minor).where(guarantees.c.grn == grn)
        ).scalar()
    with UnitOfWork(engine).read() as conn:
        verdict = verify(audit_store.entries(conn), [audit_store.head(conn)])
    return {
        "integrity": integrity,
        "movements": stored,
        "offices_per_movement": set(offices),
        "balanced": committed == liabilities,
        "audit_first_bad": verdict.first_bad,
        "audit_checked": verdict.checked,
    }


def _audit_verify_command(database_url: str) -> str:
    """``tripp audit verify``, as an auditor runs it, in its own process."""
    done = subprocess.run(
        [sys.executable, "-m", "tripp", "audit", "verify"],
        env={**os.environ, "TRIPP_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("audit log intact:"), done.stdout
    return done.stdout.split(",", 1)[0]  # "audit log intact: N entries"


# -- a real server on a small tmpfs ------------------------------------------------------


def _cannot_mount(reason: str) -> None:
    message = f"cannot mount a tmpfs for the disk-full test: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI runs as root and requires it)", pytrace=False)
    pytest.skip(message)


@contextmanager
def _tmpfs(where: Path, size: str) -> Iterator[None]:
    where.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        _cannot_mount("needs root and mount(8)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        _cannot_mount(done.stderr.strip() or f"mount exited {done.returncode}")
    try:
        yield
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], check=True)


def _grow(where: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(where)], check=True)


class _Client:
    def __init__(self, server: LiveServer, tokens: Tokens) -> None:
        self.http = httpx.Client(base_url=server.url + "/api/v1", timeout=30)
        self.tokens = tokens

    def post(self, path: str, token: str, body: Any) -> httpx.Response:
        return self.http.post(path, headers={"Authorization": f"Bearer {token}"}, json=body)

    def get(self, path: str, token: str) -> httpx.Response:
        return self.http.get(path, headers={"Authorization": f"Bearer {token}"})

    def close(self) -> None:
        self.http.close()


def test_server_on_a_full_tmpfs(tmp_path: Path, report: Report) -> None:
    where = tmp_path / "small"
    with _tmpfs(where, "4m"):
        database_url = f"sqlite:///{where / 'tripp.db'}"
        w = _wiring(database_url)
        try:
            tokens = mint_tokens(w)
            server = LiveServer(database_url, tmp_path / "server.log")  # the log off the tmpfs
            server.start()
            client = _Client(server, tokens)
            try:
                _fill_and_recover(w, database_url, where, server, client, report)
            finally:
                client.close()
                server.stop()
        finally:
            w.engine.dispose()


def _fill_and_recover(
    w: Wiring, database_url: str, where: Path, server: LiveServer, client: _Client, report: Report
) -> None:
    tokens = client.tokens
    r = client.post("/guarantees", tokens.az_customs,
                    {"holder": "AZ-CARRIER-0001", "reference_amount": "999999999.00",
                     "currency": "USD"})  # fmt: skip
    assert r.status_code == 201, r.text
    grn = r.json()["grn"]
    for d in range(DEVICES):
        r = client.post("/devices", tokens.operator, {"id": f"TRK-{d:03d}", "kind": "tracker"})
        assert r.status_code == 201, r.text
    declaration = declaration_body(road_itinerary(w.corridor), grn)

    # Fill the disk: a declaration and a batch of positions per round, until both have been
    # refused for three rounds running.
    lodged: list[str] = []
    acked_batches: list[int] = []
    refused_declarations = 0
    refused_batches: list[int] = []
    other: list[tuple[str, int, str]] = []
    b = 0
    full_rounds = 0
    while full_rounds < 3 and b < 5_000:
        r = client.post("/movements", tokens.carrier, declaration)
        declaration_refused = r.status_code == 507
        if r.status_code == 201:
            lodged.append(r.json()["mrn"])
        elif declaration_refused:
            _assert_store_full_problem(r)
            refused_declarations += 1
        else:
            other.append(("declaration", r.status_code, r.text[:300]))
        r = client.post("/positions", tokens.operator, _batch(b))
        if r.status_code == 202:
            assert r.json()["accepted"] == BATCH, r.text
            acked_batches.append(b)
        elif r.status_code == 507:
            _assert_store_full_problem(r)
            refused_batches.append(b)
        else:
            other.append(("positions", r.status_code, r.text[:300]))
        full_rounds = full_rounds + 1 if declaration_refused and r.status_code == 507 else 0
        b += 1
    assert not other, other[:3]  # never a 500, nor anything but 201/202/507
    assert full_rounds == 3, f"the disk never filled in {b} rounds"
    assert lodged and acked_batches, "nothing was written before the disk was full"

    # Declarations arriving together share one transaction (the lodging batcher): each of
    # them hears the refusal.
    with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
        answers = list(
            pool.map(lambda _: client.post("/movements", tokens.carrier, declaration),
                     range(CONCURRENT))
        )  # fmt: skip
    for r in answers:
        _assert_store_full_problem(r)
    one_at_a_time = refused_declarations + len(refused_batches)
    refused_declarations += len(answers)

    # Still full: the server is up and answers reads; what it acknowledged is all there.
    assert server.proc is not None and server.proc.poll() is None
    pid = server.proc.pid
    assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
    for mrn in lodged:
        r = client.get(f"/movements/{mrn}", tokens.carrier)
        assert r.status_code == 200 and r.json()["state"] == "accepted", r.text
    acked = set().union(*(_keys(_batch(n)) for n in acked_batches))
    refused = set().union(*(_keys(_batch(n)) for n in refused_batches))
    stored = _stored_positions(w.engine)
    assert acked <= stored, f"{len(acked - stored)} acknowledged positions lost"
    assert not refused & stored, f"{len(refused & stored)} positions of refused batches stored"
    facts = _store_facts(w.engine, grn)
    offices_per = len(declaration["offices_of_transit"]) + 2
    assert facts["integrity"] == "ok", facts
    assert facts["movements"] == len(lodged), facts  # a refused declaration left nothing
    assert facts["offices_per_movement"] == {offices_per}, facts
    assert facts["balanced"] and facts["audit_first_bad"] is None, facts
    verified_full = _audit_verify_command(database_url)
    used_full = shutil.disk_usage(where).used

    # Free space (no restart): the refused writes go through when sent again, and new ones.
    _grow(where, "64m")
    resent_batches = 0
    for n in refused_batches:
        r = client.post("/positions", tokens.operator, _batch(n))
        assert r.status_code == 202 and r.json()["accepted"] == BATCH, r.text
        resent_batches += 1
    after: list[str] = []
    for _ in range(refused_declarations + 5):
        r = client.post("/movements", tokens.carrier, declaration)
        assert r.status_code == 201, r.text
        after.append(r.json()["mrn"])
    for n in range(b, b + 5):
        r = client.post("/positions", tokens.operator, _batch(n))
        assert r.status_code == 202 and r.json()["accepted"] == BATCH, r.text
    assert server.proc.poll() is None and server.proc.pid == pid
    for mrn in lodged + after:
        r = client.get(f"/movements/{mrn}", tokens.carrier)
        assert r.status_code == 200 and r.json()["state"] == "accepted", r.text
    total = _stored_positions(w.engine)
    assert len(total) == (len(acked_batches) + len(refused_batches) + 5) * BATCH
    facts = _store_facts(w.engine, grn)
    assert facts["integrity"] == "ok" and facts["movements"] == len(lodged) + len(after), facts
    assert facts["offices_per_movement"] == {offices_per} and facts["balanced"], facts
    assert facts["audit_first_bad"] is None, facts
    verified_after = _audit_verify_command(database_url)
    log = server.log.read_text(errors="replace")
    assert "unexpected error" not in log and "Traceback" not in log, log[-3000:]
    logged_full = log.count("store full, write refused")
    # One line per refused transaction: the concurrent declarations shared at least one.
    assert one_at_a_time < logged_full <= one_at_a_time + CONCURRENT, logged_full

    report.did(
        "a live server on a 4 MiB tmpfs: a declaration and a 100-fix batch per round until "
        f"the disk was full, then {CONCURRENT} declarations at once; checked the store; "
        "grew the tmpfs to 64 MiB, no restart"
    )
    report.counted(
        rounds=b,
        declarations_acknowledged_before_full=len(lodged),
        batches_acknowledged_before_full=len(acked_batches),
        declarations_refused_507=refused_declarations,
        batches_refused_507=len(refused_batches),
        other_statuses=len(other),
        found_while_full=f"{len(lodged)} declarations, {len(acked & stored)} positions",
        refused_positions_in_store=len(refused & stored),
        bytes_used_when_full=used_full,
        store_full_lines_in_server_log=logged_full,
    )
    report.counted(
        integrity_check=facts["integrity"],
        audit_verify_when_full=verified_full,
        audit_verify_after=verified_after,
    )
    report.counted(
        written_after_space_freed=f"{len(after)} declarations, {resent_batches + 5} batches "
        f"({resent_batches} of them the refused ones resent)",
        positions_in_store=len(total),
        server_restarted=False,
    )


# -- in-process: SQLite capped by max_page_count (runs everywhere) ---------------------------


def test_capped_sqlite_raises_store_full(tmp_path: Path, report: Report) -> None:
    w = _wiring(f"sqlite:///{tmp_path / 'tripp.db'}")
    cap: dict[str, int | None] = {"pages": None}

    @event.listens_for(w.engine, "connect")
    def _cap(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        if cap["pages"] is not None:
            dbapi_conn.execute(f"PRAGMA max_page_count={cap['pages']}")

    try:
        tokens = mint_tokens(w)
        with TestClient(create_app(w, run_jobs=False), raise_server_exceptions=False) as http:
            _capped(w, http, tokens, cap, report)
    finally:
        w.engine.dispose()


def _capped(
    w: Wiring, http: TestClient, tokens: Tokens, cap: dict[str, int | None], report: Report
) -> None:
    def post(path: str, token: str, body: Any) -> httpx.Response:
        return http.post(f"/api/v1{path}", headers={"Authorization": f"Bearer {token}"},
                         json=body)  # fmt: skip

    r = post("/guarantees", tokens.az_customs,
             {"holder": "AZ-CARRIER-0001", "reference_amount": "999999999.00",
              "currency": "USD"})  # fmt: skip
    assert r.status_code == 201, r.text
    grn = r.json()["grn"]
    for d in range(DEVICES):
        r = post("/devices", tokens.operator, {"id": f"TRK-{d:03d}", "kind": "tracker"})
        assert r.status_code == 201, r.text
    declaration = declaration_body(road_itinerary(w.corridor), grn)

    with w.engine.connect() as conn:
        pages = int(conn.execute(text("PRAGMA page_count")).scalar() or 0)
    cap["pages"] = pages + 60  # room for a few writes, then SQLITE_FULL
    w.engine.dispose()  # every connection from now on is capped

    lodged: list[str] = []
    acked_batches: list[int] = []
    refused = 0
    b = 0
    while refused < 4 and b < 1_000:
        r = post("/movements", tokens.carrier, declaration)
        if r.status_code == 201:
            lodged.append(r.json()["mrn"])
        else:
            _assert_store_full_problem(r)
            refused += 1
        r = post("/positions", tokens.operator, _batch(b))
        if r.status_code == 202:
            acked_batches.append(b)
        else:
            _assert_store_full_problem(r)
            refused += 1
        b += 1
    assert refused >= 4 and lodged, (refused, len(lodged))

    # The service layer itself raises StoreFull, caused by SQLite's SQLITE_FULL.
    fixes = [
        Fix(p["device_id"], datetime.fromisoformat(p["time"]), p["lat"], p["lon"])
        for p in _batch(b) + _batch(b + 1)
    ]
    with pytest.raises(StoreFull) as caught:
        w.tracking.ingest(fixes)
    cause = caught.value.__cause__
    assert cause is not None and "database or disk is full" in str(cause), cause
    assert caught.value.status == 507

    stored = _stored_positions(w.engine)
    acked = set().union(*(_keys(_batch(n)) for n in acked_batches))
    assert acked <= stored and len(stored) == len(acked), (len(acked), len(stored))
    facts = _store_facts(w.engine, grn)
    offices_per = len(declaration["offices_of_transit"]) + 2
    assert facts["integrity"] == "ok" and facts["movements"] == len(lodged), facts
    assert facts["offices_per_movement"] == {offices_per} and facts["balanced"], facts
    assert facts["audit_first_bad"] is None, facts

    cap["pages"] = None  # space freed
    w.engine.dispose()
    result = w.tracking.ingest(fixes)
    assert result.accepted == len(fixes)
    r = post("/movements", tokens.carrier, declaration)
    assert r.status_code == 201, r.text
    facts = _store_facts(w.engine, grn)
    assert facts["integrity"] == "ok" and facts["movements"] == len(lodged) + 1, facts
    assert facts["audit_first_bad"] is None, facts

    report.did(f"in-process SQLite capped at {pages + 60} pages (PRAGMA max_page_count)")
    report.counted(
        declarations_acknowledged=len(lodged),
        batches_acknowledged=len(acked_batches),
        refused_507=refused,
        service_layer_raised="StoreFull (507)",
        positions_found=len(stored),
        integrity_check="ok",
        audit_entries_verified=facts["audit_checked"],
        written_after_cap_lifted=f"{len(fixes)} fixes, 1 declaration",
    )


# -- PostgreSQL's disk_full, translated once in the unit of work -------------------------


@pytest.mark.parametrize(
    ("driver_error", "expected"),
    [
        (psycopg.errors.DiskFull("could not extend file: No space left on device"), StoreFull),
        (psycopg.errors.TooManyConnections("too many clients"), StoreUnavailable),
        (sqlite3.OperationalError("database or disk is full"), StoreFull),
        (sqlite3.OperationalError("database is locked"), StoreUnavailable),
    ],
    ids=["pg-53100", "pg-53300", "sqlite-full", "sqlite-locked"],
)
def test_translation(driver_error: Exception, expected: type[Exception]) -> None:
    wrapped = OperationalError("INSERT ...", None, driver_error)
    with pytest.raises(expected) as caught, translated_errors():
        raise wrapped
    assert caught.value.__cause__ is wrapped
