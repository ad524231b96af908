"""Transit fees assessed and settled per second through the service layer, on PostgreSQL,
beside a same-run baseline: the same rows written with raw psycopg, one transaction per fee.

Each fee: ``FeeDesk.pay`` with the prepaid method on a freshly lodged movement, so one unit
of work assesses it under the schedule in force (lines, rounding, the fee row), posts the
assessment and the settlement (two transactions, four postings, four balance updates under
the prepaid account's lock) and answers the receipt. The baseline inserts the same rows
and updates the same balances with literal values: no schedule, no ledger rules, no
locking of the fee. ``python -m bench --suite front-office`` runs it with the travellers'
figures; results also go to ``bench/results/fees.json``.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench import postgis
from bench.tracking import HOLDER, road_itinerary, scratch_database, setup_fleet

RESULTS = Path(__file__).parent / "results" / "fees.json"
COUNT = 1000


def _lodged(w: Any, fleet: Any, n: int) -> list[str]:
    from bench.declarations import declaration_json
    from tripp.movements.lodging import Lodged, LodgeRequest, lodge_batch
    from tripp.movements.schemas import DeclarationIn
    from tripp.movements.views import movement_view
    from tripp.parties.model import Actor, Role

    body = {**declaration_json(road_itinerary(w), fleet.grn), "holder": HOLDER}
    declaration = DeclarationIn.model_validate(body).to_domain()
    carrier = Actor(HOLDER, Role.CARRIER, "AZ")
    mrns: list[str] = []
    for start in range(0, n, 250):
        outcomes = lodge_batch(
            w.context,
            [LodgeRequest(carrier, declaration, None, "") for _ in range(min(250, n - start))],
            render=lambda m: movement_view(m, commercial=True),
        )
        mrns += [str(o.response["mrn"]) for o in outcomes if isinstance(o, Lodged)]
    return mrns


def _raw(url: str, n: int) -> float:
    """The rows of ``n`` assessed-and-settled fees, one transaction each, raw psycopg."""
    with psycopg.connect(postgis.libpq_url(url, "tripp_bench_fees")) as conn:
        conn.execute("CREATE TABLE raw_fees (ref text primary key, status text, amount bigint)")
        conn.execute("CREATE TABLE raw_tx (id text primary key, kind text, reference text)")
        conn.execute("CREATE TABLE raw_postings (tx text, account text, amount bigint)")
        conn.execute(
            "CREATE TABLE raw_balances (account text primary key, balance bigint not null)"
        )
        conn.commit()
        start = time.perf_counter()
        for i in range(n):
            ref = f"F{i}"
            with conn.transaction():
                conn.execute("INSERT INTO raw_fees VALUES (%s, 'due', 2300000)", (ref,))
                for kind in ("assess", "settle"):
                    conn.execute("INSERT INTO raw_tx VALUES (%s, %s, %s)",
                                 (f"{kind}:{ref}", kind, ref))  # fmt: skip
                    for account, amount in ((f"a:{ref}", 2300000), ("b", -2300000)):
                        conn.execute("INSERT INTO raw_postings VALUES (%s, %s, %s)",
                                     (f"{kind}:{ref}", account, amount))  # fmt: skip
                        conn.execute(
                            "INSERT INTO raw_balances VALUES (%s, %s) ON CONFLICT (account) "
                            "DO UPDATE SET balance = raw_balances.balance + excluded.balance",
                            (account, amount),
                        )
                conn.execute("UPDATE raw_fees SET status = 'settled' WHERE ref = %s", (ref,))
        return time.perf_counter() - start


def run(console: Console, progress: Progress) -> list[dict[str, Any]]:
    from tripp.bootstrap import wire
    from tripp.config import Settings
    from tripp.fees.desk import FeeDesk
    from tripp.parties.model import Actor, Role

    try:
        url = scratch_database("tripp_bench_fees")
    except Exception as exc:  # no PostgreSQL: say so and go on
        console.print(f"[yellow]fees skipped: {str(exc).splitlines()[0]}[/yellow]")
        return []
    task = progress.add_task(f"fees: lodging {COUNT:,} movements", total=None)
    w = wire(Settings(database_url=url))
    w.upgrade()
    fleet = setup_fleet(w, url, progress)
    mrns = _lodged(w, fleet, COUNT + 50)
    desk = FeeDesk(w.context.uow, w.corridor, w.clock)
    staff, carrier = (
        Actor("CORRIDOR-OPERATOR", Role.OPERATOR, "AZ"),
        Actor(HOLDER, Role.CARRIER, "AZ"),
    )
    desk.top_up(staff, HOLDER, Decimal(10**10), "AMD", "BENCH-TOPUP")
    for mrn in mrns[:50]:  # warm-up: caches, prepared statements
        desk.pay(carrier, mrn, method="prepaid", reference=f"w-{mrn}")
    progress.update(task, total=COUNT, completed=0, description="fees: assess + settle")
    start = time.perf_counter()
    for mrn in mrns[50:]:
        desk.pay(carrier, mrn, method="prepaid", reference=f"p-{mrn}")
        progress.advance(task)
    seconds = time.perf_counter() - start
    raw_s = _raw(url, COUNT)
    w.engine.dispose()
    rate, raw_rate = COUNT / seconds, COUNT / raw_s
    return [
        {"measurement": "FeeDesk.pay (assess + settle from prepaid), 1 fee per unit of work",
         "value": round(rate, 1), "unit": "fees/s", "count": COUNT,
         "seconds": round(seconds, 3), "baseline": "raw psycopg, same rows, 1 txn per fee",
         "ratio": round(rate / raw_rate, 4)},
        {"measurement": "baseline: raw psycopg, same rows, 1 txn per fee",
         "value": round(raw_rate, 1), "unit": "fees/s", "count": COUNT,
         "seconds": round(raw_s, 3), "baseline": None, "ratio": None},
    ]  # fmt: skip


def report(rows: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="Transit fees through the service layer, PostgreSQL (higher is better)")
    for col in ("measurement", "figure", "unit", "vs baseline"):
        table.add_column(col, justify="left" if col in ("measurement", "unit") else "right")
    for r in rows:
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.1%}"
        table.add_row(r["measurement"], f"{r['value']:,.0f}", r["unit"], ratio)
    console.print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
