"""Risk screenings per second in process, beside a same-run baseline.

``screen`` runs over ``--risk-subjects`` varied subjects (default 200,000) with the bundled
AM ruleset. The baseline is a bare loop over the same subjects doing only what no screening
can skip: the SHA-256 random draw (``tripp.risk.engine.random_draw``'s recipe, inlined).
Their ratio says what the rules cost on top of the hash. Each figure is the best of
``--risk-repeats`` runs, which filters out a busy machine's noise rather than averaging it
in. ``python -m bench.risk`` runs it alone; results also go to ``bench/results/risk.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tripp.corridor.model import TransportMode
from tripp.risk.defaults import default_ruleset
from tripp.risk.engine import screen
from tripp.risk.model import ALERT_KINDS, HolderHistory, Subject
from tripp.risk.ruleset import Ruleset

RESULTS = Path(__file__).parent / "results" / "risk.json"
TARGET = 20_000.0  # screenings/s, the target on one core
COUNTRY = "AM"
SEED = 2026

# Mostly ordinary trade, with the sensitive chapters at a few percent so that every rule
# kind speaks in the run, as it would at a real post.
ORDINARY_HS = ["870323", "847130", "080510", "220421", "610910", "940360", "300490", "721420"]
SENSITIVE_HS = ["930190", "845611", "293941", "291524", "901320", "360200"]
ROAD, RAIL = TransportMode.ROAD, TransportMode.RAIL
VEHICLES = [(ROAD, "truck", 40_000), (ROAD, "van", 3_500), (RAIL, "wagon", 70_000)]


def subjects(count: int, seed: int = SEED) -> list[Subject]:
    """``count`` varied subjects, the same for a given seed."""
    rng = random.Random(seed)
    alert_kinds = sorted(ALERT_KINDS)
    out = []
    for i in range(count):
        mode, vehicle, limit = rng.choice(VEHICLES)
        codes = [
            rng.choice(SENSITIVE_HS if rng.random() < 0.02 else ORDINARY_HS)
            for _ in range(rng.randint(1, 9))
        ]
        alerts = frozenset(rng.sample(alert_kinds, 1)) if rng.random() < 0.05 else frozenset()
        history = HolderHistory(
            movements_total=rng.randint(0, 500),
            discrepancies=rng.choice((0, 0, 0, 1, 2)),
            incidents=rng.choice((0, 0, 0, 0, 1)),
            recoveries=rng.choice((0,) * 19 + (1,)),
        )
        out.append(
            Subject(
                mrn=f"26AZ{i:014d}",
                country=COUNTRY,
                office="AM000101",
                holder=f"AZ-CARRIER-{i % 997:04d}",
                mode=mode,
                vehicle_class=vehicle,
                gross_mass_kg=Decimal(rng.randint(100, int(limit * 1.05))),
                hs_codes=tuple(codes),
                history=history,
                alerts=alerts,
                trusted_trader=rng.random() < 0.2,
            )
        )
    return out


def best_seconds(work: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def screen_all(batch: Sequence[Subject], ruleset: Ruleset) -> None:
    # Decisions are dropped as they come, as a post hands each to its store: keeping
    # 200,000 of them alive would time the garbage collector walking them instead.
    for s in batch:
        screen(s, ruleset)


def hash_only(batch: Sequence[Subject]) -> int:
    """The baseline: the SHA-256 draw alone, the one cost no screening avoids."""
    sha256 = hashlib.sha256
    total = 0
    for s in batch:
        digest = sha256(f"{s.mrn}|{COUNTRY}|1".encode()).digest()
        total ^= int.from_bytes(digest[:8], "big") >> 11
    return total


def run(console: Console, *, count: int = 200_000, repeats: int = 3) -> list[dict[str, Any]]:
    """Measure; returns the rows (see ``report``) and prints the lane shares."""
    ruleset = default_ruleset(COUNTRY)
    batch = subjects(count)
    lanes = Counter(screen(s, ruleset).lane.value for s in batch)  # also warms up
    shares = ", ".join(f"{lane} {lanes[lane] / count:.1%}" for lane in ("green", "yellow", "red"))
    console.print(f"risk: {count:,} subjects, {len(ruleset.rules)} rules; lanes: {shares}")
    engine_s = best_seconds(lambda: screen_all(batch, ruleset), repeats)
    hash_s = best_seconds(lambda: hash_only(batch), repeats)
    rate, hash_rate = count / engine_s, count / hash_s
    return [
        {
            "measurement": "screen(), AM default ruleset",
            "value": round(rate, 1),
            "unit": "screenings/s",
            "count": count,
            "seconds": round(engine_s, 4),
            "baseline": "SHA-256 draw only",
            "ratio": round(rate / hash_rate, 4),
            "target": f">= {TARGET:,.0f}/s",
            "met": rate >= TARGET,
        },
        {
            "measurement": "baseline: SHA-256 draw only",
            "value": round(hash_rate, 1),
            "unit": "draws/s",
            "count": count,
            "seconds": round(hash_s, 4),
            "baseline": None,
            "ratio": None,
            "target": None,
            "met": None,
        },
    ]


def report(rows: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="Risk screening in process (higher is better)")
    for col in ("measurement", "figure", "unit", "vs baseline", "target"):
        table.add_column(col, justify="left" if col in ("measurement", "unit") else "right")
    for row in rows:
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.1%}"
        target = row["target"] or ""
        if row["met"] is not None:
            target += " [green]met[/green]" if row["met"] else " [red]missed[/red]"
        table.add_row(row["measurement"], f"{row['value']:,.0f}", row["unit"], ratio, target)
    console.print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.risk", description=__doc__)
    parser.add_argument("--risk-subjects", type=int, default=200_000)
    parser.add_argument("--risk-repeats", type=int, default=3)
    args = parser.parse_args()
    console = Console(width=110)
    rows = run(console, count=args.risk_subjects, repeats=args.risk_repeats)
    report(rows, console)


if __name__ == "__main__":
    main()
