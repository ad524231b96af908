"""Dashboard benchmarks: ``GET /api/v1/dashboard/vehicles``, ``/kpis`` over 30 days and the
live stream's delivery latency, on a store seeded with 10,000 movements (7,000 under way)
and 1,000,000 positions, on SQLite and (if reachable) PostgreSQL.

Same-run baselines: the raw SQL latest-position join for ``/vehicles``, the raw SQL reads of
the KPI inputs for ``/kpis``, and the ``POST /positions`` round trip for the stream (a fix
is "accepted" when that call returns 202; "delivered" when the SSE event is read).
``python -m bench.dashboard`` runs it alone. Results also go to
``bench/results/dashboard.json``.
"""

from __future__ import annotations

import json
import queue
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text

from bench import pages, server
from bench.declarations import HOLDER, declaration_json, itinerary, setup_parties
from bench.tracking import scratch_database
from tripp.bootstrap import Wiring, utc_now, wire
from tripp.config import Settings
from tripp.parties import service as parties
from tripp.parties.model import Role

RESULTS = Path(__file__).parent / "results" / "dashboard.json"
MOVEMENTS = 10_000
POSITIONS = 1_000_000
UNDER_WAY_SHARE = 0.7
REPEATS = 20
STREAM_FIXES = 30


def _sqlite_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _rows(w: Wiring, grn: str, now: datetime) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """Rows per table, times as aware datetimes."""
    it = itinerary(w)
    decl = json.dumps(declaration_json(it, grn))
    offices = [it.office_of_departure, *it.offices_of_transit, it.office_of_destination]
    countries = [w.corridor.offices[c].country for c in offices]
    roles = ["departure"] + ["transit"] * len(it.offices_of_transit) + ["destination"]
    per = POSITIONS // MOVEMENTS
    movements, offices_rows, devices, latest, events, alerts, screenings = ([] for _ in range(7))
    positions: list[tuple[Any, ...]] = []
    for i in range(MOVEMENTS):
        mrn = _mrn(i)
        accepted = now - timedelta(days=29, hours=-(i % 600) / 25)
        released = accepted + timedelta(hours=1)
        under_way = i < MOVEMENTS * UNDER_WAY_SHARE
        arrived = None if under_way else released + timedelta(hours=10 + i % 40)
        state = ("in_transit" if i % 2 else "released") if under_way else "arrived"
        device = f"BENCH-TRK-{i:05d}"
        # Under way means within the time limit and reporting: the server's periodic job
        # would otherwise put them all under enquiry (off the map) and raise 7,000
        # overdue and tracker-silent alerts in the middle of the measurements.
        limit = now + timedelta(days=2) if under_way else released + timedelta(days=8)
        movements.append((mrn, HOLDER, grn, state, decl, 100, "USD", accepted,
                          released, limit, arrived, arrived or released, "[]", device))  # fmt: skip
        offices_rows += [(mrn, k, offices[k], countries[k], roles[k]) for k in range(len(offices))]
        devices.append((device, "tracker", "BENCH", released, mrn if under_way else None,
                        released if under_way else None))  # fmt: skip
        start = (now - timedelta(seconds=30 * per + i % 60) if under_way
                 else released + timedelta(minutes=1))  # fmt: skip
        last = None
        for k in range(per):
            t = start + timedelta(seconds=30 * k)
            last = (device, t, 38.9 + k * 1e-4, 46.0 + k * 1e-3, 60.0)
            positions.append((*last, mrn, t + timedelta(milliseconds=300), "{}"))
        assert last is not None
        latest.append(last)
        cross = released + timedelta(hours=3)
        events.append((f"x{i}", mrn, "border_crossing", offices[1], cross, cross, "AM-CUSTOMS",
                       "{}", "released", "in_transit", "-"))  # fmt: skip
        if i % 5 == 0:
            screenings.append((f"s{i}", mrn, offices[1], cross - timedelta(minutes=20 + i % 30),
                               "green", 0, "[]", "AM", 1, 0.5, "{}", "AM-CUSTOMS", "-"))  # fmt: skip
        if i % 7 == 0:
            at = start + timedelta(minutes=30)
            cleared = None if i % 14 == 0 else at + timedelta(minutes=20)
            alerts.append((mrn, "speeding", device, at, cleared, 46.0, 38.9, "AM", "{}", at))
    yield "movements", movements
    yield "movement_offices", offices_rows
    yield "devices", devices
    yield "latest_positions", latest
    yield "positions", positions
    yield "events", events
    yield "screenings", screenings
    yield "alerts", alerts


_COLUMNS = {
    "movements": "mrn, holder, guarantee_grn, state, declaration, liability_minor, "
    "liability_currency, accepted_at, released_at, time_limit, arrived_at, updated_at, seals, "
    "tracker_id",
    "movement_offices": "mrn, position, office_code, country, role",
    "devices": "id, kind, registered_by, created_at, armed_mrn, armed_at",
    "latest_positions": "device_id, time, lat, lon, speed_kmh",
    "positions": "device_id, time, lat, lon, speed_kmh, mrn, received_at, attributes",
    "events": "id, mrn, type, office, at, recorded_at, recorded_by, payload, state_before, "
    "state_after, request_hash",
    "screenings": "id, mrn, office, at, lane, score, reasons, ruleset_country, "
    "ruleset_version, draw, subject, screened_by, request_hash",
    "alerts": "mrn, kind, device_id, raised_at, cleared_at, lon, lat, country, details, "
    "recorded_at",
}


def seed(w: Wiring, grn: str) -> float:
    """Bulk-load the store; returns the seconds it took."""
    started = time.perf_counter()
    now = utc_now()
    if w.engine.dialect.name == "postgresql":
        _seed_pg(w.engine, grn, w, now)
    else:
        raw = w.engine.raw_connection()
        try:
            cur = raw.cursor()
            # A bench store, thrown away after: no fsync, and a cache that holds the indexes
            # (the received_at index is written out of order, which thrashed a small cache).
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA cache_size=-1000000")
            for table, rows in _rows(w, grn, now):
                marks = ", ".join("?" * len(rows[0]))
                cur.executemany(
                    f"INSERT INTO {table} ({_COLUMNS[table]}) VALUES ({marks})",
                    [tuple(_sqlite_time(v) if isinstance(v, datetime) else v for v in r)
                     for r in rows],
                )  # fmt: skip
            raw.commit()
            cur.execute("ANALYZE")
        finally:
            raw.close()
    return time.perf_counter() - started


def _seed_pg(engine: Engine, grn: str, w: Wiring, now: datetime) -> None:
    raw = engine.raw_connection()
    try:
        cur: Any = raw.cursor()
        for table, rows in _rows(w, grn, now):
            with cur.copy(f"COPY {table} ({_COLUMNS[table]}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def _timed(call: Callable[[], object], repeats: int = REPEATS) -> list[float]:
    call()  # warm
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        call()
        out.append((time.perf_counter() - t) * 1000)
    return out


_RAW_LATEST = """
SELECT m.mrn, m.state, m.holder, lp.lon, lp.lat, lp.time, lp.speed_kmh
FROM movements m JOIN latest_positions lp ON lp.device_id = m.tracker_id
WHERE m.state IN ('released', 'in_transit')
"""
_RAW_KPI = [
    "SELECT count(*) FROM movements WHERE accepted_at >= :s AND accepted_at < :e",
    "SELECT released_at, arrived_at FROM movements WHERE arrived_at >= :s AND arrived_at < :e",
    "SELECT at, office FROM events WHERE type = 'border_crossing' AND at >= :s AND at < :e",
    "SELECT kind, count(*) FROM alerts WHERE raised_at >= :s AND raised_at < :e GROUP BY kind",
]


def _stream_latency(base: str, token: str, operator: str) -> tuple[list[float], list[float]]:
    """(delivery ms, POST round trip ms) for fixes of one armed device."""
    events: queue.Queue[tuple[float, str]] = queue.Queue()
    client = httpx.Client(timeout=httpx.Timeout(10, read=60))
    stop = threading.Event()

    def read() -> None:
        try:
            with client.stream("GET", base + "/api/v1/dashboard/stream",
                               headers={"Authorization": f"Bearer {token}"}) as r:  # fmt: skip
                for line in r.iter_lines():
                    if stop.is_set():
                        return
                    if line.startswith("data: "):
                        events.put((time.perf_counter(), line))
        except httpx.HTTPError:  # closed under it at the end: that is the way out
            return

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    time.sleep(1.0)
    delivered, posts = [], []
    device = "BENCH-TRK-00001"
    with httpx.Client(timeout=10) as http:
        t0 = utc_now() + timedelta(hours=1)
        for k in range(STREAM_FIXES):
            fixed = (t0 + timedelta(seconds=k)).isoformat()
            start = time.perf_counter()
            r = http.post(base + "/api/v1/positions", headers={"Authorization": f"Bearer {operator}"},
                          json=[{"device_id": device, "time": fixed, "lat": 38.95, "lon": 46.1}])  # fmt: skip
            accepted = time.perf_counter()
            assert r.status_code == 202, r.text
            posts.append((accepted - start) * 1000)
            deadline = accepted + 5
            while time.perf_counter() < deadline:
                try:
                    at, line = events.get(timeout=max(0.01, deadline - time.perf_counter()))
                except queue.Empty:
                    break
                if fixed.replace("+00:00", "Z") in line:
                    delivered.append((at - accepted) * 1000)
                    break
            time.sleep(0.2)
    stop.set()
    client.close()
    return delivered, posts


def _page_tokens(w: Wiring, now: datetime) -> tuple[dict[str, str], str, str]:
    """A token per role the pages are opened as; the movement and border post they show:
    the first movement (under way, tracked, with an open alert) and the last transit
    office, where the vehicles under way are expected next (they crossed the first one),
    watched by that office's country's customs."""
    it = itinerary(w)
    office = it.offices_of_transit[-1]
    country = w.corridor.offices[office].country
    tokens = {
        role.value: parties.create_token(w.context.uow, party_id=party, role=role,
                                         label="bench", now=now)[0]
        for party, role in (("CORRIDOR-OPERATOR", Role.OPERATOR),
                            (f"{country}-CUSTOMS", Role.CUSTOMS),
                            ("WORKING-GROUP", Role.OBSERVER))
    }  # fmt: skip
    return tokens, _mrn(0), office


def _mrn(i: int) -> str:
    return f"26AZB{i:012d}X"[:18]


def run_store(
    store: str, url: str, console: Console, repeats: int = pages.REPEATS
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(API and stream latency rows, page first-render rows) for one store."""
    w = wire(Settings(database_url=url))
    w.upgrade()
    grn, _ = setup_parties(w)
    now = utc_now()
    admin, _ = parties.create_token(w.context.uow, party_id="SYSTEM", role=Role.ADMIN,
                                    label="bench", now=now)  # fmt: skip
    page_tokens, mrn, office = _page_tokens(w, now)
    seconds = seed(w, grn)
    console.print(f"{store}: seeded {MOVEMENTS:,} movements, {POSITIONS:,} positions "
                  f"in {seconds:.1f} s")  # fmt: skip
    rows: list[dict[str, Any]] = []
    span = {"s": now - timedelta(days=30), "e": now}
    with w.engine.connect() as conn:
        rows.append(_row(store, "raw SQL latest-position join", _timed(
            lambda: conn.execute(text(_RAW_LATEST)).all())))  # fmt: skip
        rows.append(_row(store, "raw SQL KPI inputs (30 days)", _timed(
            lambda: [conn.execute(text(q), span).all() for q in _RAW_KPI])))  # fmt: skip
    w.engine.dispose()
    port = server.free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = server.serve(url, port, 1, Path(tmp) / "server.log")
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base + "/api/v1/dashboard", timeout=60,
                              headers={"Authorization": f"Bearer {admin}"}) as http:  # fmt: skip
                count = len(http.get("/vehicles").json()["vehicles"])
                rows.append(_row(store, f"GET /vehicles ({count:,} vehicles)",
                                 _timed(lambda: http.get("/vehicles").raise_for_status())))  # fmt: skip
                rows.append(_row(store, "GET /kpis (30 days)",
                                 _timed(lambda: http.get("/kpis").raise_for_status())))  # fmt: skip
            page_rows = pages.measure(
                base, page_tokens, mrn, office, store=store, repeats=repeats,
                tick=lambda name: console.print(f"{store}: timing the {name} page"),
            )  # fmt: skip
            delivered, posts = _stream_latency(base, admin, admin)
            rows.append(_row(store, "POST /positions round trip", posts))
            rows.append(_row(store, "stream: accepted → event read", delivered))
        finally:
            server.stop(proc)
    return rows, page_rows


def _row(store: str, what: str, ms: list[float]) -> dict[str, Any]:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else None
    return {"store": store, "what": what, "n": len(ms),
            "p50_ms": statistics.median(ms) if ms else None, "p95_ms": p95,
            "max_ms": max(ms) if ms else None}  # fmt: skip


def _postgres_url(console: Console) -> str | None:
    try:
        return scratch_database("tripp_bench_dashboard")
    except Exception as exc:  # unreachable server: report and go on with SQLite
        console.print(f"[yellow]PostgreSQL skipped: {str(exc).splitlines()[0]}[/yellow]")
        return None


def run(
    console: Console, stores: str = "sqlite,postgres", repeats: int = pages.REPEATS
) -> dict[str, list[dict[str, Any]]]:
    """``{"latency": API and stream rows, "pages": first-render rows}``, also written to
    ``RESULTS``."""
    out: dict[str, list[dict[str, Any]]] = {"latency": [], "pages": []}
    with tempfile.TemporaryDirectory() as tmp:
        for store in stores.split(","):
            url = f"sqlite:///{tmp}/dash.db" if store == "sqlite" else _postgres_url(console)
            if url is not None:
                latency, page_rows = run_store(store, url, console, repeats)
                out["latency"] += latency
                out["pages"] += page_rows
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2))
    return out


def report(results: dict[str, list[dict[str, Any]]], console: Console) -> None:
    table = Table(title="Dashboard latency in ms (lower is better)")
    for col in ("store", "what", "n", "p50", "p95", "max"):
        table.add_column(col, justify="left" if col in ("store", "what") else "right")
    for r in results["latency"]:
        cells = [f"{r[k]:.1f}" if r[k] is not None else "-" for k in ("p50_ms", "p95_ms", "max_ms")]
        table.add_row(r["store"], r["what"], str(r["n"]), *cells)
    console.print(table)
    table = Table(title="Dashboard pages: first render in headless Chromium, ms (target < 1000)")
    cols = ("store", "page", "role", "n", "cold p50", "cold p95", "cold max", "warm p50",
            "API p50", "cold/API", "cold/shell")  # fmt: skip
    for col in cols:
        table.add_column(col, justify="left" if col in ("store", "page", "role") else "right")

    def cell(v: float | None, fmt: str = "{:.0f}") -> str:
        return "-" if v is None else fmt.format(v)

    for r in results["pages"]:
        slow = r["cold_p95_ms"] >= 1000
        table.add_row(
            r["store"], r["page"], r["role"] or "-", str(r["n"]), cell(r["cold_p50_ms"]),
            f"[red]{r['cold_p95_ms']:.0f}[/red]" if slow else cell(r["cold_p95_ms"]),
            cell(r["cold_max_ms"]), cell(r["warm_p50_ms"]), cell(r["api_p50_ms"]),
            cell(r["cold_vs_api"], "{:.1f}x"), cell(r["cold_vs_shell"], "{:.1f}x"),
        )  # fmt: skip
    console.print(table)


if __name__ == "__main__":
    out = Console(width=110)
    report(run(out), out)
