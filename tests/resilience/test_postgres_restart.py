"""PostgreSQL restarted under load: requests fail cleanly (503 problem+json with
Retry-After), then recover without manual action; nothing acknowledged is lost, never a 500.

A private cluster (``pg_cluster``) is stopped under a real server process while threads
lodge declarations, read movements and post position batches; a dashboard stream stays
open throughout. After each outage the same server must answer again, and afterwards every
declaration it acknowledged must be there, whole; the background jobs (the webhook
dispatcher, the periodic job) must have lived through it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import mint_tokens
from tests.integration.conftest import declaration_body, road_itinerary
from tests.integration.live import LiveServer
from tests.resilience.conftest import Report
from tests.resilience.pg_cluster import PgCluster
from tripp.audit import store as audit_store
from tripp.audit.chain import verify
from tripp.bootstrap import wire
from tripp.config import Settings
from tripp.db.tables import guarantees, movement_offices, movements

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DOWN_S = 3.0
RECOVERY_LIMIT_S = 15.0
PROBLEM = "application/problem+json"


@pytest.fixture
def pg() -> Iterator[PgCluster]:
    with PgCluster.create() as cluster:
        yield cluster


# --- what the load saw -------------------------------------------------------------


@dataclass
class Outcome:
    kind: str  # lodge, read, positions
    at: float  # monotonic time the answer came
    status: int  # 0: no answer (connection dropped, timeout)
    clean: bool = True  # a 503 with problem+json and Retry-After
    detail: str = ""


@dataclass
class Load:
    url: str
    stop: threading.Event = field(default_factory=threading.Event)
    outcomes: list[Outcome] = field(default_factory=list)
    acknowledged: list[tuple[float, str]] = field(default_factory=list)  # (at, mrn)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, r: httpx.Response | None, error: str = "") -> Outcome:
        now = time.monotonic()
        if r is None:
            o = Outcome(kind, now, 0, False, error)
        else:
            clean = r.status_code != 503 or (
                r.headers.get("content-type", "").startswith(PROBLEM)
                and r.headers.get("retry-after", "").isdigit()
                and r.json().get("status") == 503
            )
            o = Outcome(
                kind, now, r.status_code, clean, r.text[:300] if r.status_code >= 300 else ""
            )
        with self.lock:
            self.outcomes.append(o)
        if o.status == 503:
            time.sleep(0.1)  # a real client would wait Retry-After; this one keeps pressing
        return o


def _lodger(load: Load, token: str, body: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=load.url + "/api/v1", timeout=30) as http:
        while not load.stop.is_set():
            try:
                r = http.post("/movements", headers=headers, json=body)
            except httpx.HTTPError as exc:
                load.record("lodge", None, type(exc).__name__)
                continue
            o = load.record("lodge", r)
            if o.status == 201:
                with load.lock:
                    load.acknowledged.append((o.at, r.json()["mrn"]))


def _reader(load: Load, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=load.url + "/api/v1", timeout=30) as http:
        i = 0
        while not load.stop.is_set():
            with load.lock:
                known = [m for _, m in load.acknowledged[-50:]]
            if not known:
                time.sleep(0.05)
                continue
            i += 1
            try:
                r = http.get(f"/movements/{known[i % len(known)]}", headers=headers)
            except httpx.HTTPError as exc:
                load.record("read", None, type(exc).__name__)
                continue
            load.record("read", r)


def _positions(load: Load, token: str, device: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    start = datetime.now(UTC) - timedelta(days=1)
    n = 0
    with httpx.Client(base_url=load.url + "/api/v1", timeout=30) as http:
        while not load.stop.is_set():
            batch = [
                {"device_id": device, "time": (start + timedelta(seconds=n + i)).isoformat(),
                 "lat": 40.38, "lon": 49.85 + 0.0001 * ((n + i) % 100), "speed_kmh": 30.0}
                for i in range(20)
            ]  # fmt: skip
            n += 20
            try:
                r = http.post("/positions", headers=headers, json=batch)
            except httpx.HTTPError as exc:
                load.record("positions", None, type(exc).__name__)
                continue
            load.record("positions", r)
            time.sleep(0.02)


@dataclass
class Stream:
    """A dashboard stream held open through the outages."""

    events: list[tuple[float, str]] = field(default_factory=list)
    ended: str = ""


def _watch(load: Load, token: str, stream: Stream) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.stream(
            "GET", load.url + "/api/v1/dashboard/stream", headers=headers,
            timeout=httpx.Timeout(30, read=20),
        ) as r:  # fmt: skip
            if r.status_code != 200:
                stream.ended = f"status {r.status_code}"
                return
            for line in r.iter_lines():
                if line.startswith("event: "):
                    stream.events.append((time.monotonic(), line[7:]))
                if load.stop.is_set():
                    stream.ended = "closed by the test"
                    return
            stream.ended = "ended by the server"
    except httpx.HTTPError as exc:
        stream.ended = f"dropped: {type(exc).__name__}"


# --- a webhook receiver --------------------------------------------------------------


class _Hooks(BaseHTTPRequestHandler):
    got: list[bytes]

    def do_POST(self) -> None:
        self.got.append(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hooks() -> Iterator[tuple[str, list[bytes]]]:
    got: list[bytes] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (_Hooks,), {"got": got}))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    server.shutdown()
    server.server_close()


# --- the test --------------------------------------------------------------------------


def _wait(what: str, cond: Any, timeout_s: float) -> float:
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        time.sleep(0.05)
    return time.monotonic() - start


def test_postgres_restart_under_load(
    pg: PgCluster, tmp_path: Path, report: Report, hooks: tuple[str, list[bytes]]
) -> None:
    w = wire(Settings(database_url=pg.url, fees_enforced=False))
    w.upgrade()
    tokens = mint_tokens(w)
    hook_url, delivered = hooks
    log_path = tmp_path / "server.log"
    # The periodic job every second, so it meets the outage; resolved tokens cached for
    # one second only, so the token lookup meets it too.
    server = LiveServer(
        pg.url, log_path, env={"TRIPP_OVERDUE_INTERVAL_S": "1", "TRIPP_AUTH_CACHE_S": "1"}
    )
    server.start()
    api = httpx.Client(base_url=server.url + "/api/v1", timeout=30)
    load = Load(server.url)
    threads: list[threading.Thread] = []
    try:
        customs = {"Authorization": f"Bearer {tokens.az_customs}"}
        operator = {"Authorization": f"Bearer {tokens.operator}"}
        r = api.post("/guarantees", headers=customs, json={
            "holder": "AZ-CARRIER-0001", "reference_amount": "999999999.00", "currency": "USD"})  # fmt: skip
        assert r.status_code == 201, r.text
        grn = r.json()["grn"]
        it = road_itinerary(w.corridor)
        body = declaration_body(it, grn)
        # A movement released with a tracker: a seal opened after the outages must raise an
        # alert and reach the webhook subscriber through the dispatcher thread.
        for device in ("TRK-ARMED", "TRK-LOAD"):
            r = api.post("/devices", headers=customs, json={"id": device, "kind": "tracker"})
            assert r.status_code == 201, r.text
        r = api.post(
            "/webhooks", headers=operator, json={"url": hook_url, "kinds": ["seal_opened"]}
        )
        assert r.status_code == 201, r.text
        carrier = {"Authorization": f"Bearer {tokens.carrier}"}
        armed_mrn = api.post("/movements", headers=carrier, json=body).json()["mrn"]
        r = api.post(f"/movements/{armed_mrn}/events", headers=customs, json={
            "id": "release-armed", "type": "release", "at": datetime.now(UTC).isoformat(),
            "office": it.office_of_departure, "seals": ["S1"], "tracker_id": "TRK-ARMED"})  # fmt: skip
        assert r.status_code == 201, r.text

        stream = Stream()
        threads = [
            *(
                threading.Thread(target=_lodger, args=(load, tokens.carrier, body))
                for _ in range(3)
            ),
            threading.Thread(target=_reader, args=(load, tokens.az_customs)),
            threading.Thread(target=_positions, args=(load, tokens.operator, "TRK-LOAD")),
            threading.Thread(target=_watch, args=(load, tokens.operator, stream)),
        ]
        for t in threads:
            t.start()
        _wait("warm-up: 20 declarations acknowledged", lambda: len(load.acknowledged) >= 20, 30)

        outages: list[tuple[str, float, float, float]] = []  # mode, down, up, recovered
        for mode in ("immediate", "fast"):
            down = time.monotonic()
            pg.stop(mode)
            report.did(f"stopped PostgreSQL ({mode}) under load, kept it down {DOWN_S:.0f} s")
            time.sleep(DOWN_S)
            pg.start()
            up = time.monotonic()
            recovered = up + _wait(
                f"recovery after the {mode} stop",
                lambda up=up: any(o.status == 201 and o.at > up for o in list(load.outcomes)),
                RECOVERY_LIMIT_S,
            )
            outages.append((mode, down, up, recovered))
            time.sleep(3)  # steady load after recovery before the next outage
            assert server.proc is not None and server.proc.poll() is None, "server died"

        # Background jobs after recovery: a seal opened raises an alert (tracking pipeline)
        # whose webhook the dispatcher thread delivers.
        fix = {"device_id": "TRK-ARMED", "time": datetime.now(UTC).isoformat(), "lat": 40.38,
               "lon": 49.85, "speed_kmh": 0.0, "seal": "open"}  # fmt: skip
        r = api.post("/positions", headers=operator, json=[fix])
        assert r.status_code == 202, r.text
        webhook_s = _wait("webhook delivered after recovery", lambda: bool(delivered), 15)
        assert b'"kind":"seal_opened"' in delivered[0] and armed_mrn.encode() in delivered[0]
        # The stream stayed open through both outages and carries events again.
        _wait("a dashboard event after recovery",
              lambda: any(at > outages[-1][3] for at, _ in stream.events), 10)  # fmt: skip
        stream_after = min(at for at, _ in stream.events if at > outages[-1][3]) - outages[-1][3]
    finally:
        load.stop.set()
        for t in threads:
            t.join(40)
        api.close()

    try:
        assert server.proc is not None and server.proc.poll() is None, "the server process died"
        # Every acknowledged declaration is there, whole, through the same server.
        found = 0
        with httpx.Client(base_url=server.url + "/api/v1", timeout=30) as http:
            for _, mrn in load.acknowledged:
                r = http.get(f"/movements/{mrn}", headers=carrier)
                assert r.status_code == 200, (mrn, r.text)
                m = r.json()
                assert m["state"] == "accepted" and len(m["goods"]) == 1, mrn
                assert m["offices_of_transit"] == body["offices_of_transit"], mrn
                found += 1
    finally:
        server.stop()

    with w.engine.connect() as conn:
        offices_per = len(body["offices_of_transit"]) + 2
        incomplete = conn.execute(
            select(movements.c.mrn)
            .outerjoin(movement_offices, movement_offices.c.mrn == movements.c.mrn)
            .group_by(movements.c.mrn)
            .having(func.count(movement_offices.c.mrn) != offices_per)
        ).all()
        stored = conn.execute(select(func.count()).select_from(movements)).scalar()
        liabilities = conn.execute(select(func.sum(movements.c.liability_minor))).scalar()
        committed = conn.execute(
            select(guarantees.c.committed_minor).where(guarantees.c.grn == grn)
        ).scalar()
        chain = verify(audit_store.entries(conn), [audit_store.head(conn)])
    w.engine.dispose()

    # --- what the load saw -------------------------------------------------------------
    def phase(at: float) -> str:
        for _, down, up, _rec in outages:
            if down <= at <= up:
                return "during"
        return "before" if at < outages[0][1] else "after"

    acked = Counter(phase(at) for at, _ in load.acknowledged)
    statuses = Counter((o.kind, o.status) for o in load.outcomes)
    unavailable = [o for o in load.outcomes if o.status == 503]
    unclean = [o for o in unavailable if not o.clean]
    bad = [o for o in load.outcomes if o.status == 0 or (o.status >= 500 and o.status != 503)]
    wrong = [o for o in load.outcomes if o.status not in (0, 200, 201, 202, 503)]
    late_503 = [
        o for o in unavailable if not any(d <= o.at <= rec + 1 for _, d, _u, rec in outages)
    ]
    log_text = log_path.read_text(errors="replace")
    tracebacks = log_text.count("Traceback")
    skipped_rounds = log_text.count("periodic job skipped a round")
    webhook_skips = log_text.count("webhook round skipped")

    report.counted(
        acknowledged_before=acked["before"], acknowledged_during=acked["during"],
        acknowledged_after=acked["after"], acknowledged_total=len(load.acknowledged),
        records_found=found, stored_movements=stored,
    )  # fmt: skip
    report.counted(
        answers=len(load.outcomes), answers_503=len(unavailable), unclean_503=len(unclean),
        other_5xx_or_dropped=len(bad), unexpected_statuses=len(wrong),
    )  # fmt: skip
    for mode, down, up, rec in outages:
        n503 = sum(1 for o in unavailable if down <= o.at <= rec + 1)
        report.counted(
            outage=mode, down_s=f"{up - down:.1f}", answers_503=n503,
            recovery_s_after_start=f"{rec - up:.2f}",
        )  # fmt: skip
    report.counted(
        webhook_delivered_s_after_seal_opened=f"{webhook_s:.2f}",
        dashboard_event_s_after_recovery=f"{stream_after:.2f}", dashboard_stream=stream.ended,
        periodic_job_skipped_rounds=skipped_rounds, webhook_rounds_skipped=webhook_skips,
        server_log_tracebacks=tracebacks, audit_entries_verified=chain.checked,
    )  # fmt: skip
    report.did(
        "statuses by kind: " + ", ".join(f"{k} {s}: {n}" for (k, s), n in sorted(statuses.items()))
    )

    assert len(unavailable) >= 1, "no request met the outage"
    assert all(any(d <= o.at <= rec + 1 for o in unavailable) for _, d, _u, rec in outages), (
        "an outage went unnoticed by the load"
    )
    assert unclean == [], unclean[:3]
    assert bad == [], bad[:5]
    assert wrong == [], wrong[:5]
    assert late_503 == [], f"503s after recovery: {late_503[:3]}"
    assert stream.ended == "closed by the test", stream.ended
    assert found == len(load.acknowledged) and acked["after"] > 0
    assert incomplete == []
    assert committed == liabilities, "the guarantee's commitment drifted from its movements"
    assert chain.ok, chain.first_bad
    assert tracebacks == 0, log_text[log_text.find("Traceback") - 500 :][:4000]
