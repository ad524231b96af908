"""``python -m bench``: run the benchmarks and print ratios against same-run baselines.

Options: ``--n`` declarations per measurement (default 2000), ``--clients`` HTTP
connections (default 8), ``--stores sqlite,postgres``, ``--workers`` server
processes on PostgreSQL (default 2). PostgreSQL comes from TRIPP_BENCH_POSTGRES_URL
(default: a scratch database on the local server); it is skipped with a note when
unreachable. Results also go to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench import border, dashboard, fees, risk, sim, tracking, travellers
from bench.declarations import (
    Result,
    declaration_json,
    http_load,
    itinerary,
    raw_baseline,
    raw_rows,
    service_layer,
    setup_parties,
)
from bench.server import serve, stop
from tripp.bootstrap import wire
from tripp.config import Settings

console = Console(width=110)


def postgres_url() -> str | None:
    try:
        return tracking.scratch_database("tripp_bench")
    except Exception as exc:  # unreachable server: report and go on with SQLite
        console.print(f"[yellow]PostgreSQL skipped: {str(exc).splitlines()[0]}[/yellow]")
        return None


def run_store(store: str, url: str, args: argparse.Namespace, progress: Progress) -> list[Result]:
    w = wire(Settings(database_url=url))
    w.upgrade()
    grn, token = setup_parties(w)
    body = declaration_json(itinerary(w), grn)
    n = args.n
    results = []
    task = progress.add_task(f"{store}: raw baselines", total=2)
    rows = raw_rows(w, body, grn, n)
    results.append(
        Result(
            store, "raw executemany (1 txn)", n, raw_baseline(w.engine, rows, per_declaration=False)
        )
    )
    progress.advance(task)
    rows = raw_rows(w, body, grn, n)
    results.append(
        Result(
            store, "raw per-declaration txn", n, raw_baseline(w.engine, rows, per_declaration=True)
        )
    )
    progress.advance(task)
    for batch in (1, args.batch):
        task = progress.add_task(f"{store}: service layer, {batch} per unit of work", total=n)
        seconds = service_layer(w, body, n, batch, lambda t=task: progress.advance(t))
        results.append(Result(store, f"service layer ({batch}/txn)", n, seconds))
    w.engine.dispose()
    workers = args.workers if store == "postgres" else 1
    task = progress.add_task(f"{store}: HTTP ({args.clients} clients, {workers} workers)", total=n)
    port = 8765
    with tempfile.TemporaryDirectory() as tmp:
        proc = serve(url, port, workers, Path(tmp) / "server.log")
        try:
            http_load(
                f"http://127.0.0.1:{port}", token, body, n // 5, args.clients, lambda: None
            )  # warm-up
            seconds = http_load(
                f"http://127.0.0.1:{port}",
                token,
                body,
                n,
                args.clients,
                lambda: progress.advance(task),
            )
        finally:
            stop(proc)
    results.append(
        Result(store, f"HTTP end to end ({workers} worker{'s' if workers > 1 else ''})", n, seconds)
    )
    return results


def report(results: list[Result]) -> None:
    table = Table(title="Declarations per second (higher is better)")
    for col in ("store", "path", "decl/s", "vs raw executemany", "vs raw per-decl txn"):
        table.add_column(col, justify="right" if col != "path" else "left")
    for r in results:
        base = {b.path: b.rate for b in results if b.store == r.store}
        table.add_row(
            r.store,
            r.path,
            f"{r.rate:,.0f}",
            f"{r.rate / base['raw executemany (1 txn)']:.1%}",
            f"{r.rate / base['raw per-declaration txn']:.1%}",
        )
    console.print(table)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(
        json.dumps(
            [
                {
                    "store": r.store,
                    "path": r.path,
                    "count": r.count,
                    "seconds": round(r.seconds, 4),
                    "per_second": round(r.rate, 1),
                }
                for r in results
            ],
            indent=2,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=50, help="declarations per unit of work")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument(
        "--suite",
        choices=["all", "declarations", "tracking", "border", "front-office", "sim", "dashboard"],
        default="all",
    )
    tracking.add_arguments(parser)
    args = parser.parse_args()
    if args.suite in ("all", "declarations"):
        declarations(args)
    if args.suite in ("all", "tracking"):
        with Progress(console=console) as progress:
            rows = tracking.run(args, console, progress)
        tracking.report(rows, console)
    if args.suite in ("all", "border"):
        risk.report(risk.run(console), console)
        with Progress(console=console) as progress:
            rows = border.run(console, progress)
        border.report(rows, console)
    if args.suite in ("all", "front-office"):
        with Progress(console=console) as progress:
            rows = fees.run(console, progress)
        fees.report(rows, console)
        travellers.report(travellers.run(console), console)
    if args.suite in ("all", "sim"):
        sim.report(sim.run(console), console)
    if args.suite in ("all", "dashboard"):
        dashboard.report(dashboard.run(console), console)


def declarations(args: argparse.Namespace) -> None:
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp, Progress(console=console) as progress:
        for store in args.stores.split(","):
            if store == "sqlite":
                url = f"sqlite:///{tmp}/bench.db"
            elif store == "postgres":
                pg = postgres_url()
                if pg is None:
                    continue
                url = pg
            else:
                raise SystemExit(f"unknown store {store!r}: use sqlite and/or postgres")
            results += run_store(store, url, args, progress)
    report(results)


if __name__ == "__main__":
    main()
