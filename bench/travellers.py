"""Travellers screened per second against a 100,000-name watchlist, beside a same-run baseline.

The watchlist holds ``--travellers-watchlist`` generated persons (default 100,000; names
from ``tripp/travellers/data/names.txt``, each spelt by one romanisation system). The
travellers are ``--travellers-count`` persons (default 2,000): half of them listed, spelt
by another system, half not listed. The baseline is what no fuzzy screening can beat: one
exact dictionary lookup of the upper-cased (surname, given names) per traveller. Each rate
is the best of ``--travellers-repeats`` runs. The precision and recall of matching on the
generated labelled set (``tripp.travellers.variants.evaluation_report``) are printed and kept
beside the rates. ``python -m bench.travellers`` runs it alone; results also go to
``bench/results/travellers.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.risk import best_seconds
from tripp.travellers.names import Watchlist, WatchlistEntry
from tripp.travellers.variants import evaluation_report, population, romanise

RESULTS = Path(__file__).parent / "results" / "travellers.json"
TARGET = 1_000.0  # travellers/s on one core: "well under a millisecond" each
TARGET_RECALL, TARGET_PRECISION = 0.95, 0.9
SEED = 2026

Traveller = tuple[str, str, Any, str]  # surname, given names, birth date, nationality


def watchlist_entries(count: int, seed: int = SEED) -> list[WatchlistEntry]:
    rng = random.Random(seed)
    return [
        WatchlistEntry(p.identity, *romanise(p, rng), p.birth_date, p.nationality)
        for p in population(seed, count)
    ]


def travellers(count: int, listed: int, seed: int = SEED) -> list[Traveller]:
    """Half listed persons in another spelling, half persons who are not listed."""
    rng = random.Random(seed + 1)
    persons = population(seed, listed)  # the same persons as the watchlist's
    others = population(seed + 2, count)
    out = []
    for i in range(count):
        p = rng.choice(persons) if i % 2 == 0 else others[i]
        surname, given = romanise(p, rng)
        out.append((surname.upper(), given.upper(), p.birth_date, p.nationality))
    return out


def screen_all(watchlist: Watchlist, batch: Sequence[Traveller]) -> int:
    return sum(len(watchlist.screen(*t)) for t in batch)


def exact_lookup(index: dict[tuple[str, str], list[int]], batch: Sequence[Traveller]) -> int:
    """The baseline: an exact dictionary lookup of the upper-cased name."""
    return sum(len(index.get((s, g), ())) for s, g, _, _ in batch)


def run(
    console: Console, *, size: int = 100_000, count: int = 2_000, repeats: int = 3
) -> list[dict[str, Any]]:
    """Measure; returns the rows (see ``report``) and prints the hit share and the figures
    of the labelled evaluation."""
    entries = watchlist_entries(size)
    start = time.perf_counter()
    watchlist = Watchlist(entries)
    build_s = time.perf_counter() - start
    index: dict[tuple[str, str], list[int]] = {}
    for i, e in enumerate(entries):
        index.setdefault((e.surname.upper(), e.given_names.upper()), []).append(i)
    batch = travellers(count, size)
    hits = sum(any(m.is_hit for m in watchlist.screen(*t)) for t in batch)  # also warms up
    console.print(
        f"travellers: {size:,} watchlist entries indexed in {build_s:.2f} s; "
        f"{count:,} travellers, {hits / count:.1%} with a hit"
    )
    screen_s = best_seconds(lambda: screen_all(watchlist, batch), repeats)
    exact_s = best_seconds(lambda: exact_lookup(index, batch), repeats)
    rate, exact_rate = count / screen_s, count / exact_s
    figures = evaluation_report()
    console.print(
        f"name matching on {figures['queries']:,} labelled queries (seed {figures['seed']}): "
        f"precision {figures['precision']:.4f}, recall {figures['recall']:.4f}, "
        f"f1 {figures['f1']:.4f}; counts {figures['counts']}"
    )
    row = {"count": count, "baseline": None, "ratio": None}
    return [
        {
            **row,
            "measurement": f"Watchlist.screen(), {size:,} entries",
            "value": round(rate, 1),
            "unit": "travellers/s",
            "seconds": round(screen_s, 4),
            "baseline": "exact dict lookup",
            "ratio": round(rate / exact_rate, 6),
            "target": f">= {TARGET:,.0f}/s",
            "met": rate >= TARGET,
        },
        {
            **row,
            "measurement": "baseline: exact dict lookup",
            "value": round(exact_rate, 1),
            "unit": "lookups/s",
            "seconds": round(exact_s, 4),
            "target": None,
            "met": None,
        },
        {
            **row,
            "measurement": "matching recall (labelled set)",
            "value": figures["recall"],
            "unit": "ratio",
            "seconds": None,
            "target": f">= {TARGET_RECALL}",
            "met": figures["recall"] >= TARGET_RECALL,
        },
        {
            **row,
            "measurement": "matching precision (labelled set)",
            "value": figures["precision"],
            "unit": "ratio",
            "seconds": None,
            "target": f">= {TARGET_PRECISION}",
            "met": figures["precision"] >= TARGET_PRECISION,
        },
    ]


def report(rows: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="Traveller screening in process (higher is better)")
    for col in ("measurement", "figure", "unit", "vs baseline", "target"):
        table.add_column(col, justify="left" if col in ("measurement", "unit") else "right")
    for row in rows:
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2%}"
        target = row["target"] or ""
        if row["met"] is not None:
            target += " [green]met[/green]" if row["met"] else " [red]missed[/red]"
        figure = f"{row['value']:.4f}" if row["unit"] == "ratio" else f"{row['value']:,.0f}"
        table.add_row(row["measurement"], figure, row["unit"], ratio, target)
    console.print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.travellers", description=__doc__)
    parser.add_argument("--travellers-watchlist", type=int, default=100_000)
    parser.add_argument("--travellers-count", type=int, default=2_000)
    parser.add_argument("--travellers-repeats", type=int, default=3)
    args = parser.parse_args()
    console = Console(width=110)
    rows = run(
        console,
        size=args.travellers_watchlist,
        count=args.travellers_count,
        repeats=args.travellers_repeats,
    )
    report(rows, console)


if __name__ == "__main__":
    main()
