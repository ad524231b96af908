"""``tripp travellers``: the watchlist's matching quality, and loading a watchlist."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from tripp.bootstrap import wire
from tripp.config import Settings
from tripp.errors import FieldError, InvalidInput
from tripp.travellers.names import WatchlistEntry
from tripp.travellers.variants import evaluation_report

app = typer.Typer(help="Traveller passage: watchlist quality and loading.", no_args_is_help=True)
WATCHLIST_COLUMNS = ("entry_id", "surname", "given_names", "birth_date", "nationality",
                     "list_id", "reason")  # fmt: skip


@app.command("evaluate")
def evaluate(
    seed: Annotated[int, typer.Option(help="seed of the generated labelled set")] = 7,
    size: Annotated[int, typer.Option(help="listed persons and queries")] = 4000,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Precision and recall of watchlist matching on a generated, labelled set of name
    variants (Azerbaijani, Armenian and Russian romanisations, typos, swapped names)."""
    report = evaluation_report(seed=seed, size=size)
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    typer.echo(f"precision {report['precision']:.4f}  recall {report['recall']:.4f}  "
               f"f1 {report['f1']:.4f}  (seed {seed}, {size:,} listed and queried)")  # fmt: skip
    names = report.get("name_only")
    if isinstance(names, dict):
        typer.echo(f"names alone: precision {names['precision']:.4f}  "
                   f"recall {names['recall']:.4f}")  # fmt: skip


@app.command("watchlist")
def load_watchlist(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="CSV: " + ",".join(WATCHLIST_COLUMNS))
    ],
) -> None:
    """Add the entries of FILE to the watchlist (entries already listed are kept as they are)."""
    entries = read_watchlist(file.read_text(encoding="utf-8"))
    w = wire(Settings.from_env())
    w.upgrade()
    from tripp.travellers.passage import Passage

    added = Passage(w.context.uow, w.corridor, w.clock).load_watchlist(entries)
    typer.echo(f"{added:,} entries added ({len(entries) - added:,} already listed)", err=True)


def read_watchlist(text: str) -> list[WatchlistEntry]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("entry_id", "surname") if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput([FieldError(c, "column missing", "required") for c in missing])
    out, errors = [], []
    for i, row in enumerate(reader):
        try:
            born = row.get("birth_date") or ""
            out.append(WatchlistEntry(
                entry_id=row["entry_id"].strip(), surname=row["surname"].strip(),
                given_names=(row.get("given_names") or "").strip(),
                birth_date=date.fromisoformat(born) if born else None,
                nationality=(row.get("nationality") or "").strip() or None,
                list_id=(row.get("list_id") or "").strip(), reason=(row.get("reason") or "").strip(),
            ))  # fmt: skip
        except (ValueError, KeyError) as exc:
            errors.append(FieldError(f"rows[{i}]", str(exc), "watchlist-entry"))
    if errors:
        raise InvalidInput(errors)
    return out
