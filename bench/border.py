"""Border posts over HTTP: the latency of ``POST /offices/{code}/screenings`` at a steady
200 requests/s against ``tripp serve`` on PostgreSQL (2 workers), beside a same-run
baseline: an authenticated ``GET /movements/{mrn}`` at the same rate.

The load is open-loop: request i is due at start + i/rate and sent then from one asyncio
loop, and its latency counts from that moment, so a slow answer that delays later requests
is charged to them too (no coordinated omission). ``python -m bench --suite border`` runs it with the in-process
screening figures of ``bench.risk``; results also go to ``bench/results/border.json``.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.server import free_port, serve, stop
from bench.tracking import road_itinerary, scratch_database, setup_fleet

RESULTS = Path(__file__).parent / "results" / "border.json"
RATE = 200.0  # requests/s, the load
SECONDS = 20.0
WARMUP_S = 3.0
MOVEMENTS = 400
CONNECTIONS = 32
TARGET_P99_MS = 25.0


def _released(w: Any, fleet: Any, n: int) -> tuple[list[str], str]:
    """``n`` movements lodged and released towards the first Armenian office of transit."""
    from bench.declarations import declaration_json
    from bench.tracking import HOLDER
    from tripp.bootstrap import utc_now
    from tripp.movements import service as movements
    from tripp.movements.lodging import Lodged, LodgeRequest, lodge_batch
    from tripp.movements.model import EventType, MovementEvent
    from tripp.movements.schemas import DeclarationIn
    from tripp.movements.views import movement_view
    from tripp.parties.model import Actor, Role

    it = road_itinerary(w)
    body = {**declaration_json(it, fleet.grn), "holder": HOLDER}
    declaration = DeclarationIn.model_validate(body).to_domain()
    carrier = Actor(HOLDER, Role.CARRIER, "AZ")
    customs = Actor("AZ-CUSTOMS", Role.CUSTOMS, "AZ")
    outcomes = lodge_batch(
        w.context,
        [LodgeRequest(carrier, declaration, None, "") for _ in range(n)],
        render=lambda m: movement_view(m, commercial=True),
    )
    mrns = [str(o.response["mrn"]) for o in outcomes if isinstance(o, Lodged)]
    for mrn in mrns:
        event = MovementEvent("release", EventType.RELEASE, it.office_of_departure,
                              utc_now(), customs.party, {"seals": ["S1"]})  # fmt: skip
        movements.record(w.context, customs, mrn, event, "bench")
    return mrns, it.offices_of_transit[0]


def open_loop(
    base: str,
    token: str,
    request: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
    seconds: float,
) -> tuple[np.ndarray, int]:
    """Latencies (ms) of requests sent at ``RATE``/s for ``seconds``; and the failures.

    One asyncio loop sends every request at its due time and awaits the answers
    concurrently: a pool of client threads woke up late under load (the GIL, the
    scheduler) and charged its own lateness to the server."""
    return asyncio.run(_open_loop(base, token, request, seconds))


async def _open_loop(
    base: str,
    token: str,
    request: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
    seconds: float,
) -> tuple[np.ndarray, int]:
    total = int(RATE * seconds)
    latencies = np.full(total, np.nan)
    failures = 0
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10, limits=limits) as c:

        async def one(i: int, due: float) -> None:
            nonlocal failures
            r = await request(c, i)
            latencies[i] = (time.perf_counter() - due) * 1000
            if r.status_code >= 300:
                failures += 1

        start = time.perf_counter() + 0.1
        tasks = []
        for i in range(total):
            due = start + i / RATE
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
    return latencies, failures


def _row(
    name: str, ms: np.ndarray, failures: int, baseline: dict[str, Any] | None
) -> dict[str, Any]:
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    row = {
        "measurement": name, "requests": len(ms), "failures": failures,
        "p50_ms": round(float(p50), 2), "p95_ms": round(float(p95), 2),
        "p99_ms": round(float(p99), 2), "max_ms": round(float(ms.max()), 2),
    }  # fmt: skip
    if baseline is not None:
        row["p99_vs_baseline"] = round(float(p99) / baseline["p99_ms"], 2)
        row["target"] = f"p99 < {TARGET_P99_MS:.0f} ms"
        row["met"] = bool(p99 < TARGET_P99_MS) and failures == 0
    return row


def run(console: Console, progress: Progress) -> list[dict[str, Any]]:
    from tripp.bootstrap import utc_now, wire
    from tripp.config import Settings
    from tripp.db.uow import UnitOfWork
    from tripp.parties import service as parties
    from tripp.parties.model import Role

    try:
        url = scratch_database("tripp_bench_border")
    except Exception as exc:  # no PostgreSQL: say so and go on
        console.print(f"[yellow]border HTTP skipped: {str(exc).splitlines()[0]}[/yellow]")
        return []
    task = progress.add_task("border: lodging and releasing movements", total=None)
    w = wire(Settings(database_url=url))
    w.upgrade()
    fleet = setup_fleet(w, url, progress)
    mrns, office = _released(w, fleet, MOVEMENTS)
    token, _ = parties.create_token(
        UnitOfWork(w.engine), party_id="AM-CUSTOMS", role=Role.CUSTOMS, label="bench",
        now=utc_now(),
    )  # fmt: skip
    w.engine.dispose()
    progress.update(task, total=1, completed=1)
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def screening(client: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
        mrn = mrns[i % len(mrns)]
        return client.post(f"/api/v1/offices/{office}/screenings", json={"mrn": mrn})

    def read(client: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
        return client.get(f"/api/v1/movements/{mrns[i % len(mrns)]}")

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        server = serve(url, port, 2, Path(tmp) / "server.log")
        try:
            task = progress.add_task(f"border: {RATE:.0f} requests/s, {SECONDS:.0f} s each")
            open_loop(base, token, screening, WARMUP_S)
            reads, read_failures = open_loop(base, token, read, SECONDS)
            baseline = _row("GET /movements/{mrn} (baseline)", reads, read_failures, None)
            screens, failures = open_loop(base, token, screening, SECONDS)
            rows = [
                _row("POST /offices/{code}/screenings", screens, failures, baseline),
                baseline,
            ]
            progress.update(task, total=1, completed=1)
        finally:
            stop(server)
    return rows


def report(rows: list[dict[str, Any]], console: Console) -> None:
    table = Table(title=f"Border posts over HTTP at {RATE:.0f} requests/s (lower is better)")
    for col in ("measurement", "p50 ms", "p95 ms", "p99 ms", "max ms", "failed", "vs baseline",
                "target"):  # fmt: skip
        table.add_column(col, justify="left" if col == "measurement" else "right")
    for r in rows:
        target = r.get("target", "")
        if "met" in r:
            target += " [green]met[/green]" if r["met"] else " [red]missed[/red]"
        ratio = f"{r['p99_vs_baseline']:.2f}x" if "p99_vs_baseline" in r else ""
        table.add_row(r["measurement"], f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}",
                      f"{r['p99_ms']:.1f}", f"{r['max_ms']:.1f}", str(r["failures"]), ratio,
                      target)  # fmt: skip
    console.print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
